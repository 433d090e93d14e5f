package verifiertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Record rewrites the verdict and kernel-message lines of the case file
// of c (c.File, relative to the repository root) to say accept, or reject
// with message. The rest of the file is kept as it is.
func Record(c Case, accept bool, message string) error {
	path := filepath.Join(RepoRoot(), c.File)
	text, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	lines := strings.SplitAfter(string(text), "\n")
	var out []string
	inHeader := true
	wrote := false
	for _, line := range lines {
		if inHeader {
			key, _, ok := headerKey(strings.TrimRight(line, "\n"))
			if !ok && line != "" {
				inHeader = false
				if !wrote {
					out = append(out, verdictLines(accept, message)...)
					wrote = true
				}
			}
			switch {
			case ok && (key == "verdict" || key == "kernel-message"):
				if !wrote {
					out = append(out, verdictLines(accept, message)...)
					wrote = true
				}
				continue
			}
		}
		out = append(out, line)
	}
	if !wrote {
		return fmt.Errorf("%s: no header", path)
	}
	return os.WriteFile(path, []byte(strings.Join(out, "")), 0o644)
}

func verdictLines(accept bool, message string) []string {
	if accept {
		return []string{"# verdict: accept\n"}
	}
	return []string{"# verdict: reject\n", "# kernel-message: " + message + "\n"}
}
