package node

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/types"
	"github.com/understudy/understudy/fsm"
	bolt "go.etcd.io/bbolt"
)

// Start-up check of a WAL (raft-wal v0.4.2's format, its README). raft-wal
// validates only the last batch of the tail segment when it opens: it
// assumes a damaged frame anywhere is a torn final write and quietly drops
// everything after it, and it reads sealed segments without checksums. A
// node must not come up on a log silently cut short (the entries it dropped
// may be acknowledged), nor replicate or apply a damaged entry. So before
// raft-wal opens the directory, every segment the meta file lists is read
// through: each batch's CRC (Castagnoli, over the bytes since the previous
// commit frame) is checked, every entry is decoded, its index must follow
// the previous one, and each command entry's own checksum is verified.
//
// Only the end of the tail segment may be damaged, and only if nothing after
// the damage was ever committed: a torn last batch (its fsync never
// returned, so it was never acknowledged), followed by nothing but zeros or
// debris with no valid commit frame.

// Segment layout (segment/format.go of raft-wal).
const (
	segHeaderLen  = 32
	segMagic      = 0x58eb6b0d
	frameHdrLen   = 8
	frameEntry    = 1
	frameIndex    = 2
	frameCommit   = 3
	segNamePatten = "%020d-%016x.wal"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checkWAL verifies the WAL in dir: its meta file, then every segment it lists.
func checkWAL(dir string) error {
	metaPath := filepath.Join(dir, walMetaFile)
	if err := checkBoltMeta(metaPath); err != nil {
		return err
	}
	if err := checkBoltPages(metaPath); err != nil {
		return err
	}
	state, err := readWALState(metaPath)
	if err != nil {
		return err
	}
	for i, si := range state.Segments {
		tail := si.SealTime.IsZero()
		if tail && i != len(state.Segments)-1 {
			return fmt.Errorf("log store %s: %s lists unsealed segment %d before the last; %s", dir, metaPath, si.ID, recoveryHint)
		}
		if err := checkSegment(filepath.Join(dir, fmt.Sprintf(segNamePatten, si.BaseIndex, si.ID)), si, tail); err != nil {
			return err
		}
	}
	return nil
}

// readWALState reads the segment list from wal-meta.db, read-only.
func readWALState(path string) (types.PersistentState, error) {
	var st types.PersistentState
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 10 * time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return st, fmt.Errorf("open log store meta %s: file is locked (is another node running on this data directory?)", path)
	}
	if err != nil {
		return st, fmt.Errorf("log store meta %s cannot be opened (%v); %s", path, err, recoveryHint)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(metadb.MetaBucket))
		if b == nil {
			return errors.New("no " + metadb.MetaBucket + " bucket")
		}
		raw := b.Get([]byte(metadb.MetaKey))
		if raw == nil {
			return nil // an empty log
		}
		return json.Unmarshal(raw, &st)
	})
	if err != nil {
		return st, fmt.Errorf("log store meta %s is damaged (%v); %s", path, err, recoveryHint)
	}
	return st, nil
}

// segmentError names a segment file, where in it, and what is wrong.
func segmentError(path string, off int64, format string, args ...any) error {
	return fmt.Errorf("log store segment %s is damaged at offset %d: %s; %s", path, off, fmt.Sprintf(format, args...), recoveryHint)
}

