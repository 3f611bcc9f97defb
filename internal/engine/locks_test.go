package engine

import (
	"fmt"
	"sync"
	"testing"
)

// TestLockMapForgetsReleasedIDs: the map holds only ids in use, so callers
// sending many distinct ids cannot grow it.
func TestLockMapForgetsReleasedIDs(t *testing.T) {
	var l lockMap
	for i := 0; i < 1000; i++ {
		l.lock(fmt.Sprintf("id-%d", i))()
	}
	if n := l.len(); n != 0 {
		t.Fatalf("%d ids left in the lock map after every lock was released", n)
	}
	// Mutual exclusion still holds under contention on one id.
	var wg sync.WaitGroup
	counter := 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock := l.lock("same")
			c := counter
			counter = c + 1
			unlock()
		}()
	}
	wg.Wait()
	if counter != 50 || l.len() != 0 {
		t.Fatalf("counter %d, map %d", counter, l.len())
	}
}
