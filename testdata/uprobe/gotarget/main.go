// Command gotarget is the Go program of the uprobe tests: it calls
// addFrame, which calls add (neither inlined), N times from several
// goroutines and checks the results. add is shorter than a jmp rel32;
// addFrame starts with Go's stack check (cmp, jbe to morestack).
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
)

//go:noinline
func add(a, b int) int { return a + b }

//go:noinline
func addFrame(a, b int) int { return add(a, b) }

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	var wg sync.WaitGroup
	bad := false
	var mu sync.Mutex
	for g := range 4 {
		wg.Go(func() {
			for i := range n {
				if addFrame(g, i) != g+i {
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
