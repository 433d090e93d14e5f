package kernel

import (
	"errors"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/waggle-ebpf/waggle/helper"
	"github.com/waggle-ebpf/waggle/internal/errno"
)

// TestAttachTypes: the program types with attach types find them by
// section and name, give each its context and return range, and refuse
// the attach types they do not take as the kernel does (EINVAL).
func TestAttachTypes(t *testing.T) {
	for _, c := range []struct {
		section string
		typ     ebpf.ProgramType
		attach  ebpf.AttachType
		ret     Range
	}{
		{"cgroup_skb/ingress", ebpf.CGroupSKB, ebpf.AttachCGroupInetIngress, Range{0, 1}},
		{"cgroup_skb/egress", ebpf.CGroupSKB, ebpf.AttachCGroupInetEgress, Range{0, 3}},
		{"cgroup/sock_create", ebpf.CGroupSock, ebpf.AttachCGroupInetSockCreate, Range{0, 1}},
		{"cgroup/post_bind6", ebpf.CGroupSock, ebpf.AttachCGroupInet6PostBind, Range{0, 1}},
		{"cgroup/connect4", ebpf.CGroupSockAddr, ebpf.AttachCGroupInet4Connect, Range{0, 1}},
		{"cgroup/sendmsg6", ebpf.CGroupSockAddr, ebpf.AttachCGroupUDP6Sendmsg, Range{0, 1}},
		{"cgroup/recvmsg4", ebpf.CGroupSockAddr, ebpf.AttachCGroupUDP4Recvmsg, Range{1, 1}},
		{"cgroup/getsockname_unix", ebpf.CGroupSockAddr, ebpf.AttachCgroupUnixGetsockname, Range{1, 1}},
		{"cgroup/bind4", ebpf.CGroupSockAddr, ebpf.AttachCGroupInet4Bind, Range{0, 3}},
	} {
		pt, typ, ok := ProgramTypeOfSection(c.section)
		if !ok || typ != c.typ {
			t.Errorf("section %q: %v %v; want %s", c.section, typ, ok, c.typ)
			continue
		}
		if a, ok := pt.AttachOfSection(c.section); !ok || a != c.attach {
			t.Errorf("section %q: attach %v %v; want %v", c.section, a, ok, c.attach)
		}
		desc, ret, err := pt.ForAttach(c.attach)
		if err != nil || ret == nil || *ret != c.ret || desc.Size == 0 {
			t.Errorf("%s ForAttach(%v) = %v, %v, %v; want return range %v", pt.Name, c.attach, desc, ret, err, c.ret)
		}
		if _, err := NewRun(c.typ, Options{AttachType: c.attach}); err != nil {
			t.Errorf("NewRun(%s, %v): %v", c.typ, c.attach, err)
		}
	}
	for _, pt := range programTypes {
		for _, at := range pt.Attach {
			if at.Name == "" || len(at.Sections) == 0 || at.Context.Name == "" || len(at.Context.Fields) == 0 {
				t.Errorf("%s attach type %v is not whole", pt.Name, at.Type)
			}
			if got, ok := pt.AttachNamed(at.Name); !ok || got != at.Type {
				t.Errorf("%s AttachNamed(%q) = %v, %v", pt.Name, at.Name, got, ok)
			}
		}
	}
	// cgroup_sock_addr programs need an attach type of theirs; 0 is
	// sock_create for cgroup_sock, ingress for cgroup_skb.
	for _, c := range []struct {
		typ    ebpf.ProgramType
		attach ebpf.AttachType
	}{{ebpf.CGroupSockAddr, 0}, {ebpf.CGroupSockAddr, ebpf.AttachCGroupInetEgress}, {ebpf.CGroupSock, ebpf.AttachCGroupInet4Connect}, {ebpf.CGroupSKB, ebpf.AttachCGroupInetSockCreate}} {
		if _, err := NewRun(c.typ, Options{AttachType: c.attach}); !errors.Is(err, errno.EINVAL) {
			t.Errorf("NewRun(%s, %v) = %v; want EINVAL", c.typ, c.attach, err)
		}
	}
	pt, _ := ProgramTypeOf(ebpf.CGroupSock)
	if d, _, err := pt.ForAttach(0); err != nil || d != &pt.Attach[0].Context {
		t.Errorf("cgroup_sock attach 0: %v, %v; want sock_create's context", d, err)
	}
}

// TestSockHelpersFor: which helpers the socket program types may call,
// as Linux 6.18 answered features.HaveProgramHelper for cgroup_skb,
// cgroup_sock, cgroup_sock_addr and sock_ops.
func TestSockHelpersFor(t *testing.T) {
	types := []ebpf.ProgramType{ebpf.CGroupSKB, ebpf.CGroupSock, ebpf.CGroupSockAddr, ebpf.SockOps}
	kernel := map[int32]string{
		4: "----", 23: "----", 26: "Y---", 27: "----", 28: "----", 44: "----", 45: "----", 51: "----", 67: "----",
		54: "----", 59: "---Y", 65: "----", 148: "----", 174: "----",
		// The skb helpers (Linux 6.18, as above).
		9: "----", 10: "----", 11: "----", 17: "YYYY", 20: "----", 21: "----", 29: "----", 30: "----", 31: "----", 32: "----",
		34: "----", 38: "----", 39: "----", 43: "----", 48: "----", 50: "----", 46: "YYYY", 18: "----", 19: "----", 68: "Y---",
		79: "Y---", 122: "YYYY", 152: "----", 155: "----", 135: "----", 13: "----", 40: "----", 24: "----", 47: "Y---",
		151: "----", 83: "Y---", 97: "Y---", 188: "----", 189: "----", 190: "----", 84: "Y-Y-", 85: "Y-Y-", 86: "Y-Y-",
		99: "Y-Y-", 124: "----", 41: "----", 69: "----",
	}
	for i, typ := range types {
		tab, err := HelpersFor(typ, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range defs {
			id := int32(d.id)
			row, ok := kernel[id]
			want := !ok || row[i] == 'Y' // the others: every type
			_, got := tab.Lookup(id)
			if known, allowed := HelperAllowed(typ, id); got != want || !known || allowed != want {
				t.Errorf("%v helper %d (%s): in table %v, allowed %v, kernel %v", typ, id, helper.Name(id), got, allowed, want)
			}
		}
	}
}
