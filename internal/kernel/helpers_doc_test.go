package kernel

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/helper"
)

var update = flag.Bool("update", false, "rewrite docs/HELPERS.md's table of helpers from their definitions")

const (
	helpersDoc   = "../../docs/HELPERS.md"
	tableStart   = "<!-- The table is generated from the helpers' definitions in internal/kernel/helpers.go: go test ./internal/kernel -run TestHelpersDocument -update -->"
	tableEnd     = "<!-- end of the generated table -->"
	noDifference = "—"
)

// helpersTable is the table of docs/HELPERS.md, from the definitions.
func helpersTable() string {
	var b strings.Builder
	b.WriteString("| ID | helper | types | in user space | differences from the kernel |\n|---:|---|---|---|---|\n")
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	sorted := slices.Clone(defs)
	slices.SortFunc(sorted, func(a, b def) int { return int(a.id) - int(b.id) })
	for _, d := range sorted {
		diff := d.diff
		if diff == "" {
			diff = noDifference
		}
		fmt.Fprintf(&b, "| %d | `%s` | %s | %s | %s |\n", d.id, helper.Name(int32(d.id)), d.types, cell(d.doc), cell(diff))
	}
	return b.String()
}

// TestHelpersDocument: docs/HELPERS.md lists every helper as its
// definition describes it. With -update it rewrites the table.
func TestHelpersDocument(t *testing.T) {
	b, err := os.ReadFile(helpersDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, tableStart), strings.Index(doc, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has lost the markers around the generated table (%q ... %q)", helpersDoc, tableStart, tableEnd)
	}
	head, tail := doc[:i+len(tableStart)]+"\n", doc[j:]
	want := head + helpersTable() + tail
	if doc == want {
		return
	}
	if *update {
		if err := os.WriteFile(helpersDoc, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is stale: run go test ./internal/kernel -run TestHelpersDocument -update", helpersDoc)
}

// TestHelperDefinitions: every definition is whole, its ID once, its
// prototype's memory arguments followed by sizes.
func TestHelperDefinitions(t *testing.T) {
	seen := map[int32]bool{}
	for _, d := range defs {
		id := int32(d.id)
		name := helper.Name(id)
		switch {
		case seen[id]:
			t.Errorf("%s (%d) is defined twice", name, id)
		case d.fn == nil || d.types == 0 || d.doc == "":
			t.Errorf("%s (%d): a definition needs an implementation, program types and a doc", name, id)
		case d.proto.Args == nil || d.proto.Ret == 0 || len(d.proto.Args) > 5:
			t.Errorf("%s (%d): a kernel helper needs a whole prototype", name, id)
		}
		seen[id] = true
		for k, a := range d.proto.Args {
			mem := a == helper.ArgMem || a == helper.ArgMemOrNull || a == helper.ArgUninitMem || a == helper.ArgWritableMemOrNull
			if mem && (k+1 >= len(d.proto.Args) || (d.proto.Args[k+1] != helper.ArgSize && d.proto.Args[k+1] != helper.ArgSizeOrZero)) {
				t.Errorf("%s (%d): argument %d is memory without a size after it", name, id, k+1)
			}
		}
	}
}
