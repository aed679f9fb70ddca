package fsm_test

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/understudy/understudy/fsm"
)

// t0 is the harness's starting clock: a fixed Unix ms so every run agrees.
const t0 int64 = 1_700_000_000_000

// harness drives one FSM the way the node does: writes through ApplyEntry at
// the harness clock, reads through Read.
type harness struct {
	f    *fsm.FSM
	now  int64
	idx  uint64
	seed uint64
	db   int // the database commands run in
}

// newHarness is a state machine at cluster level 2 with 16 databases, as a
// cluster of this build starts (newLevel1Harness is one at level 1).
func newHarness() *harness {
	h := newLevel1Harness()
	h.f.ApplyEntry(0, &fsm.Entry{Type: fsm.EntryBatch, Time: t0, Cmds: []fsm.Cmd{
		{Op: fsm.OpInternal, Argv: bargs([]string{"level", "2", "16"})}}})
	return h
}

func newLevel1Harness() *harness { return &harness{f: fsm.New(), now: t0, seed: 42} }

// configSet sets replicated parameters through the log, failing the test
// if they are refused.
func (h *harness) configSet(t testing.TB, pairs ...string) {
	t.Helper()
	if v := h.internal(t, append([]string{"config-set"}, pairs...)...); v.Kind == fsm.KindError {
		t.Fatalf("config-set %q: %s", pairs, v.Str)
	}
}

func bargs(args []string) [][]byte {
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	return argv
}

// do runs one command: through the log if it is a write, as a read otherwise
// (unknown commands too, which get their error either way).
func (h *harness) do(t testing.TB, args ...string) fsm.Value {
	t.Helper()
	return h.doArgv(t, bargs(args))
}

func (h *harness) doArgv(t testing.TB, argv [][]byte) fsm.Value {
	t.Helper()
	if strings.EqualFold(string(argv[0]), "select") && len(argv) == 2 {
		// SELECT is the connection's (the RESP layer's) in Understudy; the
		// harness keeps the database a connection would.
		n, err := strconv.Atoi(string(argv[1]))
		if err != nil || n < 0 || n >= h.f.Databases() {
			return fsm.Err("ERR DB index is out of range")
		}
		h.db = n
		return fsm.OK
	}
	if c, _, _ := fsm.Resolve(argv); c != nil && c.IsWrite() {
		return h.apply(t, fsm.Cmd{Op: fsm.OpClient, DB: h.db, Argv: argv})[0]
	}
	h.seed++
	return h.f.Read(h.db, h.now, h.seed, argv)
}

// apply commits one entry holding cmds at the harness clock.
func (h *harness) apply(t testing.TB, cmds ...fsm.Cmd) []fsm.Value {
	t.Helper()
	h.idx++
	h.seed++
	rs := h.f.ApplyEntry(h.idx, &fsm.Entry{Type: fsm.EntryBatch, Time: h.now, Seed: h.seed, Cmds: cmds})
	if len(rs) != len(cmds) {
		t.Fatalf("ApplyEntry returned %d replies for %d commands", len(rs), len(cmds))
	}
	return rs
}

// internal applies one OpInternal command.
func (h *harness) internal(t testing.TB, args ...string) fsm.Value {
	t.Helper()
	return h.apply(t, fsm.Cmd{Op: fsm.OpInternal, Argv: bargs(args)})[0]
}

// run executes a command line (see splitArgs), or "@+N" to advance the clock
// by N ms, and returns the reply in fmtValue form. A line starting with "~"
// has its reply sorted (see sortReply), for KEYS and SCAN.
func (h *harness) run(t testing.TB, line string) string {
	t.Helper()
	if rest, ok := strings.CutPrefix(line, "~"); ok {
		return fmtValue(sortReply(h.doArgv(t, bargs(splitArgs(t, rest)))))
	}
	if rest, ok := strings.CutPrefix(line, "CONFIG! "); ok {
		// A replicated CONFIG SET, as the RESP layer proposes it.
		return fmtValue(h.internal(t, append([]string{"config-set"}, splitArgs(t, rest)...)...))
	}
	if rest, ok := strings.CutPrefix(line, "@+"); ok {
		n, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			t.Fatalf("bad clock step %q", line)
		}
		h.now += n
		return ""
	}
	return fmtValue(h.doArgv(t, bargs(splitArgs(t, line))))
}

