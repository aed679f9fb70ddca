//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// TestProcess_DiskFull makes one node's raft.db unable to grow while
// clients keep writing, as a full disk would: the node must stop cleanly
// (exit non-zero naming raft.db, no panic), no acknowledged write may be
// lost, the other two carry on, and after "space returns" (a restart without
// the limit) the node catches up and the cluster converges.
//
// The injection is RLIMIT_FSIZE set on the running node process
// (prlimit(2)): a write at or beyond the limit fails with EFBIG (Go ignores
// SIGXFSZ), which is what a full disk does to a write that needs new
// blocks. The limit sits below raft.db's size, so the next page bolt writes
// past it fails; the node's stderr (a file) stays well under it. This needs
// no mount or privileges, so it runs the same in CI.
//
// With --log-store wal the log is in preallocated 64 MiB segment files, so
// the limit is set below the offset the next append writes at.
func TestProcess_DiskFull(t *testing.T) {
	for _, store := range []string{"bolt", "wal"} {
		for _, victim := range []string{"leader", "follower"} {
			t.Run(store+"/"+victim, func(t *testing.T) { testDiskFull(t, store, victim) })
		}
	}
}

func testDiskFull(t *testing.T, store, victimRole string) {
	c := startProcCluster(t, withArgs("--log-store", store))
	leader := findLeader(t, c, 15*time.Second)
	victim := leader
	if victimRole == "follower" {
		victim = c.procs[(slices.Index(c.procs, leader)+1)%len(c.procs)]
	}
	t.Logf("leader %s, victim %s", leader.id, victim.id)

	value := strings.Repeat("v", 1000)
	acked := map[string]string{}
	var unknown []string // writes with an unknown outcome: may or may not be there
	seq := 0
	// write sends one pipeline of SETs through p, recording the outcome of each.
	write := func(p *proc, n int) (ok int) {
		cl := p.client()
		defer cl.Close()
		var cmds [][]string
		for range n {
			seq++
			cmds = append(cmds, []string{"SET", fmt.Sprintf("key:%06d", seq), fmt.Sprintf("%06d:%s", seq, value)})
		}
		replies, err := cl.Pipeline(cmds)
		for i, cmd := range cmds {
			var r any
			var rerr error = err
			if i < len(replies) {
				r, rerr = replies[i], nil
				if e, isErr := r.(respErr); isErr {
					rerr = e
				}
			}
			switch classifyWrite(r, rerr) {
			case outAck:
				acked[cmd[1]] = cmd[2]
				ok++
			case outUncertain:
				unknown = append(unknown, cmd[1])
			case outOther:
				t.Fatalf("SET %s via %s: unexpected reply %#v (%v)", cmd[1], p.id, r, rerr)
			}
		}
		return ok
	}

	// Fill the log past 2 MiB on the victim: raft.db's size, or what has
	// been written to the WAL (its files are preallocated).
	db := filepath.Join(victim.dataDir, "raft.db")
	if store == "wal" {
		db = filepath.Join(victim.dataDir, "wal")
	}
	waitFor(t, 60*time.Second, func() bool {
		write(leader, 200)
		if store == "wal" {
			return len(acked)*len(value) >= 5<<19
		}
		fi, err := os.Stat(db)
		return err == nil && fi.Size() >= 2<<20
	}, "%s never grew past 2 MiB", db)
	const limit = 1 << 20
	if fi, err := os.Stat(victim.logPath); err != nil || fi.Size() > limit/4 {
		t.Fatalf("%s's log file must stay well under the %d-byte limit: %v, %v", victim.id, limit, fi.Size(), err)
	}
	t.Logf("%d writes acknowledged to %s; limiting %s's file size to %d bytes", len(acked), db, victim.id, limit)
	setFileSizeLimit(t, victim, limit)

	// Keep writing, through the live nodes in turn, until the victim stops.
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; victim.running(); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("%s still running after 60 s of writes with raft.db over its file size limit", victim.id)
		}
		write(c.procs[i%len(c.procs)], 50)
	}
	code, _ := victim.wait(0)
	out := victim.log()
	if i := strings.LastIndex(out, "=== test harness: start #"); i >= 0 {
		out = out[i:]
	}
	final := finalError(out)
	t.Logf("%s exited %d: %s", victim.id, code, final)
	if code == 0 {
		t.Errorf("%s exited 0 after its disk filled, want non-zero", victim.id)
	}
	if strings.Contains(out, "panic:") {
		t.Errorf("%s panicked instead of stopping cleanly:\n%s", victim.id, tail(out, 20))
	}
	if !strings.Contains(final, db) || !strings.Contains(final, "file too large") {
		t.Errorf("the final error does not name %s and the cause: %q", db, final)
	}

	// The other two keep serving.
	survivors := &cluster{t: t}
	for _, p := range c.procs {
		if p != victim {
			survivors.procs = append(survivors.procs, p)
		}
	}
	findLeader(t, survivors, 15*time.Second)
	before := len(acked)
	waitFor(t, 15*time.Second, func() bool {
		write(survivors.procs[0], 20)
		return len(acked) >= before+100
	}, "the two remaining nodes do not accept writes")

	// Space returns: restart without the limit; it must catch up.
	victim.restart()
	leader = findLeader(t, c, 20*time.Second)
	keys := make([]string, 0, len(acked))
	for k := range acked {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	waitFor(t, 30*time.Second, func() bool {
		want, err := infoUint(leader, "replication", "raft_applied_index")
		if err != nil {
			return false
		}
		wantKeys, err := keyCount(leader)
		if err != nil {
			return false
		}
		for _, p := range c.procs {
			got, err := infoUint(p, "replication", "raft_applied_index")
			n, kerr := keyCount(p)
			if err != nil || kerr != nil || got != want || n != wantKeys {
				return false
			}
		}
		return true
	}, "the nodes do not converge after %s restarts", victim.id)
	for _, p := range c.procs {
		cl := p.client()
		got := getAll(t, cl, keys)
		cl.Close()
		var missing []string
		for i, k := range keys {
			if got[i] != acked[k] {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			t.Fatalf("via %s: %d of %d acknowledged writes lost, e.g. %v", p.id, len(missing), len(keys), missing[:min(5, len(missing))])
		}
	}
	t.Logf("%d acknowledged writes all present on every node; %d writes had an unknown outcome", len(keys), len(unknown))
	out = victim.log()
	if strings.Contains(out[strings.LastIndex(out, "=== test harness: start #"):], "panic:") {
		t.Errorf("%s panicked after the restart:\n%s", victim.id, tail(out, 20))
	}
}

// setFileSizeLimit sets RLIMIT_FSIZE of p's running process (prlimit(2)).
func setFileSizeLimit(t *testing.T, p *proc, limit uint64) {
	t.Helper()
	p.mu.Lock()
	pid := p.cmd.Process.Pid
	p.mu.Unlock()
	lim := syscall.Rlimit{Cur: limit, Max: limit}
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), syscall.RLIMIT_FSIZE,
		uintptr(unsafe.Pointer(&lim)), 0, 0, 0); errno != 0 {
		t.Fatalf("prlimit(%d, RLIMIT_FSIZE, %d): %v", pid, limit, errno)
	}
}
