package awssso

import (
	"context"
	"sync"

	"github.com/aws/smithy-go/middleware"

	"github.com/opensym/sym/internal/awsauth"
)

// Identity Center's own quotas, which cannot be raised: about 20 API
// requests per second per instance, and at most 10 account assignment
// operations in flight.
const (
	DefaultRate     = 20
	DefaultInFlight = 10
)

// limiter paces the calls to one Identity Center instance: awsauth's Pacer
// keyed by the instance (each attempt counts, retries included), and a cap
// on account assignment operations in flight (from the Create or Delete
// call until its final status). Grants, removals and the reconciler share
// it, so that a burst of approvals or a mass expiry queues instead of
// failing.
type limiter struct {
	pace     *awsauth.Pacer
	instance string
	slots    chan struct{}
}

func newLimiter(pace *awsauth.Pacer, instance string, inFlight int) *limiter {
	if inFlight <= 0 {
		inFlight = DefaultInFlight
	}
	return &limiter{pace: pace, instance: instance, slots: make(chan struct{}, inFlight)}
}

// acquire takes an in-flight slot for one account assignment operation;
// release gives it back (calling it again does nothing).
func (l *limiter) acquire(ctx context.Context) (release func(), err error) {
	select {
	case l.slots <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-l.slots }) }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// middleware makes every attempt of every call of a client wait for its
// turn: it sits after the SDK's retry step, so retries are paced too.
func (l *limiter) middleware(stack *middleware.Stack) error {
	mw := middleware.FinalizeMiddlewareFunc("SymIdentityCenterPace",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if err := l.pace.Wait(ctx, l.instance); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			return next.HandleFinalize(ctx, in)
		})
	if err := stack.Finalize.Insert(mw, "Retry", middleware.After); err == nil {
		return nil
	}
	return stack.Finalize.Add(mw, middleware.Before)
}
