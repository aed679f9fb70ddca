package fsm_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/understudy/understudy/fsm"
)

// dumpOf DUMPs key, failing the test if it is missing.
func dumpOf(t testing.TB, h *harness, key string) string {
	t.Helper()
	v := h.do(t, "DUMP", key)
	if v.Kind != fsm.KindBulk {
		t.Fatalf("DUMP %s: %s", key, fmtValue(v))
	}
	return string(v.Str)
}

// everyType makes one key of each type and encoding in h, named by it.
func everyType(t testing.TB, h *harness) []string {
	t.Helper()
	setup := [][]string{
		{"SET", "str", "hello"},
		{"SET", "int", "12345"},
		{"SET", "long", string(bytes.Repeat([]byte("abc"), 100))},
		{"RPUSH", "list", "a", "b", "1", "2"},
		{"SADD", "intset", "3", "1", "2"},
		{"SADD", "set", "a", "b", "c"},
		{"HSET", "hash", "f", "v", "g", "w"},
		{"ZADD", "zset", "1", "a", "2.5", "b", "-3", "c"},
		{"XADD", "stream", "1-1", "f", "v"},
		{"XGROUP", "CREATE", "stream", "g", "0"},
		{"PFADD", "hll", "a", "b", "c"},
		{"SETBIT", "bits", "100", "1"},
	}
	for _, argv := range setup {
		if v := h.do(t, argv...); v.Kind == fsm.KindError {
			t.Fatalf("%q: %s", argv, v.Str)
		}
	}
	big := []string{"ZADD", "bigz"}
	bigH := []string{"HSET", "bighash"}
	bigS := []string{"SADD", "bigset"}
	for i := range 300 {
		n := strconv.Itoa(i)
		big = append(big, n, "m"+n)
		bigH = append(bigH, "f"+n, "v"+n)
		bigS = append(bigS, "m"+n)
	}
	for _, argv := range [][]string{big, bigH, bigS} {
		h.do(t, argv...)
	}
	return []string{"str", "int", "long", "list", "intset", "set", "hash", "zset", "stream", "hll", "bits", "bigz", "bighash", "bigset"}
}

func TestDumpRestoreRoundTrip(t *testing.T) {
	h := newHarness()
	for _, k := range everyType(t, h) {
		p := dumpOf(t, h, k)
		if got := h.run(t, "RESTORE copy-"+k+" 0 "+strconv.Quote(p)); got != "+OK" {
			t.Fatalf("RESTORE of %s's DUMP: %s", k, got)
		}
		if again := dumpOf(t, h, "copy-"+k); again != p {
			t.Errorf("%s: DUMP of the restored value differs\n got %q\nwant %q", k, again, p)
		}
		// A string comes back int, embstr or raw by its value, as Redis's
		// tryObjectEncoding leaves it (a PFADD or SETBIT made it raw).
		for _, sub := range []string{"TYPE", "OBJECT ENCODING"} {
			if sub != "TYPE" && (k == "hll" || k == "bits") {
				continue
			}
			if a, b := h.run(t, sub+" "+k), h.run(t, sub+" copy-"+k); a != b {
				t.Errorf("%s %s: %s, restored %s", sub, k, a, b)
			}
		}
	}
}

