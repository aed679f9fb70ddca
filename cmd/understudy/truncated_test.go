package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProcess_TruncatedDataFileStopsNode cuts a stopped node's files short,
// as a crash of the file system or a bad copy would: the node must refuse to
// start, naming the file, rather than serve what is left.
func TestProcess_TruncatedDataFileStopsNode(t *testing.T) {
	t.Run("RaftDBLastUsedPage", func(t *testing.T) {
		// Bolt preallocates: the end of the file may be unused, and cutting
		// it loses nothing. Cut the last page the newest transaction uses.
		p, keys := stoppedSingleNode(t, "--log-store", "bolt")
		db := filepath.Join(p.dataDir, "raft.db")
		used := boltUsedBytes(t, db)
		truncateTo(t, db, used-4096)
		out := expectRefusal(t, p, keys, "raft.db")
		if !strings.Contains(finalError(out), "is truncated") {
			t.Errorf("the final error does not say the file is truncated: %s", finalError(out))
		}
		if strings.Contains(out, "panic:") || strings.Contains(out, "fatal error:") {
			t.Errorf("the node crashed instead of refusing cleanly:\n%s", tail(out, 12))
		}
	})
	t.Run("RaftDBFirstPage", func(t *testing.T) {
		p, keys := stoppedSingleNode(t, "--log-store", "bolt")
		truncateTo(t, filepath.Join(p.dataDir, "raft.db"), 1000)
		expectRefusal(t, p, keys, "raft.db")
	})
	t.Run("WALTailSegment", func(t *testing.T) {
		// raft-wal would read to the cut and take it for the end of the log.
		p, keys := stoppedSingleNode(t, "--log-store", "wal")
		seg := walTail(t, p)
		b, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		truncateTo(t, seg, int64(bytes.Index(b, []byte("value:10"))))
		out := expectRefusal(t, p, keys, seg)
		if !strings.Contains(finalError(out), "is truncated") {
			t.Errorf("the final error does not say the segment is truncated: %s", finalError(out))
		}
	})
	t.Run("SnapshotNewestStateBin", func(t *testing.T) {
		p, keys, snaps := stoppedSingleNodeWithSnapshots(t)
		newest := snaps[len(snaps)-1]
		state := filepath.Join(p.dataDir, "snapshots", newest, "state.bin")
		fi, err := os.Stat(state)
		if err != nil {
			t.Fatal(err)
		}
		truncateTo(t, state, fi.Size()/2)
		out := expectRefusal(t, p, keys, newest)
		if strings.Contains(out, "panic:") {
			t.Errorf("the node panicked instead of refusing cleanly:\n%s", tail(out, 12))
		}
	})
}

// truncateTo cuts path to size bytes.
func truncateTo(t *testing.T, path string, size int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
	t.Logf("truncated %s from %d to %d bytes", path, fi.Size(), size)
}

// boltUsedBytes is how much of a bolt file its newest meta page says is in
// use: the high-water page id (offset 56 of the meta page) times the page
// size (4096 here).
func boltUsedBytes(t *testing.T, path string) int64 {
	t.Helper()
	txids := logMetaPages(t, path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	newest := 0
	if txids[1] > txids[0] {
		newest = 1
	}
	used := int64(binary.LittleEndian.Uint64(b[newest*4096+56:])) * 4096
	t.Logf("%s: %d bytes, %d in use", filepath.Base(path), len(b), used)
	return used
}