// splitArgs splits a command line on spaces; a double-quoted word is a Go
// string literal, so "a b", "" and "\x00" can be written.
func splitArgs(t testing.TB, line string) []string {
	t.Helper()
	var out []string
	for s := strings.TrimLeft(line, " "); s != ""; s = strings.TrimLeft(s, " ") {
		if s[0] == '"' {
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				t.Fatalf("unterminated quote in %q", line)
			}
			w, err := strconv.Unquote(s[:end+1])
			if err != nil {
				t.Fatalf("bad quoted word in %q: %v", line, err)
			}
			out = append(out, w)
			s = s[end+1:]
			continue
		}
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			i = len(s)
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	if len(out) == 0 {
		t.Fatalf("empty command line")
	}
	return out
}

// fmtValue renders a reply with its kind and exact bytes:
//
//	+OK   -ERR text   :12   "bulk" (Go-quoted)   (nil)   (nil-array)   [a b]
//	,1.5 (double)   %[k v] (map)   ~[a b] (set)
func fmtValue(v fsm.Value) string {
	switch v.Kind {
	case fsm.KindSimple:
		return "+" + string(v.Str)
	case fsm.KindError:
		return "-" + string(v.Str)
	case fsm.KindInt:
		return ":" + strconv.FormatInt(v.Int, 10)
	case fsm.KindBulk:
		return strconv.Quote(string(v.Str))
	case fsm.KindNull:
		return "(nil)"
	case fsm.KindNullArray:
		return "(nil-array)"
	case fsm.KindArray, fsm.KindPairs: // pairs as RESP2 sends them; TestPairsReplies checks the kind
		parts := make([]string, len(v.Arr))
		for i, e := range v.Arr {
			parts[i] = fmtValue(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case fsm.KindDouble:
		return "," + string(v.Str)
	case fsm.KindMap, fsm.KindSet:
		mark := "%"
		if v.Kind == fsm.KindSet {
			mark = "~"
		}
		return mark + fmtValue(fsm.Array(v.Arr))
	case fsm.KindArrayMap: // XREAD's: a map in RESP3, [k v] pairs in RESP2
		return "&" + fmtValue(fsm.Array(v.Arr))
	}
	return fmt.Sprintf("(kind %d %q)", v.Kind, v.Str)
}

// sortReply sorts an array or set of bulk strings, or the key list of a SCAN
// reply, whose order Redis leaves unspecified.
func sortReply(v fsm.Value) fsm.Value {
	if v.Kind != fsm.KindArray && v.Kind != fsm.KindSet {
		return v
	}
	if v.Kind == fsm.KindArray && len(v.Arr) == 2 && v.Arr[1].Kind == fsm.KindArray {
		return fsm.Array([]fsm.Value{v.Arr[0], sortReply(v.Arr[1])})
	}
	arr := slices.Clone(v.Arr)
	slices.SortFunc(arr, func(a, b fsm.Value) int { return bytes.Compare(a.Str, b.Str) })
	return fsm.Value{Kind: v.Kind, Arr: arr}
}

// asResp2 is v as a RESP2 client receives it: doubles become bulk strings,
// maps and sets arrays.
func asResp2(v fsm.Value) fsm.Value {
	switch v.Kind {
	case fsm.KindDouble, fsm.KindVerbatim:
		return fsm.Bulk(v.Str)
	case fsm.KindArrayMap:
		var arr []fsm.Value
		for i := 0; i+1 < len(v.Arr); i += 2 {
			arr = append(arr, fsm.Array([]fsm.Value{asResp2(v.Arr[i]), asResp2(v.Arr[i+1])}))
		}
		return fsm.Array(arr)
	case fsm.KindArray, fsm.KindMap, fsm.KindSet, fsm.KindPush, fsm.KindPairs:
		arr := make([]fsm.Value, len(v.Arr))
		for i, e := range v.Arr {
			arr[i] = asResp2(e)
		}
		return fsm.Array(arr)
	}
	return v
}

// resp2Want rewrites an expected reply in fmtValue notation the way asResp2
// changes the reply: ",1.5" becomes "\"1.5\"", "%[" and "~[" become "[".
// Error replies are left alone.
func resp2Want(want string) string {
	if strings.HasPrefix(want, "-") {
		return want
	}
	var sb strings.Builder
	for i := 0; i < len(want); {
		switch ch := want[i]; {
		case ch == '"':
			j := i + 1
			for j < len(want) && want[j] != '"' {
				if want[j] == '\\' {
					j++
				}
				j++
			}
			sb.WriteString(want[i : j+1])
			i = j + 1
		case (ch == '%' || ch == '~') && i+1 < len(want) && want[i+1] == '[':
			sb.WriteByte('[')
			i += 2
		case ch == ',' && (i == 0 || want[i-1] == ' ' || want[i-1] == '['):
			j := i + 1
			for j < len(want) && want[j] != ' ' && want[j] != ']' {
				j++
			}
			sb.WriteString(strconv.Quote(want[i+1 : j]))
			i = j
		default:
			sb.WriteByte(ch)
			i++
		}
	}
	return sb.String()
}

// resp2 encodes a reply as Redis 7 sends it to a RESP2 client.
func resp2(v fsm.Value) []byte {
	var buf bytes.Buffer
	writeResp2(&buf, v)
	return buf.Bytes()
}

func writeResp2(buf *bytes.Buffer, v fsm.Value) {
	switch v.Kind {
	case fsm.KindSimple:
		fmt.Fprintf(buf, "+%s\r\n", v.Str)
	case fsm.KindError:
		fmt.Fprintf(buf, "-%s\r\n", v.Str)
	case fsm.KindInt:
		fmt.Fprintf(buf, ":%d\r\n", v.Int)
	case fsm.KindBulk, fsm.KindDouble, fsm.KindVerbatim:
		fmt.Fprintf(buf, "$%d\r\n%s\r\n", len(v.Str), v.Str)
	case fsm.KindNull:
		buf.WriteString("$-1\r\n")
	case fsm.KindNullArray:
		buf.WriteString("*-1\r\n")
	case fsm.KindArrayMap:
		writeResp2(buf, asResp2(v))
	default:
		fmt.Fprintf(buf, "*%d\r\n", len(v.Arr))
		for _, e := range v.Arr {
			writeResp2(buf, e)
		}
	}
}

// step is one command of a script and the reply it must give.
type step struct {
	cmd, want string
}

// tc is one table row: setup lines (which must not fail), then steps. A
// name containing "(7.2)" marks a behaviour new in Redis 7.2, which the
// comparison with a live Redis skips on older servers.
type tc struct {
	name  string
	setup []string
	steps []step
}

// row is the common one-command case.
func row(name string, setup []string, cmd, want string) tc {
	return tc{name: name, setup: setup, steps: []step{{cmd, want}}}
}

func runCases(t *testing.T, cases []tc) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("duplicate case name %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			h := newHarness()
			for _, s := range c.setup {
				if got := h.run(t, s); strings.HasPrefix(got, "-") {
					t.Fatalf("setup %q: %s", s, got)
				}
			}
			for _, s := range c.steps {
				if got := h.run(t, s.cmd); got != s.want {
					t.Errorf("%s\n got: %s\nwant: %s", s.cmd, got, s.want)
				}
			}
		})
	}
}

