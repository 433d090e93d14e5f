//go:build linux && amd64

package link

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// forEachCase reads the table at path (relative to this package): a case
// a line of n fields separated by |, blank lines and lines starting with
// # left out. It calls each with the line's number and its fields,
// trimmed, and fails the test on a line of another number of fields, on a
// read error or when there is no case.
func forEachCase(t *testing.T, path string, n int, each func(line int, fields []string)) {
	t.Helper()
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	cases := 0
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, "|")
		if len(fields) != n {
			t.Fatalf("%s:%d: %d fields, want %d", name, line, len(fields), n)
		}
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		cases++
		each(line, fields)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cases == 0 {
		t.Fatalf("no cases in %s", name)
	}
}
