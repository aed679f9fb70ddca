package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestProcess_CorruptDataFileStopsNode damages a stopped single-node
// cluster's files and starts it again: a node must not serve from files it
// cannot trust. It must exit non-zero, quickly, saying which file and why.
// The RaftDB cases run the bolt log store, whose log is in raft.db.
func TestProcess_CorruptDataFileStopsNode(t *testing.T) {
	t.Run("RaftDBFirst4KiB", func(t *testing.T) {
		p, keys := stoppedSingleNode(t, "--log-store", "bolt")
		db := filepath.Join(p.dataDir, "raft.db")
		logMetaPages(t, db)
		overwrite(t, db, 0, 4096)
		expectRefusal(t, p, keys, "raft.db")
	})
	t.Run("RaftDBNewestMetaPage", func(t *testing.T) {
		// Bolt keeps two meta pages and silently falls back to the other one
		// when one is damaged; if the damaged one was the newer, the last
		// transaction (the last acknowledged write's log entry) is gone.
		p, keys := stoppedSingleNode(t, "--log-store", "bolt")
		db := filepath.Join(p.dataDir, "raft.db")
		txids := logMetaPages(t, db)
		newest := 0
		if txids[1] > txids[0] {
			newest = 1
		}
		overwrite(t, db, int64(newest)*4096, 4096)
		expectRefusal(t, p, keys, "raft.db")
	})
	t.Run("RaftDBBothMetaPages", func(t *testing.T) {
		p, keys := stoppedSingleNode(t, "--log-store", "bolt")
		db := filepath.Join(p.dataDir, "raft.db")
		overwrite(t, db, 0, 8192)
		out := expectRefusal(t, p, keys, "raft.db")
		if !strings.Contains(out, "invalid database") && !strings.Contains(out, "is damaged") {
			t.Errorf("stderr does not say why raft.db was refused (want %q or bolt's %q):\n%s", "is damaged", "invalid database", out)
		}
	})
	t.Run("RaftDBLogEntryValue", func(t *testing.T) {
		// One flipped bit in a value inside a stored log entry: bolt has
		// no checksum of its values, so only the entry's own catches it.
		p, keys := stoppedSingleNode(t, "--log-store", "bolt")
		db := filepath.Join(p.dataDir, "raft.db")
		flipEvery(t, db, []byte("value:07"), 6)
		out := expectRefusal(t, p, keys, "raft.db")
		if !strings.Contains(out, "checksum") {
			t.Errorf("stderr does not say the entry's checksum failed:\n%s", tail(out, 12))
		}
		if last := finalError(out); !strings.Contains(last, "raft.db") || !strings.Contains(last, "entry") {
			t.Errorf("the final error %q does not name raft.db and the entry", last)
		}
	})
	t.Run("RaftDBDataPage", func(t *testing.T) {
		// Garbage inside a page after the meta pages: bbolt would panic
		// deep in a read; the node must refuse with the file's name.
		p, keys := stoppedSingleNode(t, "--log-store", "bolt")
		db := filepath.Join(p.dataDir, "raft.db")
		for page := int64(2); page < 6; page++ {
			overwrite(t, db, page*4096+100, 200)
		}
		out := expectRefusal(t, p, keys, "raft.db")
		if strings.Contains(out, "panic:") {
			t.Errorf("the node panicked instead of refusing cleanly:\n%s", tail(out, 12))
		}
		if last := finalError(out); !strings.Contains(last, "raft.db") {
			t.Errorf("the final error %q does not name raft.db", last)
		}
	})
	// The WAL (--log-store wal): raft-wal itself checks only the last batch
	// of the last segment, and takes a damaged frame for the end of the log.
	t.Run("WALSegmentEntryValue", func(t *testing.T) {
		p, keys := stoppedSingleNode(t, "--log-store", "wal")
		seg := walTail(t, p)
		flipEvery(t, seg, []byte("value:07"), 6)
		out := expectRefusal(t, p, keys, seg)
		if last := finalError(out); !strings.Contains(last, "checksum") || !strings.Contains(last, seg) {
			t.Errorf("the final error %q does not name %s and a failed checksum", last, seg)
		}
	})
	t.Run("WALSegmentFrameHeader", func(t *testing.T) {
		// Garbage where the first frame begins: raft-wal would open the
		// log as empty and serve nothing.
		p, keys := stoppedSingleNode(t, "--log-store", "wal")
		seg := walTail(t, p)
		overwrite(t, seg, 32, 16)
		out := expectRefusal(t, p, keys, seg)
		if last := finalError(out); !strings.Contains(last, "committed batch follows") {
			t.Errorf("the final error %q does not say committed data follows the damage", last)
		}
	})
	t.Run("WALMetaFile", func(t *testing.T) {
		p, keys := stoppedSingleNode(t, "--log-store", "wal")
		overwrite(t, filepath.Join(p.dataDir, "wal", "wal-meta.db"), 0, 4096)
		expectRefusal(t, p, keys, "wal-meta.db")
	})
	t.Run("SnapshotNewestMetaJSON", func(t *testing.T) {
		p, keys, snaps := stoppedSingleNodeWithSnapshots(t)
		newest := snaps[len(snaps)-1]
		meta := filepath.Join(p.dataDir, "snapshots", newest, "meta.json")
		if err := os.WriteFile(meta, []byte("{\"Version\":1,\"ID\":"), 0o644); err != nil {
			t.Fatal(err)
		}
		out := expectRefusal(t, p, keys, "meta.json")
		if strings.Contains(out, "panic:") {
			t.Errorf("the node panicked instead of refusing cleanly:\n%s", tail(out, 12))
		}
		if last := finalError(out); !strings.Contains(last, filepath.Join(newest, "meta.json")) {
			t.Errorf("the final error %q does not name %s/meta.json", last, newest)
		}
	})
	t.Run("SnapshotNewestStateBin", func(t *testing.T) {
		p, keys, snaps := stoppedSingleNodeWithSnapshots(t)
		newest := snaps[len(snaps)-1]
		flipMiddle(t, filepath.Join(p.dataDir, "snapshots", newest, "state.bin"))
		out := expectRefusal(t, p, keys, newest)
		if !strings.Contains(out, "CRC mismatch") {
			t.Errorf("stderr does not say the snapshot's checksum failed:\n%s", out)
		}
		// The older snapshot is no way back: the log was compacted past it.
		// The node must say so, not crash inside hashicorp/raft.
		if strings.Contains(out, "panic:") {
			t.Errorf("the node panicked instead of refusing cleanly; after the newest snapshot %s failed its CRC, raft fell back to the older %s, "+
				"whose following log entries were compacted away, and crashed; last lines:\n%s", newest, snaps[0], tail(out, 12))
		}
		if last := finalError(out); !strings.Contains(last, "snapshot") {
			t.Errorf("the final error %q does not name the snapshot", last)
		}
	})
	t.Run("SnapshotEveryStateBin", func(t *testing.T) {
		p, keys, snaps := stoppedSingleNodeWithSnapshots(t)
		for _, s := range snaps {
			flipMiddle(t, filepath.Join(p.dataDir, "snapshots", s, "state.bin"))
		}
		out := expectRefusal(t, p, keys, snaps[len(snaps)-1])
		if !strings.Contains(out, "CRC mismatch") {
			t.Errorf("stderr does not say the snapshot's checksum failed:\n%s", out)
		}
		if strings.Contains(out, "panic:") {
			t.Errorf("the node panicked instead of refusing cleanly:\n%s", tail(out, 12))
		}
		if last := finalError(out); !strings.Contains(last, "snapshot") {
			t.Errorf("the final error %q does not name the snapshot", last)
		}
	})
}

