package probe_test

import (
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/probe"
)

// FuzzSection: Section never panics, and a section it accepts names a
// point that New accepts, which the same section spelled with the other
// prefix names too.
func FuzzSection(f *testing.F) {
	for _, s := range []string{"raw_tp/request", "raw_tracepoint/x", "raw_tp/", "raw_tp/9a", "usdt/a:b:c", "raw_tp/a-b", "raw_tp/é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, section string) {
		name, ok := probe.Section(section)
		if !ok {
			if name != "" {
				t.Fatalf("Section(%q) refused it and named %q", section, name)
			}
			return
		}
		if _, err := probe.New(name); err != nil {
			t.Fatalf("Section(%q) = %q, which New refuses: %v", section, name, err)
		}
		other := "raw_tracepoint/" + name
		if strings.HasPrefix(section, "raw_tracepoint/") {
			other = "raw_tp/" + name
		}
		if n, ok := probe.Section(other); !ok || n != name {
			t.Fatalf("Section(%q) = %q, %v; want %q", other, n, ok, name)
		}
	})
}
