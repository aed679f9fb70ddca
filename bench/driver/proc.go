// Package driver is the networked half of the benchmark harness: clients for
// the systems under test (go-redis for RESP, the etcd client for etcd), the
// throughput, failover and scale experiments, and the control of the server
// processes that scripts/bench.sh started (by PID, through its state dir).
package driver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Procs controls the server processes scripts/bench.sh started. The script
// keeps, per process NAME, its PID in STATE/pids/NAME.pid and its data in
// STATE/data/NAME; `HOOK --launch NAME` (with BENCH_STATE=STATE) starts it
// again exactly as the first time and records the new PID for the script's
// exit trap.
type Procs struct {
	State string
	Hook  string
}

// PID reads NAME's PID file.
func (p Procs) PID(name string) (int, error) {
	b, err := os.ReadFile(filepath.Join(p.State, "pids", name+".pid"))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("%s: bad PID file: %q", name, b)
	}
	return pid, nil
}

// DataDir is NAME's data directory.
func (p Procs) DataDir(name string) string { return filepath.Join(p.State, "data", name) }

// alive: the process exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// Kill SIGKILLs NAME and waits (up to 5 s) until it is gone.
func (p Procs) Kill(name string) error {
	return p.signal(name, syscall.SIGKILL, 5*time.Second)
}

// Stop SIGTERMs NAME, waits up to 15 s, then SIGKILLs it.
func (p Procs) Stop(name string) error {
	if err := p.signal(name, syscall.SIGTERM, 15*time.Second); err != nil {
		return p.Kill(name)
	}
	return nil
}

func (p Procs) signal(name string, sig syscall.Signal, wait time.Duration) error {
	pid, err := p.PID(name)
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill %s (pid %d): %w", name, pid, err)
	}
	deadline := time.Now().Add(wait)
	for alive(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s (pid %d) still alive %v after %v", name, pid, wait, sig)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// Launch starts NAME again through the hook; the hook returns once the
// process is started, not ready.
func (p Procs) Launch(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Hook, "--launch", name)
	cmd.Env = append(os.Environ(), "BENCH_STATE="+p.State)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("launch %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Mem is a process's resident memory, in bytes.
type Mem struct {
	RSS  int64 // VmRSS
	Anon int64 // RssAnon
}

// ReadMem reads /proc/PID/status.
func ReadMem(pid int) (Mem, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Mem{}, err
	}
	defer f.Close()
	return ParseStatus(f)
}

// ParseStatus extracts VmRSS and RssAnon (kB in the file) from the text of
// /proc/PID/status.
func ParseStatus(r interface{ Read([]byte) (int, error) }) (Mem, error) {
	var m Mem
	found := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && strings.EqualFold(f[1], "kB") {
			n *= 1024
		}
		switch k {
		case "VmRSS":
			m.RSS, found = n, true
		case "RssAnon":
			m.Anon = n
		}
	}
	if err := sc.Err(); err != nil {
		return m, err
	}
	if !found {
		return m, errors.New("no VmRSS line")
	}
	return m, nil
}

// DiskUsage is what `du` counts for dir: allocated blocks of every file.
func DiskUsage(dir string) (int64, error) {
	var total int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a file removed while we walk (snapshot rotation)
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += st.Blocks * 512
		} else {
			total += info.Size()
		}
		return nil
	})
	return total, err
}
