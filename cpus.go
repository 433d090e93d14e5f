package waggle

import (
	"sync"
	"sync/atomic"
)

// cpuSlots hands out the CPU slots of a collection: a run holds one for its
// duration, and no two runs hold the same one at once, so that per-CPU map
// values have one writer at a time, as on a real CPU with preemption off.
//
// Taking a free slot is one compare-and-swap, giving it back one store and
// a load of waiters. Whoever waits — for a free slot (acquire, acquireSlot)
// or for the runs in progress to end (drain) — counts itself in waiters
// first; a release that sees waiters wakes them under mu and counts the
// release in the slot's epoch, so drain can wait for the run holding a
// slot to give it back without having to find the slot free (later runs
// may take it again at once).
type cpuSlots struct {
	busy    []atomic.Bool
	waiters atomic.Int32
	mu      sync.Mutex
	freed   *sync.Cond
	epoch   []uint64 // releases seen by waiters, per slot; guarded by mu
}

func newCPUSlots(n int) *cpuSlots {
	s := &cpuSlots{busy: make([]atomic.Bool, n), epoch: make([]uint64, n)}
	s.freed = sync.NewCond(&s.mu)
	return s
}

// count is the number of slots.
func (s *cpuSlots) count() int { return len(s.busy) }

// tryTake takes slot j if it is free.
func (s *cpuSlots) tryTake(j int) bool {
	return s.busy[j].CompareAndSwap(false, true)
}

// tryAcquire takes a free slot, trying hint first, or returns -1.
func (s *cpuSlots) tryAcquire(hint int) int {
	n := len(s.busy)
	if uint(hint) >= uint(n) {
		hint = 0
	}
	j := hint
	for range n {
		if s.tryTake(j) {
			return j
		}
		if j++; j == n {
			j = 0
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
//
// The store and the load of waiters pair with a waiter's increment of
// waiters and its load of busy (all sequentially consistent): either the
// release sees the waiter and wakes it, or the waiter sees the slot free
// (or taken by a later run, whose release will see the waiter).
func (s *cpuSlots) release(j int) {
	s.busy[j].Store(false)
	if s.waiters.Load() > 0 {
		s.wake(j)
	}
	// ArgsRunner.Run has a copy of these lines.
}

// wake wakes the waiters after a release of slot j (out of release's
// line, which the runs' hot paths inline).
//
//go:noinline
func (s *cpuSlots) wake(j int) {
	s.mu.Lock()
	s.epoch[j]++
	s.freed.Broadcast()
	s.mu.Unlock()
}

// drain waits until every run that holds a slot now has given it back. It
// does not wait for runs that take a slot after it started, except that a
// slot given back just before drain looked at it and taken again at once
// may make it wait for that one later run too.
func (s *cpuSlots) drain() {
	s.waiters.Add(1)
	defer s.waiters.Add(-1)
	s.mu.Lock()
	defer s.mu.Unlock()
	for j := range s.busy {
		e := s.epoch[j]
		for s.busy[j].Load() && s.epoch[j] == e {
			s.freed.Wait()
		}
	}
}
