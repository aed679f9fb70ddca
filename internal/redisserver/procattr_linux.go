package redisserver

import "syscall"

// dieWithParent makes the kernel kill redis-server if the test binary dies
// before it can stop it.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
