package link

import (
	"fmt"
	"strings"

	"github.com/waggle-ebpf/waggle"
)

// USDT is a USDT probe (a <sys/sdt.h> DTRACE_PROBE or STAP_PROBE site,
// from the file's .note.stapsdt notes) and the program that runs at
// every site of it, as libbpf's bpf_program__attach_usdt attaches one.
// The programs are uprobe programs (ebpf.Kprobe) written with libbpf's
// usdt.bpf.h: BPF_USDT and bpf_usdt_arg read the arguments through the
// site's spec, which AttachUprobe writes into the object's
// __bpf_usdt_specs map under an ID that the program's runs at that site
// get as their attach cookie (bpf_get_attach_cookie).
type USDT struct {
	Program *waggle.Program
	// Path is the executable or shared library holding the probe: a
	// path, a library's name without a directory, or a command's name
	// looked up in PATH, as Uprobe.Path.
	Path string
	// Provider and Name name the probe (DTRACE_PROBE(provider, name)).
	Provider, Name string
	// Cookie is what bpf_usdt_cookie returns (libbpf's
	// bpf_usdt_opts.usdt_cookie).
	Cookie uint64
	// Specs is the object's __bpf_usdt_specs map (an array whose values
	// are struct __bpf_usdt_spec), which AttachUprobe fills: each site's
	// argument spec. nil: the program reads no arguments.
	Specs *waggle.Map
	// IPs is the object's __bpf_usdt_ip_to_spec_id map (a hash from a
	// site's address in the process to its spec's ID), for
	// usdt.bpf.h's path without attach cookies; AttachUprobe fills it in
	// each process before the probes can fire. nil: not filled (waggle
	// gives attach cookies, so usdt.bpf.h does not read it).
	IPs *waggle.Map
}

// USDTMaps names the maps of libbpf's usdt.bpf.h, which USDT.Specs and
// USDT.IPs are.
const (
	USDTSpecsMap = "__bpf_usdt_specs"
	USDTIPsMap   = "__bpf_usdt_ip_to_spec_id"
)

// ParseUSDTSection reads a USDT program's ELF section as libbpf does:
// "usdt/PATH:PROVIDER:NAME" (also "usdt.s/..."). A bare "usdt" names no
// probe (placed is false): its place comes from elsewhere (waggle trace
// --usdt).
func ParseUSDTSection(section string) (u USDT, placed bool, err error) {
	kind, target, _ := strings.Cut(section, "/")
	if kind != "usdt" && kind != "usdt.s" {
		return u, false, fmt.Errorf("section %q is not a USDT program's: want usdt/PATH:PROVIDER:NAME", section)
	}
	if target == "" {
		return u, false, nil
	}
	if err := u.SetTarget(target); err != nil {
		return u, false, fmt.Errorf("section %q: %w", section, err)
	}
	return u, true, nil
}

// SetTarget sets Path, Provider and Name from "PATH:PROVIDER:NAME".
func (u *USDT) SetTarget(target string) error {
	rest, name, ok := cutLast(target, ":")
	if !ok {
		return fmt.Errorf("%q: want PATH:PROVIDER:NAME", target)
	}
	path, provider, ok := cutLast(rest, ":")
	if !ok || path == "" || provider == "" || name == "" {
		return fmt.Errorf("%q: want PATH:PROVIDER:NAME", target)
	}
	u.Path, u.Provider, u.Name = path, provider, name
	return nil
}

// cutLast cuts s around the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// attach is the probe as its section would name it.
func (u USDT) attach() string {
	return "usdt/" + u.Path + ":" + u.Provider + ":" + u.Name
}
