package node

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
)

// testWAL writes batches of command entries to a WAL with small segments
// (so that several are sealed) and closes it. Entry i carries the value
// fmt.Sprintf("value-%06d", i). It returns the directory and the segment
// files, oldest first.
func testWAL(t *testing.T, batches, perBatch int) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	w, err := wal.Open(dir, wal.WithSegmentSize(16<<10), wal.WithLogger(newRaftLogger(slog.New(slog.NewTextHandler(io.Discard, nil)), "wal")))
	if err != nil {
		t.Fatal(err)
	}
	idx := uint64(1)
	for b := 0; b < batches; b++ {
		var logs []*raft.Log
		for range perBatch {
			logs = append(logs, &raft.Log{Index: idx, Term: 1, Type: raft.LogCommand,
				Data: sealedSet(fmt.Sprintf("key-%06d", idx), fmt.Sprintf("value-%06d", idx))})
			idx++
		}
		if err := w.StoreLogs(logs); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, segmentFiles(t, dir)
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m) // zero-padded base indexes sort in order
	return m
}

// editFile applies fn to path's bytes and writes them back.
func editFile(t *testing.T, path string, fn func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fn(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// at is the offset of value i's text in b.
func at(t *testing.T, b []byte, i int) int {
	t.Helper()
	j := bytes.Index(b, fmt.Appendf(nil, "value-%06d", i))
	if j < 0 {
		t.Fatalf("value %d not found", i)
	}
	return j
}

// lastValue is the highest entry whose value is in b.
func lastValue(b []byte) int {
	last := 0
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("value-"))
		if j < 0 {
			return last
		}
		var v int
		if _, err := fmt.Sscanf(string(b[i+j:i+j+12]), "value-%06d", &v); err == nil {
			last = max(last, v)
		}
		i += j + 6
	}
}

// firstValue is the lowest entry whose value is in b.
func firstValue(b []byte) int {
	var v int
	if j := bytes.Index(b, []byte("value-")); j >= 0 {
		_, _ = fmt.Sscanf(string(b[j:j+12]), "value-%06d", &v)
	}
	return v
}

