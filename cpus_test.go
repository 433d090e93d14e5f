package waggle

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestCPUSlotsExclusive: many goroutines, few slots; no slot is ever held
// twice, and every goroutine gets through.
func TestCPUSlotsExclusive(t *testing.T) {
	s := newCPUSlots(3)
	holders := make([]atomic.Int32, 3)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 500 {
				var j int
				if i%5 == 0 {
					j = g % 3
					s.acquireSlot(j)
				} else {
					j = s.acquire(g)
				}
				if n := holders[j].Add(1); n != 1 {
					t.Errorf("slot %d held %d times", j, n)
				}
				holders[j].Add(-1)
				s.release(j)
			}
		})
	}
	wg.Wait()
}

// TestCPUSlotsDrain: drain returns once the runs holding slots when it
// started have released them, even while other runs keep taking them.
func TestCPUSlotsDrain(t *testing.T) {
	s := newCPUSlots(2)
	held := s.acquire(0)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for !stop.Load() {
				j := s.acquire(g)
				s.release(j)
			}
		})
	}
	drained := make(chan struct{})
	go func() {
		s.drain()
		close(drained)
	}()
	select {
	case <-drained:
		t.Fatal("drain returned while a slot was still held")
	default:
	}
	s.release(held)
	<-drained
	stop.Store(true)
	wg.Wait()
}
