package engine

import "sync"

// lockMap holds one mutex per request while someone uses it, and forgets
// it when the last holder lets go, so the map never outgrows the requests
// in flight (ids come from callers; a map that only grows is a memory leak
// any caller can drive).
type lockMap struct {
	mu sync.Mutex
	m  map[string]*lockEntry
}

type lockEntry struct {
	mu    sync.Mutex
	users int
}

// lock takes id's mutex and returns its release.
func (l *lockMap) lock(id string) func() {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*lockEntry{}
	}
	ent := l.m[id]
	if ent == nil {
		ent = &lockEntry{}
		l.m[id] = ent
	}
	ent.users++
	l.mu.Unlock()
	ent.mu.Lock()
	return func() {
		ent.mu.Unlock()
		l.mu.Lock()
		if ent.users--; ent.users == 0 {
			delete(l.m, id)
		}
		l.mu.Unlock()
	}
}

// len is how many ids hold an entry (tests).
func (l *lockMap) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