// stoppedSingleNode runs a one-node cluster (with the extra serve
// arguments), writes some keys and stops it with SIGTERM.
func stoppedSingleNode(t *testing.T, args ...string) (*proc, map[string]string) {
	t.Helper()
	c := startProcCluster(t, withNodes(1), withArgs(args...))
	p := c.procs[0]
	findLeader(t, c, 15*time.Second)
	cl := p.client()
	defer cl.Close()
	keys := map[string]string{}
	for i := range 20 {
		k, v := fmt.Sprintf("key:%02d", i), fmt.Sprintf("value:%02d", i)
		if got := mustDo(t, cl, "SET", k, v); got != "OK" {
			t.Fatalf("SET %s: %#v", k, got)
		}
		keys[k] = v
	}
	if code := p.term(); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0", code)
	}
	return p, keys
}

// stoppedSingleNodeWithSnapshots is stoppedSingleNode with frequent
// snapshots; it returns the snapshot directory names, oldest first.
func stoppedSingleNodeWithSnapshots(t *testing.T) (*proc, map[string]string, []string) {
	t.Helper()
	c := startProcCluster(t, withNodes(1), withArgs("--snapshot-threshold", "16", "--trailing-logs", "4", "--snapshot-interval", "100ms"))
	p := c.procs[0]
	findLeader(t, c, 15*time.Second)
	cl := p.client()
	defer cl.Close()
	keys := map[string]string{}
	var snaps []string
	i := 0
	waitFor(t, 20*time.Second, func() bool {
		for range 5 {
			k, v := fmt.Sprintf("key:%04d", i), fmt.Sprintf("value:%04d", i)
			if got := mustDo(t, cl, "SET", k, v); got != "OK" {
				t.Fatalf("SET %s: %#v", k, got)
			}
			keys[k] = v
			i++
		}
		snaps = listSnapshots(t, p.dataDir)
		return len(snaps) >= 2 && len(keys) >= 60
	}, "no two snapshots after %d writes", &i)
	if code := p.term(); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0", code)
	}
	snaps = listSnapshots(t, p.dataDir)
	t.Logf("%d keys written; snapshots %v", len(keys), snaps)
	return p, keys, snaps
}

