package proctest

import (
	"bufio"
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

// StartReady starts the program at path with pipes to its standard input
// and from its standard output, and returns once it has written the line
// ready (the test fails if it writes anything else first): the command,
// its input and its output's next lines. The program is killed at the end
// of the test.
func StartReady(tb testing.TB, ready, path string, args ...string) (*exec.Cmd, io.Writer, *bufio.Reader) {
	tb.Helper()
	cmd := exec.Command(path, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewReader(stdout)
	if s, err := lines.ReadString('\n'); err != nil || s != ready+"\n" {
		tb.Fatalf("%s said %q (%v), want %q", path, s, err, ready)
	}
	return cmd, stdin, lines
}
