package rdb

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// seedPayloads is the fuzz corpus: testdata/dump holds real DUMPs of every
// type and encoding from redis-server 7.0.15 and the legacy payloads
// (written by the golden and legacy tests with -update).
func seedPayloads(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "dump", "*.bin"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no seed payloads in testdata/dump (%v)", err)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".bin")] = b
	}
	return out
}

// withFixedCRC returns p with its CRC64 recomputed, so that a mutated body
// reaches the parser instead of failing the checksum.
func withFixedCRC(p []byte) []byte {
	if len(p) < 10 {
		return p
	}
	q := slices.Clone(p)
	binary.LittleEndian.PutUint64(q[len(q)-8:], crc64Jones(q[:len(q)-8]))
	return q
}

// allocBudget bounds what decoding a payload may allocate: LZF can expand
// 88 times and each element costs some bookkeeping, but nothing may be
// allocated for a length the payload only claims.
func allocBudget(n int) uint64 { return 1<<20 + 20000*uint64(n) }

// FuzzDecode checks that Decode never panics, answers only with Redis's two
// errors, stays within allocBudget, and that whatever it decodes, Encode
// writes and Decode reads back as the same value.
func FuzzDecode(f *testing.F) {
	for _, p := range seedPayloads(f) {
		f.Add(p)
	}
	lim := DefaultLimits()
	f.Fuzz(func(t *testing.T, payload []byte) {
		checkDecode(t, payload, lim)
		checkDecode(t, withFixedCRC(payload), lim)
	})
}

func checkDecode(t *testing.T, payload []byte, lim Limits) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	v, err := Decode(payload, lim)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > allocBudget(len(payload)) {
		t.Fatalf("decoding %d bytes allocated %d", len(payload), alloc)
	}
	if err != nil {
		if !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrBadFormat) {
			t.Fatalf("Decode error %v is neither ErrChecksum nor ErrBadFormat", err)
		}
		return
	}
	enc, err := Encode(v, lim)
	if err != nil {
		t.Fatalf("Encode of a decoded value: %v\nvalue %s", err, describe(v))
	}
	v2, err := Decode(enc, lim)
	if err != nil {
		t.Fatalf("Decode of Encode's output: %v\nvalue %s", err, describe(v))
	}
	if !sameValue(v, v2) {
		t.Fatalf("round trip changed the value\nbefore %s\n after %s\n%s", describe(v), describe(v2), firstDifference(v, v2))
	}
}

// sameValue is equality of values, order and encoding included, scores to
// the bit; a list's encoding may change, since Encode cuts it into nodes
// afresh.
func sameValue(a, b Value) bool {
	if la, ok := a.(*List); ok {
		lb, ok := b.(*List)
		return ok && slices.Equal(la.Elements, lb.Elements)
	}
	if za, ok := a.(*ZSet); ok {
		zb, ok := b.(*ZSet)
		return ok && za.Encoding == zb.Encoding && slices.EqualFunc(za.Entries, zb.Entries, func(x, y ZEntry) bool {
			return x.Member == y.Member && math.Float64bits(x.Score) == math.Float64bits(y.Score)
		})
	}
	return reflect.DeepEqual(a, b)
}

func TestSeedsRoundTrip(t *testing.T) {
	lim := DefaultLimits()
	for name, p := range seedPayloads(t) {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode(p, lim); err != nil {
				t.Fatalf("seed does not decode: %v", err)
			}
			checkDecode(t, p, lim)
		})
	}
}
