package compat

// The differential suite: testdata/script.txt (and the scripting section,
// testdata/lua.txt) replayed against redis-server
// and against Understudy's leader and a follower, through go-redis (RESP2 and
// RESP3) and the raw client (which keeps every reply type), replies compared
// step by step after the normalisation each step names. Differences that are
// expected are accepted only by the two allow-lists in allow_test.go.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// diffPath is one way of reaching Understudy (and, for the same commands and
// keys, Redis).
type diffPath struct {
	name     string
	tag      string // part of the key prefix
	follower bool
	proto    int
	raw      bool
}

var diffPaths = []diffPath{
	{"leader/go-redis/RESP2", "l2", false, 2, false},
	{"leader/go-redis/RESP3", "l3", false, 3, false},
	{"follower/go-redis/RESP2", "f2", true, 2, false},
	{"follower/go-redis/RESP3", "f3", true, 3, false},
	{"leader/raw/RESP2", "lr2", false, 2, true},
	{"leader/raw/RESP3", "lr3", false, 3, true},
	{"follower/raw/RESP2", "fr2", true, 2, true},
	{"follower/raw/RESP3", "fr3", true, 3, true},
}

// runner sends one connection's commands.
type runner interface {
	do(args []string, n int) ([]val, error)
	recv() (val, error)
	Close() error
}

type goRunner struct{ c *redis.Client }

func newGoRunner(addr string, proto int) (runner, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, PoolSize: 1, MaxRetries: -1,
		ReadTimeout: 10 * time.Second, DialTimeout: 2 * time.Second})
	if err := c.Ping(context.Background()).Err(); err != nil {
		c.Close()
		return nil, err
	}
	return &goRunner{c}, nil
}

func (g *goRunner) do(args []string, n int) ([]val, error) {
	if n != 1 {
		return nil, errors.New("a go-redis path reads one reply per command: mark the case %raw")
	}
	a := make([]any, len(args))
	for i, s := range args {
		a[i] = s
	}
	x, err := g.c.Do(context.Background(), a...).Result()
	var rerr redis.Error
	if err != nil && !errors.Is(err, redis.Nil) && !errors.As(err, &rerr) {
		return nil, err // transport
	}
	return []val{fromGoRedis(x, err)}, nil
}

func (g *goRunner) recv() (val, error) {
	return val{}, errors.New("a go-redis path cannot read pushed messages: mark the case %raw")
}

func (g *goRunner) Close() error { return g.c.Close() }

type rawRunner struct{ *rawConn }

func (r rawRunner) do(args []string, n int) ([]val, error) {
	if err := r.send(args...); err != nil {
		return nil, err
	}
	out := make([]val, n)
	for i := range out {
		v, err := r.read()
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (r rawRunner) recv() (val, error) { return r.readWithin(2 * time.Second) }

// side is one server's pair of connections for one case on one path.
type side struct {
	addr   string
	p      diffPath
	c1, c2 runner
}

func (s *side) conn(second bool) (runner, error) {
	r := &s.c1
	if second {
		r = &s.c2
	}
	if *r != nil {
		return *r, nil
	}
	var err error
	if s.p.raw {
		var rc *rawConn
		if rc, err = dialRaw(s.addr, s.p.proto); err == nil {
			*r = rawRunner{rc}
		}
	} else {
		*r, err = newGoRunner(s.addr, s.p.proto)
	}
	return *r, err
}

func (s *side) close() {
	for _, r := range []runner{s.c1, s.c2} {
		if r != nil {
			r.Close()
		}
	}
}

// exec runs one step on one side.
func (s *side) exec(st step, args []string) ([]val, error) {
	r, err := s.conn(st.c2)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", s.addr, err)
	}
	switch {
	case st.recv:
		v, err := r.recv()
		return []val{v}, err
	case st.scan:
		v, err := scanAll(r, args)
		return []val{v}, err
	}
	return r.do(args, st.replies)
}

// scanAll iterates a SCAN-family command from cursor 0 to the end and
// returns the union of the elements, unordered (pairs for HSCAN and ZSCAN).
func scanAll(r runner, args []string) (val, error) {
	at := 2
	name := strings.ToLower(args[0])
	if name == "scan" {
		at = 1
	}
	a := slices.Clone(args)
	var all []val
	for range 10000 {
		vs, err := r.do(a, 1)
		if err != nil {
			return val{}, err
		}
		v := vs[0]
		if !v.aggregate() || len(v.elems) != 2 || !v.elems[1].aggregate() {
			return v, nil // an error, or not a scan reply: compared as is
		}
		all = append(all, v.elems[1].elems...)
		if a[at] = v.elems[0].s; a[at] == "0" {
			break
		}
	}
	out := val{k: kArr, elems: all}
	if (name == "hscan" || name == "zscan") && !slices.ContainsFunc(args, func(s string) bool { return strings.EqualFold(s, "novalues") }) {
		return unorderedPairs(out), nil
	}
	out = unordered(out)
	out.elems = slices.CompactFunc(out.elems, func(a, b val) bool { return a.String() == b.String() })
	return out, nil
}

// normalise applies the step's normalisers to one reply.
func normalise(st step, v val, prefix string, proto int) val {
	for _, n := range st.norms {
		if n.name == "members" {
			set := map[string]bool{}
			for _, m := range expand(st.memberTemplates, prefix, proto) {
				set[m] = true
			}
			v = memberShape(v, set)
			continue
		}
		v = n.fn(v)
	}
	return v
}

func renderAll(vs []val) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	return strings.Join(parts, "  ⏎  ")
}