func TestCheckWAL(t *testing.T) {
	const batches, per = 200, 3
	t.Run("intact", func(t *testing.T) {
		dir, segs := testWAL(t, batches, per)
		if len(segs) < 3 {
			t.Fatalf("want several segments, got %d", len(segs))
		}
		if err := checkWAL(dir); err != nil {
			t.Fatal(err)
		}
	})
	// The tail's last batch was being written when the node crashed: a
	// torn write, never acknowledged. raft-wal drops it; so may the check.
	t.Run("torn last batch of the tail", func(t *testing.T) {
		dir, segs := testWAL(t, batches, per)
		tail := segs[len(segs)-1]
		editFile(t, tail, func(b []byte) []byte {
			b[at(t, b, batches*per)] ^= 0x40
			return b
		})
		if err := checkWAL(dir); err != nil {
			t.Fatalf("a torn final batch was refused: %v", err)
		}
		w, err := wal.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if last, _ := w.LastIndex(); last != batches*per-per {
			t.Fatalf("raft-wal recovered to %d, want %d (the torn batch dropped)", last, batches*per-per)
		}
	})
	// The node was killed after raft-wal created a new tail segment and
	// before it preallocated it (as when a snapshot overtakes the whole log
	// and the next append starts the WAL again): an empty file, nothing lost.
	t.Run("new tail not yet preallocated", func(t *testing.T) {
		dir, _ := testWAL(t, 10, per)
		w, err := wal.Open(dir, wal.WithSegmentSize(16<<10))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.DeleteRange(1, 10*per); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		segs := segmentFiles(t, dir)
		tail := segs[len(segs)-1]
		b, err := os.ReadFile(tail)
		if err != nil {
			t.Fatal(err)
		}
		if v := lastValue(b); v != 0 {
			t.Fatalf("the new tail %s already holds entry %d", tail, v)
		}
		if err := os.Truncate(tail, 0); err != nil {
			t.Fatal(err)
		}
		if err := checkWAL(dir); err != nil {
			t.Fatalf("an empty new tail was refused: %v", err)
		}
		w, err = wal.Open(dir, wal.WithSegmentSize(16<<10))
		if err != nil {
			t.Fatalf("raft-wal does not open it: %v", err)
		}
		defer w.Close()
		if err := w.StoreLogs([]*raft.Log{{Index: 100, Term: 1, Type: raft.LogCommand, Data: []byte("x")}}); err != nil {
			t.Fatalf("append after recovering the empty tail: %v", err)
		}
	})
	refused := []struct {
		name   string
		damage func(t *testing.T, dir string, segs []string) string // returns the file that must be named
		want   string
	}{
		{"flipped bit in a committed batch of the tail", func(t *testing.T, _ string, segs []string) string {
			tail := segs[len(segs)-1]
			editFile(t, tail, func(b []byte) []byte {
				v := (firstValue(b) + lastValue(b)) / 2 // not in the last batch
				if v > lastValue(b)-per {
					t.Fatalf("the tail holds entries %d-%d only", firstValue(b), lastValue(b))
				}
				b[at(t, b, v)+8] ^= 0x01
				return b
			})
			return tail
		}, "a committed batch follows"},
		{"garbage frame header in the tail", func(t *testing.T, _ string, segs []string) string {
			tail := segs[len(segs)-1]
			editFile(t, tail, func(b []byte) []byte {
				copy(b[32:40], "garbage!")
				return b
			})
			return tail
		}, "a committed batch follows"},
		{"zeroed sectors in the tail", func(t *testing.T, _ string, segs []string) string {
			tail := segs[len(segs)-1]
			editFile(t, tail, func(b []byte) []byte {
				copy(b[32:32+1024], make([]byte, 1024))
				return b
			})
			return tail
		}, "a committed batch follows"},
		{"tail cut short", func(t *testing.T, _ string, segs []string) string {
			tail := segs[len(segs)-1]
			editFile(t, tail, func(b []byte) []byte { return b[:at(t, b, lastValue(b))] })
			return tail
		}, "is truncated"},
		{"flipped bit in a sealed segment", func(t *testing.T, _ string, segs []string) string {
			editFile(t, segs[1], func(b []byte) []byte {
				b[at(t, b, lastValue(b))+3] ^= 0x01
				return b
			})
			return segs[1]
		}, "is damaged at offset"},
		{"sealed segment cut short", func(t *testing.T, _ string, segs []string) string {
			editFile(t, segs[0], func(b []byte) []byte { return b[:len(b)/3] })
			return segs[0]
		}, "is damaged at offset"},
		{"sealed segment missing", func(t *testing.T, _ string, segs []string) string {
			if err := os.Remove(segs[1]); err != nil {
				t.Fatal(err)
			}
			return segs[1]
		}, "cannot be read"},
		{"meta file overwritten", func(t *testing.T, dir string, _ []string) string {
			meta := filepath.Join(dir, walMetaFile)
			editFile(t, meta, func(b []byte) []byte {
				copy(b[0:4096], bytes.Repeat([]byte{0xAB}, 4096))
				return b
			})
			return meta
		}, "damaged"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			dir, segs := testWAL(t, batches, per)
			file := c.damage(t, dir, segs)
			err := checkWAL(dir)
			if err == nil {
				t.Fatal("damaged WAL accepted")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), recoveryHint) {
				t.Fatalf("error %q does not name %s and say %q", err, file, c.want)
			}
		})
	}
}

func TestSegmentFor(t *testing.T) {
	dir, segs := testWAL(t, 200, 3)
	b, err := os.ReadFile(segs[1])
	if err != nil {
		t.Fatal(err)
	}
	if got := segmentFor(dir, uint64(lastValue(b))); got != segs[1] {
		t.Fatalf("segmentFor: %s, want %s", got, segs[1])
	}
	if got := segmentFor(dir, 1); got != segs[0] {
		t.Fatalf("segmentFor(1): %s, want %s", got, segs[0])
	}
}
