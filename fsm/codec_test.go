package fsm_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/understudy/understudy/fsm"
)

func codecEntries() []*fsm.Entry {
	long := bytes.Repeat([]byte{0xAB}, 300) // a length that needs two varint bytes
	return []*fsm.Entry{
		{Type: fsm.EntryBatch, Time: t0, Seed: 1},
		{Type: fsm.EntryBatch, Time: t0, Seed: 2, Cmds: []fsm.Cmd{{Op: fsm.OpClient, Argv: bargs([]string{"SET", "k", "v"})}}},
		{Type: fsm.EntryBatch, Time: -1, Seed: math.MaxUint64, Cmds: []fsm.Cmd{
			{Op: fsm.OpClient, Argv: [][]byte{[]byte("SET"), {}, {0, '\r', '\n', 0xff}}},
			{Op: fsm.OpInternal, Argv: bargs([]string{"expired", "a", "b"})},
			{Op: fsm.OpClient, Argv: [][]byte{[]byte("APPEND"), []byte("k"), long}},
			{Op: fsm.OpClient, Argv: [][]byte{{}}},
		}},
		{Type: fsm.EntryBatch, Time: math.MaxInt64, Seed: 0, Cmds: manySets(200)},
	}
}

func manySets(n int) []fsm.Cmd {
	cmds := make([]fsm.Cmd, n)
	for i := range cmds {
		cmds[i] = fsm.Cmd{Op: fsm.OpClient, Argv: bargs([]string{"SET", strings.Repeat("k", i%7+1), "v"})}
	}
	return cmds
}

func sameEntry(a, b *fsm.Entry) bool {
	if a.Type != b.Type || a.Time != b.Time || a.Seed != b.Seed || len(a.Cmds) != len(b.Cmds) {
		return false
	}
	for i := range a.Cmds {
		x, y := a.Cmds[i], b.Cmds[i]
		if x.Op != y.Op || len(x.Argv) != len(y.Argv) {
			return false
		}
		for j := range x.Argv {
			if !bytes.Equal(x.Argv[j], y.Argv[j]) {
				return false
			}
		}
	}
	return true
}

func TestEntryRoundTrip(t *testing.T) {
	for i, e := range codecEntries() {
		enc := fsm.AppendEntry([]byte("prefix"), e)
		if string(enc[:6]) != "prefix" {
			t.Fatalf("entry %d: AppendEntry clobbered dst", i)
		}
		enc = enc[6:]
		if enc[0] != fsm.EntryVersion2 || enc[1] != fsm.EntryBatch {
			t.Fatalf("entry %d: header % x", i, enc[:2])
		}
		if n := fsm.EncodedSize(e); n < len(enc) {
			t.Errorf("entry %d: EncodedSize %d < encoded %d", i, n, len(enc))
		}
		d, err := fsm.DecodeEntry(enc)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if !sameEntry(e, d) {
			t.Fatalf("entry %d: decoded %+v, want %+v", i, d, e)
		}
		// The batcher's path, header then commands then seal, gives the same bytes.
		alt := fsm.AppendHeader(nil, fsm.EntryVersion2, e.Type, e.Time, e.Seed, len(e.Cmds))
		for _, c := range e.Cmds {
			alt = fsm.AppendCmd(alt, c)
		}
		alt = fsm.SealEntry(alt, 0)
		if !bytes.Equal(alt, enc) {
			t.Fatalf("entry %d: AppendHeader+AppendCmd differ from AppendEntry", i)
		}
	}
}

func TestDecodeEntryTruncated(t *testing.T) {
	for i, e := range codecEntries() {
		enc := fsm.AppendEntry(nil, e)
		for n := 0; n < len(enc); n++ {
			if d, err := fsm.DecodeEntry(enc[:n:n]); err == nil {
				t.Fatalf("entry %d cut to %d of %d bytes decoded: %+v", i, n, len(enc), d)
			}
		}
	}
}

