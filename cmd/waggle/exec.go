package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/waggle-ebpf/waggle"
	"github.com/waggle-ebpf/waggle/link"
)

// exitStatus ends waggle with a status of its own (the command's, for
// exec) without a message.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func cmdExec(args []string, e *env) error {
	fs := newFlags("exec", "--policy OBJ.o [-p NAME] [--explain] [--] CMD [ARGS...]",
		"Runs CMD under a system call policy: a program of section SEC(\"seccomp\") in\n"+
			"OBJ.o, which gets each system call's struct seccomp_data (<linux/seccomp.h>)\n"+
			"and returns a SECCOMP_RET_* action (ALLOW, ERRNO | e, KILL_PROCESS, TRAP,\n"+
			"LOG). The policy decides every system call of CMD, of its threads and of\n"+
			"every process it starts, from its first instruction; waggle exits with\n"+
			"CMD's status (128 + the signal for a killed command: 159 for SIGSYS, the\n"+
			"signal of KILL_PROCESS).\n\n"+
			"The policy is verified, then lowered to a classic BPF seccomp filter that\n"+
			"the kernel runs itself: it must read only its seccomp_data and decide with\n"+
			"comparisons and bit operations (no maps, no helpers, no stack, no loops);\n"+
			"otherwise waggle says which instruction it cannot lower. All decisions are\n"+
			"made in the kernel, and they hold even if waggle dies. No root is needed\n"+
			"(waggle sets no_new_privs, so the command cannot gain privileges through\n"+
			"set-user-ID programs).\n\n"+
			"--explain prints the classic filter to standard error, one instruction a\n"+
			"line, before running CMD; without CMD it only prints it.", e)
	policyPath := fs.String("policy", "", "the ELF object `OBJ.o` of the policy (required)")
	progName := fs.String("p", "", "use the program named `NAME` of the object")
	explain := fs.Bool("explain", false, "print the classic seccomp filter the kernel runs")
	// Flags come before the command: everything from the first argument
	// that is not a flag (or after --) is the command's.
	if err := fs.Parse(args); err != nil {
		return err
	}
	cmd := fs.Args()
	if *policyPath == "" {
		return &usageError{"--policy is required"}
	}
	if len(cmd) == 0 && !*explain {
		return &usageError{"expected a command to run: waggle exec --policy OBJ.o -- CMD [ARGS...]"}
	}
	spec, err := waggle.LoadCollectionSpec(*policyPath)
	if err != nil {
		return err
	}
	coll, err := waggle.NewCollectionWithOptions(spec, waggle.CollectionOptions{Trace: e.stderr})
	if err != nil {
		return fmt.Errorf("%s: %w", *policyPath, err)
	}
	defer coll.Close()
	policy, err := pickProgram(coll, *progName)
	if err != nil {
		return fmt.Errorf("%s: %w", *policyPath, err)
	}
	if policy.Type() != waggle.Seccomp {
		return fmt.Errorf("%s: program %s is not a system call policy: its section is not SEC(\"seccomp\")", *policyPath, policy.Name())
	}
	filter, err := link.Filter(policy)
	if err != nil {
		return fmt.Errorf("%s: %w", *policyPath, err)
	}
	if *explain {
		fmt.Fprintf(e.stderr, "policy %s: a classic seccomp filter of %d instructions; every system call is decided in the kernel, none leaves it\n%s",
			policy.Name(), len(filter), filter)
		if len(cmd) == 0 {
			return nil
		}
	}

	l, err := link.AttachExec(policy, link.ExecOptions{Path: cmd[0], Args: cmd, Stdin: e.stdin, Stdout: e.stdout, Stderr: e.stderr})
	if err != nil {
		return err
	}
	// SIGINT and SIGTERM reach the command as they would without waggle
	// (its process group gets them from the terminal); waggle only waits.
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	defer signal.Reset(os.Interrupt, syscall.SIGTERM)
	if err := runLink(context.Background(), l); err != nil {
		return err
	}
	if code := l.ExitCode(); code != 0 {
		return &exitStatus{code}
	}
	return nil
}
