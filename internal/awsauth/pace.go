package awsauth

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go/middleware"
)

// Call discipline: every AWS HTTP attempt has a timeout, and the calls sym
// makes as a connector role are paced per account, so that grants,
// removals and the reconciler together stay under the account's IAM quota
// and a mass expiry drains at that rate instead of failing on throttling.

// DefaultCallTimeout bounds each HTTP attempt of an AWS call.
const DefaultCallTimeout = 10 * time.Second

// DefaultRate is the default pace of the calls made as connector roles,
// per account and per second (docs/decisions/009-reconciler-and-aws-pace.md).
const DefaultRate = 10

// IdleConnsPerHost is how many idle connections sym's AWS client keeps to
// one endpoint: more than the engine's workers (64 by default), so that a
// drain of removals reuses its connections. The SDK's default of 10 made
// most calls of a drain open a new one (a TLS handshake against AWS, a new
// thread in moto).
const IdleConnsPerHost = 128

// WithCallTimeout returns cfg whose HTTP client gives up on any one attempt
// (connect, send, and read the answer) after d. The SDK's retryer then
// counts it as a failed attempt, so a hung connection costs at most
// Retryer's attempts times d, never a worker forever. The client keeps
// IdleConnsPerHost idle connections per endpoint.
func WithCallTimeout(cfg aws.Config, d time.Duration) aws.Config {
	cfg = cfg.Copy()
	bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient)
	if !ok {
		bc = awshttp.NewBuildableClient()
	}
	if d > 0 {
		bc = bc.WithTimeout(d)
	}
	cfg.HTTPClient = bc.WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 2*IdleConnsPerHost, IdleConnsPerHost
	})
	return cfg
}

// Pacer spaces AWS calls per key (an AWS account; an SSO instance can be
// a key too): a token bucket of Rate tokens a second holding at most Burst.
// Every attempt, retries included, takes a token, so a throttled call does
// not add to the storm. Waiting is ordered by arrival.
type Pacer struct {
	rate  float64
	burst float64
	now   func() time.Time // monotonic

	mu      sync.Mutex
	buckets map[string]*bucket

	waited    atomic.Int64 // nanoseconds spent waiting, all keys
	throttled atomic.Int64 // attempts AWS answered with a throttling error
	// OnThrottle, when set, is told of every throttled attempt (metrics).
	OnThrottle func(key string)
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewPacer paces each key at rate calls a second with bursts of burst
// (at least 1). A rate of 0 or less paces nothing.
func NewPacer(rate float64, burst int) *Pacer {
	if burst < 1 {
		burst = 1
	}
	return &Pacer{rate: rate, burst: float64(burst), now: time.Now, buckets: map[string]*bucket{}}
}

// Rate is the calls per second per key (0: unpaced).
func (p *Pacer) Rate() float64 {
	if p == nil {
		return 0
	}
	return p.rate
}

// Wait blocks until a call for key may go, or ctx ends.
func (p *Pacer) Wait(ctx context.Context, key string) error {
	if p == nil || p.rate <= 0 {
		return nil
	}
	wait, b := p.reserve(key)
	if wait <= 0 {
		return nil
	}
	p.waited.Add(int64(wait))
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		b.tokens++ // give the turn back
		p.mu.Unlock()
		return ctx.Err()
	}
}

// reserve takes key's next turn and says how long until it comes.
func (p *Pacer) reserve(key string) (time.Duration, *bucket) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	b := p.buckets[key]
	if b == nil {
		b = &bucket{tokens: p.burst, last: now}
		p.buckets[key] = b
	}
	b.tokens = min(p.burst, b.tokens+now.Sub(b.last).Seconds()*p.rate)
	b.last = now
	b.tokens-- // below zero is a queue: each caller waits for its own turn
	if b.tokens >= 0 {
		return 0, b
	}
	return time.Duration(-b.tokens / p.rate * float64(time.Second)), b
}

// Waited is the total time calls spent waiting for their turn.
func (p *Pacer) Waited() time.Duration {
	if p == nil {
		return 0
	}
	return time.Duration(p.waited.Load())
}

// Throttled counts the attempts AWS answered with a throttling error.
func (p *Pacer) Throttled() int64 {
	if p == nil {
		return 0
	}
	return p.throttled.Load()
}

var isThrottle = retry.IsErrorThrottles(retry.DefaultThrottles)

// middleware paces every attempt of an operation under key: it sits after
// the SDK's retry loop, so each retry waits its turn too.
func (p *Pacer) middleware(key string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		m := middleware.FinalizeMiddlewareFunc("SymPace",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if err := p.Wait(ctx, key); err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, err
				}
				out, md, err := next.HandleFinalize(ctx, in)
				if err != nil && isThrottle.IsErrorThrottle(err) == aws.TrueTernary {
					p.throttled.Add(1)
					if p.OnThrottle != nil {
						p.OnThrottle(key)
					}
				}
				return out, md, err
			})
		if _, ok := stack.Finalize.Get("Retry"); ok {
			return stack.Finalize.Insert(m, "Retry", middleware.After)
		}
		return stack.Finalize.Add(m, middleware.After)
	}
}
