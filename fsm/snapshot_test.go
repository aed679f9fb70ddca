package fsm_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/understudy/understudy/fsm"
)

// memSink is an in-memory raft.SnapshotSink.
type memSink struct {
	bytes.Buffer
	closed, cancelled bool
	failWrites        bool
}

func (s *memSink) ID() string { return "mem" }

func (s *memSink) Write(p []byte) (int, error) {
	if s.failWrites {
		return 0, errors.New("disk full")
	}
	return s.Buffer.Write(p)
}

func (s *memSink) Close() error  { s.closed = true; return nil }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }

var _ raft.SnapshotSink = (*memSink)(nil)

// readCloser records whether Restore closed it.
type readCloser struct {
	io.Reader
	closed bool
}

func (r *readCloser) Close() error { r.closed = true; return nil }

// snapshotBytes takes a snapshot of f and persists it.
func snapshotBytes(t testing.TB, f *fsm.FSM) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	return persist(t, snap)
}

func persist(t testing.TB, snap raft.FSMSnapshot) []byte {
	t.Helper()
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	if !sink.closed || sink.cancelled {
		t.Fatalf("sink closed=%v cancelled=%v after a good Persist", sink.closed, sink.cancelled)
	}
	return bytes.Clone(sink.Bytes())
}

func restore(f *fsm.FSM, b []byte) error {
	rc := &readCloser{Reader: bytes.NewReader(b)}
	err := f.Restore(rc)
	if !rc.closed {
		panic("Restore did not close its reader")
	}
	return err
}

// populated returns a harness holding a bit of everything a snapshot keeps.
func populated(t testing.TB) *harness {
	h := newHarness()
	h.do(t, "MSET", "a", "1", "b", "", "bin", "\x00\xff\r\n")
	h.do(t, "SET", "ttl", "v", "EX", "100")
	h.do(t, "SET", "dead", "v", "PX", "10") // expired but not reclaimed
	h.do(t, "SETRANGE", "pad", "40", "x")
	h.internal(t, "meta", "n1", "127.0.0.1:6379", "127.0.0.1:7000")
	h.internal(t, "meta", "n2", "127.0.0.1:6380", "")
	h.now += 50
	h.do(t, "INCRBYFLOAT", "f", "0.1")
	h.do(t, "HSET", "hash", "f", "v", "g", "")
	h.do(t, "RPUSH", "list", "a", "12")
	h.do(t, "SADD", "set", "x")
	h.do(t, "SADD", "ints", "7", "-1")
	h.do(t, "ZADD", "zset", "1.5", "m", "-inf", "n")
	h.do(t, "PEXPIRE", "zset", "100000")
	return h
}

