package node

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/fsm"
	bolt "go.etcd.io/bbolt"
)

// Start-up checks of the files on disk. A node must not come up on damaged
// data: a rolled-back log or vote can break Raft's safety for the whole
// cluster. Each check names the file and what is wrong with it; the recovery
// is always the same (README: wipe the node's data directory and re-join; it
// catches up from the others).

const recoveryHint = "recover by wiping this node's data directory and letting it re-join the cluster (it catches up from the others)"

// checkBoltMeta verifies both meta pages of a bolt file. bbolt silently falls
// back to the older meta page when the newer one is damaged, which would roll
// the log and the stored term/vote back without a word.
func checkBoltMeta(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // a new node
	}
	if err != nil {
		return fmt.Errorf("open log store %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat log store %s: %w", path, err)
	}
	if fi.Size() == 0 {
		return nil
	}
	page0 := make([]byte, 4096)
	if _, err := io.ReadFull(f, page0); err != nil {
		return fmt.Errorf("log store %s is truncated (%d bytes): %v; %s", path, fi.Size(), err, recoveryHint)
	}
	pageSize := int64(binary.LittleEndian.Uint32(page0[24:]))
	if err := validMeta(page0); err != nil {
		return fmt.Errorf("log store %s: meta page 0 is damaged (%v); refusing to start on a file bolt would silently roll back; %s", path, err, recoveryHint)
	}
	page1 := make([]byte, 128)
	if _, err := f.ReadAt(page1, pageSize); err != nil {
		return fmt.Errorf("log store %s is truncated: meta page 1 unreadable: %v; %s", path, err, recoveryHint)
	}
	if err := validMeta(page1); err != nil {
		return fmt.Errorf("log store %s: meta page 1 is damaged (%v); refusing to start on a file bolt would silently roll back; %s", path, err, recoveryHint)
	}
	// The newest meta page says how many pages are in use; a file shorter
	// than that lost its tail (bolt would map what is left and fault, or
	// read zeros, on the missing pages).
	newest := page0
	if txid(page1) > txid(page0) {
		newest = page1
	}
	if need := int64(binary.LittleEndian.Uint64(newest[56:])) * pageSize; fi.Size() < need {
		return fmt.Errorf("log store %s is truncated: %d bytes, but its last transaction uses %d; %s", path, fi.Size(), need, recoveryHint)
	}
	return nil
}

// txid is a bolt meta page's transaction id.
func txid(meta []byte) uint64 { return binary.LittleEndian.Uint64(meta[64:]) }

// validMeta checks a bolt meta page: page header (16 bytes), then magic (at
// 16), version (20), page size (24), flags (28), root bucket (32), freelist
// page (48), high-water page id (56), txid (64) and an FNV-64a checksum (72)
// of the meta fields before it.
func validMeta(p []byte) error {
	const magic, version = 0xED0CDAED, 2
	if m := binary.LittleEndian.Uint32(p[16:]); m != magic {
		return fmt.Errorf("bad magic %#x", m)
	}
	if v := binary.LittleEndian.Uint32(p[20:]); v != version {
		return fmt.Errorf("unsupported version %d", v)
	}
	h := fnv.New64a()
	h.Write(p[16:72])
	if want, got := binary.LittleEndian.Uint64(p[72:]), h.Sum64(); want != got {
		return fmt.Errorf("checksum mismatch (stored %#x, computed %#x)", want, got)
	}
	return nil
}

// checkNewestSnapshot opens the newest snapshot, which makes the file
// snapshot store verify its CRC, and returns its index (0 if there is none).
// Raft would otherwise fall back to an older snapshot and, if the log no
// longer reaches back to it, panic.
func checkNewestSnapshot(dir string, store *raft.FileSnapshotStore) (uint64, error) {
	metas, err := store.List()
	if err != nil {
		return 0, fmt.Errorf("list snapshots in %s: %w", filepath.Join(dir, "snapshots"), err)
	}
	if len(metas) == 0 {
		return 0, nil
	}
	_, rc, err := store.Open(metas[0].ID)
	state := filepath.Join(dir, "snapshots", metas[0].ID, "state.bin")
	if err != nil {
		return 0, fmt.Errorf("snapshot %s is damaged (%v); %s", state, err, recoveryHint)
	}
	defer rc.Close()
	if err := fsm.CheckSnapshotFormat(rc); err != nil {
		return 0, fmt.Errorf("snapshot %s: %w", state, err)
	}
	return metas[0].Index, nil
}

