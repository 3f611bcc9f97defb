//go:build !unix

package server

// dbLock is a no-op where flock(2) does not exist.
type dbLock struct{}

func lockDB(string) (*dbLock, error) { return &dbLock{}, nil }

func (l *dbLock) release() {}
