package driver

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/understudy/understudy/bench"
)

// clockTick is Linux's USER_HZ, the unit of utime and stime in /proc/PID/stat.
const clockTick = 10 * time.Millisecond

// CPUTime is the user+system CPU time process pid has used so far.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command may hold spaces
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command", pid)
	}
	f := strings.Fields(s[i+1:])
	// After the command: state is field 3 of stat, utime 14 and stime 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime %q %q", pid, f[11], f[12])
	}
	return time.Duration(u+st) * clockTick, nil
}

// Proc is one server process whose CPU time a run records.
type Proc struct {
	Name string
	Role string // leader, follower, member, single
	PID  int
}

// cpuSample reads every process's CPU time; a process that cannot be read
// (gone) counts 0.
func cpuSample(procs []Proc) []time.Duration {
	out := make([]time.Duration, len(procs))
	for i, p := range procs {
		out[i], _ = CPUTime(p.PID)
	}
	return out
}

// cpuPerOp turns two samples and an operation count into bench.ProcCPU.
func cpuPerOp(procs []Proc, before, after []time.Duration, ops int64) []bench.ProcCPU {
	if len(procs) == 0 || ops <= 0 {
		return nil
	}
	out := make([]bench.ProcCPU, len(procs))
	for i, p := range procs {
		out[i] = bench.ProcCPU{Name: p.Name, Role: p.Role,
			MicrosPerOp: float64((after[i] - before[i]).Microseconds()) / float64(ops)}
	}
	return out
}
