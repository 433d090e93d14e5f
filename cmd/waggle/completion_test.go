package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// completionScript returns what waggle completion SHELL prints.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, "", "completion", shell)
	if code != 0 {
		t.Fatalf("waggle completion %s: exit %d: %s", shell, code, stderr)
	}
	return stdout
}

// section returns the part of script from the first line equal to start
// up to the next line equal to end.
func section(t *testing.T, script, start, end string) string {
	t.Helper()
	_, rest, ok := strings.Cut(script, "\n"+start+"\n")
	if !ok {
		t.Fatalf("no line %q in the script", start)
	}
	body, _, _ := strings.Cut(rest, "\n"+end+"\n")
	return body
}

// TestCompletionCoversFlags requires every flag of every command, read
// from the command's own flag set, in each shell's script, where that
// shell completes it for that command.
func TestCompletionCoversFlags(t *testing.T) {
	scripts := map[string]string{}
	for _, sh := range shells {
		scripts[sh] = completionScript(t, sh)
	}
	// found reports whether the script of shell offers flag f of
	// command cmd.
	found := map[string]func(cmd string, f *flag.Flag) bool{
		"bash": func(cmd string, f *flag.Flag) bool {
			body := section(t, scripts["bash"], "    "+cmd+")", "        ;;")
			var list string
			for _, line := range strings.Split(body, "\n") {
				if l, ok := strings.CutPrefix(strings.TrimSpace(line), "flags="); ok {
					list = strings.Trim(l, "'")
				}
			}
			return slices.Contains(strings.Fields(list), compFlag{name: f.Name}.spelling())
		},
		"zsh": func(cmd string, f *flag.Flag) bool {
			body := section(t, scripts["zsh"], "        "+cmd+")", "            ;;")
			s := compFlag{name: f.Name}.spelling()
			return strings.Contains(body, "'"+s+"[") || strings.Contains(body, "'"+s+"=[")
		},
		"fish": func(cmd string, f *flag.Flag) bool {
			opt := " -l " + f.Name + " "
			if len(f.Name) == 1 {
				opt = " -s " + f.Name + " "
			}
			return strings.Contains(scripts["fish"], "complete -c waggle -n '__fish_seen_subcommand_from "+cmd+"'"+opt)
		},
	}
	total := 0
	for _, c := range commands {
		fs := flagSet(c)
		if fs == nil {
			t.Errorf("waggle %s made no flag set", c.name)
			continue
		}
		for _, sh := range shells {
			if !strings.Contains(scripts[sh], c.name) {
				t.Errorf("the %s script does not name the command %s", sh, c.name)
			}
		}
		fs.VisitAll(func(f *flag.Flag) {
			total++
			for _, sh := range shells {
				if !found[sh](c.name, f) {
					t.Errorf("the %s script does not offer waggle %s's flag -%s", sh, c.name, f.Name)
				}
			}
		})
	}
	if total < 40 {
		t.Errorf("checked %d flags; the commands have more", total)
	}
	code, _, stderr := runCLI(t, "", "completion", "powershell")
	if code != 2 || !strings.Contains(stderr, "bash, zsh or fish") {
		t.Errorf("waggle completion powershell: exit %d, %s", code, stderr)
	}
}

// TestCompletionSyntax checks each script with its shell's parser, where
// the shell is installed (.ci/run installs zsh and fish).
func TestCompletionSyntax(t *testing.T) {
	for _, tc := range []struct {
		shell string
		args  []string
	}{
		{"bash", []string{"-n"}},
		{"zsh", []string{"-n"}},
		{"fish", []string{"--no-execute"}},
	} {
		t.Run(tc.shell, func(t *testing.T) {
			path, err := exec.LookPath(tc.shell)
			if err != nil {
				t.Skipf("%s is not installed", tc.shell)
			}
			file := filepath.Join(t.TempDir(), "waggle."+tc.shell)
			if err := os.WriteFile(file, []byte(completionScript(t, tc.shell)), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(path, append(tc.args, file)...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s %s: %v\n%s", tc.shell, strings.Join(tc.args, " "), err, out)
			}
		})
	}
}

// TestCompletionCompletes runs the bash and fish scripts on command lines
// and checks what they offer.
func TestCompletionCompletes(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"prog.o", "packet.bin"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		line     string // the words before the cursor, the last one being completed
		want     []string
		dontWant []string
	}{
		{line: "waggle ", want: []string{"run", "attach", "completion", "help", "version"}},
		{line: "waggle ve", want: []string{"verify", "version"}, dontWant: []string{"run"}},
		{line: "waggle run --dat", want: []string{"--data", "--data-in", "--data-out"}, dontWant: []string{"--dump-maps"}},
		{line: "waggle run --engine ", want: []string{"auto", "interpreter", "jit"}},
		{line: "waggle run --data-in pa", want: []string{"packet.bin"}, dontWant: []string{"prog.o"}},
		{line: "waggle attach --ifa", want: []string{"--iface"}},
		{line: "waggle attach --iface ", want: []string{"lo"}},
		{line: "waggle disasm --syntax ", want: []string{"llvm", "conformance"}},
		{line: "waggle verify --type ", want: []string{"xdp"}},
		{line: "waggle verify pr", want: []string{"prog.o"}},
		{line: "waggle help ", want: []string{"run", "attach", "completion"}, dontWant: []string{"prog.o"}},
		{line: "waggle completion ", want: []string{"bash", "zsh", "fish"}},
	}
	run := map[string]func(t *testing.T, script, line string) []string{
		"bash": func(t *testing.T, script, line string) []string {
			words := strings.Fields(line)
			if strings.HasSuffix(line, " ") {
				words = append(words, "")
			}
			cmd := exec.Command("bash", append([]string{"-c",
				`source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _waggle; printf '%s\n' "${COMPREPLY[@]}"`,
				script}, words...)...)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, out)
			}
			return strings.Fields(string(out))
		},
		"fish": func(t *testing.T, script, line string) []string {
			cmd := exec.Command("fish", "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, script, line)
			cmd.Dir = dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("fish: %v\n%s", err, out)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				word, _, _ := strings.Cut(l, "\t")
				got = append(got, word)
			}
			return got
		},
	}
	for _, sh := range []string{"bash", "fish"} {
		t.Run(sh, func(t *testing.T) {
			if _, err := exec.LookPath(sh); err != nil {
				t.Skipf("%s is not installed", sh)
			}
			script := filepath.Join(t.TempDir(), "waggle."+sh)
			if err := os.WriteFile(script, []byte(completionScript(t, sh)), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, tc := range cases {
				if tc.line == "waggle attach --iface " {
					if _, err := os.Stat("/sys/class/net/lo"); err != nil {
						continue
					}
				}
				got := run[sh](t, script, tc.line)
				for _, w := range tc.want {
					if !slices.Contains(got, w) {
						t.Errorf("%q: %s offers %q, not %q", tc.line, sh, got, w)
					}
				}
				for _, w := range tc.dontWant {
					if slices.Contains(got, w) {
						t.Errorf("%q: %s offers %q, with %q", tc.line, sh, got, w)
					}
				}
			}
		})
	}
}