// sameReads checks both FSMs answer alike for the given keys.
func sameReads(t testing.TB, a, b *fsm.FSM, now int64, keys []string) {
	t.Helper()
	for _, k := range keys {
		if x, y := dumpKey(a, now, k), dumpKey(b, now, k); x != y {
			t.Fatalf("%q: %s vs %s", k, x, y)
		}
		for _, cmd := range []string{"GET", "PTTL", "PEXPIRETIME"} {
			x := fmtValue(a.Read(0, now, 0, bargs([]string{cmd, k})))
			y := fmtValue(b.Read(0, now, 0, bargs([]string{cmd, k})))
			if x != y {
				t.Fatalf("%s %q: %s vs %s", cmd, k, x, y)
			}
		}
	}
	for _, cmd := range []string{"DBSIZE", "KEYS *"} {
		argv := bargs(splitArgs(t, cmd))
		if x, y := fmtValue(sortReply(a.Read(0, now, 0, argv))), fmtValue(sortReply(b.Read(0, now, 0, argv))); x != y {
			t.Fatalf("%s: %s vs %s", cmd, x, y)
		}
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	for _, name := range []string{"empty", "populated"} {
		t.Run(name, func(t *testing.T) {
			h := newHarness()
			if name == "populated" {
				h = populated(t)
			}
			data := snapshotBytes(t, h.f)
			g := fsm.New()
			if err := restore(g, data); err != nil {
				t.Fatal(err)
			}
			if h.f.Hash() != g.Hash() {
				t.Fatal("restored Hash differs")
			}
			if h.f.Stats() != g.Stats() || g.AppliedIndex() != h.idx || g.Clock() != h.f.Clock() {
				t.Fatalf("stats %+v, restored %+v", h.f.Stats(), g.Stats())
			}
			if fmt.Sprint(h.f.AllMeta()) != fmt.Sprint(g.AllMeta()) {
				t.Fatalf("meta %v, restored %v", h.f.AllMeta(), g.AllMeta())
			}
			keys := []string{"a", "b", "bin", "ttl", "dead", "pad", "f", "none", "hash", "list", "set", "ints", "zset"}
			sameReads(t, h.f, g, h.now, keys)
			sameReads(t, h.f, g, h.now+200_000, keys)
			// Equal states write equal snapshots.
			if again := snapshotBytes(t, g); !bytes.Equal(again, data) {
				t.Fatal("snapshot of the restored FSM differs from the original snapshot")
			}
		})
	}
}

// TestSnapshotIsPointInTime: writes after Snapshot() do not reach the
// snapshot, even while it is being persisted.
func TestSnapshotIsPointInTime(t *testing.T) {
	h := populated(t)
	want := snapshotBytes(t, h.f)
	wantHash := h.f.Hash()
	snap, err := h.f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	h.do(t, "SET", "a", "changed")
	h.do(t, "DEL", "b", "bin")
	h.do(t, "EXPIRE", "ttl", "1")
	h.internal(t, "forget", "n1")
	h.do(t, "FLUSHDB")
	h.do(t, "SET", "new", "v")
	got := persist(t, snap)
	if !bytes.Equal(got, want) {
		t.Fatal("snapshot persisted after writes differs from one taken before them")
	}
	g := fsm.New()
	if err := restore(g, got); err != nil {
		t.Fatal(err)
	}
	if g.Hash() != wantHash || h.f.Hash() == wantHash {
		t.Fatal("restored state is not the state at Snapshot()")
	}
}

// TestSnapshotConcurrentWrites persists while writes and reads go on, for
// the race detector.
func TestSnapshotConcurrentWrites(t *testing.T) {
	h := newHarness()
	for i := range 2000 {
		h.do(t, "SET", fmt.Sprint("k", i), fmt.Sprint(i))
	}
	wantHash := h.f.Hash()
	snap, _ := h.f.Snapshot()
	var wg sync.WaitGroup
	var got []byte
	wg.Add(2)
	go func() {
		defer wg.Done()
		sink := &memSink{}
		if err := snap.Persist(sink); err != nil {
			t.Error(err)
		}
		got = sink.Bytes()
	}()
	go func() {
		defer wg.Done()
		for i := range 200 {
			h.f.Read(0, h.now, 0, bargs([]string{"SCAN", "0", "COUNT", "50"}))
			_ = h.f.Hash()
			_ = i
		}
	}()
	for i := range 2000 {
		h.do(t, "SET", fmt.Sprint("k", i), "changed")
		if i%100 == 0 {
			h.do(t, "DEL", fmt.Sprint("k", i+1))
		}
	}
	wg.Wait()
	g := fsm.New()
	if err := restore(g, got); err != nil {
		t.Fatal(err)
	}
	if g.Hash() != wantHash {
		t.Fatal("snapshot taken under concurrent writes restored to a different state")
	}
}

func TestSnapshotPersistFailure(t *testing.T) {
	h := populated(t)
	snap, _ := h.f.Snapshot()
	sink := &memSink{failWrites: true}
	if err := snap.Persist(sink); err == nil {
		t.Fatal("Persist to a failing sink succeeded")
	}
	if !sink.cancelled || sink.closed {
		t.Fatalf("failing Persist: cancelled=%v closed=%v, want cancelled only", sink.cancelled, sink.closed)
	}
}

// checkRejected restores bad into an FSM holding other state and checks it
// fails with ErrSnapshotCorrupt and changes nothing.
func checkRejected(t *testing.T, h *harness, bad []byte, what string) {
	t.Helper()
	hash, stats, applied := h.f.Hash(), h.f.Stats(), h.f.AppliedIndex()
	err := restore(h.f, bad)
	if err == nil {
		t.Fatalf("%s: Restore succeeded", what)
	}
	if !errors.Is(err, fsm.ErrSnapshotCorrupt) {
		t.Fatalf("%s: error %v does not wrap ErrSnapshotCorrupt", what, err)
	}
	if h.f.Hash() != hash || h.f.Stats() != stats || h.f.AppliedIndex() != applied {
		t.Fatalf("%s: failed Restore changed the state", what)
	}
}

func TestSnapshotCorruptByte(t *testing.T) {
	data := snapshotBytes(t, populated(t).f)
	other := newHarness()
	other.do(t, "SET", "mine", "keep")
	for i := range data {
		for _, flip := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(data)
			bad[i] ^= flip
			checkRejected(t, other, bad, fmt.Sprintf("byte %d of %d ^ %#x", i, len(data), flip))
		}
	}
	if got := fmtValue(other.do(t, "GET", "mine")); got != `"keep"` {
		t.Fatalf("state after rejected restores: %s", got)
	}
}

