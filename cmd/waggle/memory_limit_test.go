package main

import (
	"testing"

	"github.com/waggle-ebpf/waggle"
)

// TestMemoryLimitFlag: --memory-limit sets the limit on the memory of all
// maps for the commands that load objects, in bytes or with K, M, G, T;
// objects that need more are refused with an error naming the map or
// section and the limit; the limit is restored afterwards.
func TestMemoryLimitFlag(t *testing.T) {
	const objects = "../../testdata/objects/"
	_, before := waggle.MapMemory()
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  []string
	}{
		{name: "run: 1 GiB .bss over 512M", args: []string{"run", "--memory-limit", "512M", objects + "huge_bss.o"}, wantCode: 1,
			wantErr: []string{"huge_bss.o", "section .bss: 1073741824 bytes of zero-initialised data",
				"more than the 536870912-byte (512 MiB) memory limit of the maps of this process (waggle --memory-limit)"}},
		{name: "run: 2^28-entry per-CPU array over 2G", args: []string{"run", "--cpus", "2", "--memory-limit", "2G", objects + "huge_percpu.o"}, wantCode: 1,
			wantErr: []string{`map "counts" (PerCPUArray): 268435456 entries of 8 bytes on each of 2 CPU slots need 4294968320 bytes of memory`,
				"2147483648-byte (2 GiB) memory limit of the maps of this process (waggle --memory-limit)"}},
		{name: "run: within the limit", args: []string{"run", "--memory-limit", "1048576", "--data-in", "../../examples/proto_count/packet.bin", "../../examples/proto_count/proto_count.o"},
			wantOut: []string{"Return value: 2,"}},
		{name: "inspect: 8 maps of 64 MiB over 100M", args: []string{"inspect", "--memory-limit", "100M", objects + "many_maps.o"},
			wantOut: []string{"waggle cannot load this object", `map "chunk1" (Array)`, "104857600-byte (100 MiB) memory limit of the maps of this process (waggle --memory-limit)"}},
		{name: "inspect: 8 maps of 64 MiB within 1GiB", args: []string{"inspect", "--memory-limit", "1GiB", objects + "many_maps.o"},
			wantOut: []string{"waggle loads every program and map of this object"}},
		{name: "verify: 1 GiB .bss over 1000K", args: []string{"verify", "--memory-limit", "1000K", objects + "huge_bss.o"}, wantCode: 1,
			wantErr: []string{"section .bss: 1073741824 bytes", "1024000-byte (1000 KiB) memory limit"}},
		{name: "attach: bad size", args: []string{"attach", "--memory-limit", "1.5G", "--iface", "lo", objects + "valid.o"}, wantCode: 2,
			wantErr: []string{"-memory-limit", `size "1.5G": unknown unit ".5G"`}},
		{name: "run: bad size", args: []string{"run", "--memory-limit", "lots", objects + "valid.o"}, wantCode: 2,
			wantErr: []string{"-memory-limit", `size "lots": want a number of bytes`}},
		{name: "run help", args: []string{"run", "--help"}, wantOut: []string{"-memory-limit SIZE"}},
		{name: "attach help", args: []string{"attach", "--help"}, wantOut: []string{"-memory-limit SIZE"}},
		{name: "inspect help", args: []string{"inspect", "--help"}, wantOut: []string{"-memory-limit SIZE"}},
		{name: "verify help", args: []string{"verify", "--help"}, wantOut: []string{"-memory-limit SIZE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, stdout, stderr)
			}
			wantContains(t, "stdout", stdout, tc.wantOut)
			wantContains(t, "stderr", stderr, tc.wantErr)
			if _, limit := waggle.MapMemory(); limit != before {
				t.Errorf("after the command the limit is %d, was %d", limit, before)
			}
		})
	}
}
