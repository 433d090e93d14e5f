package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/waggle-ebpf/waggle/internal/kerneltest"
	"go.yaml.in/yaml/v3"
)

// goreleaserConfig is the part of .goreleaser.yaml the tests check.
type goreleaserConfig struct {
	Version int `yaml:"version"`
	Builds  []struct {
		ID      string   `yaml:"id"`
		Main    string   `yaml:"main"`
		Binary  string   `yaml:"binary"`
		Env     []string `yaml:"env"`
		Flags   []string `yaml:"flags"`
		Ldflags []string `yaml:"ldflags"`
		Goos    []string `yaml:"goos"`
		Goarch  []string `yaml:"goarch"`
	} `yaml:"builds"`
	Archives []struct {
		Files []string `yaml:"files"`
	} `yaml:"archives"`
	Checksum struct {
		Algorithm string `yaml:"algorithm"`
	} `yaml:"checksum"`
}

// readYAML decodes the repository file name (relative to the root) into v.
func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../..", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestReleaseConfig checks that .goreleaser.yaml builds waggle statically
// for linux/amd64 and linux/arm64 and ships the files it names.
func TestReleaseConfig(t *testing.T) {
	var cfg goreleaserConfig
	readYAML(t, ".goreleaser.yaml", &cfg)
	if cfg.Version != 2 {
		t.Errorf("version: %d, want 2 (GoReleaser v2's configuration)", cfg.Version)
	}
	if len(cfg.Builds) != 1 {
		t.Fatalf("%d builds, want 1", len(cfg.Builds))
	}
	b := cfg.Builds[0]
	if b.Main != "./cmd/waggle" || b.Binary != "waggle" {
		t.Errorf("builds main %q binary %q, want ./cmd/waggle and waggle", b.Main, b.Binary)
	}
	if !slices.Contains(b.Env, "CGO_ENABLED=0") {
		t.Errorf("builds env %q lacks CGO_ENABLED=0", b.Env)
	}
	if !slices.Contains(b.Flags, "-trimpath") {
		t.Errorf("builds flags %q lack -trimpath", b.Flags)
	}
	if !slices.Equal(b.Goos, []string{"linux"}) || !slices.Contains(b.Goarch, "amd64") || !slices.Contains(b.Goarch, "arm64") {
		t.Errorf("targets %q × %q, want linux × amd64, arm64", b.Goos, b.Goarch)
	}
	if cfg.Checksum.Algorithm != "sha256" {
		t.Errorf("checksum algorithm %q, want sha256", cfg.Checksum.Algorithm)
	}
	if len(cfg.Archives) != 1 {
		t.Fatalf("%d archives, want 1", len(cfg.Archives))
	}
	for _, f := range cfg.Archives[0].Files {
		if strings.HasPrefix(f, "completions/") {
			continue // made by the before hooks
		}
		if _, err := os.Stat(filepath.Join("../..", f)); err != nil {
			t.Errorf("the archive's file %s: %v", f, err)
		}
	}
}

// TestReleaseBuild builds waggle as .goreleaser.yaml does, for each of its
// targets, and checks that each binary is a static executable for its
// architecture; the one for this machine prints its version, with the
// checkout's revision when the repository is a plain git clone (Go does
// not stamp VCS information in a git worktree, whose .git is a file).
func TestReleaseBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds waggle for two architectures")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	var cfg goreleaserConfig
	readYAML(t, ".goreleaser.yaml", &cfg)
	b := cfg.Builds[0]
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	wantRevision := ""
	if fi, err := os.Stat(filepath.Join(root, ".git")); err == nil && fi.IsDir() {
		if out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output(); err == nil {
			wantRevision = strings.TrimSpace(string(out))
		}
	}
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for _, goos := range b.Goos {
		for _, goarch := range b.Goarch {
			t.Run(goos+"/"+goarch, func(t *testing.T) {
				bin := filepath.Join(t.TempDir(), b.Binary)
				args := append([]string{"build"}, b.Flags...)
				if len(b.Ldflags) > 0 {
					args = append(args, "-ldflags="+strings.Join(b.Ldflags, " "))
				}
				if wantRevision != "" {
					args = append(args, "-buildvcs=true")
				} else {
					// No usable git here (no .git, or one git refuses: a
					// checkout another user owns): build without VCS
					// stamping, and the revision is not checked.
					args = append(args, "-buildvcs=false")
				}
				args = append(args, "-o", bin, b.Main)
				cmd := exec.Command(goTool, args...)
				cmd.Dir = root
				cmd.Env = append(append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch), b.Env...)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("GOOS=%s GOARCH=%s %s go %s: %v\n%s", goos, goarch, strings.Join(b.Env, " "), strings.Join(args, " "), err, out)
				}
				f, err := elf.Open(bin)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if want, ok := machines[goarch]; ok && f.Machine != want {
					t.Errorf("machine %v, want %v", f.Machine, want)
				}
				for _, p := range f.Progs {
					if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
						t.Errorf("not static: the binary has a %v program header", p.Type)
					}
				}
				if goos != runtime.GOOS || goarch != runtime.GOARCH {
					return
				}
				out, err := kerneltest.Command(bin, "--version").CombinedOutput()
				if err != nil {
					t.Fatalf("waggle --version: %v\n%s", err, out)
				}
				if !strings.HasPrefix(string(out), "waggle ") || !strings.Contains(string(out), "platform: "+goos+"/"+goarch) {
					t.Errorf("waggle --version:\n%s", out)
				}
				if wantRevision != "" && !strings.Contains(string(out), "revision: "+wantRevision) {
					t.Errorf("waggle --version does not name the revision %s:\n%s", wantRevision, out)
				}
			})
		}
	}
}
