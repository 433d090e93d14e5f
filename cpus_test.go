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