// mismatch is one step that differed, kept for the summary.
type mismatch struct {
	file        string
	line        int
	cmd         string
	redis, ours string
	paths       []string
}

type diffRun struct {
	redisAdmin *rawConn
	mismatches map[string]*mismatch
	accepted   map[string][]string // allowance id -> examples
}

// TestCompat_Differential replays the script. With
// UNDERSTUDY_COMPAT_TRANSCRIPT=1 (and -v) it also logs the transcript of
// every passing case on its first path.
func TestCompat_Differential(t *testing.T) { runDiffFile(t, "testdata/script.txt") }

// TestCompat_Scripting replays the scripting section (testdata/lua.txt):
// EVAL and FCALL's conversions both ways in RESP2 and RESP3, their error
// paths, the sandbox, the Lua libraries, SCRIPT and FUNCTION management.
func TestCompat_Scripting(t *testing.T) { runDiffFile(t, "testdata/lua.txt") }

// runDiffFile replays one script file in the differential format.
func runDiffFile(t *testing.T, path string) {
	showAll := os.Getenv("UNDERSTUDY_COMPAT_TRANSCRIPT") == "1"
	needRedis(t)
	cases, err := loadScript(path)
	if err != nil {
		t.Fatal(err)
	}
	cl := shared(t)
	cl.SettledLeader(t)
	ra, err := dialRaw(redisAddr, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer ra.Close()
	run := &diffRun{redisAdmin: ra, mismatches: map[string]*mismatch{}, accepted: map[string][]string{}}
	start := time.Now()
	groups := []string{}
	byGroup := map[string][]int{}
	for i, c := range cases {
		if _, ok := byGroup[c.group]; !ok {
			groups = append(groups, c.group)
		}
		byGroup[c.group] = append(byGroup[c.group], i)
	}
	steps := 0
	for _, g := range groups {
		t.Run(g, func(t *testing.T) {
			l := cl.SettledLeader(t)
			fl := cl.Followers(l)[0]
			run.flushAll(t, l.ClientAddr())
			for _, i := range byGroup[g] {
				c := cases[i]
				t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
					steps += run.caseOnAllPaths(t, i, c, l.ClientAddr(), fl.ClientAddr(), showAll)
				})
			}
		})
	}
	t.Logf("%s: %d cases, %d steps compared on %d paths in %v", path, len(cases), steps, len(diffPaths), time.Since(start).Round(time.Millisecond))
	run.summary(t)
}

