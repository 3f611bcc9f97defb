package awsauth

import (
	"sync"
	"time"
)

// Passes remembers which checks of a role passed and when, so that a check
// runs again only once its pass is older than the age it is trusted for
// (the server's --verify-interval), or at once after it was forgotten (an
// AccessDenied through the role). The zero value is ready to use.
type Passes struct {
	mu sync.Mutex
	at map[string]time.Time
}

// Run calls check unless key passed less than every ago, and records a
// pass when check returns nil.
func (p *Passes) Run(key string, every time.Duration, check func() error) error {
	p.mu.Lock()
	at, ok := p.at[key]
	p.mu.Unlock()
	if ok && time.Since(at) < every {
		return nil
	}
	if err := check(); err != nil {
		return err
	}
	p.mu.Lock()
	if p.at == nil {
		p.at = map[string]time.Time{}
	}
	p.at[key] = time.Now()
	p.mu.Unlock()
	return nil
}

// Forget drops key's pass: its next Run checks again.
func (p *Passes) Forget(key string) {
	p.mu.Lock()
	delete(p.at, key)
	p.mu.Unlock()
}

// Reset drops every pass.
func (p *Passes) Reset() {
	p.mu.Lock()
	p.at = nil
	p.mu.Unlock()
}
