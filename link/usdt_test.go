package link_test

import (
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/link"
)

func TestParseUSDTSection(t *testing.T) {
	for _, c := range []struct {
		section, path, provider, name string
		placed                        bool
		err                           string
	}{
		{section: "usdt/./target:waggle:tick", path: "./target", provider: "waggle", name: "tick", placed: true},
		{section: "usdt/libc.so.6:libc:setjmp", path: "libc.so.6", provider: "libc", name: "setjmp", placed: true},
		{section: "usdt.s//usr/bin/python3:python:function__entry", path: "/usr/bin/python3", provider: "python", name: "function__entry", placed: true},
		{section: "usdt"},
		{section: "usdt/"},
		{section: "usdt/target:tick", err: `section "usdt/target:tick": "target:tick": want PATH:PROVIDER:NAME`},
		{section: "usdt/target::tick", err: "want PATH:PROVIDER:NAME"},
		{section: "usdt/:p:n", err: "want PATH:PROVIDER:NAME"},
		{section: "uprobe/x:y", err: `section "uprobe/x:y" is not a USDT program's`},
	} {
		u, placed, err := link.ParseUSDTSection(c.section)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v; want an error with %q", c.section, err, c.err)
			}
			continue
		}
		if err != nil || placed != c.placed || u.Path != c.path || u.Provider != c.provider || u.Name != c.name {
			t.Errorf("%q: %+v, %v, %v", c.section, u, placed, err)
		}
	}
}
