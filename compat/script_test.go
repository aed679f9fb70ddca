package compat

// The differential script's format (testdata/script.txt):
//
//	# a comment (whole lines only)
//	=== strings                     a group: FLUSHALL on both servers first
//	--- SET options %global         a case; flags: %global (FLUSHALL before the
//	                                case: it reads the whole keyspace), %raw
//	                                (raw client paths only: pub/sub), %leader
//	                                (leader paths only)
//	SET {k} v EX 100                a step: a command, compared on every path
//	[ttl 99 100] TTL {k}            a step with modifiers
//
// {name} in a step becomes a key unique to the case and the path (the same
// on both servers), {} the bare prefix (KEYS {}*), {proto} the path's
// protocol version (2 or 3). Arguments split on spaces; "double quotes" take
// Go escapes ("" is the empty string); a `backquoted` argument is taken as
// written, without escapes or templates (Lua bodies: `return {1,2}`), and
// L"double quoted" takes Go escapes but no templates (a shebang line).
//
// Generators: @seq:T1,T2:FROM:TO gives T1 T2 for each i in FROM..TO with %d
// replaced by i (@seq:f%d,v%d:1:2 is f1 v1 f2 v2); @rep:S:N is S N times.
//
// Modifiers, in brackets before the command:
//
//	c2              send on the case's second connection (another client)
//	sort            compare the top-level aggregate as unordered
//	pairs           compare a flat [k, v, k, v] reply (or a map) as unordered pairs
//	deep            at every level: maps and sets unordered, and arrays
//	                whose elements are all aggregates (FUNCTION LIST's
//	                libraries and functions, in Redis's dict order)
//	members a b ..  random commands: each of these strings in the reply
//	                (recursively) becomes <member>, so only shape and
//	                membership are compared
//	ttl LO HI       an integer reply within [LO, HI] becomes <in LO..HI>
//	int             a positive integer reply (CLIENT ID) becomes <positive int>
//	time            TIME: two digit strings, seconds within a minute of now
//	hello           HELLO: the version, id and role fields become <...>
//	scan            iterate SCAN/HSCAN/SSCAN/ZSCAN (the cursor argument)
//	                until cursor 0, compare the union of the elements
//	replies N       read N replies (SUBSCRIBE a b c sends three)
//	recv            send nothing; read one pushed message (raw paths)
//	sleep MS        wait MS milliseconds first (TTL expiry)
//	run             run on both servers without comparing
//	ids             stream IDs made from the clock ("*") become <id1>,
//	                <id2>... in order of appearance (streams_test.go)
//	times           the idle and delivery times of XPENDING, XINFO
//	                CONSUMERS and XINFO STREAM FULL become <ms>

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

type scriptCase struct {
	file        string // base name, for transcripts
	group, name string
	line        int
	global      bool // FLUSHALL before the case
	rawOnly     bool
	leaderOnly  bool
	steps       []step
}

type step struct {
	line    int
	text    string   // as written, for transcripts
	args    []string // templates
	c2      bool
	replies int
	recv    bool
	run     bool
	scan    bool
	sleep   time.Duration
	norms   []norm
	// memberTemplates are the possible members of a random reply.
	memberTemplates []string
}

// norm rewrites a reply before comparison; the same on both servers.
type norm struct {
	name string
	fn   func(val) val
}

func loadScript(path string) ([]*scriptCase, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cases []*scriptCase
	var group string
	var cur *scriptCase
	sc := bufio.NewScanner(f)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "==="):
			group = strings.TrimSpace(strings.TrimPrefix(line, "==="))
			cur = nil
		case strings.HasPrefix(line, "---"):
			if group == "" {
				return nil, fmt.Errorf("%s:%d: case before any group", path, ln)
			}
			cur = &scriptCase{file: filepath.Base(path), group: group, line: ln}
			var words []string
			for _, w := range strings.Fields(strings.TrimPrefix(line, "---")) {
				switch w {
				case "%global":
					cur.global = true
				case "%raw":
					cur.rawOnly = true
				case "%leader":
					cur.leaderOnly = true
				default:
					words = append(words, w)
				}
			}
			cur.name = strings.Join(words, " ")
			cases = append(cases, cur)
		default:
			if cur == nil {
				return nil, fmt.Errorf("%s:%d: step outside a case", path, ln)
			}
			st, err := parseStep(line)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, ln, err)
			}
			st.line = ln
			cur.steps = append(cur.steps, st)
		}
	}
	return cases, sc.Err()
}

func parseStep(line string) (step, error) {
	st := step{text: line, replies: 1}
	rest := line
	for strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return st, fmt.Errorf("unclosed modifier in %q", line)
		}
		words := strings.Fields(rest[1:end])
		rest = strings.TrimSpace(rest[end+1:])
		if len(words) == 0 {
			return st, fmt.Errorf("empty modifier in %q", line)
		}
		if err := st.modifier(words[0], words[1:]); err != nil {
			return st, fmt.Errorf("modifier %q: %v", words[0], err)
		}
	}
	args, err := splitArgs(rest)
	if err != nil {
		return st, err
	}
	if args, err = generate(args); err != nil {
		return st, err
	}
	if len(args) == 0 && !st.recv {
		return st, fmt.Errorf("no command in %q", line)
	}
	st.args = args
	return st, nil
}

