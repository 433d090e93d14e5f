package verifier

import (
	"slices"
	"strings"
	"testing"
)

// TestContextAccesses checks which instructions Stats.ContextAccesses
// reports: the loads and stores through the context on explored paths,
// by instruction index (an lddw counts as one instruction).
func TestContextAccesses(t *testing.T) {
	cases := []struct {
		name, typ string
		maps      []string
		asm       string
		want      []int
	}{
		{name: "none", asm: `
			mov %r0, 2
			exit`, want: []int{}},
		{name: "xdp_data_end", asm: `
			ldxw %r2, [%r1+0]
			ldxw %r3, [%r1+4]
			mov %r4, %r2
			add %r4, 4
			jgt %r4, %r3, out
			ldxw %r0, [%r2+0]
		out:
			ldxw %r5, [%r1+12]
			mov %r0, 2
			exit`, want: []int{0, 1, 6}},
		{name: "after_lddw", maps: []string{"array:4:8:1"}, asm: `
			lddw %r2, map_fd 0
			ldxw %r0, [%r1+16]
			mov %r0, 2
			exit`, want: []int{1}},
		{name: "tc_stores", typ: "tc", asm: `
			stw [%r1+8], 1
			mov %r2, 3
			stxw [%r1+32], %r2
			stxw [%r10-8], %r2
			ldxw %r3, [%r10-8]
			mov %r0, 0
			exit`, want: []int{0, 2}},
		{name: "copy_and_subprogram", asm: `
			mov %r6, %r1
			call local f
			ldxw %r0, [%r6+16]
			mov %r0, 2
			exit
		f:
			ldxw %r0, [%r1+12]
			exit`, want: []int{2, 5}},
		{name: "dead_branch", asm: `
			mov %r2, 0
			jne %r2, 0, skip
			mov %r0, 2
			exit
		skip:
			ldxw %r0, [%r1+12]
			exit`, want: []int{}},
		{name: "raw_memory", typ: "raw", asm: `
			jlt %r2, 8, out
			ldxdw %r0, [%r1+0]
		out:
			mov %r0, 0
			exit`, want: []int{}},
		{name: "rejected", asm: `
			ldxw %r0, [%r1+12]
			ldxw %r0, [%r1+400]
			mov %r0, 2
			exit`, want: nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vc := vcase{name: c.name, typ: c.typ, maps: c.maps, asm: c.asm}
			st, err := Verify(vc.program(t), Options{})
			if (err != nil) != (c.want == nil) {
				t.Fatalf("Verify: %v, want accepted=%v", err, c.want != nil)
			}
			if (st.ContextAccesses == nil) != (c.want == nil) || !slices.Equal(st.ContextAccesses, c.want) {
				t.Errorf("ContextAccesses = %#v, want %#v", st.ContextAccesses, c.want)
			}
		})
	}
}

// TestSameInsnDifferentPointers checks the rule of the kernel's
// reg_type_mismatch: an instruction may not access the context (or a
// socket) on one path and other memory on another.
func TestSameInsnDifferentPointers(t *testing.T) {
	runCases(t, []vcase{
		{name: "ctx_then_stack", asm: `
			stdw [%r10-16], 0
			stdw [%r10-8], 0
			ldxw %r2, [%r1+12]
			mov %r3, %r10
			add %r3, -16
			jeq %r2, 0, use
			mov %r3, %r1
		use:
			ldxw %r0, [%r3+12]
			mov %r0, 2
			exit`, want: "on another path this same instruction accessed the context", kmsg: "same insn cannot be used with different pointers"},
		{name: "stack_or_map_value", maps: []string{"array:4:16:1"}, asm: `
			stdw [%r10-16], 0
			stdw [%r10-8], 0
			stw [%r10-20], 0
			mov %r6, %r10
			add %r6, -16
			lddw %r1, map_fd 0
			mov %r2, %r10
			add %r2, -20
			call 1
			jeq %r0, 0, use
			mov %r6, %r0
		use:
			stdw [%r6+8], 1
			mov %r0, 2
			exit`},
		{name: "sock_or_stack", typ: "tc", asm: `
			stdw [%r10-8], 0
			mov %r3, %r10
			add %r3, -8
			ldxdw %r2, [%r1+168]
			jeq %r2, 0, use
			mov %r3, %r2
		use:
			ldxw %r0, [%r3+4]
			mov %r0, 0
			exit`, want: "a socket", kmsg: "same insn cannot be used with different pointers"},
	})
	// The explanation names both pointers.
	vc := vcase{name: "words", asm: `
		ldxw %r2, [%r1+12]
		mov %r3, %r1
		jeq %r2, 0, use
		mov %r3, %r10
		add %r3, -16
		stdw [%r10-16], 0
		stdw [%r10-8], 0
	use:
		ldxw %r0, [%r3+12]
		mov %r0, 2
		exit`}
	_, err := Verify(vc.program(t), Options{})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"instruction 7", "r3 holds the context", "accessed the stack", "give each path its own load or store"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\nwant %q", err, want)
		}
	}
}
