package helper

import "testing"

func TestName(t *testing.T) {
	for _, tc := range []struct {
		id   int32
		want string
	}{
		{1, "bpf_map_lookup_elem"},
		{5, "bpf_ktime_get_ns"},
		{6, "bpf_trace_printk"},
		{8, "bpf_get_smp_processor_id"},
		{12, "bpf_tail_call"},
		{14, "bpf_get_current_pid_tgid"},
		{45, "bpf_probe_read_str"},
		{130, "bpf_ringbuf_output"},
		{181, "bpf_loop"},
		{0, "helper#0"},
		{-3, "helper#-3"},
		{100000, "helper#100000"},
	} {
		if got := Name(tc.id); got != tc.want {
			t.Errorf("Name(%d) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

func TestRegister(t *testing.T) {
	f := func(c *Call) (uint64, error) { return c.Args[0] + 1, nil }
	var tab Table
	if err := tab.Register(Helper{ID: 0, Func: f}); err == nil {
		t.Error("ID 0 was accepted")
	}
	if err := tab.Register(Helper{ID: 7}); err == nil {
		t.Error("nil Func was accepted")
	}
	if err := tab.Register(Helper{ID: 7, Func: f}); err != nil {
		t.Fatal(err)
	}
	h, ok := tab.Lookup(7)
	if !ok || h.Name != "bpf_get_prandom_u32" {
		t.Fatalf("Lookup(7) = %+v, %v", h, ok)
	}
	if _, ok := tab.Lookup(8); ok {
		t.Error("Lookup(8) found a helper that was never registered")
	}
	clone := tab.Clone()
	if err := clone.Register(Helper{ID: 8, Func: f}); err != nil {
		t.Fatal(err)
	}
	if _, ok := tab.Lookup(8); ok {
		t.Error("registering in a clone changed the original")
	}
}
