package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	platform := "  platform: " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	for _, tc := range []struct {
		name     string
		bi       *debug.BuildInfo
		override string
		want     string
	}{
		{
			name: "release",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8",
				Main: debug.Module{Path: "github.com/waggle-ebpf/waggle", Version: "v0.1.0"}},
			want: "waggle v0.1.0\n  module:   github.com/waggle-ebpf/waggle\n  go:       go1.26.8\n" + platform,
		},
		{
			name: "checkout with VCS",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8",
				Main: debug.Module{Path: "github.com/waggle-ebpf/waggle", Version: "v0.0.0-20261207050833-3bac1798c7d0+dirty"},
				Settings: []debug.BuildSetting{
					{Key: "vcs", Value: "git"},
					{Key: "vcs.revision", Value: "3bac1798c7d06d0ceacb5b6304e61df0fa4f24f4"},
					{Key: "vcs.time", Value: "2026-12-07T05:08:33Z"},
					{Key: "vcs.modified", Value: "true"},
				}},
			want: "waggle v0.0.0-20261207050833-3bac1798c7d0+dirty\n  module:   github.com/waggle-ebpf/waggle\n" +
				"  revision: 3bac1798c7d06d0ceacb5b6304e61df0fa4f24f4 (modified)\n  time:     2026-12-07T05:08:33Z\n" +
				"  go:       go1.26.8\n" + platform,
		},
		{
			name: "clean revision",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/waggle-ebpf/waggle", Version: "(devel)"},
				Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}},
			want: "waggle (devel)\n  module:   github.com/waggle-ebpf/waggle\n  revision: abc\n  go:       go1.26.8\n" + platform,
		},
		{
			name: "test binary: no main module version",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8"},
			want: "waggle (devel)\n  module:   github.com/waggle-ebpf/waggle\n  go:       go1.26.8\n" + platform,
		},
		{
			name: "no build info",
			want: "waggle (devel)\n  module:   github.com/waggle-ebpf/waggle\n  go:       " + runtime.Version() + "\n" + platform,
		},
		{
			name:     "link-time version",
			bi:       &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/waggle-ebpf/waggle", Version: "(devel)"}},
			override: "v0.2.0-rc1",
			want:     "waggle v0.2.0-rc1\n  module:   github.com/waggle-ebpf/waggle\n  go:       go1.26.8\n" + platform,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionText(tc.bi, tc.override); got != tc.want {
				t.Errorf("versionText =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestVersionAndHelp checks waggle --version, waggle version and waggle
// help against the commands they stand for.
func TestVersionAndHelp(t *testing.T) {
	_, overview, _ := runCLI(t, "", "--help")
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		sameAs   []string // if set, stdout equals that of these arguments
		wantOut  []string
		wantErr  []string
	}{
		{name: "--version", args: []string{"--version"}, wantOut: []string{"waggle ", "module:   github.com/waggle-ebpf/waggle", "go:       go1.", "platform: " + runtime.GOOS + "/" + runtime.GOARCH}},
		{name: "-version", args: []string{"-version"}, sameAs: []string{"version"}},
		{name: "version", args: []string{"version"}, sameAs: []string{"--version"}},
		{name: "version extra argument", args: []string{"version", "x"}, wantCode: 2, wantErr: []string{"no arguments"}},
		{name: "version help", args: []string{"version", "--help"}, wantOut: []string{"usage: waggle version"}},
		{name: "help", args: []string{"help"}, sameAs: []string{"--help"}},
		{name: "help lists every command", args: []string{"help"}, wantOut: commandNames()},
		{name: "help help", args: []string{"help", "help"}, wantOut: []string{"usage: waggle help [COMMAND]"}},
		{name: "help unknown", args: []string{"help", "frobnicate"}, wantCode: 2, wantErr: []string{`waggle help: unknown command "frobnicate"`, "asm, attach"}},
		{name: "help two", args: []string{"help", "run", "asm"}, wantCode: 2, wantErr: []string{"at most one COMMAND"}},
		{name: "help bad flag", args: []string{"help", "--nope"}, wantCode: 2, wantErr: []string{"-nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tc.args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.wantCode, stdout, stderr)
			}
			if tc.sameAs != nil {
				_, want, _ := runCLI(t, "", tc.sameAs...)
				if stdout != want {
					t.Errorf("stdout =\n%s\nwant (as %q)\n%s", stdout, tc.sameAs, want)
				}
			}
			wantContains(t, "stdout", stdout, tc.wantOut)
			wantContains(t, "stderr", stderr, tc.wantErr)
		})
	}
	// waggle help CMD prints exactly what waggle CMD --help prints.
	for _, name := range commandNames() {
		t.Run("help "+name, func(t *testing.T) {
			code, viaHelp, stderr := runCLI(t, "", "help", name)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			_, direct, _ := runCLI(t, "", name, "--help")
			if viaHelp != direct || !strings.HasPrefix(direct, "usage: waggle "+name) {
				t.Errorf("waggle help %s =\n%s\nwaggle %s --help =\n%s", name, viaHelp, name, direct)
			}
			if viaHelp == overview {
				t.Errorf("waggle help %s printed the overview", name)
			}
		})
	}
}
