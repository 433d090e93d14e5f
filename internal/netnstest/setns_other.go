//go:build !linux

package netnstest

import (
	"errors"
	"os"
)

// setns fails: network namespaces are Linux's (New skips elsewhere).
func setns(*os.File) error { return errors.New("netnstest: network namespaces need Linux") }
