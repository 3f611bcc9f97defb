package strategy

import (
	"context"
	"time"

	"github.com/opensym/sym/internal/awsauth"
)

// ConnectorCheck runs a check of a strategy connector role (is it exactly
// what its module promises?) before the first grant through it and again
// every Every, like the engine's check of the runtime role. A refusal
// should be an *awsauth.GuardError (not retried); any other error (AWS
// unreachable) is transient. Removals never wait for it: a strategy calls
// Before on grants only. A nil *ConnectorCheck checks nothing.
type ConnectorCheck struct {
	// Check verifies roleARN, reached from runtimeRoleARN, for a strategy
	// type.
	Check func(ctx context.Context, strategyType, runtimeRoleARN, roleARN string) error
	// Every is how long a passed check holds (default one hour).
	Every time.Duration

	passed awsauth.Passes
}

// Before runs the check for g's connector role when it is due.
func (c *ConnectorCheck) Before(ctx context.Context, strategyType string, g Grant) error {
	if c == nil || c.Check == nil {
		return nil
	}
	every := c.Every
	if every <= 0 {
		every = time.Hour
	}
	key := strategyType + "|" + g.Runtime.RoleARN + "|" + g.ConnectorRoleARN
	return c.passed.Run(key, every, func() error {
		return c.Check(ctx, strategyType, g.Runtime.RoleARN, g.ConnectorRoleARN)
	})
}
