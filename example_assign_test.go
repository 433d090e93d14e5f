package waggle_test

import (
	"fmt"
	"os"

	"github.com/waggle-ebpf/waggle"
)

// Load an object into a struct as bpf2go's code does: fields tagged
// `ebpf:"name"` receive the program, map or variable of that name.
func ExampleCollectionSpec_LoadAndAssign() {
	f, err := os.Open("testdata/objects/variables.o")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	spec, err := waggle.ReadCollectionSpec(f)
	if err != nil {
		panic(err)
	}
	if err := spec.Variables["drop_after"].Set(uint32(1)); err != nil {
		panic(err)
	}
	var objs struct {
		Prog    *waggle.Program  `ebpf:"xdp_drop_after"`
		Packets *waggle.Variable `ebpf:"packets"`
	}
	if err := spec.LoadAndAssign(&objs, nil); err != nil {
		panic(err)
	}
	defer objs.Prog.Close()
	for range 3 {
		verdict, _, err := objs.Prog.Test(make([]byte, 64))
		if err != nil {
			panic(err)
		}
		fmt.Print(verdict, " ") // XDP_PASS (2), then XDP_DROP (1)
	}
	var packets uint64
	if err := objs.Packets.Get(&packets); err != nil {
		panic(err)
	}
	fmt.Println("packets:", packets)
	// Output: 2 1 1 packets: 3
}

// Take programs and maps out of a loaded collection: what is assigned is
// the caller's to close.
func ExampleCollection_Assign() {
	spec, err := waggle.LoadCollectionSpec("examples/tail_calls/tail_calls.o")
	if err != nil {
		panic(err)
	}
	coll, err := waggle.NewCollection(spec)
	if err != nil {
		panic(err)
	}
	var objs struct {
		Counts *waggle.Map `ebpf:"counts"`
	}
	if err := coll.Assign(&objs); err != nil {
		panic(err)
	}
	coll.Close() // leaves counts open
	defer objs.Counts.Close()
	_, inColl := coll.Maps["counts"]
	fmt.Println(objs.Counts.Name(), objs.Counts.MaxEntries(), inColl)
	// Output: counts 4 false
}
