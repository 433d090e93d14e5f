package seccomp_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/internal/seccomp"
)

// TestTriagePolicies: which numbers of each policy of testdata/seccomp
// leave the kernel, as testdata/seccomp/triage.txt says; and on random
// seccomp_data, the pre-filter built from the triage either sends the
// call to user space or returns what the policy returns.
func TestTriagePolicies(t *testing.T) {
	f, err := os.Open("../../testdata/seccomp/triage.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	cases := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			t.Fatalf("triage.txt: %q: want policy, leaves, other", line)
		}
		cases++
		name, leaves, other := fields[0], fields[1], fields[2]
		t.Run(name, func(t *testing.T) {
			p := loadPolicy(t, name)
			tr := seccomp.Triage(p.Instructions())
			got := "-"
			if l := tr.Leaves(); len(l) == seccomp.TableSize {
				got = "all"
			} else if len(l) > 0 {
				got = strings.Trim(strings.Join(strings.Fields(fmt.Sprint(l)), ","), "[]")
			}
			if got != leaves {
				t.Errorf("leaves %s, want %s", got, leaves)
			}
			if gotOther := map[bool]string{true: "constant", false: "notify"}[tr.OtherConstant]; gotOther != other {
				t.Errorf("other: %s, want %s", gotOther, other)
			}
			prefilterAgrees(t, p, tr, rand.New(rand.NewPCG(3, uint64(len(name)))), 3000)
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cases == 0 {
		t.Fatal("triage.txt has no cases")
	}
}

// prefilterAgrees checks the pre-filter of a triage on random data.
func prefilterAgrees(t *testing.T, p *waggle.Program, tr seccomp.Triaged, r *rand.Rand, n int) {
	t.Helper()
	table := make([]uint32, seccomp.TableSize)
	for nr := range table {
		table[nr] = seccomp.RetUserNotif
		if tr.Constant[nr] {
			table[nr] = tr.Table[nr]
		}
	}
	other := uint32(seccomp.RetUserNotif)
	if tr.OtherConstant {
		other = tr.Other
	}
	f, err := seccomp.Prefilter(table, other)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		d := randomData(r)
		if i%5 == 0 { // numbers past 340, and x32's
			nr := uint32(r.IntN(seccomp.TableSize + 64))
			if i%10 == 0 {
				nr |= 0x40000000
			}
			d[0], d[1], d[2], d[3] = byte(nr), byte(nr>>8), byte(nr>>16), byte(nr>>24)
		}
		got, err := f.Run(d)
		if err != nil {
			t.Fatal(err)
		}
		if got == seccomp.RetUserNotif {
			continue
		}
		res, err := p.Run(&waggle.RunOptions{Context: d[:]})
		if err != nil {
			t.Fatal(err)
		}
		if res != got {
			t.Fatalf("on %x: the pre-filter decides %s, the policy %s", d[:], seccomp.ActionName(got), seccomp.ActionName(res))
		}
	}
}

// TestTriageRandomPrograms: on random lowerable programs (which read
// arguments, so that many numbers depend on more than themselves), every
// number the triage calls constant has the policy's action, whatever the
// rest of seccomp_data.
func TestTriageRandomPrograms(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 13))
	programs := 200
	if testing.Short() {
		programs = 40
	}
	constants := 0
	for n := range programs {
		src := randomProgram(r)
		insns := mustAssemble(t, src)
		p, err := waggle.NewProgramWithOptions(&waggle.ProgramSpec{Name: fmt.Sprint("random", n), Type: waggle.Seccomp, Instructions: insns},
			waggle.ProgramOptions{Engine: waggle.EngineInterpreter})
		if err != nil {
			t.Fatalf("program %d: %v\n%s", n, err, src)
		}
		tr := seccomp.Triage(insns)
		constants += seccomp.TableSize - len(tr.Leaves())
		prefilterAgrees(t, p, tr, r, 300)
	}
	if constants == 0 {
		t.Error("no random program had a constant number: the test checks nothing")
	}
	t.Logf("%d constant numbers over %d programs", constants, programs)
}

// TestPrefilterErrors: tables the kernel could not take are refused.
func TestPrefilterErrors(t *testing.T) {
	if _, err := seccomp.Prefilter(nil, seccomp.RetAllow); err == nil || !strings.Contains(err.Error(), "1 to 512") {
		t.Errorf("empty table: %v", err)
	}
	if _, err := seccomp.Prefilter(make([]uint32, seccomp.TableSize+1), seccomp.RetAllow); err == nil {
		t.Error("a table past TableSize was taken")
	}
	// Every other number a different action: the longest search.
	table := make([]uint32, seccomp.TableSize)
	for i := range table {
		table[i] = seccomp.RetErrno | uint32(i)
	}
	f, err := seccomp.Prefilter(table, seccomp.RetKillProcess)
	if err != nil {
		t.Fatal(err)
	}
	for nr := range seccomp.TableSize + 3 {
		got, err := f.Run(data(int32(nr), 0xc000003e))
		want := uint32(seccomp.RetKillProcess)
		if nr < seccomp.TableSize {
			want = seccomp.RetErrno | uint32(nr)
		}
		if err != nil || got != want {
			t.Fatalf("nr %d: %s, %v; want %s", nr, seccomp.ActionName(got), err, seccomp.ActionName(want))
		}
	}
}
