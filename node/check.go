package node

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
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
// snapshot store verify its CRC. Raft would otherwise fall back to an older
// snapshot and, if the log no longer reaches back to it, panic.
func checkNewestSnapshot(dir string, store *raft.FileSnapshotStore) error {
	metas, err := store.List()
	if err != nil {
		return fmt.Errorf("list snapshots in %s: %w", filepath.Join(dir, "snapshots"), err)
	}
	if len(metas) == 0 {
		return nil
	}
	_, rc, err := store.Open(metas[0].ID)
	if err != nil {
		return fmt.Errorf("snapshot %s is damaged (%v); %s",
			filepath.Join(dir, "snapshots", metas[0].ID, "state.bin"), err, recoveryHint)
	}
	return rc.Close()
}