func TestSnapshotTruncated(t *testing.T) {
	data := snapshotBytes(t, populated(t).f)
	other := newHarness()
	other.do(t, "SET", "mine", "keep")
	for n := range len(data) {
		checkRejected(t, other, data[:n], fmt.Sprintf("cut to %d of %d bytes", n, len(data)))
	}
	checkRejected(t, other, append(bytes.Clone(data), 0), "trailing byte")
	checkRejected(t, other, append(bytes.Clone(data), data...), "two snapshots")
}

// TestRestoreKeepsAppliedIndex: an older snapshot never moves the applied
// index back (Raft restores only newer ones, but the FSM must not regress).
func TestRestoreKeepsAppliedIndex(t *testing.T) {
	old := snapshotBytes(t, populated(t).f)
	h := populated(t)
	for range 10 {
		h.do(t, "INCR", "n")
	}
	if err := restore(h.f, old); err != nil {
		t.Fatal(err)
	}
	if h.f.AppliedIndex() != h.idx {
		t.Fatalf("AppliedIndex %d after restoring an older snapshot, want %d", h.f.AppliedIndex(), h.idx)
	}
	if got := fmtValue(h.do(t, "GET", "n")); got != "(nil)" {
		t.Fatalf("restore kept a key the snapshot does not hold: %s", got)
	}
}

// TestHashSensitivity: Hash tells apart states that differ in any part.
func TestHashSensitivity(t *testing.T) {
	base := func() *harness {
		h := newHarness()
		h.do(t, "SET", "k", "v", "PX", "1000")
		return h
	}
	ref := base().f.Hash()
	if base().f.Hash() != ref {
		t.Fatal("Hash is not deterministic")
	}
	for name, change := range map[string]func(h *harness){
		"value":  func(h *harness) { h.do(t, "SET", "k", "w", "PX", "1000") },
		"expiry": func(h *harness) { h.do(t, "PEXPIRE", "k", "999") },
		"key":    func(h *harness) { h.do(t, "RENAME", "k", "j") },
		"extra":  func(h *harness) { h.do(t, "SET", "x", "") },
		"meta":   func(h *harness) { h.internal(t, "meta", "n", "a", "b") },
		"clock":  func(h *harness) { h.now++; h.do(t, "GET", "k"); h.apply(t) },
	} {
		h := base()
		change(h)
		if h.f.Hash() == ref {
			t.Errorf("Hash ignores a change of %s", name)
		}
	}
}

// A damaged length in a snapshot (here one the fuzzer found: strings that
// claim hundreds of megabytes in a few hundred bytes of input) is refused
// as corrupt without allocating what it claims: reading it used to take
// 1.7 GB and 15 s, an out-of-memory kill on a small node instead of the
// error naming the file.
func TestSnapshot_DamagedLengthIsNotTrustedWithMemory(t *testing.T) {
	data, err := os.ReadFile("testdata/fuzz/FuzzSnapshotRestore/97835d055b5727ba")
	if err != nil {
		t.Fatal(err)
	}
	// The corpus file is Go's fuzz encoding: one []byte literal.
	lit := strings.TrimSpace(strings.TrimPrefix(string(data), "go test fuzz v1\n"))
	raw, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lit, "[]byte("), ")"))
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, verr := fsm.ValidateSnapshot(bytes.NewReader([]byte(raw)))
	runtime.ReadMemStats(&after)
	if !errors.Is(verr, fsm.ErrSnapshotCorrupt) {
		t.Fatalf("ValidateSnapshot: %v, want ErrSnapshotCorrupt", verr)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 {
		t.Fatalf("reading a %d-byte damaged snapshot allocated %d MB", len(raw), got>>20)
	}
}