// checkBoltPages reads every key and value of every bucket in the bolt
// file before Raft reads it. bbolt trusts its pages: on a damaged one it
// panics (slice bounds, a bad page type) or faults deep inside a read, which
// would stop the node with a stack trace instead of a file name. The walk
// runs in this goroutine with faults turned into panics, so either becomes
// an error that names the file.
func checkBoltPages(path string) (err error) {
	if fi, statErr := os.Stat(path); statErr != nil || fi.Size() == 0 {
		return nil // a new node; checkBoltMeta reported anything else
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("log store %s is damaged: reading it failed (%v); %s", path, p, recoveryHint)
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 10 * time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return fmt.Errorf("open log store %s: file is locked (is another node running on this data directory?)", path)
	}
	if err != nil {
		return fmt.Errorf("log store %s cannot be opened (%v); %s", path, err, recoveryHint)
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if _, err := walkBucket(b); err != nil {
				return fmt.Errorf("log store %s: bucket %q: %w; %s", path, name, err, recoveryHint)
			}
			return nil
		})
	})
}

// walkBucket touches every key and value under b, nested buckets included,
// and returns a checksum of them (which only makes sure every byte is read).
func walkBucket(b *bolt.Bucket) (uint32, error) {
	var sum uint32
	err := b.ForEach(func(k, v []byte) error {
		if v == nil {
			if nb := b.Bucket(k); nb != nil {
				s, err := walkBucket(nb)
				sum ^= s
				return err
			}
		}
		sum = crc32.Update(crc32.Update(sum, crc32.IEEETable, k), crc32.IEEETable, v)
		return nil
	})
	return sum, err
}

// checkLogEntries reads every entry Raft will replay, those after the
// newest snapshot (snapIndex; 0 without one), and verifies the checksum of
// each command entry. bolt keeps no checksum of the values it stores, so a
// flipped bit in an entry would otherwise be applied on replay and served
// as if a client had written it (the WAL's batches have checksums, but
// raft-wal does not check them when reading). Entries at or below the
// snapshot are never replayed, and may legitimately have gaps (a follower
// that installed a snapshot keeps older entries it did not need to
// truncate), so they are not read. locate, if set, names the file holding
// an entry (a WAL segment); else path is named.
func checkLogEntries(path string, logs raft.LogStore, snapIndex uint64, locate func(uint64) string) (err error) {
	where := func(uint64) string { return path }
	if locate != nil {
		where = locate
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("log store %s is damaged: reading the log failed (%v); %s", path, p, recoveryHint)
		}
	}()
	first, err := logs.FirstIndex()
	if err != nil {
		return fmt.Errorf("log store %s: read first index: %w", path, err)
	}
	last, err := logs.LastIndex()
	if err != nil {
		return fmt.Errorf("log store %s: read last index: %w", path, err)
	}
	if last == 0 || last <= snapIndex {
		return nil
	}
	first = max(first, snapIndex+1)
	var l raft.Log
	for i := first; i <= last; i++ {
		if err := logs.GetLog(i, &l); err != nil {
			return fmt.Errorf("log store %s: entry %d of %d-%d is unreadable (%v); %s", where(i), i, first, last, err, recoveryHint)
		}
		if l.Index != i {
			return fmt.Errorf("log store %s: entry %d is stored as index %d; %s", where(i), i, l.Index, recoveryHint)
		}
		if l.Type != raft.LogCommand {
			continue
		}
		if err := fsm.VerifyEntry(l.Data); err != nil {
			return fmt.Errorf("log store %s: entry %d (term %d) is damaged: %v; %s", where(i), i, l.Term, err, recoveryHint)
		}
		if err := fsm.CheckEntry(l.Data); errors.Is(err, fsm.ErrNewerFormat) {
			return fmt.Errorf("log store %s: entry %d (term %d): %w", where(i), i, l.Term, err)
		}
	}
	return nil
}

// checkSnapshotMetas parses every snapshot's meta.json. The file snapshot
// store skips a snapshot whose metadata it cannot read with only a warning,
// and Raft then restores an older one (or none) and panics when the log no
// longer reaches back that far.
func checkSnapshotMetas(dataDir string) error {
	dir := filepath.Join(dataDir, "snapshots")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read snapshot directory %s: %w", dir, err)
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue // a snapshot still being written when the node stopped
		}
		path := filepath.Join(dir, e.Name(), "meta.json")
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("snapshot metadata %s is unreadable (%v); %s", path, err, recoveryHint)
		}
		var meta raft.SnapshotMeta
		if err := json.Unmarshal(b, &meta); err != nil {
			return fmt.Errorf("snapshot metadata %s is damaged (%v); %s", path, err, recoveryHint)
		}
		if meta.ID != e.Name() || meta.Index == 0 {
			return fmt.Errorf("snapshot metadata %s is damaged (id %q, index %d); %s", path, meta.ID, meta.Index, recoveryHint)
		}
	}
	return nil
}
