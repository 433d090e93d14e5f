package conformance

import (
	"os"
	"testing"
)

// Vectors loads the bpf_conformance vectors beside the repository for a
// test. Where they are missing the test is skipped, except under CI (the
// CI environment variable set), where that is a failure.
func Vectors(tb testing.TB) []*Test {
	tb.Helper()
	dir, err := FindTestsDir(".")
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal(err)
		}
		tb.Skip(err)
	}
	tests, err := LoadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	if len(tests) == 0 {
		tb.Fatalf("no .data files in %s", dir)
	}
	return tests
}
