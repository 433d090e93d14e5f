package jit

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs the tests where there is a JIT, and says why not
// elsewhere (outside Linux), where every test here would
// only meet Compile's refusal.
func TestMain(m *testing.M) {
	if !Supported {
		fmt.Printf("jit: every test skipped: %s\n", Unsupported)
		os.Exit(0)
	}
	os.Exit(m.Run())
}
