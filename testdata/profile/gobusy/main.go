// A CPU-bound Go program for the profiler's tests: two goroutines spin in
// main.spin (called from main.work) for N iterations each (the first
// argument, default 100 million), which must get at least 90 % of the
// samples. spin calls start so that it is no leaf: the Go compiler gives
// a leaf function no frame, and a frame-pointer walk (the kernel's and
// waggle's) from inside a frameless function misses its caller.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
)

//go:noinline
func start(n int) uint64 { return uint64(n) & 1 }

//go:noinline
func spin(n int) uint64 {
	x := start(n)
	for i := 0; i < n; i++ {
		x = x*31 + uint64(i)
	}
	return x
}

//go:noinline
func work(n int) uint64 { return spin(n) + 1 }

func main() {
	n := 100000000
	if len(os.Args) > 1 {
		v, err := strconv.Atoi(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "gobusy: N must be an integer")
			os.Exit(2)
		}
		n = v
	}
	var wg sync.WaitGroup
	sums := make([]uint64, 2)
	for i := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[i] = work(n)
		}()
	}
	wg.Wait()
	fmt.Println(sums[0] ^ sums[1])
}