// lines is shorthand for a setup list.
func lines(ls ...string) []string { return ls }

func TestHelpers(t *testing.T) {
	got := splitArgs(t, `SET "a b" "" "\x00\r\n" x`)
	want := []string{"SET", "a b", "", "\x00\r\n", "x"}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != len(want) {
		t.Fatalf("splitArgs = %q", got)
	}
	v := fsm.Array([]fsm.Value{fsm.BulkString("a"), fsm.Null, fsm.Int(-3), fsm.OK, fsm.Err("ERR x"), fsm.NullArray})
	if s := string(resp2(v)); s != "*6\r\n$1\r\na\r\n$-1\r\n:-3\r\n+OK\r\n-ERR x\r\n*-1\r\n" {
		t.Fatalf("resp2 = %q", s)
	}
	if s := fmtValue(v); s != `["a" (nil) :-3 +OK -ERR x (nil-array)]` {
		t.Fatalf("fmtValue = %s", s)
	}
	typed := fsm.Array([]fsm.Value{fsm.Double(1.5), {Kind: fsm.KindMap, Arr: []fsm.Value{fsm.BulkString("a,b"), fsm.Double(2)}},
		{Kind: fsm.KindSet, Arr: []fsm.Value{fsm.BulkString("x")}}})
	if s := fmtValue(typed); s != `[,1.5 %["a,b" ,2] ~["x"]]` {
		t.Fatalf("fmtValue = %s", s)
	}
	if s, want := resp2Want(fmtValue(typed)), fmtValue(asResp2(typed)); s != want || s != `["1.5" ["a,b" "2"] ["x"]]` {
		t.Fatalf("resp2Want = %s, asResp2 = %s", s, want)
	}
}
