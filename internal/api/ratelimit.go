package api

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/opensym/sym/internal/engine"
)

// Rates limits how fast one token may create requests and issue tokens
// and sign-in links (per minute, links and tokens from one allowance; 0 means the default, a negative value no limit).
type Rates struct {
	RequestsPerMinute int
	TokensPerMinute   int
}

// Default rates: generous for people and scripts, a wall for a runaway
// loop or a stolen token.
const (
	DefaultRequestsPerMinute = 120
	DefaultTokensPerMinute   = 60
)

// limiter is a token bucket per (kind, caller).
type limiter struct {
	mu      sync.Mutex
	perMin  map[string]float64
	buckets map[string]*bucket
	now     func() time.Time
}

type bucket struct {
	level float64
	at    time.Time
}

func newLimiter(r Rates) *limiter {
	norm := func(v, def int) float64 {
		switch {
		case v == 0:
			return float64(def)
		case v < 0:
			return math.Inf(1)
		}
		return float64(v)
	}
	return &limiter{perMin: map[string]float64{
		"requests": norm(r.RequestsPerMinute, DefaultRequestsPerMinute),
		"tokens":   norm(r.TokensPerMinute, DefaultTokensPerMinute),
	}, buckets: map[string]*bucket{}, now: time.Now}
}

// take spends one unit of kind for who, or says how long to wait.
func (l *limiter) take(kind, who string) (time.Duration, bool) {
	rate := l.perMin[kind]
	if math.IsInf(rate, 1) {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	key := kind + "|" + who
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) > 10000 {
			l.prune(now)
		}
		b = &bucket{level: rate, at: now}
		l.buckets[key] = b
	}
	b.level = math.Min(rate, b.level+now.Sub(b.at).Minutes()*rate)
	b.at = now
	if b.level >= 1 {
		b.level--
		return 0, true
	}
	return time.Duration((1 - b.level) / rate * float64(time.Minute)), false
}

// prune forgets full buckets (callers idle long enough to be refilled).
func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.at) > time.Minute {
			delete(l.buckets, k)
		}
	}
}

// limited answers 429 with Retry-After when a's bucket of kind is empty.
func (s *Server) limited(w http.ResponseWriter, r *http.Request, a engine.Actor, kind string) bool {
	wait, ok := s.limits.take(kind, a.Email)
	if ok {
		return true
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	what := kind
	if kind == "tokens" {
		what = "tokens and sign-in links issued"
	}
	writeErrors(w, r, http.StatusTooManyRequests, fieldErr("", "%s", fmt.Sprintf("too many %s from this token: try again in %d s", what, secs)))
	return false
}