func (d *diffRun) flushAll(t *testing.T, usAddr string) {
	t.Helper()
	if v, err := d.redisAdmin.do("FLUSHALL"); err != nil || v.String() != "+OK" {
		t.Fatalf("redis-server FLUSHALL: %v %v", v, err)
	}
	c, err := dialRaw(usAddr, 2)
	if err != nil {
		t.Fatalf("understudy: %v", err)
	}
	defer c.Close()
	if v, err := c.do("FLUSHALL"); err != nil || v.String() != "+OK" {
		t.Fatalf("understudy FLUSHALL: %v %v", v, err)
	}
}

// caseOnAllPaths runs one case on every path it applies to and reports one
// transcript per distinct failure, naming the paths that failed the same
// way under it. It returns the number of steps compared.
func (d *diffRun) caseOnAllPaths(t *testing.T, i int, c *scriptCase, leader, follower string, showAll bool) int {
	var paths []diffPath
	for _, p := range diffPaths {
		if !(c.rawOnly && !p.raw) && !(c.leaderOnly && p.follower) {
			paths = append(paths, p)
		}
	}
	addrOf := func(p diffPath) string {
		if p.follower {
			return follower
		}
		return leader
	}
	results := make([]caseResult, len(paths))
	if c.global {
		// The case reads the whole keyspace: one path at a time.
		for j, p := range paths {
			d.flushAll(t, leader)
			results[j] = d.runCase(i, c, p, addrOf(p))
		}
	} else {
		// Keys are unique per path: the paths run side by side.
		var wg sync.WaitGroup
		for j, p := range paths {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[j] = d.runCase(i, c, p, addrOf(p))
			}()
		}
		wg.Wait()
	}
	compared := 0
	same := map[string][]string{}
	shown := map[string]string{}
	var order []string
	for j, r := range results {
		compared += r.compared
		d.merge(r)
		if !r.failed {
			if showAll && j == 0 {
				t.Logf("%s", r.transcript)
			}
			continue
		}
		sig := r.signature()
		if _, ok := shown[sig]; ok {
			same[sig] = append(same[sig], paths[j].name)
			continue
		}
		order = append(order, sig)
		shown[sig] = r.transcript
	}
	for _, sig := range order {
		msg := shown[sig]
		if others := same[sig]; len(others) > 0 {
			msg += "  the same on: " + strings.Join(others, ", ") + "\n"
		}
		t.Errorf("%s", msg)
	}
	return compared
}

// caseResult is one case on one path.
type caseResult struct {
	compared   int
	failed     bool
	transcript string
	mismatches []*mismatch
	accepted   []acceptedDiff
}

type acceptedDiff struct{ id, example string }

