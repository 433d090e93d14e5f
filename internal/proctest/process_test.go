package proctest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestStartFinish: the cases of testdata/finish.txt, each a shell script
// started with Start, given its input through Input and ended with
// Finish.
func TestStartFinish(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skipf("skipped: no sh to run the cases of testdata/finish.txt: %v", err)
	}
	b, err := os.ReadFile("testdata/finish.txt")
	if err != nil {
		t.Fatal(err)
	}
	var cases [][]string
	for n, text := range strings.Split(string(b), "\n") {
		if text = strings.TrimSpace(text); text == "" || text[0] == '#' {
			continue
		}
		fields := strings.Split(text, "|")
		if len(fields) != 5 {
			t.Fatalf("finish.txt:%d: %d fields, want 5", n+1, len(fields))
		}
		for i := range fields {
			fields[i] = strings.ReplaceAll(strings.TrimSpace(fields[i]), `\n`, "\n")
		}
		cases = append(cases, fields)
	}
	if len(cases) == 0 {
		t.Fatal("no cases in finish.txt")
	}
	for _, fields := range cases {
		t.Run(fields[0], func(t *testing.T) {
			p := Start(t, sh, "-c", fields[1])
			if _, err := p.Input.Write([]byte(fields[2])); err != nil {
				t.Fatal(err)
			}
			out, err := p.Finish()
			status := "ok"
			if err != nil {
				status = err.Error()
			}
			if out != fields[3] || status != fields[4] {
				t.Errorf("Finish: %q, %s; want %q, %s", out, status, fields[3], fields[4])
			}
		})
	}
}

// TestStartKilledAtEnd: a process still running when its test ends is
// killed and waited for.
func TestStartKilledAtEnd(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skipf("skipped: no sh to run: %v", err)
	}
	var p *Process
	t.Run("running", func(t *testing.T) {
		p = Start(t, sh, "-c", "read never")
	})
	if p.ProcessState == nil || p.ProcessState.Success() {
		t.Fatalf("after its test: state %v, want killed and waited for", p.ProcessState)
	}
}

// TestWaitUntil: WaitUntil returns as soon as done is true, and false
// when it never is.
func TestWaitUntil(t *testing.T) {
	for _, tc := range []struct {
		name   string
		trueAt int // the call at which done first returns true; 0: never
		want   bool
		calls  int
	}{
		{"at once", 1, true, 1},
		{"third call", 3, true, 3},
		{"never", 0, false, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			got := WaitUntil(20*time.Millisecond, time.Millisecond, func() bool {
				calls++
				return tc.trueAt != 0 && calls >= tc.trueAt
			})
			if got != tc.want || (tc.calls >= 0 && calls != tc.calls) || (tc.calls < 0 && calls < 2) {
				t.Errorf("WaitUntil = %v after %d calls; want %v after %d", got, calls, tc.want, tc.calls)
			}
		})
	}
}