func TestDecodeEntryRejects(t *testing.T) {
	// The structural checks behind the checksum: each case damages an
	// unsealed entry and seals it again, as a buggy writer would.
	body := fsm.AppendCmd(fsm.AppendHeader(nil, fsm.EntryVersion2, fsm.EntryBatch, t0, 3, 1), fsm.Cmd{Op: fsm.OpClient, Argv: bargs([]string{"SET", "k", "v"})})
	good := fsm.SealEntry(bytes.Clone(body), 0)
	const opAt = 2 + 8 + 8 + 1 // header, time, seed, command count
	mutate := func(f func(b []byte) []byte) []byte { return fsm.SealEntry(f(bytes.Clone(body)), 0) }
	header := fsm.AppendHeader(nil, fsm.EntryVersion2, fsm.EntryBatch, 0, 0, 0)[:18]
	cases := []struct {
		name, wantErr string
		data          []byte
	}{
		{"empty", "truncated", nil},
		{"bad version", "newer build", mutate(func(b []byte) []byte { b[0] = fsm.EntryVersion3 + 1; return b })},
		{"version zero", "version", mutate(func(b []byte) []byte { b[0] = 0; return b })},
		{"version 1 (no checksum)", "checksum", append([]byte{1}, body[1:]...)},
		{"bad type", "type", mutate(func(b []byte) []byte { b[1] = 0x7f; return b })},
		{"bad op", "op", mutate(func(b []byte) []byte { b[opAt] = 4; return b })},
		{"database in version 2", "database", mutate(func(b []byte) []byte {
			return fsm.AppendCmd(b[:opAt], fsm.Cmd{DB: 3, Argv: bargs([]string{"SET", "k", "v"})})
		})},
		{"database 0 spelled out", "database", mutate(func(b []byte) []byte {
			b[0] = fsm.EntryVersion3
			return append(append(b[:opAt], 2, 0), b[opAt+1:]...)
		})},
		{"trailing byte", "trailing", mutate(func(b []byte) []byte { return append(b, 0) })},
		{"trailing command", "trailing", mutate(func(b []byte) []byte { return fsm.AppendCmd(b, fsm.Cmd{Argv: bargs([]string{"GET", "k"})}) })},
		{"zero argc", "argument count", mutate(func(b []byte) []byte { b[opAt+1] = 0; return b })},
		{"argc too big", "argument count", mutate(func(b []byte) []byte { b[opAt+1] = 100; return b })},
		{"count too big", "command count", mutate(func(b []byte) []byte { b[opAt-1] = 100; return b })},
		{"huge count", "", fsm.SealEntry(append(bytes.Clone(header), binary.AppendUvarint(nil, math.MaxUint64)...), 0)},
		{"overlong varint", "truncated", fsm.SealEntry(append(bytes.Clone(header), bytes.Repeat([]byte{0xff}, 11)...), 0)},
		{"arg length past end", "truncated", mutate(func(b []byte) []byte { b[opAt+2] = 50; return b })},
		// Damage after sealing: what a flipped bit on disk looks like.
		{"value byte flipped", "checksum", func() []byte { b := bytes.Clone(good); b[len(b)-5] ^= 0x10; return b }()},
		{"checksum byte flipped", "checksum", func() []byte { b := bytes.Clone(good); b[len(b)-1] ^= 1; return b }()},
		{"appended byte", "checksum", append(bytes.Clone(good), 0)},
	}
	for _, c := range cases {
		d, err := fsm.DecodeEntry(c.data)
		if err == nil {
			t.Errorf("%s: decoded %+v", c.name, d)
			continue
		}
		if !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.wantErr)
		}
	}
}

// TestDecodeEntryMutations: random damage gives an error or an entry that
// survives a re-encoding, never a panic.
func TestDecodeEntryMutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i, e := range codecEntries() {
		enc := fsm.AppendEntry(nil, e)
		for range 3000 {
			b := bytes.Clone(enc)
			for range 1 + rng.IntN(3) {
				b[rng.IntN(len(b))] = byte(rng.Uint32())
			}
			checkDecode(t, b, i)
		}
	}
}

func checkDecode(t *testing.T, b []byte, i int) {
	t.Helper()
	d, err := fsm.DecodeEntry(b)
	if err != nil {
		return
	}
	// Varints may be overlong, so compare entries rather than bytes.
	d2, err := fsm.DecodeEntry(fsm.AppendEntry(nil, d))
	if err != nil || !sameEntry(d, d2) {
		t.Fatalf("entry %d: % x decoded to an entry that does not re-encode (%v)", i, b, err)
	}
}

func FuzzDecodeEntry(f *testing.F) {
	for _, e := range codecEntries() {
		enc := fsm.AppendEntry(nil, e)
		f.Add(enc[:len(enc)-4]) // unsealed: the fuzz function seals it
	}
	f.Add([]byte{})
	// Random bytes almost never carry a valid checksum, so each input is
	// also tried sealed, which lets the fuzzer reach the decoder behind it.
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b, -1)
		checkDecode(t, fsm.SealEntry(bytes.Clone(b), 0), -1)
	})
}
