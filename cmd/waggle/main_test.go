package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runMain(args, &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut})
	return code, out.String(), errOut.String()
}

// wantContains reports each of wants that the output named name lacks.
func wantContains(t *testing.T, name, output string, wants []string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(output, w) {
			t.Errorf("%s lacks %q:\n%s", name, w, output)
		}
	}
}

func TestCLI(t *testing.T) {
	tmp := t.TempDir()
	// The context of nested_loops.o's programs: n = 1 << 23 (bpf_loop
	// nested three deep never ends), seed = 5.
	nested := filepath.Join(tmp, "nested.ctx")
	if err := os.WriteFile(nested, []byte{0, 0, 0x80, 0, 5, 0, 0, 0}, 0o644); err != nil {
		t.Fatal(err)
	}
	const nestedObj = "../../testdata/progs/nested_loops.o"
	for _, tc := range []struct {
		name       string
		stdin      string
		args       []string
		wantCode   int
		wantOut    []string // substrings of stdout
		wantErr    []string // substrings of stderr
		wantOutput string   // if set, stdout exactly
	}{
		{name: "no arguments", wantCode: 2, wantErr: []string{"Usage:"}},
		{name: "help", args: []string{"--help"}, wantOut: []string{"waggle asm", "waggle disasm", "waggle run"}},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2, wantErr: []string{`unknown command "frobnicate"`}},
		{name: "run help", args: []string{"run", "--help"}, wantOut: []string{"usage: waggle run", "-data-in", "-dump-maps", "-json"}},
		{name: "asm help", args: []string{"asm", "-h"}, wantOut: []string{"usage: waggle asm"}},
		{name: "disasm help", args: []string{"disasm", "--help"}, wantOut: []string{"usage: waggle disasm", "-syntax"}},

		{name: "run example fnv1a", args: []string{"run", "--data-in", "../../examples/asm/packet.bin", "../../examples/asm/fnv1a.s"},
			wantOut: []string{"Return value: 2783311554, duration (average): "}},
		{name: "run example ipv4_proto", args: []string{"run", "--data-in", "../../examples/asm/packet.bin", "../../examples/asm/ipv4_proto.s"},
			wantOut: []string{"Return value: 17,"}},
		{name: "run flags after file", args: []string{"run", "../../examples/asm/ipv4_proto.s", "--data", "00"},
			wantOut: []string{"Return value: 18446744073709551615,"}},
		{name: "run assembly", args: []string{"run", "testdata/ret7.s"}, wantOut: []string{"Return value: 7,"}},
		{name: "run raw bytecode", args: []string{"run", "testdata/ret7.bin"}, wantOut: []string{"Return value: 7,"}},
		{name: "run hex on stdin", stdin: "b7 00 00 00 07 00 00 00\n95 00 00 00 00 00 00 00\n", args: []string{"run", "-"}, wantOut: []string{"Return value: 7,"}},
		{name: "run test file with its memory", args: []string{"run", "testdata/sum.data"}, wantOut: []string{"Return value: 11,"}},
		{name: "run test file with --data", args: []string{"run", "--data", "01 02", "testdata/sum.data"}, wantOut: []string{"Return value: 3,"}},
		{name: "run repeat", args: []string{"run", "--repeat", "1000", "testdata/ret7.s"}, wantOut: []string{"Return value: 7,"}},
		{name: "run missing file", args: []string{"run", "testdata/nope.s"}, wantCode: 1, wantErr: []string{"nope.s", "no such file"}},
		{name: "run no file", args: []string{"run"}, wantCode: 2, wantErr: []string{"expected one FILE"}},
		{name: "run two files", args: []string{"run", "a", "b"}, wantCode: 2, wantErr: []string{"expected one FILE"}},
		{name: "run bad flag", args: []string{"run", "--nope", "testdata/ret7.s"}, wantCode: 2, wantErr: []string{"-nope"}},
		{name: "run bad data", args: []string{"run", "--data", "xyz", "testdata/ret7.s"}, wantCode: 2, wantErr: []string{"--data", "not hexadecimal"}},
		{name: "run data and data-in", args: []string{"run", "--data", "00", "--data-in", "x", "testdata/ret7.s"}, wantCode: 2, wantErr: []string{"cannot be used together"}},
		{name: "run repeat zero", args: []string{"run", "--repeat", "0", "testdata/ret7.s"}, wantCode: 2, wantErr: []string{"--repeat"}},
		{name: "run out of bounds", args: []string{"run", "--data", "0102", "testdata/oob.s"}, wantCode: 1,
			wantErr: []string{"instruction 0", "r0 = *(u64 *)(r1 + 0x8)", "read of 8 bytes"}},
		{name: "run endless loop", args: []string{"run", "--budget", "1000", "testdata/loop.s"}, wantCode: 1, wantErr: []string{"budget exhausted"}},
		{name: "run nested bpf_loop budget", args: []string{"run", "-p", "sys_nested_loops", "--ctx-in", nested, "--budget", "100000", nestedObj},
			wantCode: 1, wantErr: []string{"helper 181 (bpf_loop)", "budget exhausted"}},
		{name: "run nested bpf_loop budget interpreted", args: []string{"run", "--engine", "interpreter", "-p", "sys_nested_loops", "--ctx-in", nested, "--budget", "100000", nestedObj},
			wantCode: 1, wantErr: []string{"helper 181 (bpf_loop)", "budget exhausted"}},
		{name: "run nested bpf_loop timeout", args: []string{"run", "-p", "sys_nested_loops", "--ctx-in", nested, "--timeout", "50ms", nestedObj},
			wantCode: 1, wantErr: []string{"timeout of 50ms", "deadline exceeded"}},
		{name: "run nested bpf_loop timeout interpreted", args: []string{"run", "--engine", "interpreter", "-p", "sys_nested_loops", "--ctx-in", nested, "--timeout", "50ms", nestedObj},
			wantCode: 1, wantErr: []string{"timeout of 50ms", "deadline exceeded"}},
		{name: "run bounded loop budget", args: []string{"run", "-p", "sys_bounded_loop", "--ctx-in", nested, "--budget", "1000", nestedObj},
			wantCode: 1, wantErr: []string{"budget exhausted"}},
		{name: "run bounded loop", args: []string{"run", "-p", "sys_bounded_loop", "--ctx-in", nested, "--timeout", "1m", "--dump-maps", nestedObj},
			wantOut: []string{"Return value: 0,", "key 1 value 4133185957"}},
		{name: "run negative timeout", args: []string{"run", "--timeout", "-1s", "testdata/ret7.s"}, wantCode: 2, wantErr: []string{"--timeout -1s must not be negative"}},
		{name: "run bad timeout", args: []string{"run", "--timeout", "soon", "testdata/ret7.s"}, wantCode: 2, wantErr: []string{"-timeout"}},
		{name: "run bad assembly", args: []string{"run", "testdata/bad.s"}, wantCode: 1, wantErr: []string{"line 2", "bogus"}},
		{name: "run ELF without data", args: []string{"run", "testdata/xdp_count.o"}, wantCode: 1, wantErr: []string{`run program "count_packets"`, "shorter than an Ethernet header"}},

		{name: "inspect object", args: []string{"inspect", "../../examples/firewall/firewall.o"},
			wantOut: []string{"firewall  xdp", "blocked_nets   LPMTrie  8    4      1024", "waggle loads every program and map"}},
		{name: "inspect not ELF", args: []string{"inspect", "testdata/ret7.s"}, wantCode: 1, wantErr: []string{"not an ELF object"}},
		{name: "inspect help", args: []string{"inspect", "--help"}, wantOut: []string{"usage: waggle inspect"}},
		{name: "run object dump maps", args: []string{"run", "--data-in", "../../examples/proto_count/packet.bin", "--dump-maps", "../../examples/proto_count/proto_count.o"},
			wantOut: []string{"Return value: 2,", "map proto_stats: 256 entries", "key 6 value {packets: 1, bytes: 59}"}},
		{name: "run object json", args: []string{"run", "--json", "--dump-maps", "--data-in", "../../examples/proto_count/packet.bin", "../../examples/proto_count/proto_count.o"},
			wantOut: []string{`{"program":"proto_count","retval":2,"duration_ns":`, `{"key":"06000000","value":"01000000000000003b00000000000000","key_btf":6,"value_btf":{"packets":1,"bytes":59}}`}},
		{name: "run object json without maps", args: []string{"run", "--json", "--data-in", "../../examples/proto_count/packet.bin", "../../examples/proto_count/proto_count.o"},
			wantOut: []string{`"retval":2`}},
		{name: "run object needs -p", args: []string{"run", "--data-in", "../../examples/tail_calls/packet.bin", "../../examples/tail_calls/tail_calls.o"},
			wantCode: 1, wantErr: []string{"4 programs", "dispatcher", "choose one with -p"}},
		{name: "run object unknown -p", args: []string{"run", "-p", "nope", "--data-in", "../../examples/tail_calls/packet.bin", "../../examples/tail_calls/tail_calls.o"},
			wantCode: 1, wantErr: []string{`no program "nope"`}},
		{name: "run tail calls", args: []string{"run", "-p", "dispatcher", "--dump-maps", "--data-in", "../../examples/tail_calls/packet.bin", "../../examples/tail_calls/tail_calls.o"},
			wantOut: []string{"Return value: 1,", "key 2 value 1"}},
		{name: "run -p on bytecode", args: []string{"run", "-p", "x", "testdata/ret7.s"}, wantCode: 2, wantErr: []string{"-p names a program of an ELF object"}},
		{name: "run object data out", args: []string{"run", "--data-in", "../../examples/proto_count/packet.bin", "--data-out", filepath.Join(tmp, "out.pkt"), "../../examples/proto_count/proto_count.o"},
			wantOut: []string{"Return value: 2,"}},
		{name: "asm to hex", args: []string{"asm", "testdata/ret7.s"},
			wantOutput: "b7 00 00 00 07 00 00 00\n95 00 00 00 00 00 00 00\n"},
		{name: "asm bad", args: []string{"asm", "testdata/bad.s"}, wantCode: 1, wantErr: []string{"line 2"}},
		{name: "asm invalid program", stdin: "mov %r0, 1\n", args: []string{"asm", "-"}, wantCode: 1, wantErr: []string{"fall off the end"}},
		{name: "asm to file", args: []string{"asm", "-o", filepath.Join(tmp, "out.bin"), "testdata/ret7.s"}},

		{name: "disasm raw", args: []string{"disasm", "testdata/ret7.bin"}, wantOut: []string{"0:\tr0 = 0x7", "1:\texit"}},
		{name: "disasm hex conformance syntax", stdin: "b7 00 00 00 07 00 00 00 95 00 00 00 00 00 00 00", args: []string{"disasm", "--syntax", "conformance", "-"},
			wantOut: []string{"mov %r0, 7", "exit"}},
		{name: "disasm ELF", args: []string{"disasm", "testdata/xdp_count.o"},
			wantOut: []string{"count_packets (section xdp, type XDP", "call +11\t# classify", "map[fd:0] ll\t# counts", "call 0x1\t# bpf_map_lookup_elem", "classify:", " @ xdp_count.c:21\n", "lock *(u64 *)(r0 + 0x0) += r1"}},
		{name: "disasm assembly text", args: []string{"disasm", "testdata/ret7.s"}, wantCode: 1, wantErr: []string{"not hexadecimal bytecode"}},
		{name: "disasm bad syntax", args: []string{"disasm", "--syntax", "intel", "testdata/ret7.bin"}, wantCode: 2, wantErr: []string{`unknown syntax "intel"`}},
		{name: "disasm truncated", stdin: "b7 00 00 00", args: []string{"disasm", "-"}, wantCode: 1, wantErr: []string{"not a multiple of 8"}},
		{name: "disasm corrupt ELF", stdin: "\x7fELF\x02\x01\x01", args: []string{"disasm", "-"}, wantCode: 1, wantErr: []string{"-:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.stdin, tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, stdout, stderr)
			}
			wantContains(t, "stdout", stdout, tc.wantOut)
			wantContains(t, "stderr", stderr, tc.wantErr)
			if tc.wantOutput != "" && stdout != tc.wantOutput {
				t.Errorf("stdout = %q, want %q", stdout, tc.wantOutput)
			}
		})
	}
	pktOut, err := os.ReadFile(filepath.Join(tmp, "out.pkt"))
	if err != nil {
		t.Fatal(err)
	}
	pktIn, _ := os.ReadFile("../../examples/proto_count/packet.bin")
	if !bytes.Equal(pktOut, pktIn) {
		t.Errorf("--data-out wrote % x, want the unchanged packet % x", pktOut, pktIn)
	}
	raw, err := os.ReadFile(filepath.Join(tmp, "out.bin"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile("testdata/ret7.bin")
	if !bytes.Equal(raw, want) {
		t.Errorf("asm -o wrote % x, want % x", raw, want)
	}
}