// listSnapshots returns the snapshot directories that have a state.bin,
// oldest first (names are term-index-millis).
func listSnapshots(t *testing.T, dataDir string) []string {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Join(dataDir, "snapshots"))
	var out []string
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(dataDir, "snapshots", e.Name(), "state.bin")); err == nil && !strings.HasSuffix(e.Name(), ".tmp") {
			out = append(out, e.Name())
		}
	}
	key := func(name string) []uint64 {
		var k []uint64
		for _, f := range strings.Split(name, "-") {
			n, _ := strconv.ParseUint(f, 10, 64)
			k = append(k, n)
		}
		return k
	}
	slices.SortFunc(out, func(a, b string) int { return slices.Compare(key(a), key(b)) })
	return out
}

// walTail is the path of the newest segment of p's WAL.
func walTail(t *testing.T, p *proc) string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(p.dataDir, "wal", "*.wal"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no WAL segment in %s: %v", p.dataDir, err)
	}
	slices.Sort(segs)
	return segs[len(segs)-1]
}

// logMetaPages logs and returns the transaction ids of bolt's two meta pages
// (page size 4096; txid at offset 16+48 of the page).
func logMetaPages(t *testing.T, path string) [2]uint64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 8192 {
		t.Fatalf("read %s: %v (%d bytes)", path, err, len(b))
	}
	var txids [2]uint64
	for i := range 2 {
		txids[i] = binary.LittleEndian.Uint64(b[i*4096+16+48:])
	}
	t.Logf("%s: meta page 0 txid %d, meta page 1 txid %d", filepath.Base(path), txids[0], txids[1])
	return txids
}

// overwrite replaces n bytes at off with seeded garbage.
func overwrite(t *testing.T, path string, off, n int64) {
	t.Helper()
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 1))
	junk := make([]byte, n)
	for i := range junk {
		junk[i] = byte(rng.Uint32())
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(junk, off); err != nil {
		t.Fatal(err)
	}
	t.Logf("overwrote %d bytes at %d of %s with garbage (seed %d)", n, off, path, seed)
}

// flipEvery flips one bit at offset at of every occurrence of pat in path
// (bolt may hold stale copies of a page in free pages too; the live one is
// among them). It fails the test if pat does not occur.
func flipEvery(t *testing.T, path string, pat []byte, at int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := 0; ; {
		j := bytes.Index(b[i:], pat)
		if j < 0 {
			break
		}
		b[i+j+at] ^= 0x01
		i += j + len(pat)
		n++
	}
	if n == 0 {
		t.Fatalf("%q not found in %s", pat, path)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("flipped a bit in %d copies of %q in %s", n, pat, path)
}

// flipMiddle inverts 8 bytes in the middle of path.
func flipMiddle(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mid := len(b) / 2
	for i := mid; i < min(mid+8, len(b)); i++ {
		b[i] ^= 0xff
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("flipped 8 bytes at offset %d of %s (%d bytes)", mid, path, len(b))
}

// finalError is the process's last "understudy: ..." line, else its Go
// panic line, else its last line.
func finalError(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for _, prefix := range []string{"understudy: ", "panic: "} {
		for i := len(lines) - 1; i >= 0; i-- {
			if strings.HasPrefix(lines[i], prefix) {
				return lines[i]
			}
		}
	}
	return lines[len(lines)-1]
}

// expectRefusal restarts p on its damaged files and requires it to exit
// non-zero within 10 s with output naming want. If it serves instead, the
// test fails and reports which acknowledged keys it lost. It returns the
// output of the failed start.
func expectRefusal(t *testing.T, p *proc, keys map[string]string, want string) string {
	t.Helper()
	p.restart()
	start := time.Now()
	// Wait until it exits, or serves: a leader ready for reads has accepted
	// its damaged files.
	waitFor(t, 10*time.Second, func() bool {
		if !p.running() {
			return true
		}
		r, _, err := role(p)
		if err != nil || r != "master" {
			return false
		}
		ready, err := info(p, "replication", "raft_read_ready")
		return err == nil && ready == "1"
	}, "the node neither exited nor became a ready leader")
	settled := time.Since(start)
	code, exited := p.wait(0)
	out := p.log()
	if i := strings.LastIndex(out, "=== test harness: start #"); i >= 0 {
		out = out[i:]
	}
	if !exited {
		// It is serving from damaged files: say what that cost.
		c := &cluster{t: t, procs: []*proc{p}}
		findLeader(t, c, 10*time.Second)
		cl := p.client()
		defer cl.Close()
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		slices.Sort(names)
		got := getAll(t, cl, names)
		var lost []string
		for i, k := range names {
			if got[i] != keys[k] {
				lost = append(lost, k)
			}
		}
		t.Errorf("the node started on damaged files and serves as leader %v after the start, with no error; "+
			"%d of %d acknowledged keys lost %v; last log lines:\n%s", settled.Round(time.Millisecond), len(lost), len(keys), lost, tail(out, 6))
		return out
	}
	t.Logf("exited %d after %v; final error: %s", code, settled.Round(time.Millisecond), finalError(out))
	if code == 0 {
		t.Errorf("exit 0 on damaged files, want non-zero:\n%s", tail(out, 10))
	}
	if !strings.Contains(out, want) {
		t.Errorf("output does not name %q:\n%s", want, tail(out, 12))
	}
	return out
}
