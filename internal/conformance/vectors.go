package conformance

import (
	"testing"
)

// Vectors loads the bpf_conformance vectors that the repository carries
// (Dir) for a test. A missing folder, a file that does not parse or a
// count other than Count fails the test: the vectors are part of the
// repository, so a test never runs without them.
func Vectors(tb testing.TB) []*Test {
	tb.Helper()
	dir, err := Dir()
	if err != nil {
		tb.Fatal(err)
	}
	tests, err := LoadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	if len(tests) != Count {
		tb.Fatalf("%d conformance vectors in %s, want all %d", len(tests), dir, Count)
	}
	return tests
}
