package strategy

import (
	"context"
	"sync"
	"time"
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

	mu     sync.Mutex
	passed map[string]time.Time
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
	c.mu.Lock()
	at, ok := c.passed[key]
	c.mu.Unlock()
	if ok && time.Since(at) < every {
		return nil
	}
	if err := c.Check(ctx, strategyType, g.Runtime.RoleARN, g.ConnectorRoleARN); err != nil {
		return err
	}
	c.mu.Lock()
	if c.passed == nil {
		c.passed = map[string]time.Time{}
	}
	c.passed[key] = time.Now()
	c.mu.Unlock()
	return nil
}
