//go:build !unix

package server

// dbLock is a no-op where flock(2) does not exist.
type dbLock struct{}

func lockDB(string) (*dbLock, error) { return &dbLock{}, nil }

func (l *dbLock) release() {}

// LockDatabase takes the lock a sym server holds on db (none here).
func LockDatabase(db string) (release func(), err error) {
	l, _ := lockDB(db)
	return l.release, nil
}
