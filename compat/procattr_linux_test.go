package compat

import "syscall"

// dieWithParent makes the kernel kill redis-server if the test binary dies
// before TestMain can stop it.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
