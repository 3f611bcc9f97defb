package engine

import (
	"container/heap"
	"sync"
	"time"
)

// scheduler wakes the engine when a request is due: a pending request's
// expiry, an access deadline, or the next try of a failed removal. It is
// only a timer over the database, which stays the truth: a restart rebuilds
// it from the stored times, and a due item that finds nothing to do is
// harmless.
//
// A request has at most one wake-up: set replaces the one it has, and
// ensure (the sweeper's) adds one only when the request has none and is not
// being handled. So neither the sweeper nor a failing removal can start a
// second chain of retries for the same request.
type scheduler struct {
	mu      sync.Mutex
	items   dueHeap
	byID    map[string]*dueItem
	running map[string]bool // handed to a worker, not finished yet
	wake    chan struct{}
	due     chan string
}

type dueItem struct {
	at    time.Time
	id    string
	index int
}

type dueHeap []*dueItem

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *dueHeap) Push(x any) {
	it := x.(*dueItem)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *dueHeap) Pop() any {
	old := *h
	n := len(old)
	it := old[n-1]
	*h = old[:n-1]
	it.index = -1
	return it
}

func newScheduler(buffer int) *scheduler {
	return &scheduler{byID: map[string]*dueItem{}, running: map[string]bool{},
		wake: make(chan struct{}, 1), due: make(chan string, buffer)}
}

// set makes at the request's one wake-up, replacing any it had.
func (s *scheduler) set(at time.Time, id string) {
	s.mu.Lock()
	if it, ok := s.byID[id]; ok {
		it.at = at
		heap.Fix(&s.items, it.index)
	} else {
		it := &dueItem{at: at, id: id}
		heap.Push(&s.items, it)
		s.byID[id] = it
	}
	s.mu.Unlock()
	s.poke()
}

// ensure gives the request a wake-up at at unless it has one or a worker
// is handling it now.
func (s *scheduler) ensure(at time.Time, id string) bool {
	s.mu.Lock()
	if _, ok := s.byID[id]; ok || s.running[id] {
		s.mu.Unlock()
		return false
	}
	it := &dueItem{at: at, id: id}
	heap.Push(&s.items, it)
	s.byID[id] = it
	s.mu.Unlock()
	s.poke()
	return true
}

// cancel drops the request's wake-up.
func (s *scheduler) cancel(id string) {
	s.mu.Lock()
	if it, ok := s.byID[id]; ok {
		heap.Remove(&s.items, it.index)
		delete(s.byID, id)
	}
	s.mu.Unlock()
}

// finish says a worker is done with a request it was handed.
func (s *scheduler) finish(id string) {
	s.mu.Lock()
	delete(s.running, id)
	s.mu.Unlock()
}

// next is the request's wake-up, if it has one.
func (s *scheduler) next(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.byID[id]; ok {
		return it.at, true
	}
	return time.Time{}, false
}

// pending is how many wake-ups are scheduled.
func (s *scheduler) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

func (s *scheduler) poke() {
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
			it := heap.Pop(&s.items).(*dueItem)
			delete(s.byID, it.id)
			s.running[it.id] = true
			ready = append(ready, it.id)
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
