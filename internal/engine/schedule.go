package engine

import (
	"container/heap"
	"sync"
	"time"
)

// scheduler wakes the engine when a request is due: a pending request's
// expiry or an access deadline. It is only a timer over the database, which
// stays the truth: a restart rebuilds it from the stored times, and a due
// item that finds nothing to do is harmless.
type scheduler struct {
	mu    sync.Mutex
	items dueHeap
	wake  chan struct{}
	due   chan string
}

type dueItem struct {
	at time.Time
	id string
}

type dueHeap []dueItem

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(dueItem)) }
func (h *dueHeap) Pop() any {
	old := *h
	n := len(old)
	it := old[n-1]
	*h = old[:n-1]
	return it
}

func newScheduler(buffer int) *scheduler {
	return &scheduler{wake: make(chan struct{}, 1), due: make(chan string, buffer)}
}

func (s *scheduler) add(at time.Time, id string) {
	s.mu.Lock()
	heap.Push(&s.items, dueItem{at, id})
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run hands due ids to s.due until stop closes.
func (s *scheduler) run(stop <-chan struct{}, now func() time.Time) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		s.mu.Lock()
		var ready []string
		for s.items.Len() > 0 && !s.items[0].at.After(now()) {
			ready = append(ready, heap.Pop(&s.items).(dueItem).id)
		}
		wait := time.Hour
		if s.items.Len() > 0 {
			wait = s.items[0].at.Sub(now())
		}
		s.mu.Unlock()
		for _, id := range ready {
			select {
			case s.due <- id:
			case <-stop:
				return
			}
		}
		if len(ready) > 0 {
			continue
		}
		t.Reset(wait)
		select {
		case <-stop:
			return
		case <-s.wake:
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
		case <-t.C:
		}
	}
}
