package compat

// The command table: what Understudy says it supports (COMMAND) against what
// Redis says about the same commands (COMMAND INFO), that the script
// exercises every supported command, and that docs/compat.md lists them.

import (
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// nodeCommands are the commands the RESP layer answers itself (node-local,
// transactions, pub/sub, blocking, WAIT): COMMAND does not list them.
var nodeCommands = []string{
	"blmove", "blpop", "brpop", "brpoplpush",
	"client", "cluster", "command", "config", "discard", "echo", "exec", "hello", "info",
	"multi", "ping", "psubscribe", "publish", "pubsub", "punsubscribe", "quit", "readonly",
	"readwrite", "role", "select", "sentinel", "slowlog", "subscribe", "time", "unsubscribe", "unwatch",
	"wait", "watch",
}

// notInScript are supported commands the differential script leaves to
// other tests, because their replies describe the node rather than the data.
var notInScript = map[string]string{
	"command":   "TestCompat_CommandTable",
	"info":      "TestCompat_SentinelCommands (INFO replication) and the server package",
	"role":      "TestCompat_SentinelCommands",
	"sentinel":  "TestCompat_SentinelCommands",
	"cluster":   "TestCompat_ClusterClient",
	"readonly":  "TestCompat_ClusterClient",
	"readwrite": "TestCompat_ClusterClient",
	"wait":      "TestCompat_WAIT",
	"config":    "differs by design (CONFIG GET answers Understudy's settings; SET is refused)",
	"quit":      "ends the connection",
	"slowlog":   "server.TestSlowlog_EntriesAsRedis (entries describe the node and the client)",
	"debug":     "server.TestDebugDigest_EqualOnConvergedNodes (the digest describes the node's state, not Redis's)",
}

// commandTable returns COMMAND's entries by name.
func commandTable(t *testing.T, addr string) map[string]val {
	t.Helper()
	c, err := dialRaw(addr, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v, err := c.do("COMMAND")
	if err != nil || v.k != kArr {
		t.Fatalf("COMMAND on %s: %v %v", addr, v, err)
	}
	out := map[string]val{}
	for _, e := range v.elems {
		if len(e.elems) < 6 {
			t.Fatalf("COMMAND entry %s has fewer than 6 fields", e)
		}
		out[strings.ToLower(e.elems[0].s)] = e
	}
	return out
}

// supportedCommands is every command Understudy accepts, sorted.
func supportedCommands(t *testing.T, addr string) []string {
	t.Helper()
	var names []string
	for name := range commandTable(t, addr) {
		names = append(names, name)
	}
	names = append(names, nodeCommands...)
	sort.Strings(names)
	return slices.Compact(names)
}

// arity72 are arities that changed in Redis 7.2 (ZRANK/ZREVRANK gained
// WITHSCORE), accepted from a 7.0 server.
var arity72 = map[string]int64{"zrank": -3, "zrevrank": -3}

// TestCompat_CommandTable compares every entry of Understudy's COMMAND with
// Redis's COMMAND INFO: arity, key positions and the read/write flag, which
// clients use to route commands (go-redis's cluster client sends read-only
// commands to replicas).
func TestCompat_CommandTable(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	ours := commandTable(t, cl.leader(t).addr())
	rc, err := dialRaw(redisAddr, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	c, err := dialRaw(cl.leader(t).addr(), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, err := c.do("COMMAND", "COUNT"); err != nil || n.i != int64(len(ours)) {
		t.Errorf("COMMAND COUNT is %v (%v) but COMMAND lists %d commands (Redis: the same number)", n, err, len(ours))
	}
	names := make([]string, 0, len(ours))
	for n := range ours {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		o := ours[name]
		rv, err := rc.do("COMMAND", "INFO", name)
		if err != nil || len(rv.elems) != 1 {
			t.Fatalf("redis COMMAND INFO %s: %v %v", name, rv, err)
		}
		r := rv.elems[0]
		if r.k == kNilArr || r.k == kNil {
			t.Errorf("%s: Understudy lists it, Redis %s does not know it", name, redisVersion)
			continue
		}
		if a, ok := arity72[name]; ok && redisOlderThan72() && o.elems[1].i == a {
			t.Logf("%s: arity %d as in Redis 7.2 (Redis %s: %d)", name, a, redisVersion, r.elems[1].i)
		} else if o.elems[1].i != r.elems[1].i {
			t.Errorf("%s: arity %d, Redis %d", name, o.elems[1].i, r.elems[1].i)
		}
		container := len(r.elems) > 9 && len(r.elems[9].elems) > 0
		if !container {
			for i, field := range []string{"first key", "last key", "step"} {
				if o.elems[3+i].i != r.elems[3+i].i {
					t.Errorf("%s: %s %d, Redis %d", name, field, o.elems[3+i].i, r.elems[3+i].i)
				}
			}
		}
		flags := func(v val) (w, ro bool) {
			for _, f := range v.elems {
				w = w || f.s == "write"
				ro = ro || f.s == "readonly"
			}
			return
		}
		ow, oro := flags(o.elems[2])
		rw, rro := flags(r.elems[2])
		if container {
			// OBJECT: the flags are on the subcommands (OBJECT ENCODING is readonly).
			rw, rro = false, true
		}
		if ow != rw || oro != rro {
			t.Errorf("%s: flags write=%v readonly=%v, Redis write=%v readonly=%v (%s)", name, ow, oro, rw, rro, r.elems[2])
		}
	}
	// Redis also describes the commands Understudy answers itself (all but
	// SENTINEL, which a Redis server does not list either).
	var missing []string
	for _, name := range nodeCommands {
		if name == "sentinel" {
			continue
		}
		v, err := c.do("COMMAND", "INFO", name)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.elems) != 1 || v.elems[0].k == kNilArr {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("COMMAND INFO knows nothing of these supported commands (Redis describes them all): %s", strings.Join(missing, " "))
	}
}

// TestCompat_ScriptCoversEveryCommand checks that testdata/script.txt sends
// every command Understudy supports (or names the test that covers it), so a
// new command cannot be added without its differential cases.
func TestCompat_ScriptCoversEveryCommand(t *testing.T) {
	cases, err := loadScript("testdata/script.txt")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, c := range cases {
		for _, st := range c.steps {
			if len(st.args) > 0 {
				used[strings.ToLower(st.args[0])] = true
			}
		}
	}
	cl := shared(t)
	for _, name := range supportedCommands(t, cl.leader(t).addr()) {
		if !used[name] && notInScript[name] == "" {
			t.Errorf("testdata/script.txt never sends %s: add cases for it (or name the test that covers it in notInScript)", strings.ToUpper(name))
		}
	}
}

// TestCompat_DocsListEveryCommand checks that docs/compat.md names every
// supported command in its supported list, and that every command it lists
// as unsupported is refused as unknown.
func TestCompat_DocsListEveryCommand(t *testing.T) {
	doc, err := os.ReadFile("../docs/compat.md")
	if err != nil {
		t.Fatal(err)
	}
	supported, unsupported, ok := strings.Cut(string(doc), "## Not supported")
	if !ok {
		t.Fatal(`docs/compat.md has no "## Not supported" section`)
	}
	unsupported, _, _ = strings.Cut(unsupported, "\n## ")
	word := regexp.MustCompile("`([A-Z][A-Z0-9._-]*)`")
	listed := func(text string) map[string]bool {
		out := map[string]bool{}
		for _, m := range word.FindAllStringSubmatch(text, -1) {
			out[strings.ToLower(m[1])] = true
		}
		return out
	}
	sup, unsup := listed(supported), listed(unsupported)
	cl := shared(t)
	addr := cl.leader(t).addr()
	for _, name := range supportedCommands(t, addr) {
		if !sup[name] {
			t.Errorf("docs/compat.md does not list supported command %s before \"## Not supported\"", strings.ToUpper(name))
		}
		if unsup[name] {
			t.Errorf("docs/compat.md lists %s as not supported, but it is", strings.ToUpper(name))
		}
	}
	c, err := dialRaw(addr, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Each is sent inside MULTI and discarded: if one were implemented
	// (SHUTDOWN, FAILOVER...), it is queued, not run.
	for name := range unsup {
		if v, err := c.do("MULTI"); err != nil || v.String() != "+OK" {
			t.Fatalf("MULTI: %v %v", v, err)
		}
		v, err := c.do(strings.ToUpper(name))
		if err != nil {
			t.Fatal(err)
		}
		if v.k != kErr || !strings.HasPrefix(v.s, "ERR unknown command") {
			t.Errorf("docs/compat.md lists %s as not supported, but Understudy answers %s", strings.ToUpper(name), v)
		}
		if v, err := c.do("DISCARD"); err != nil || v.String() != "+OK" {
			t.Fatalf("DISCARD: %v %v", v, err)
		}
	}
}
