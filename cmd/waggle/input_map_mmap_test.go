//go:build linux || darwin

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
)

// TestMapInput: an ELF object is mapped, anything else read; a mapped
// file cut short while it is read gives an error, not the end of the
// process; a fault that is not in the mapping still panics.
func TestMapInput(t *testing.T) {
	dir := t.TempDir()
	obj := filepath.Join(dir, "obj.o")
	text := filepath.Join(dir, "prog.s")
	content := append(append([]byte{}, elfMagic...), bytes.Repeat([]byte{1}, 3*65536)...)
	if err := os.WriteFile(obj, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(text, []byte("mov %r0, 0\nexit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       []byte
	}{
		{"object", obj, content},
		{"text", text, []byte("mov %r0, 0\nexit\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, release, err := mapInput(tc.path, &env{})
			if err != nil {
				t.Fatal(err)
			}
			defer release()
			if !bytes.Equal(data, tc.want) {
				t.Errorf("read %d bytes, not the file's %d", len(data), len(tc.want))
			}
		})
	}
	if _, _, err := mapInput(filepath.Join(dir, "nope.o"), &env{}); err == nil || !strings.Contains(err.Error(), "nope.o") {
		t.Errorf("missing file: %v", err)
	}

	kerneltest.SkipIfEmulated(t, "qemu-user reports no faulting address with the SIGBUS of a truncated mapping, so guardMapped cannot tell it is the file's")
	data, release, err := mapInput(obj, &env{})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := os.Truncate(obj, 0); err != nil {
		t.Fatal(err)
	}
	var sum byte
	err = guardMapped(data, func() error {
		for _, b := range data {
			sum += b
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "changed while it was read") {
		t.Errorf("reading a mapped file cut short: %v, want an error", err)
	}

	defer func() {
		if recover() == nil {
			t.Error("a nil dereference under guardMapped did not panic")
		}
	}()
	p := noInt()
	guardMapped(data, func() error { //nolint:errcheck // it panics
		sum += byte(*p)
		return nil
	})
}

func noInt() *int { return nil }