func TestRestoreRepliesAndErrors(t *testing.T) {
	h := newHarness()
	h.do(t, "SET", "src", "v")
	p := strconv.Quote(dumpOf(t, h, "src"))
	bad := []byte(dumpOf(t, h, "src"))
	bad[1] ^= 0xff // the body: the CRC no longer matches
	corrupt := strconv.Quote(string(bad))
	for _, c := range []struct{ cmd, want string }{
		{"RESTORE src 0 " + p, "-BUSYKEY Target key name already exists."},
		{"RESTORE k -1 " + p, "-ERR Invalid TTL value, must be >= 0"},
		{"RESTORE k x " + p, "-ERR value is not an integer or out of range"},
		{"RESTORE k 0 " + corrupt, "-ERR DUMP payload version or checksum are wrong"},
		{"RESTORE k 0 short", "-ERR DUMP payload version or checksum are wrong"},
		{"RESTORE k 0 " + p + " FOO", "-ERR syntax error"},
		{"RESTORE k 0 " + p + " IDLETIME -1", "-ERR Invalid IDLETIME value, must be >= 0"},
		{"RESTORE k 0 " + p + " IDLETIME x", "-ERR value is not an integer or out of range"},
		{"RESTORE k 0 " + p + " FREQ 256", "-ERR Invalid FREQ value, must be >= 0 and <= 255"},
		{"RESTORE k 0 " + p + " FREQ 1 IDLETIME 1", "-ERR syntax error"},
		{"RESTORE k 0 " + p + " IDLETIME", "-ERR syntax error"},
		{"RESTORE k 0 " + p, "+OK"},
		{"GET k", `"v"`},
		{"RESTORE src 0 " + p + " REPLACE", "+OK"},
		{"DUMP nosuch", "(nil)"},
		{"RESTORE-ASKING ask 0 " + p, "+OK"},
		{"GET ask", `"v"`},
	} {
		if got := h.run(t, c.cmd); got != c.want {
			t.Errorf("%.60s\n got %s\nwant %s", c.cmd, got, c.want)
		}
	}
	// A payload whose footer is right but whose body is not.
	body := "\x63\x00"
	if got := h.run(t, "RESTORE k2 0 "+strconv.Quote(withFooter(body))); got != "-ERR Bad data format" {
		t.Errorf("bad body: %s", got)
	}
}

// withFooter appends RDB version 10 and the CRC64 Redis would write
// (crc64.c: the Jones polynomial, reflected, no inversions).
func withFooter(body string) string {
	p := []byte(body + "\x0a\x00")
	crc := ^crc64.Update(^uint64(0), crc64.MakeTable(0x95ac9329ac4bc9b5), p)
	return string(binary.LittleEndian.AppendUint64(p, crc))
}

func TestRestoreTTL(t *testing.T) {
	h := newHarness()
	h.do(t, "SET", "src", "v")
	p := strconv.Quote(dumpOf(t, h, "src"))
	for _, c := range []struct{ cmd, want string }{
		{"RESTORE a 5000 " + p, "+OK"},
		{"PTTL a", ":5000"},
		{"RESTORE b " + strconv.FormatInt(t0+7000, 10) + " " + p + " ABSTTL", "+OK"},
		{"PTTL b", ":7000"},
		// Already expired: nothing is made, and REPLACE's victim goes.
		{"RESTORE c " + strconv.FormatInt(t0-1, 10) + " " + p + " ABSTTL", "+OK"},
		{"EXISTS c", ":0"},
		{"RESTORE a " + strconv.FormatInt(t0, 10) + " " + p + " ABSTTL REPLACE", "+OK"},
		{"EXISTS a", ":0"},
		{"RESTORE d 0 " + p, "+OK"},
		{"PTTL d", ":-1"},
	} {
		if got := h.run(t, c.cmd); got != c.want {
			t.Errorf("%.60s\n got %s\nwant %s", c.cmd, got, c.want)
		}
	}
}

func TestRestoreIdleTimeAndFreq(t *testing.T) {
	h := newHarness()
	h.do(t, "SET", "src", "v")
	p := strconv.Quote(dumpOf(t, h, "src"))
	h.run(t, "RESTORE idle 0 "+p+" IDLETIME 1000")
	if got := h.run(t, "OBJECT IDLETIME idle"); got != ":1000" {
		t.Errorf("OBJECT IDLETIME after IDLETIME 1000: %s", got)
	}
	h.configSet(t, "maxmemory-policy", "allkeys-lfu")
	h.run(t, "RESTORE freq 0 "+p+" FREQ 100")
	if got := h.run(t, "OBJECT FREQ freq"); got != ":100" {
		t.Errorf("OBJECT FREQ after FREQ 100: %s", got)
	}
	// IDLETIME under LFU and FREQ under LRU are accepted and ignored.
	if got := h.run(t, "RESTORE idle2 0 "+p+" IDLETIME 5"); got != "+OK" {
		t.Errorf("IDLETIME under LFU: %s", got)
	}
	if got := h.run(t, "OBJECT FREQ idle2"); got != ":5" {
		t.Errorf("OBJECT FREQ of a key restored with IDLETIME under LFU: %s", got)
	}
}

