//go:build !linux

package compat

import "syscall"

func dieWithParent() *syscall.SysProcAttr { return nil }