func (st *step) modifier(name string, a []string) error {
	argc := map[string]int{"c2": 0, "sort": 0, "pairs": 0, "int": 0, "time": 0, "hello": 0, "scan": 0, "recv": 0,
		"run": 0, "deep": 0, "ttl": 2, "replies": 1, "sleep": 1, "members": -1, "ids": 0, "times": 0}
	n, ok := argc[name]
	if !ok {
		return fmt.Errorf("unknown")
	}
	if n >= 0 && len(a) != n {
		return fmt.Errorf("takes %d arguments", n)
	}
	switch name {
	case "c2":
		st.c2 = true
	case "recv":
		st.recv = true
	case "run":
		st.run = true
	case "scan":
		st.scan = true
	case "replies":
		n, err := strconv.Atoi(a[0])
		if err != nil || n < 1 {
			return fmt.Errorf("bad count %q", a[0])
		}
		st.replies = n
	case "sleep":
		ms, err := strconv.Atoi(a[0])
		if err != nil {
			return err
		}
		st.sleep = time.Duration(ms) * time.Millisecond
	case "sort":
		st.norms = append(st.norms, norm{name, unordered})
	case "pairs":
		st.norms = append(st.norms, norm{name, unorderedPairs})
	case "deep":
		st.norms = append(st.norms, norm{name, deepUnordered})
	case "int":
		st.norms = append(st.norms, norm{name, anyInt})
	case "time":
		st.norms = append(st.norms, norm{name, timeShape})
	case "hello":
		st.norms = append(st.norms, norm{name, helloShape})
	case "ids":
		st.norms = append(st.norms, norm{name, clockIDs})
	case "times":
		st.norms = append(st.norms, norm{name, streamTimes})
	case "ttl":
		lo, err1 := strconv.ParseInt(a[0], 10, 64)
		hi, err2 := strconv.ParseInt(a[1], 10, 64)
		if err1 != nil || err2 != nil || lo > hi {
			return fmt.Errorf("bad range %q", a)
		}
		st.norms = append(st.norms, norm{name, func(v val) val {
			if v.k == kInt && v.i >= lo && v.i <= hi {
				return val{k: kStatus, s: fmt.Sprintf("<in %d..%d>", lo, hi)}
			}
			return v
		}})
	case "members":
		if len(a) == 0 {
			return fmt.Errorf("needs the possible members")
		}
		// The members are templates too ({k} keys for RANDOMKEY): the
		// runner expands them per path (norm.fn is nil).
		st.norms = append(st.norms, norm{name: "members"})
		members, err := generate(a)
		if err != nil {
			return err
		}
		st.memberTemplates = members
	}
	return nil
}

// literalMark starts an argument that was `backquoted`: generate and expand
// leave it alone (but for dropping the mark).
const literalMark = "\x00"

// splitArgs splits on spaces; "double quoted" arguments take Go escapes,
// `backquoted` ones are literal, L"double quoted" ones take Go escapes and
// are literal (both marked with literalMark).
func splitArgs(s string) ([]string, error) {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return out, nil
		}
		if s[0] == '`' {
			end := strings.IndexByte(s[1:], '`')
			if end < 0 {
				return nil, fmt.Errorf("unterminated backquote in %q", s)
			}
			out = append(out, literalMark+s[1:end+1])
			s = s[end+2:]
			continue
		}
		mark := ""
		if strings.HasPrefix(s, `L"`) {
			mark, s = literalMark, s[1:]
		}
		if s[0] != '"' {
			end := strings.IndexAny(s, " \t")
			if end < 0 {
				end = len(s)
			}
			out = append(out, s[:end])
			s = s[end:]
			continue
		}
		end := 1
		for end < len(s) && s[end] != '"' {
			if s[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(s) {
			return nil, fmt.Errorf("unterminated quote in %q", s)
		}
		a, err := strconv.Unquote(s[:end+1])
		if err != nil {
			return nil, fmt.Errorf("bad quoted argument %s: %v", s[:end+1], err)
		}
		out = append(out, mark+a)
		s = s[end+1:]
	}
}

