//go:build unix

package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// dbLock is the single-writer lock of a SQLite database: one sym server per
// file. Two would both fire de-escalations and both grant, each with a
// timer of its own that the other cannot see.
type dbLock struct{ f *os.File }

// lockDB takes the lock file next to db (db + ".lock") or says who holds it.
// The kernel releases it when the process ends, even on SIGKILL. The lock
// file is named after the file db leads to: a symbolic link to a database
// (or to its directory) takes the lock of the database itself.
// The database's directory is created (0700) when missing, as the store
// would create it: the lock comes first.
func lockDB(db string) (*dbLock, error) {
	if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
		return nil, fmt.Errorf("create the database's directory %s: %w", filepath.Dir(db), err)
	}
	path := realPath(db) + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if errors.Is(err, fs.ErrPermission) {
		return nil, notWritable(db, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open the database lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			who := strings.TrimSpace(string(holder))
			if who == "" {
				who = "another process"
			}
			return nil, fmt.Errorf("database %s is in use by another sym server (%s): stop that one first, or give this one its own --db; "+
				"two servers on one SQLite file would both grant and both de-escalate", db, who)
		}
		return nil, fmt.Errorf("lock the database %s: %w", path, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d, started %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))), 0)
	return &dbLock{f: f}, nil
}

// realPath is db with its symbolic links resolved: the file's, when it
// exists, else its directory's; db itself when neither resolves.
func realPath(db string) string {
	if p, err := filepath.EvalSymlinks(db); err == nil {
		return p
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(db)); err == nil {
		return filepath.Join(dir, filepath.Base(db))
	}
	return db
}

func (l *dbLock) release() {
	if l != nil && l.f != nil {
		_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
		_ = l.f.Close()
		l.f = nil
	}
}

// LockDatabase takes the lock a sym server holds on db, for a command that
// must not run beside one (sym restore); release gives it back.
func LockDatabase(db string) (release func(), err error) {
	l, err := lockDB(db)
	if err != nil {
		return nil, err
	}
	return l.release, nil
}
