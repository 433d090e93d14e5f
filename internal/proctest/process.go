package proctest

import (
	"bytes"
	"io"
	"os/exec"
	"testing"
	"time"
)

// Process is a program that a test started, with a pipe to its standard
// input and its standard output gathered.
type Process struct {
	*exec.Cmd
	// Input is the pipe to the program's standard input: closing it
	// tells the test targets to finish.
	Input io.WriteCloser
	out   bytes.Buffer
}

// Start starts path with args, its standard input a pipe and its
// standard output gathered, and kills it (and waits for it) when the test
// ends. It fails the test when the program does not start.
func Start(tb testing.TB, path string, args ...string) *Process {
	tb.Helper()
	p := &Process{Cmd: exec.Command(path, args...)}
	stdin, err := p.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	p.Input = stdin
	p.Stdout = &p.out
	if err := p.Cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Process.Kill(); _ = p.Wait() })
	return p
}

// Finish closes the program's standard input, waits for it to end and
// returns what it wrote to its standard output and how it ended.
func (p *Process) Finish() (string, error) {
	p.Input.Close()
	err := p.Wait()
	return p.out.String(), err
}

// WaitUntil calls done every interval until it returns true or timeout
// has passed, and returns done's last answer.
func WaitUntil(timeout, interval time.Duration, done func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !done() {
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(interval)
	}
	return true
}
