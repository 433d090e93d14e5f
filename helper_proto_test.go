package waggle_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/assembler"
	"github.com/waggle-ebpf/waggle/helper"
)

// sumHelper is a helper of the user's: the sum of the bytes of a buffer,
// declared as my_sum(mem, size).
var sumHelper = helper.Helper{
	ID:   1000,
	Name: "my_sum",
	Func: func(c *helper.Call) (uint64, error) {
		b, err := c.Read(c.Args[0], c.Args[1])
		if err != nil {
			return 0, err
		}
		var sum uint64
		for _, x := range b {
			sum += uint64(x)
		}
		return sum, nil
	},
	Proto: helper.Proto{Args: []helper.ArgKind{helper.ArgMem, helper.ArgSize}, Ret: helper.RetInteger},
}

// TestUserHelperPrototypes: helpers of the user's are verified against
// the prototype they declare, as the kernel's are; a call that breaks it
// is refused at load with the prototype in the message.
func TestUserHelperPrototypes(t *testing.T) {
	unknown := sumHelper
	unknown.Proto = helper.Proto{}
	for _, c := range []struct {
		name string
		h    helper.Helper
		src  string
		want string // "" to accept
		ret  uint64
	}{
		{"within the prototype", sumHelper, `
			stdw [%r10-8], 0
			stb [%r10-8], 40
			stb [%r10-7], 2
			mov %r1, %r10
			add %r1, -8
			mov %r2, 8
			call 1000
			exit`, "", 42},
		{"a number for memory", sumHelper, "mov %r1, 7\nmov %r2, 8\ncall 1000\nexit",
			"argument 1 of my_sum (r1) must point to memory", 0},
		{"a size past the buffer", sumHelper, `
			stdw [%r10-8], 0
			mov %r1, %r10
			add %r1, -8
			mov %r2, 16
			call 1000
			exit`, "my_sum(mem, size) u64", 0},
		// An unknown prototype: r1–r5 initialised is all it asks.
		{"unknown prototype", unknown, `
			stdw [%r10-8], 0
			stb [%r10-8], 7
			mov %r1, %r10
			add %r1, -8
			mov %r2, 8
			mov %r3, 0
			mov %r4, 0
			mov %r5, 0
			call 1000
			exit`, "", 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab, err := helper.NewTable(c.h)
			if err != nil {
				t.Fatal(err)
			}
			insns, err := assembler.Assemble(c.src)
			if err != nil {
				t.Fatal(err)
			}
			p, err := waggle.NewProgramWithOptions(&waggle.ProgramSpec{Name: "sum", Instructions: insns}, waggle.ProgramOptions{Helpers: tab})
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "(the prototype is my_sum(") {
					t.Fatalf("loaded with %v; want a refusal with %q and the prototype", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			ret, err := p.Run(&waggle.RunOptions{Data: binary.LittleEndian.AppendUint64(nil, 0)})
			if err != nil || uint64(ret) != c.ret {
				t.Fatalf("run: %d, %v; want %d", ret, err, c.ret)
			}
		})
	}
}