// checkSegment reads one segment file through (see the top of the file).
// Segments are preallocated, mostly zeros at the tail: the file is read only
// as far as its frames go, plus a window past the end to make sure nothing
// follows.
func checkSegment(path string, si types.SegmentInfo, tail bool) error {
	f, err := os.Open(path)
	if err != nil {
		if tail && errors.Is(err, os.ErrNotExist) {
			return nil // created by raft-wal on open: a crash before its first write
		}
		return fmt.Errorf("log store segment %s cannot be read (%v); %s", path, err, recoveryHint)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("log store segment %s cannot be read (%v); %s", path, err, recoveryHint)
	}
	if tail && fi.Size() == 0 {
		// Created, not yet preallocated: raft-wal sizes a new segment
		// before it writes anything to it, so nothing was lost.
		return nil
	}
	if tail && fi.Size() < int64(si.SizeLimit) {
		// raft-wal preallocates every segment to its size limit when it
		// creates it, so a shorter tail lost its end.
		return fmt.Errorf("log store segment %s is truncated: %d bytes, but segments are created with %d; %s",
			path, fi.Size(), si.SizeLimit, recoveryHint)
	}
	w := segWalk{lf: lazyFile{f: f, size: fi.Size()}, path: path, si: si, next: si.BaseIndex}
	end, err := w.walk()
	if err != nil {
		return err
	}
	if !tail {
		if w.next <= si.MaxIndex || w.indexAt == 0 {
			return segmentError(path, end, "%s, so this sealed segment ends at entry %d, its meta says %d", w.stop, w.next-1, si.MaxIndex)
		}
		return nil
	}
	if w.stopAt < w.lf.size {
		// The walk stopped at zeros (the unwritten rest of the file) or at
		// a frame it could not trust, which is a torn final write only if
		// nothing committed follows. Zeros that go on for a while end it.
		if w.atZeros && isZero(w.lf.upTo(w.stopAt + zeroWindow)[w.stopAt:]) {
			return nil
		}
		if off, ok := laterCommit(w.lf.upTo(w.lf.size), end); ok {
			return segmentError(path, end, "%s, yet a committed batch follows at offset %d (the log would be cut short)", w.stop, off)
		}
	}
	return nil
}

// zeroWindow is how far past the last frame a tail must be zeros for the
// rest not to be searched for committed batches.
const zeroWindow = 1 << 20

// lazyFile reads a file front to back as far as it is asked to.
type lazyFile struct {
	f    *os.File
	size int64
	b    []byte // the file's first len(b) bytes
	err  error
}

// upTo returns the file's first n bytes (fewer at its end, or if reading
// failed: err says so).
func (l *lazyFile) upTo(n int64) []byte {
	n = min(n, l.size)
	if int64(len(l.b)) >= n || l.err != nil {
		return l.b
	}
	want := max(n, min(l.size, int64(len(l.b))*2+zeroWindow))
	buf := make([]byte, want)
	copy(buf, l.b)
	got, err := l.f.ReadAt(buf[len(l.b):], int64(len(l.b)))
	l.b = buf[:len(l.b)+got]
	if err != nil && int64(len(l.b)) < want {
		l.err = err
	}
	return l.b
}

var zeros [64 << 10]byte

func isZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeros))
		if !bytes.Equal(b[:n], zeros[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// segWalk walks a segment's frames, checking batches as they commit.
type segWalk struct {
	lf      lazyFile
	path    string
	si      types.SegmentInfo
	next    uint64  // index the next entry must have
	pending []int64 // offsets of entry frames since the last commit
	indexAt int64   // offset of the index frame, once seen
	stop    string  // why the walk stopped
	stopAt  int64   // where
	atZeros bool    // it stopped at zeros (the unwritten rest, if nothing follows)
}

// walk returns the offset just past the last valid commit, or an error for
// damage that cannot be a torn final write (a bad header, a bad entry in a
// committed batch).
func (w *segWalk) walk() (int64, error) {
	b := w.lf.upTo(segHeaderLen)
	if w.lf.err != nil {
		return 0, fmt.Errorf("log store segment %s cannot be read (%v); %s", w.path, w.lf.err, recoveryHint)
	}
	if int64(len(b)) < segHeaderLen {
		return 0, segmentError(w.path, 0, "file of %d bytes has no header", len(b))
	}
	if isZero(b[:segHeaderLen]) {
		// Never committed to: raft-wal writes the header with the first batch.
		w.stop, w.stopAt, w.atZeros = "zeros where the header belongs", 0, true
		return 0, nil
	}
	magic := binary.LittleEndian.Uint32(b[0:])
	base, id := binary.LittleEndian.Uint64(b[8:]), binary.LittleEndian.Uint64(b[16:])
	if magic != segMagic || b[7] != 0 || base != w.si.BaseIndex || id != w.si.ID {
		return 0, segmentError(w.path, 0, "bad header (magic %#x, base index %d, id %d; want base index %d, id %d)",
			magic, base, id, w.si.BaseIndex, w.si.ID)
	}
	committed, crcStart, off := int64(segHeaderLen), int64(0), int64(segHeaderLen)
	w.stop = "end of file"
	for {
		if b = w.lf.upTo(off + frameHdrLen); off+frameHdrLen > int64(len(b)) {
			break
		}
		typ, n := b[off], binary.LittleEndian.Uint32(b[off+4:])
		if typ == 0 && isZero(b[off:off+frameHdrLen]) {
			w.stop, w.atZeros = fmt.Sprintf("zeros where a frame belongs at offset %d", off), true
			break
		}
		if typ > frameCommit || b[off+1] != 0 || b[off+2] != 0 || b[off+3] != 0 {
			// Not a frame: a torn write, or damage (the caller decides).
			w.stop = fmt.Sprintf("no valid frame header at offset %d", off)
			break
		}
		if typ == frameCommit {
			if crc32.Checksum(b[crcStart:off], castagnoli) != n {
				w.stop = fmt.Sprintf("the batch at offset %d fails its checksum", crcStart)
				break
			}
			if err := w.commit(b); err != nil {
				return 0, err
			}
			off += frameHdrLen
			committed, crcStart = off, off
			continue
		}
		size := int64(n)
		if b = w.lf.upTo(off + frameHdrLen + size); off+frameHdrLen+size > int64(len(b)) {
			w.stop = fmt.Sprintf("the frame at offset %d runs past the end of the file", off)
			break
		}
		switch typ {
		case frameEntry:
			w.pending = append(w.pending, off)
		case frameIndex:
			w.indexAt = off
		}
		off += frameHdrLen + (size+7)&^7
	}
	if w.lf.err != nil {
		return 0, fmt.Errorf("log store segment %s cannot be read (%v); %s", w.path, w.lf.err, recoveryHint)
	}
	w.stopAt = off
	return committed, nil
}

// commit checks the entries of a batch whose checksum held.
func (w *segWalk) commit(b []byte) error {
	var codec wal.BinaryCodec
	for _, off := range w.pending {
		n := int64(binary.LittleEndian.Uint32(b[off+4:]))
		var l raft.Log
		if err := codec.Decode(b[off+frameHdrLen:off+frameHdrLen+n], &l); err != nil {
			return segmentError(w.path, off, "entry %d does not decode: %v", w.next, err)
		}
		if l.Index != w.next {
			return segmentError(w.path, off, "entry stored as index %d where %d belongs", l.Index, w.next)
		}
		w.next++
		if l.Type != raft.LogCommand || l.Index < w.si.MinIndex {
			continue // before MinIndex: truncated away, never read again
		}
		if err := fsm.VerifyEntry(l.Data); err != nil {
			return segmentError(w.path, off, "entry %d (term %d): %v", l.Index, l.Term, err)
		}
		if err := fsm.CheckEntry(l.Data); errors.Is(err, fsm.ErrNewerFormat) {
			return fmt.Errorf("log store %s: entry %d (term %d): %w", w.path, l.Index, l.Term, err)
		}
	}
	w.pending = w.pending[:0]
	return nil
}

// laterCommit looks past from for a run of frames that ends in a commit
// frame whose checksum holds: a batch that was committed (fsynced and
// perhaps acknowledged) after the point where the walk stopped.
func laterCommit(b []byte, from int64) (int64, bool) {
	for start := (from + 7) &^ 7; start+frameHdrLen <= int64(len(b)); start += 8 {
		if typ := b[start]; typ != frameEntry && typ != frameIndex {
			continue
		}
		off := start
		for off+frameHdrLen <= int64(len(b)) {
			typ, n := b[off], binary.LittleEndian.Uint32(b[off+4:])
			if typ == 0 || typ > frameCommit || b[off+1] != 0 || b[off+2] != 0 || b[off+3] != 0 {
				break
			}
			if typ == frameCommit {
				if crc32.Checksum(b[start:off], castagnoli) == n {
					return start, true
				}
				break
			}
			size := int64(n)
			if off+frameHdrLen+size > int64(len(b)) {
				break
			}
			off += frameHdrLen + (size+7)&^7
		}
	}
	return 0, false
}

// segmentFor names the segment file of dir that holds entry idx: the one
// with the highest base index not above it.
func segmentFor(dir string, idx uint64) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return dir
	}
	type seg struct {
		base uint64
		name string
	}
	var segs []seg
	for _, e := range entries {
		var base, id uint64
		if !strings.HasSuffix(e.Name(), ".wal") {
			continue
		}
		if _, err := fmt.Sscanf(e.Name(), segNamePatten, &base, &id); err == nil {
			segs = append(segs, seg{base, e.Name()})
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].base < segs[j].base })
	name := ""
	for _, s := range segs {
		if s.base <= idx {
			name = s.name
		}
	}
	if name == "" {
		return dir
	}
	return filepath.Join(dir, name)
}
