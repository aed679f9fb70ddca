package compat

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/conftab"
	"github.com/understudy/understudy/fsm"
)

// configNodeOwn are the parameters whose value describes the node rather
// than a setting, and those CONFIG SET cannot change here; docs/compat.md
// lists them.
var configNodeOwn = map[string]string{
	"port": "the node's client port", "bind": "the node's listen address", "dir": "the process's directory",
	"save": "no RDB saves: the Raft log and snapshots keep the data", "appendonly": "every write is in the Raft log",
	"appendfsync": "every write is fsynced by a majority", "cluster-enabled": "CLUSTER and INFO describe the nodes",
	"requirepass": "users come from --requirepass and --aclfile", "logfile": "the scratch server's own",
	"activedefrag":    "Debian's redis-server cannot defragment (no jemalloc with defrag); accepted here, without effect",
	"loglevel":        "the scratch server runs with --loglevel warning",
	"tls-cluster":     "refused by a redis-server without certificates; TLS comes from the --tls-* flags here",
	"tls-replication": "refused by a redis-server without certificates; TLS comes from the --tls-* flags here",
	"tls-port":        "refused by a redis-server without certificates; TLS comes from the --tls-* flags here",
}

// relayReady waits until every node has the relay secret a follower's relay
// to the leader proves (fsm/relay.go): the leader sets it just after the
// cluster reaches level 2.
func relayReady(t *testing.T, cl *cluster) {
	t.Helper()
	waitFor(t, 10*time.Second, func() bool {
		for _, n := range cl.Nodes {
			if !n.Srv().Node.FSM().HasRelaySecret() {
				return false
			}
		}
		return true
	}, "no relay secret on every node")
}

// configOther is a valid value of p other than def (its default), or "".
func configOther(p *conftab.Param, def string) string {
	switch p.Kind {
	case conftab.KindBool:
		if def == "yes" {
			return "no"
		}
		return "yes"
	case conftab.KindEnum, conftab.KindFlags:
		for _, v := range p.Values {
			if v != def {
				return v
			}
		}
	case conftab.KindInt, conftab.KindMemory, conftab.KindPercent:
		d, err := strconv.ParseInt(strings.TrimSuffix(def, "%"), 10, 64)
		if err == nil && d+1 <= p.Max {
			return strconv.FormatInt(d+1, 10)
		}
		if err == nil && d-1 >= p.Min {
			return strconv.FormatInt(d-1, 10)
		}
	case conftab.KindString:
		return "understudy-probe"
	}
	return ""
}

