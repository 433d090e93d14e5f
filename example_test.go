package waggle_test

import (
	"fmt"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/assembler"
)

// Sum the first four bytes of the program's memory. The verifier must see
// that they are there: r2, the memory's length, is compared with 4 first.
func ExampleProgram_Run() {
	insns, err := assembler.Assemble(`
		mov %r0, 0
		jlt %r2, 4, done  # fewer than 4 bytes: 0
		mov %r3, 0
	loop:
		jge %r3, 4, done
		mov %r4, %r1
		add %r4, %r3
		ldxb %r4, [%r4]
		add %r0, %r4
		add %r3, 1
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
	ret, err := prog.Run(&waggle.RunOptions{Data: []byte{1, 2, 3, 4}})
	if err != nil {
		panic(err)
	}
	fmt.Println(ret)
	// Output: 10
}

// Load an object with an explicit engine. EngineAuto (the default)
// compiles verified programs to machine code on Linux/amd64 and Linux/arm64; EngineInterpreter
// interprets them, checking every access at run time.
func ExampleCollectionOptions_engine() {
	spec, err := waggle.LoadCollectionSpec("examples/proto_count/proto_count.o")
	if err != nil {
		panic(err)
	}
	coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{Engine: waggle.EngineInterpreter})
	if err != nil {
		panic(err)
	}
	defer coll.Close()
	prog := coll.Programs["proto_count"]
	fmt.Println(prog.Engine())
	// Output: interpreter
}

// Set a constant of an object before loading it, as with cilium/ebpf, and
// read and write its other globals afterwards. variables.o drops every
// packet after the first drop_after (a const volatile in .rodata) and
// counts packets in packets (.bss).
func ExampleVariable() {
	spec, err := waggle.LoadCollectionSpec("testdata/objects/variables.o")
	if err != nil {
		panic(err)
	}
	if err := spec.Variables["drop_after"].Set(uint32(1)); err != nil {
		panic(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		panic(err)
	}
	defer coll.Close()
	prog := coll.Programs["xdp_drop_after"]
	for range 3 {
		ret, err := prog.Run(&waggle.RunOptions{Data: make([]byte, 64)})
		if err != nil {
			panic(err)
		}
		fmt.Print(ret, " ") // XDP_PASS (2), then XDP_DROP (1)
	}
	var packets uint64
	if err := coll.Variables["packets"].Get(&packets); err != nil {
		panic(err)
	}
	fmt.Println("packets:", packets)
	// Output: 2 1 1 packets: 3
}