func TestRestoreEvents(t *testing.T) {
	h := newHarness()
	h.do(t, "SET", "src", "v")
	p := dumpOf(t, h, "src")
	h.configSet(t, "notify-keyspace-events", "KEAn")
	var got []string
	h.f.SetPublishHook(func(ms []fsm.Message) {
		for _, m := range ms {
			if m.Channel == "__keyspace@0__:k" {
				got = append(got, m.Payload)
			}
		}
	})
	for _, c := range []struct {
		argv []string
		want string
	}{
		{[]string{"RESTORE", "k", "0", p}, "new restore"},
		{[]string{"RESTORE", "k", "0", p, "REPLACE"}, "new restore"},
		{[]string{"RESTORE", "k", strconv.FormatInt(t0-1, 10), p, "REPLACE", "ABSTTL"}, "del"},
	} {
		got = nil
		h.idx++
		h.f.Apply(raftLog(h.idx, &fsm.Entry{Type: fsm.EntryBatch, Time: h.now, Cmds: []fsm.Cmd{
			{Op: fsm.OpClient, Argv: bargs(c.argv)}}}))
		if strings.Join(got, " ") != c.want {
			t.Errorf("%q: events %q, want %q", c.argv[:2], got, c.want)
		}
	}
}

// FuzzRestore runs RESTORE of arbitrary payloads through the log: never a
// panic, only OK or Redis's errors, and a restored value DUMPs to a payload
// that RESTOREs to the same state (replay and snapshot agree too).
func FuzzRestore(f *testing.F) {
	files, _ := filepath.Glob("rdb/testdata/dump/*.bin")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	h := newHarness()
	for _, k := range everyType(f, h) {
		f.Add([]byte(dumpOf(f, h, k)))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) > 1<<16 {
			return // LZF can expand ~88x: keep each input cheap
		}
		h := newHarness()
		v := h.doArgv(t, [][]byte{[]byte("RESTORE"), []byte("k"), []byte("0"), payload})
		switch fmtValue(v) {
		case "-ERR DUMP payload version or checksum are wrong", "-ERR Bad data format":
			if h.run(t, "EXISTS k") != ":0" {
				t.Fatalf("a refused payload made a key")
			}
			return
		case "+OK":
		default:
			t.Fatalf("RESTORE answered %s", fmtValue(v))
		}
		p := dumpOf(t, h, "k")
		if got := h.run(t, "RESTORE k2 0 "+strconv.Quote(p)); got != "+OK" {
			t.Fatalf("RESTORE of the restored value's DUMP: %s", got)
		}
		if again := dumpOf(t, h, "k2"); again != p {
			t.Fatalf("DUMP, RESTORE, DUMP changed the payload")
		}
		var buf bytes.Buffer
		if _, err := h.f.WriteSnapshot(&buf); err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		r := fsm.New()
		if err := restore(r, buf.Bytes()); err != nil || r.Hash() != h.f.Hash() {
			t.Fatalf("snapshot of a restored value: %v", err)
		}
	})
}

// TestMigrateReadAndDelete: MIGRATE's source side reads a key's payload,
// expiry and version together, and deletes it only if nothing wrote it
// since, with Redis's "del" event.
func TestMigrateReadAndDelete(t *testing.T) {
	h := newHarness()
	h.do(t, "SET", "a", "1", "PX", "5000")
	h.do(t, "SET", "b", "2")
	v := h.do(t, fsm.MigrateReadCommand, "a", "b", "missing")
	if v.Kind != fsm.KindArray || len(v.Arr) != 3 || v.Arr[2].Kind != fsm.KindNull {
		t.Fatalf("migrateread: %s", fmtValue(v))
	}
	a, b := v.Arr[0].Arr, v.Arr[1].Arr
	if string(a[0].Str) != dumpOf(t, h, "a") || a[1].Int != t0+5000 || b[1].Int != -1 {
		t.Fatalf("migrateread: %s", fmtValue(v))
	}
	h.do(t, "SET", "b", "changed")
	if got := fmtValue(h.do(t, fsm.MigrateDelCommand, "a", string(a[2].Str), "b", string(b[2].Str))); got != ":1" {
		t.Fatalf("migratedel: %s, want only the unchanged key deleted", got)
	}
	if h.run(t, "EXISTS a") != ":0" || h.run(t, "GET b") != `"changed"` {
		t.Fatalf("after migratedel: a exists %s, b %s", h.run(t, "EXISTS a"), h.run(t, "GET b"))
	}
}