// TestCompat_ConfigEveryParameter: for every parameter Redis 7.0.15 has,
// CONFIG GET answers with Redis's default, CONFIG SET of a bad value with
// Redis's error, and of a good one as Redis does, after which CONFIG GET
// agrees again, through the leader and through a follower (replicated
// parameters are seen on every node). The scratch redis-server is put back
// after each change.
func TestCompat_ConfigEveryParameter(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	relayReady(t, cl)
	l := cl.SettledLeader(t)
	f := cl.Followers(l)[0]
	ctl := mustDial(t, redisAddr, 2)
	conns := map[string]*rawConn{}
	for _, n := range cl.Nodes {
		c := mustDial(t, n.ClientAddr(), 2)
		conns[n.ID] = c
	}
	get := func(c *rawConn, name string) string {
		v, err := c.do("CONFIG", "GET", name)
		if err != nil || len(v.elems) != 2 {
			t.Fatalf("CONFIG GET %s: %v %v", name, v, err)
		}
		return v.elems[1].s
	}
	set := func(c *rawConn, name, value string) string {
		v, err := c.do("CONFIG", "SET", name, value)
		if err != nil {
			t.Fatalf("CONFIG SET %s %s: %v", name, value, err)
		}
		return v.String()
	}
	checked := 0
	for i, p := range conftab.All() {
		if _, own := configNodeOwn[p.Canonical]; own {
			continue
		}
		via := l
		if i%2 == 1 {
			via = f
		}
		ours := conns[via.ID]
		def := get(ctl, p.Name)
		if got := get(ours, p.Name); got != def {
			t.Errorf("CONFIG GET %s via %s = %q, redis-server %q", p.Name, via.ID, got, def)
			continue
		}
		if p.Access != conftab.Mutable || p.Kind == conftab.KindSpecial {
			if r, o := set(ctl, p.Name, def), set(ours, p.Name, def); r != o {
				t.Errorf("CONFIG SET %s %q via %s: %s, redis-server %s", p.Name, def, via.ID, o, r)
			}
			continue
		}
		if p.Kind != conftab.KindString {
			if r, o := set(ctl, p.Name, "xyzzy"), set(ours, p.Name, "xyzzy"); r != o {
				t.Errorf("CONFIG SET %s xyzzy via %s: %s, redis-server %s", p.Name, via.ID, o, r)
			}
		}
		other := configOther(p, def)
		if other == "" {
			continue
		}
		r, o := set(ctl, p.Name, other), set(ours, p.Name, other)
		if r != o {
			t.Errorf("CONFIG SET %s %s via %s: %s, redis-server %s", p.Name, other, via.ID, o, r)
		}
		want := get(ctl, p.Name)
		waitFor(t, 5*time.Second, func() bool {
			for id, c := range conns {
				if id != via.ID && !fsm.IsReplicatedConfig(p.Name) {
					continue
				}
				if get(c, p.Name) != want {
					return false
				}
			}
			return true
		}, "CONFIG GET %s after setting %s via %s: want %q on every node that has it", p.Name, other, via.ID, want)
		set(ctl, p.Name, def)
		set(ours, p.Name, def)
		if fsm.IsReplicatedConfig(p.Name) {
			waitFor(t, 5*time.Second, func() bool {
				for _, c := range conns {
					if get(c, p.Name) != def {
						return false
					}
				}
				return true
			}, "%s not back to %q on every node", p.Name, def)
		}
		checked++
	}
	t.Logf("%d parameters set and compared", checked)
}

