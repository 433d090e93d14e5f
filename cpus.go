package waggle

import (
	"sync"
	"sync/atomic"
)

// cpuSlots hands out the CPU slots of a collection: a run holds one for its
// duration, and no two runs hold the same one at once, so that per-CPU map
// values have one writer at a time, as on a real CPU with preemption off.
//
// A slot's state counts its acquisitions and releases: odd while it is
// held, even while it is free. So drain can wait for the run holding a
// slot to give it back without having to win the slot from later runs.
type cpuSlots struct {
	state   []atomic.Uint32
	waiters atomic.Int32
	mu      sync.Mutex
	freed   *sync.Cond
}

func newCPUSlots(n int) *cpuSlots {
	s := &cpuSlots{state: make([]atomic.Uint32, n)}
	s.freed = sync.NewCond(&s.mu)
	return s
}

// count is the number of slots.
func (s *cpuSlots) count() int { return len(s.state) }

// tryTake takes slot j if it is free.
func (s *cpuSlots) tryTake(j int) bool {
	v := s.state[j].Load()
	return v&1 == 0 && s.state[j].CompareAndSwap(v, v+1)
}

// tryAcquire takes a free slot, trying hint first, or returns -1.
func (s *cpuSlots) tryAcquire(hint int) int {
	n := len(s.state)
	for i := range n {
		j := (hint + i) % n
		if s.tryTake(j) {
			return j
		}
	}
	return -1
}

// acquire takes a free slot, trying hint first, and waits for one when all
// are held.
func (s *cpuSlots) acquire(hint int) int {
	if j := s.tryAcquire(hint); j >= 0 {
		return j
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiters.Add(1)
	defer s.waiters.Add(-1)
	for {
		if j := s.tryAcquire(hint); j >= 0 {
			return j
		}
		s.freed.Wait()
	}
}

// acquireSlot takes slot j, waiting until it is free.
func (s *cpuSlots) acquireSlot(j int) {
	if s.tryTake(j) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiters.Add(1)
	defer s.waiters.Add(-1)
	for !s.tryTake(j) {
		s.freed.Wait()
	}
}

// release frees slot j.
func (s *cpuSlots) release(j int) {
	s.state[j].Add(1)
	if s.waiters.Load() > 0 {
		s.mu.Lock()
		s.freed.Broadcast()
		s.mu.Unlock()
	}
}

// drain waits until every run that holds a slot now has given it back. It
// does not wait for runs that take a slot after it started.
func (s *cpuSlots) drain() {
	for j := range s.state {
		v := s.state[j].Load()
		if v&1 == 0 {
			continue
		}
		s.mu.Lock()
		s.waiters.Add(1)
		for s.state[j].Load() == v {
			s.freed.Wait()
		}
		s.waiters.Add(-1)
		s.mu.Unlock()
	}
}
