// Package verifier proves eBPF programs safe before they run.
package verifier