// runCase runs one case on one path against both servers, step by step,
// and keeps a transcript that marks every differing step.
func (d *diffRun) runCase(idx int, c *scriptCase, p diffPath, usAddr string) caseResult {
	prefix := fmt.Sprintf("c%d.%s:", idx, p.tag)
	rs := &side{addr: redisAddr, p: p}
	us := &side{addr: usAddr, p: p}
	defer rs.close()
	defer us.close()
	var res caseResult
	var tr strings.Builder
	fmt.Fprintf(&tr, "%s:%d %q on %s (keys prefixed %q):\n", c.file, c.line, c.name, p.name, prefix)
	// unprefix shows replies with the path's prefix as {} so that the same
	// mismatch on several paths is listed once in the summary.
	unprefix := func(s string) string { return strings.ReplaceAll(s, prefix, "{}") }
	for _, st := range c.steps {
		if st.sleep > 0 {
			time.Sleep(st.sleep) // the step is about time passing (TTLs)
		}
		args := expand(st.args, prefix, p.proto)
		shown := strings.Join(quoteArgs(args), " ")
		if st.recv {
			shown = "(read a pushed message)"
		}
		rv, rerr := rs.exec(st, args)
		uv, uerr := us.exec(st, args)
		if rerr != nil || uerr != nil {
			fmt.Fprintf(&tr, "  ✗ %-50s  transport error: redis-server: %v; understudy: %v\n", shown, rerr, uerr)
			res.failed = true
			res.mismatches = append(res.mismatches, &mismatch{file: c.file, line: st.line, cmd: st.text,
				redis: fmt.Sprint(rerr), ours: fmt.Sprint(uerr), paths: []string{p.name}})
			break
		}
		if st.run {
			fmt.Fprintf(&tr, "    %-50s  (not compared) redis-server: %s; understudy: %s\n", shown, renderAll(rv), renderAll(uv))
			continue
		}
		res.compared++
		rn := make([]val, len(rv))
		un := make([]val, len(uv))
		for i := range rv {
			rn[i] = normalise(st, rv[i], prefix, p.proto)
		}
		for i := range uv {
			un[i] = normalise(st, uv[i], prefix, p.proto)
		}
		if renderAll(rn) == renderAll(un) {
			fmt.Fprintf(&tr, "    %-50s  %s\n", shown, renderAll(rv))
			continue
		}
		if id := d.allowed(args, p, rn, un); id != "" {
			fmt.Fprintf(&tr, "  ~ %-50s  accepted (%s): redis-server: %s; understudy: %s\n", shown, id, renderAll(rv), renderAll(uv))
			res.accepted = append(res.accepted, acceptedDiff{id, fmt.Sprintf("%s [%s] → redis-server: %s; understudy: %s",
				unprefix(shown), p.name, unprefix(renderAll(rv)), unprefix(renderAll(uv)))})
			continue
		}
		res.failed = true
		fmt.Fprintf(&tr, "  ✗ %-50s\n        redis-server: %s\n        understudy:   %s\n", shown, renderAll(rv), renderAll(uv))
		res.mismatches = append(res.mismatches, &mismatch{file: c.file, line: st.line, cmd: st.text,
			redis: unprefix(renderAll(rv)), ours: unprefix(renderAll(uv)), paths: []string{p.name}})
	}
	res.transcript = tr.String()
	return res
}

// signature identifies how a case failed, whatever the path's key prefix.
func (r caseResult) signature() string {
	var sb strings.Builder
	for _, m := range r.mismatches {
		fmt.Fprintf(&sb, "%d|%s|%s\n", m.line, m.redis, m.ours)
	}
	return sb.String()
}

// merge adds one case result to the run's summary.
func (d *diffRun) merge(r caseResult) {
	for _, m := range r.mismatches {
		key := fmt.Sprintf("%d|%s|%s", m.line, m.redis, m.ours)
		if old := d.mismatches[key]; old != nil {
			old.paths = append(old.paths, m.paths...)
			continue
		}
		d.mismatches[key] = m
	}
	for _, a := range r.accepted {
		switch n := len(d.accepted[a.id]); {
		case n < 3:
			d.accepted[a.id] = append(d.accepted[a.id], a.example)
		case n == 3:
			d.accepted[a.id] = append(d.accepted[a.id], "...")
		}
	}
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"\\") || strings.ContainsFunc(a, func(r rune) bool { return r < ' ' || r > '~' }) {
			a = fmt.Sprintf("%q", a)
		}
		out[i] = a
	}
	return out
}

// summary lists every distinct mismatch (with the paths it showed on) and
// every accepted difference.
func (d *diffRun) summary(t *testing.T) {
	if len(d.accepted) > 0 {
		var sb strings.Builder
		ids := make([]string, 0, len(d.accepted))
		for id := range d.accepted {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			fmt.Fprintf(&sb, "\n  %s: %s", id, allowanceWhy(id))
			for _, ex := range d.accepted[id] {
				fmt.Fprintf(&sb, "\n      %s", ex)
			}
		}
		t.Logf("accepted differences (allow-lists):%s", sb.String())
	}
	if len(d.mismatches) == 0 {
		return
	}
	ms := make([]*mismatch, 0, len(d.mismatches))
	for _, m := range d.mismatches {
		ms = append(ms, m)
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].line < ms[j].line })
	var sb strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&sb, "\n  %s:%d  %s\n      redis-server: %s\n      understudy:   %s\n      on: %s",
			m.file, m.line, m.cmd, m.redis, m.ours, strings.Join(m.paths, ", "))
	}
	t.Errorf("%d distinct mismatches:%s", len(ms), sb.String())
}
