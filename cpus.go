package waggle

import (
	"sync"
	"sync/atomic"
)

// cpuSlots hands out the CPU slots of a collection: a run holds one for its
// duration, and no two runs hold the same one at once, so that per-CPU map
// values have one writer at a time, as on a real CPU with preemption off.
type cpuSlots struct {
	busy    []atomic.Bool
	waiters atomic.Int32
	mu      sync.Mutex
	freed   *sync.Cond
}

func newCPUSlots(n int) *cpuSlots {
	s := &cpuSlots{busy: make([]atomic.Bool, n)}
	s.freed = sync.NewCond(&s.mu)
	return s
}

// count is the number of slots.
func (s *cpuSlots) count() int { return len(s.busy) }

// tryAcquire takes a free slot, trying hint first, or returns -1.
func (s *cpuSlots) tryAcquire(hint int) int {
	n := len(s.busy)
	for i := range n {
		j := (hint + i) % n
		if s.busy[j].CompareAndSwap(false, true) {
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
	if s.busy[j].CompareAndSwap(false, true) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waiters.Add(1)
	defer s.waiters.Add(-1)
	for !s.busy[j].CompareAndSwap(false, true) {
		s.freed.Wait()
	}
}

// release frees slot j.
func (s *cpuSlots) release(j int) {
	s.busy[j].Store(false)
	if s.waiters.Load() > 0 {
		s.mu.Lock()
		s.freed.Broadcast()
		s.mu.Unlock()
	}
}
