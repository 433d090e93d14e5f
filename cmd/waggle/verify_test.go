package main

import (
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVerify(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantOut  []string
		wantErr  []string
	}{
		{name: "help", args: []string{"verify", "--help"}, wantOut: []string{"usage: waggle verify", "-strict", "-json", "-p"}},
		{name: "accepted object", args: []string{"verify", "../../examples/firewall/firewall.o"},
			wantOut: []string{"PROGRAM", "INSNS PROCESSED", "PEAK STATES", "firewall", "XDP", "accepted"}},
		{name: "every program", args: []string{"verify", "../../testdata/progs/xdp_parse.o"},
			wantOut: []string{"xdp_len_hist", "xdp_parse", "accepted"}},
		{name: "one program", args: []string{"verify", "-p", "xdp_parse", "../../testdata/progs/xdp_parse.o"},
			wantOut: []string{"xdp_parse"}},
		{name: "one program of its own section", args: []string{"verify", "-p", "connect4_redirect", "../../testdata/sock/sock_progs.o"},
			wantOut: []string{"connect4_redirect", "CGroupSockAddr", "accepted"}},
		{name: "one program calling functions", args: []string{"verify", "-p", "sock_subprogs", "../../testdata/progs/subprogs.o"},
			wantOut: []string{"sock_subprogs", "SocketFilter", "accepted"}},
		{name: "one program, the object read whole", args: []string{"verify", "-p", "socket_alone", "../../internal/elfsubset/testdata/prog_array.o"},
			wantOut: []string{"socket_alone", "SocketFilter", "accepted"}},
		{name: "a function is no program", args: []string{"verify", "-p", "global_scale", "../../testdata/progs/subprogs.o"}, wantCode: 1,
			wantErr: []string{`no program "global_scale"`}},
		{name: "no such program", args: []string{"verify", "-p", "nope", "../../testdata/progs/xdp_parse.o"}, wantCode: 1,
			wantErr: []string{`no program "nope"`}},
		{name: "rejected object", args: []string{"verify", "../../testdata/progs/reject/null_map_value.o"}, wantCode: 1,
			wantOut: []string{"sock_null", "rejected", "r0 may be NULL here: bpf_map_lookup_elem at instruction 5",
				"null_map_value.c:23 (*v += 1;)", "R0 invalid mem access 'map_value_or_null'"},
			wantErr: []string{"1 of 1 programs rejected"}},
		{name: "rejected packet access", args: []string{"verify", "../../testdata/progs/reject/oob_packet.o"}, wantCode: 1,
			wantOut: []string{"xdp_oob", "rejected", "invalid access to packet", "path:"}},
		{name: "verbose", args: []string{"verify", "-v", "../../testdata/progs/reject/null_map_value.o"}, wantCode: 1,
			wantOut: []string{"=== sock_null", "(85) call 0x1 ; R0=map_value_or_null(id=1,map=counter,ks=4,vs=8)", "processed 7 insns"}},
		{name: "assembly", stdin: "mov %r0, 0\nexit\n", args: []string{"verify", "-"}, wantOut: []string{"accepted"}},
		{name: "assembly typed", stdin: "ldxw %r0, [%r1+4]\nexit\n", args: []string{"verify", "--type", "xdp", "-"}, wantOut: []string{"accepted"}},
		{name: "assembly rejected", stdin: "ldxb %r0, [%r1]\nexit\n", args: []string{"verify", "-"}, wantCode: 1,
			wantOut: []string{"rejected", "the length in r2"}},
		{name: "strict", stdin: "mov %r0, %r10\nexit\n", args: []string{"verify", "--strict", "--type", "socket", "-"}, wantCode: 1,
			wantOut: []string{"may not return a pointer"}},
		{name: "bad type", args: []string{"verify", "--type", "nope", "x.s"}, wantCode: 2, wantErr: []string{"--type"}},
		{name: "socket object", args: []string{"verify", "../../testdata/sock/sock_progs.o"},
			wantOut: []string{"connect4_redirect", "CGroupSockAddr", "sockops_tcp", "SockOps", "sock_create_mark", "CGroupSock", "accepted"}},
		{name: "attach", stdin: "ldxw %r0, [%r1+4]\nmov %r0, 1\nexit\n", args: []string{"verify", "--type", "cgroup_sock_addr", "--attach", "connect4", "-"},
			wantOut: []string{"accepted"}},
		{name: "attach refuses field", stdin: "ldxw %r0, [%r1+4]\nmov %r0, 1\nexit\n", args: []string{"verify", "--type", "cgroup_sock_addr", "--attach", "connect6", "-"},
			wantCode: 1, wantOut: []string{"rejected", "user_ip4 is for the attach types bind4, connect4"}},
		{name: "attach return range", stdin: "mov %r0, 0\nexit\n", args: []string{"verify", "--type", "cgroup_sock_addr", "--attach", "recvmsg6", "-"},
			wantCode: 1, wantOut: []string{"must return a number in [1, 1]"}},
		{name: "attach needed", stdin: "mov %r0, 1\nexit\n", args: []string{"verify", "--type", "cgroup_sock_addr", "-"},
			wantCode: 1, wantOut: []string{"take the expected attach types"}},
		{name: "bad attach", args: []string{"verify", "--type", "cgroup_sock_addr", "--attach", "nope", "x.s"}, wantCode: 2, wantErr: []string{`--attach "nope" is not one of bind4`}},
		{name: "no attach types", args: []string{"verify", "--type", "xdp", "--attach", "connect4", "x.s"}, wantCode: 2, wantErr: []string{"xdp programs have no attach types"}},
		{name: "no file", args: []string{"verify"}, wantCode: 2, wantErr: []string{"expected one FILE"}},
		{name: "missing file", args: []string{"verify", "nope.o"}, wantCode: 1, wantErr: []string{"nope.o"}},
		{name: "program limit", stdin: "call 7\nmov %r1, 0\nadd %r1, 1\njne %r1, %r0, -2\nmov %r0, 0\nexit\n", args: []string{"verify", "--max-insns", "1000", "-"}, wantCode: 1,
			wantOut: []string{"gave up after processing 1000 instructions"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.stdin, tc.args...)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, stdout, stderr)
			}
			wantContains(t, "stdout", stdout, tc.wantOut)
			wantContains(t, "stderr", stderr, tc.wantErr)
		})
	}
}

