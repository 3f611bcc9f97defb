package awssso

import (
	"context"
	"sync"
	"time"

	"github.com/aws/smithy-go/middleware"
)

// Identity Center's own quotas, which cannot be raised: about 20 API
// requests per second per instance, and at most 10 account assignment
// operations in flight.
const (
	DefaultRate     = 20
	DefaultInFlight = 10
)

// limiter paces the calls to one Identity Center instance: a token bucket
// of rate calls per second (each attempt counts, retries included), and a
// cap on account assignment operations in flight (from the Create or Delete
// call until its final status). Grants, removals and the reconciler share
// it, so that a burst of approvals or a mass expiry queues instead of
// failing.
type limiter struct {
	mu     sync.Mutex
	rate   float64
	tokens float64
	last   time.Time
	slots  chan struct{}
}

func newLimiter(rate float64, inFlight int) *limiter {
	if rate <= 0 {
		rate = DefaultRate
	}
	if inFlight <= 0 {
		inFlight = DefaultInFlight
	}
	return &limiter{rate: rate, tokens: 1, last: time.Now(), slots: make(chan struct{}, inFlight)}
}

// wait takes one token, sleeping until there is one. The bucket holds at
// most one second's worth, so a burst never exceeds the quota.
func (l *limiter) wait(ctx context.Context) error {
	for {
		l.mu.Lock()
		now := time.Now()
		l.tokens = min(l.rate, l.tokens+now.Sub(l.last).Seconds()*l.rate)
		l.last = now
		if l.tokens >= 1 {
			l.tokens--
			l.mu.Unlock()
			return nil
		}
		need := time.Duration((1 - l.tokens) / l.rate * float64(time.Second))
		l.mu.Unlock()
		t := time.NewTimer(need)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// acquire takes an in-flight slot for one account assignment operation;
// release gives it back.
func (l *limiter) acquire(ctx context.Context) (release func(), err error) {
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// middleware makes every attempt of every call of a client wait for a
// token: it sits after the SDK's retry step, so retries are paced too.
func (l *limiter) middleware(stack *middleware.Stack) error {
	mw := middleware.FinalizeMiddlewareFunc("SymIdentityCenterRate",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if err := l.wait(ctx); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			return next.HandleFinalize(ctx, in)
		})
	if err := stack.Finalize.Insert(mw, "Retry", middleware.After); err == nil {
		return nil
	}
	return stack.Finalize.Add(mw, middleware.Before)
}
