#!/bin/sh
# A stand-in for bpf2go in gen's tests: it prints its arguments, copies the
# file $FAKE_BPF2GO_OUT names (if set) to counter_bpfel.go, as bpf2go
# writes its output for the identifier counter, and fails with status 3
# when $FAKE_BPF2GO_FAIL is set.
echo "fake bpf2go $*"
if [ -n "$FAKE_BPF2GO_FAIL" ]; then
	echo "fake bpf2go: failing as asked" >&2
	exit 3
fi
if [ -n "$FAKE_BPF2GO_OUT" ]; then
	cp "$FAKE_BPF2GO_OUT" counter_bpfel.go
fi