func TestVerifyJSON(t *testing.T) {
	code, _, stderr := runCLI(t, "", "verify", "--json", "../../testdata/progs/spin_lock.o", "../../testdata/progs/reject/rodata_write.o")
	if code != 2 {
		t.Errorf("two files: exit %d, want 2 (%s)", code, stderr)
	}
	code, stdout, _ := runCLI(t, "", "verify", "--json", "../../testdata/progs/reject/rodata_write.o")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	var res []struct {
		Program               string `json:"program"`
		Verdict               string `json:"verdict"`
		InstructionsProcessed int    `json:"instructions_processed"`
		PeakStates            int    `json:"peak_states"`
		DurationNs            int64  `json:"duration_ns"`
		Error                 *struct {
			Index         int    `json:"index"`
			Reason        string `json:"reason"`
			KernelMessage string `json:"kernel_message"`
			Source        string `json:"source"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(res) != 1 || res[0].Program != "tc_rodata_write" || res[0].Verdict != "rejected" || res[0].Error == nil ||
		!strings.Contains(res[0].Error.KernelMessage, "write into map forbidden") || res[0].InstructionsProcessed == 0 {
		t.Errorf("unexpected result: %s", stdout)
	}
	code, stdout, _ = runCLI(t, "", "verify", "--json", "../../testdata/progs/spin_lock.o")
	if code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	res = nil
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Verdict != "accepted" || res[0].Error != nil || res[0].DurationNs <= 0 {
		t.Errorf("unexpected result: %s", stdout)
	}
}

// TestVerifyGC: verify sets the collector's target unless GOGC is set,
// and restores the previous one.
func TestVerifyGC(t *testing.T) {
	for _, tc := range []struct {
		name, gogc string
		want       int
	}{
		{"GOGC unset", "", verifyGCPercent},
		{"GOGC set", "50", 73},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogc)
			prev := debug.SetGCPercent(73)
			defer debug.SetGCPercent(prev)
			restore := verifyGC()
			if got := debug.SetGCPercent(-1); got != tc.want {
				t.Errorf("GC percent while verifying %d, want %d", got, tc.want)
			}
			debug.SetGCPercent(tc.want)
			restore()
			if got := debug.SetGCPercent(73); got != 73 {
				t.Errorf("GC percent after verifying %d, want 73 again", got)
			}
		})
	}
}
