package compat

// The command table: what Understudy says it supports (COMMAND) against what
// Redis says about the same commands (COMMAND INFO), that the script
// exercises every supported command, and that docs/compat.md lists them.

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

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
	"shutdown":  "cmd/understudy TestProcess_ShutdownCommandStopsTheNode (it stops the node)",
	"monitor":   "TestCompat_Monitor (the stream holds times and client addresses)",
	// Scripting: fsm/script's differential tests (every conversion and
	// error against redis-server), fsm TestScripting_* and server
	// TestScripting_* (replication, failover, snapshots, BUSY, KILL).
	"eval":       "fsm/script TestDiff*, fsm and server TestScripting_*",
	"evalsha":    "fsm and server TestScripting_*",
	"eval_ro":    "fsm and server TestScripting_*",
	"evalsha_ro": "server TestScripting_ReadOnlyOnFollower",
	"fcall":      "fsm/script function_diff_test.go, fsm and server TestScripting_*",
	"fcall_ro":   "fsm and server TestScripting_*",
	"function":   "fsm/script function_diff_test.go, fsm TestScripting_FunctionDumpRestore",
	"script":     "fsm TestScripting_EvalAndCache, server TestScripting_BusyAndScriptKill",
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
	sort.Strings(names)
	return names
}

// TestCompat_CommandTable compares, for every command Understudy's COMMAND
// lists, the whole COMMAND INFO entry (arity, flags, key positions, ACL
// categories, tips, key specifications, subcommands) and COMMAND DOCS entry
// with Redis's, in RESP2 and RESP3, through the leader and a follower.
// Clients route by them (go-redis's cluster client sends read-only commands
// to replicas) and redis-cli shows the docs.
func TestCompat_CommandTable(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	for _, proto := range []int{2, 3} {
		rc := mustDial(t, redisAddr, proto)
		l := cl.SettledLeader(t)
		for _, n := range []*cnode{l, cl.Followers(l)[0]} {
			ours := commandTable(t, n.ClientAddr())
			c := mustDial(t, n.ClientAddr(), proto)
			if v, err := c.do("COMMAND", "COUNT"); err != nil || v.i != int64(len(ours)) {
				t.Errorf("COMMAND COUNT is %v (%v) but COMMAND lists %d commands", v, err, len(ours))
			}
			for _, name := range supportedCommands(t, n.ClientAddr()) {
				for _, sub := range []string{"INFO", "DOCS"} {
					r, err := rc.do("COMMAND", sub, name)
					if err != nil {
						t.Fatal(err)
					}
					o, err := c.do("COMMAND", sub, name)
					if err != nil {
						t.Fatal(err)
					}
					if sortSubcommands(r).String() != sortSubcommands(o).String() {
						t.Errorf("RESP%d COMMAND %s %s:\n redis-server: %s\n understudy:   %s", proto, sub, name, r, o)
					}
				}
			}
		}
	}
}

// TestCompat_CommandGetKeys compares COMMAND GETKEYS and GETKEYSANDFLAGS
// with Redis's, for key positions found by every kind of key specification
// and by the command-specific finders, and their errors.
func TestCompat_CommandGetKeys(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	rc := mustDial(t, redisAddr, 3)
	c := mustDial(t, cl.SettledLeader(t).ClientAddr(), 3)
	for _, line := range []string{
		"get k", "set k v", "mset a 1 b 2", "del a b c", "rename a b", "lmove a b LEFT RIGHT",
		"zunionstore d 2 a b", "zunionstore d x a", "zinterstore d 3 a b", "sintercard 2 a b",
		"object encoding k", "ping", "nosuch x", "get", "get a b", "sort k", "sort k store d by w",
		"smove a b m", "hset h f v", "blpop a b 0", "brpoplpush a b 0", "publish ch m",
		"exists a b", "expire k 10", "zrangestore d s 0 -1",
	} {
		for _, sub := range []string{"GETKEYS", "GETKEYSANDFLAGS"} {
			args := append([]string{"COMMAND", sub}, strings.Fields(line)...)
			r, err := rc.do(args...)
			if err != nil {
				t.Fatal(err)
			}
			o, err := c.do(args...)
			if err != nil {
				t.Fatal(err)
			}
			if r.String() != o.String() && lookupSupported(t, cl, strings.Fields(line)[0]) {
				t.Errorf("COMMAND %s %s:\n redis-server: %s\n understudy:   %s", sub, line, r, o)
			}
		}
	}
}

// lookupSupported reports whether Understudy lists name in COMMAND (a
// command it does not implement yet answers "Invalid command specified").
func lookupSupported(t *testing.T, cl *cluster, name string) bool {
	t.Helper()
	if name == "nosuch" {
		return true
	}
	_, ok := commandTable(t, cl.SettledLeader(t).ClientAddr())[name]
	return ok
}

// TestCompat_ScriptCoversEveryCommand checks that the differential scripts
// (testdata/script.txt and the scripting section, testdata/lua.txt) send
// every command Understudy supports (or name the test that covers it), so a
// new command cannot be added without its differential cases.
func TestCompat_ScriptCoversEveryCommand(t *testing.T) {
	used := map[string]bool{}
	for _, path := range []string{"testdata/script.txt", "testdata/lua.txt"} {
		cases, err := loadScript(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			for _, st := range c.steps {
				if len(st.args) > 0 {
					used[strings.ToLower(st.args[0])] = true
				}
			}
		}
	}
	cl := shared(t)
	for _, name := range supportedCommands(t, cl.SettledLeader(t).ClientAddr()) {
		if !used[name] && notInScript[name] == "" {
			t.Errorf("testdata/script.txt and lua.txt never send %s: add cases for it (or name the test that covers it in notInScript)", strings.ToUpper(name))
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
	addr := cl.SettledLeader(t).ClientAddr()
	for _, name := range supportedCommands(t, addr) {
		if !sup[name] {
			t.Errorf("docs/compat.md does not list supported command %s before \"## Not supported\"", strings.ToUpper(name))
		}
		if unsup[name] {
			t.Errorf("docs/compat.md lists %s as not supported, but it is", strings.ToUpper(name))
		}
	}
	c := mustDial(t, addr, 2)
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

// sortSubcommands orders the subcommands in a COMMAND INFO or DOCS reply by
// name: Redis lists them in its hash table's order.
func sortSubcommands(v val) val {
	out := v
	out.elems = append([]val(nil), v.elems...)
	for i := range out.elems {
		out.elems[i] = sortSubcommands(out.elems[i])
	}
	// An INFO entry: its tenth field is the subcommands array.
	if v.k == kArr && len(out.elems) == 10 && out.elems[0].k == kStr && out.elems[1].k == kInt && out.elems[9].k == kArr {
		subs := out.elems[9].elems
		sort.Slice(subs, func(i, j int) bool { return subs[i].elems[0].s < subs[j].elems[0].s })
	}
	// A DOCS map (or its RESP2 array): "subcommands" then name, doc pairs.
	for i := 0; i+1 < len(out.elems); i += 2 {
		if out.elems[i].s != "subcommands" {
			continue
		}
		pairs := out.elems[i+1].elems
		type kv struct{ k, v val }
		var kvs []kv
		for j := 0; j+1 < len(pairs); j += 2 {
			kvs = append(kvs, kv{pairs[j], pairs[j+1]})
		}
		sort.Slice(kvs, func(a, b int) bool { return kvs[a].k.s < kvs[b].k.s })
		for j, p := range kvs {
			pairs[2*j], pairs[2*j+1] = p.k, p.v
		}
	}
	return out
}
