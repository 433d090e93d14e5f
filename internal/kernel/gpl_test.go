package kernel

import "testing"

func TestGPL(t *testing.T) {
	for _, tc := range []struct {
		license string
		want    bool
	}{
		{"GPL", true}, {"Dual BSD/GPL", true}, {"GPL v2", true}, {"Dual MIT/GPL", true},
		{"MIT", false}, {"", false}, {"gpl", false}, {"Proprietary", false},
	} {
		if got := LicenseGPLCompatible(tc.license); got != tc.want {
			t.Errorf("LicenseGPLCompatible(%q) = %v", tc.license, got)
		}
	}
	if !HelperGPLOnly(6) || !HelperGPLOnly(113) || HelperGPLOnly(1) || HelperGPLOnly(12) {
		t.Error("gpl_only flags: trace_printk and probe_read_kernel are GPL-only, map_lookup_elem and tail_call are not")
	}
}
