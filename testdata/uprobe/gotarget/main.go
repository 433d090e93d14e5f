// Command gotarget is the Go program of the uprobe tests: it calls add
// (not inlined) N times from several goroutines and checks the results.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
)

//go:noinline
func add(a, b int) int { return a + b }

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	var wg sync.WaitGroup
	bad := false
	var mu sync.Mutex
	for g := range 4 {
		wg.Go(func() {
			for i := range n {
				if add(g, i) != g+i {
					mu.Lock()
					bad = true
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if bad {
		os.Exit(3)
	}
	fmt.Println("done")
}
