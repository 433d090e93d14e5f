package waggle_test

import (
	"fmt"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/assembler"
)

// Sum the bytes of the program's memory.
func ExampleProgram_Run() {
	insns, err := assembler.Assemble(`
		mov %r0, 0
		mov %r3, %r1
		add %r3, %r2      # r3 = end of memory
	loop:
		jge %r1, %r3, done
		ldxb %r4, [%r1]
		add %r0, %r4
		add %r1, 1
		ja loop
	done:
		exit`)
	if err != nil {
		panic(err)
	}
	prog, err := waggle.NewProgram(&waggle.ProgramSpec{Name: "sum", Instructions: insns})
	if err != nil {
		panic(err)
	}
	res, err := prog.Run(&waggle.RunOptions{Data: []byte{1, 2, 3, 4}})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.ReturnValue)
	// Output: 10
}