// TestCompat_ConfigSetErrors: CONFIG SET's checks of names before values,
// all or nothing, and the subcommands, as redis-server 7.0.15 answers them.
func TestCompat_ConfigSetErrors(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	relayReady(t, cl)
	l := cl.SettledLeader(t)
	ctl := mustDial(t, redisAddr, 2)
	cases := [][]string{
		{"CONFIG", "SET", "hz", "5", "maxmemory"},
		{"CONFIG", "SET", "hz", "x", "foo", "1"},
		{"CONFIG", "SET", "HZ", "x"},
		{"CONFIG", "SET", "hz", "5", "Daemonize", "no", "foo", "1"},
		{"CONFIG", "SET", "foo", "1", "Daemonize", "no"},
		{"CONFIG", "SET", "HZ", "5", "hz", "6"},
		{"CONFIG", "SET", "dir", "/tmp"},
		{"CONFIG", "SET", "maxmemory-policy", "allkeys-lru", "maxmemory-samples", "0"},
		{"CONFIG", "GET", "maxmemory-policy"},
		{"CONFIG", "SET", "hash-max-ziplist-entries", "x"},
		{"CONFIG", "SET", "maxmemory-clients", "101%"},
		{"CONFIG", "SET", "maxmemory", "10K", "hash-max-ziplist-entries", "100", "hash-max-listpack-entries", "6"},
		{"CONFIG", "GET", "maxmemory"},
		{"CONFIG", "GET", "Hash-Max-Ziplist-Entries"},
		{"CONFIG", "SET", "maxmemory", "0", "hash-max-ziplist-entries", "512"},
		{"CONFIG", "SET", "client-output-buffer-limit", "normal 1 2"},
		{"CONFIG", "SET", "client-output-buffer-limit", "bogus 1 2 3"},
		{"CONFIG", "SET", "client-output-buffer-limit", "normal x 2 3"},
		{"CONFIG", "SET", "save", "100"},
		{"CONFIG", "SET", "latency-tracking-info-percentiles", "101"},
		{"CONFIG", "SET", "oom-score-adj-values", "1 2"},
		{"CONFIG", "SET", "notify-keyspace-events", "Kq"},
		{"CONFIG", "SET", "shutdown-on-sigint", "save nosave"},
		{"CONFIG", "RESETSTAT", "x"},
		{"CONFIG", "REWRITE"},
		{"CONFIG", "HELP"},
		{"CONFIG", "FOO"},
	}
	for _, n := range []*cnode{l, cl.Followers(l)[0]} {
		c, err := dialRaw(n.ClientAddr(), 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, args := range cases {
			r, err1 := ctl.do(args...)
			o, err2 := c.do(args...)
			if err1 != nil || err2 != nil || r.String() != o.String() {
				t.Errorf("%q via %s: %s %v, redis-server %s %v", args, n.ID, o, err2, r, err1)
			}
		}
		c.Close()
	}
}

// infoFields parses INFO's text into its sections' field names, in order.
func infoFields(text string) (sections []string, fields map[string][]string) {
	fields = map[string][]string{}
	cur := ""
	for _, line := range strings.Split(text, "\r\n") {
		if name, ok := strings.CutPrefix(line, "# "); ok {
			cur = name
			sections = append(sections, name)
			continue
		}
		if k, _, ok := strings.Cut(line, ":"); ok && cur != "" {
			fields[cur] = append(fields[cur], k)
		}
	}
	return sections, fields
}

// TestCompat_InfoSections: INFO answers with Redis 7.0.15's sections for
// no argument, default, all, everything and a list of names, and every
// field redis-server shows in a fixed section is there under the same name
// (Understudy adds some of its own: raft_*, forwarded_commands ...).
func TestCompat_InfoSections(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	l := cl.SettledLeader(t)
	ctl := mustDial(t, redisAddr, 2)
	for _, n := range []*cnode{l, cl.Followers(l)[0]} {
		c, err := dialRaw(n.ClientAddr(), 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"INFO"}, {"INFO", "default"}, {"INFO", "all"}, {"INFO", "everything"},
			{"INFO", "server", "CPU", "cluster"}, {"INFO", "nosuchsection"}, {"INFO", "Replication"}} {
			r, err1 := ctl.do(args...)
			o, err2 := c.do(args...)
			if err1 != nil || err2 != nil {
				t.Fatalf("%q: %v %v", args, err1, err2)
			}
			rs, rf := infoFields(r.s)
			os, of := infoFields(o.s)
			if strings.Join(rs, ",") != strings.Join(os, ",") {
				t.Errorf("%q via %s: sections %q, redis-server %q", args, n.ID, os, rs)
			}
			for _, sec := range rs {
				switch sec {
				case "Commandstats", "Errorstats", "Latencystats", "Keyspace":
					continue // what has happened, not names
				case "Replication":
					if n != l {
						continue // a replica's fields: compared below with the leader's
					}
				}
				have := map[string]bool{}
				for _, k := range of[sec] {
					have[k] = true
				}
				for _, k := range rf[sec] {
					if !have[k] {
						t.Errorf("%q via %s: section %s lacks %s", args, n.ID, sec, k)
					}
				}
			}
		}
		c.Close()
	}
}

// TestCompat_RedisPyCluster: redis-py's cluster client, pointed at a
// follower, finds the cluster (INFO's cluster_enabled:1, then CLUSTER
// SLOTS) and reads and writes through it.
func TestCompat_RedisPyCluster(t *testing.T) {
	py := needRedisPy(t, "from redis.cluster import RedisCluster")
	cl := shared(t)
	relayReady(t, cl)
	l := cl.SettledLeader(t)
	host, port := splitAddr(t, cl.Followers(l)[0].ClientAddr())
	ctx := ctxT(t, 30*time.Second)
	out, err := exec.CommandContext(ctx, py, "-c", redisPyCluster, host, strconv.Itoa(port)).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-py RedisCluster: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "v 1" {
		t.Fatalf("redis-py RedisCluster printed %q", got)
	}
}

const redisPyCluster = `
import sys
from redis.cluster import RedisCluster
rc = RedisCluster(host=sys.argv[1], port=int(sys.argv[2]), decode_responses=True)
rc.set('py:cluster', 'v')
print(rc.get('py:cluster'), rc.exists('py:cluster'))
`