// generate expands the generator arguments:
//
//	@seq:T1,T2:FROM:TO  for i in FROM..TO, the templates T1, T2... with %d
//	                    replaced by i (@seq:f%d,v%d:1:3 is f1 v1 f2 v2 f3 v3)
//	@rep:S:N            S repeated N times, one argument
func generate(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "@seq:"):
			f := strings.Split(a, ":")
			if len(f) != 4 {
				return nil, fmt.Errorf("bad generator %q: want @seq:TEMPLATES:FROM:TO", a)
			}
			from, err1 := strconv.Atoi(f[2])
			to, err2 := strconv.Atoi(f[3])
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("bad range in %q", a)
			}
			for i := from; i <= to; i++ {
				for _, tmpl := range strings.Split(f[1], ",") {
					out = append(out, strings.ReplaceAll(tmpl, "%d", strconv.Itoa(i)))
				}
			}
		case strings.HasPrefix(a, "@rep:"):
			f := strings.Split(a, ":")
			n, err := strconv.Atoi(f[len(f)-1])
			if len(f) != 3 || err != nil {
				return nil, fmt.Errorf("bad generator %q: want @rep:S:N", a)
			}
			out = append(out, strings.Repeat(f[1], n))
		default:
			out = append(out, a)
		}
	}
	return out, nil
}

// expand fills the templates for one case on one path.
func expand(args []string, prefix string, proto int) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if lit, ok := strings.CutPrefix(a, literalMark); ok {
			out[i] = lit
			continue
		}
		a = strings.ReplaceAll(a, "{proto}", strconv.Itoa(proto))
		a = strings.ReplaceAll(a, "{}", prefix)
		for {
			open := strings.IndexByte(a, '{')
			if open < 0 {
				break
			}
			end := strings.IndexByte(a[open:], '}')
			if end < 0 {
				break
			}
			a = a[:open] + prefix + a[open+1:open+end] + a[open+end+1:]
		}
		out[i] = a
	}
	return out
}

// ---------------------------------------------------------------------------
// Normalisers

func sortVals(vs []val) {
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].String() < vs[j].String() })
}

// unordered sorts the elements of an aggregate (the pairs of a map).
func unordered(v val) val {
	if v.k == kMap {
		return unorderedPairs(v)
	}
	if !v.aggregate() {
		return v
	}
	v.elems = append([]val(nil), v.elems...)
	sortVals(v.elems)
	return v
}

// unorderedPairs sorts a map's entries, a flat [k, v, ...] array's pairs, or
// an array of [k, v] pairs.
func unorderedPairs(v val) val {
	if !v.aggregate() {
		return v
	}
	if v.k != kMap && (len(v.elems)%2 != 0 || (len(v.elems) > 0 && v.elems[0].k == kArr)) {
		return unordered(v)
	}
	type pair struct{ k, v val }
	ps := make([]pair, 0, len(v.elems)/2)
	for i := 0; i+1 < len(v.elems); i += 2 {
		ps = append(ps, pair{v.elems[i], v.elems[i+1]})
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].k.String()+ps[i].v.String() < ps[j].k.String()+ps[j].v.String() })
	out := val{k: v.k}
	for _, p := range ps {
		out.elems = append(out.elems, p.k, p.v)
	}
	return out
}

// deepUnordered sorts, at every level, maps (by pair), sets, and arrays
// made only of aggregates; flat arrays keep their order.
func deepUnordered(v val) val {
	if !v.aggregate() {
		return v
	}
	out := v
	out.elems = make([]val, len(v.elems))
	records := true
	for i, e := range v.elems {
		out.elems[i] = deepUnordered(e)
		records = records && e.aggregate()
	}
	switch {
	case v.k == kMap:
		return unorderedPairs(out)
	case v.k == kSet || (records && len(out.elems) > 0):
		sortVals(out.elems)
	}
	return out
}

func anyInt(v val) val {
	if v.k == kInt && v.i > 0 {
		return val{k: kStatus, s: "<positive int>"}
	}
	return v
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// timeShape checks TIME's two strings: Unix seconds near now, microseconds.
func timeShape(v val) val {
	if !v.aggregate() || len(v.elems) != 2 || !isDigits(v.elems[0].s) || !isDigits(v.elems[1].s) {
		return v
	}
	secs, _ := strconv.ParseInt(v.elems[0].s, 10, 64)
	us, _ := strconv.ParseInt(v.elems[1].s, 10, 64)
	if d := time.Now().Unix() - secs; d < -60 || d > 60 || us >= 1e6 {
		return v
	}
	out := v
	out.elems = []val{{k: v.elems[0].k, s: "<unix seconds>"}, {k: v.elems[1].k, s: "<microseconds>"}}
	return out
}

// helloShape blanks the fields of HELLO's reply that must differ.
func helloShape(v val) val {
	if !v.aggregate() {
		return v
	}
	out := v
	out.elems = append([]val(nil), v.elems...)
	for i := 0; i+1 < len(out.elems); i += 2 {
		switch out.elems[i].s {
		case "version", "id", "role":
			out.elems[i+1] = val{k: kStatus, s: "<" + out.elems[i].s + ">"}
		}
	}
	return out
}

// memberShape replaces every string in set with <member>, recursively.
func memberShape(v val, set map[string]bool) val {
	switch {
	case v.aggregate():
		out := v
		out.elems = make([]val, len(v.elems))
		for i, e := range v.elems {
			out.elems[i] = memberShape(e, set)
		}
		return out
	case (v.k == kStr || v.k == kStatus || v.k == kDouble) && set[v.s]:
		return val{k: v.k, s: "<member>"}
	}
	return v
}
