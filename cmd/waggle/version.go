package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version, when set at link time (-ldflags "-X main.version=v1.2.3"),
// replaces the module version of the build info: for builds without the
// repository's VCS metadata, such as the Docker image's.
var version string

func cmdVersion(args []string, e *env) error {
	fs := newFlags("version", "",
		"Prints waggle's version: the module version (a release tag such as v0.1.0\n"+
			"from go install …@VERSION, a pseudo-version or \"(devel)\" from a checkout),\n"+
			"the VCS revision, its time and whether the tree was modified when it was\n"+
			"built, the Go version and the platform. \"waggle --version\" is the same.", e)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return &usageError{"version takes no arguments"}
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprint(e.stdout, versionText(bi, version))
	return nil
}

// versionText describes the build bi (nil when the binary has no build
// information); override, if not empty, replaces the module version.
func versionText(bi *debug.BuildInfo, override string) string {
	v, path, goVersion := "", "github.com/waggle-ebpf/waggle", runtime.Version()
	var revision, when string
	modified := false
	if bi != nil {
		v = bi.Main.Version
		if bi.Main.Path != "" {
			path = bi.Main.Path
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if override != "" {
		v = override
	}
	if v == "" {
		v = "(devel)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "waggle %s\n", v)
	fmt.Fprintf(&b, "  module:   %s\n", path)
	if revision != "" {
		if modified {
			revision += " (modified)"
		}
		fmt.Fprintf(&b, "  revision: %s\n", revision)
	}
	if when != "" {
		fmt.Fprintf(&b, "  time:     %s\n", when)
	}
	fmt.Fprintf(&b, "  go:       %s\n", goVersion)
	fmt.Fprintf(&b, "  platform: %s/%s\n", runtime.GOOS, runtime.GOARCH)
	return b.String()
}
