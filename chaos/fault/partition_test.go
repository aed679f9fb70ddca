package fault

import (
	"context"
	"errors"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseKinds(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  bool
	}{
		{"", nil, false}, // every kind
		{"kill-leader,pause-leader", []string{KillLeader, PauseLeader}, false},
		{" bridge , bridge,isolate-all", []string{Bridge, IsolateAll}, false},
		{"kill-everyone", nil, true},
		{"isolate-majority", nil, true}, // renamed isolate-all
	}
	for _, c := range cases {
		got, err := ParseKinds(c.in)
		if (err != nil) != c.err {
			t.Errorf("%q: err %v", c.in, err)
			continue
		}
		if c.in == "" {
			if len(got) != len(AllKinds) {
				t.Errorf("\"\": %v", got)
			}
			continue
		}
		if !c.err && !slices.Equal(got, c.want) {
			t.Errorf("%q: got %v, want %v", c.in, got, c.want)
		}
	}
}

// fakeCluster is a Cluster that only answers PartitionSupport.
type fakeCluster struct {
	Cluster
	perr error
}

func (f fakeCluster) PartitionSupport() error { return f.perr }

func TestSupported(t *testing.T) {
	all := []string{KillLeader, IsolateLeader, PauseLeader, Bridge, IsolateFollower, IsolateAll}
	use, skipped, why := Supported(fakeCluster{perr: errors.New("not root")}, all)
	if !slices.Equal(use, []string{KillLeader, PauseLeader}) || len(skipped) != 4 || why == nil || !strings.Contains(why.Error(), "not root") {
		t.Fatalf("without partitions: use %v skipped %v why %v", use, skipped, why)
	}
	use, skipped, why = Supported(fakeCluster{}, all)
	if len(use) != len(all) || skipped != nil || why != nil {
		t.Fatalf("with partitions: use %v skipped %v why %v", use, skipped, why)
	}
}

func TestInjectorPartition(t *testing.T) {
	in := &Injector{Rng: rand.New(rand.NewSource(1))}
	followers := []string{"n2", "n3"}
	norm := func(pairs [][2]string) []string {
		var out []string
		for _, p := range pairs {
			k := pairKey(p[0], p[1])
			out = append(out, k[0]+"-"+k[1])
		}
		sort.Strings(out)
		return out
	}
	cases := []struct {
		kind, follower string
		want           []string
		target         string
	}{
		{IsolateLeader, "n2", []string{"n1-n2", "n1-n3"}, "n1"},
		{IsolateFollower, "n3", []string{"n1-n3", "n2-n3"}, "n3"},
		{IsolateAll, "n2", []string{"n1-n2", "n1-n3", "n2-n3"}, "all"},
	}
	for _, c := range cases {
		pairs, target := in.partition(c.kind, "n1", c.follower, followers)
		if got := norm(pairs); !slices.Equal(got, c.want) || target != c.target {
			t.Errorf("%s: pairs %v target %s, want %v %s", c.kind, got, target, c.want, c.target)
		}
	}
	// A bridge cuts exactly one pair; the third node reaches both ends.
	for range 20 {
		pairs, target := in.partition(Bridge, "n1", "n2", followers)
		if len(pairs) != 1 || pairs[0][0] == pairs[0][1] || !strings.Contains(target, " bridges") {
			t.Fatalf("bridge: %v %s", pairs, target)
		}
		mid := strings.Fields(target)[2]
		if mid == pairs[0][0] || mid == pairs[0][1] || !strings.HasPrefix(target, pairs[0][0]+"-"+pairs[0][1]+" cut") {
			t.Fatalf("bridge %v: %s", pairs, target)
		}
	}
}

func TestParseBlackholes(t *testing.T) {
	out := "blackhole 10.214.3.2 \nblackhole 172.18.0.4 proto static\n10.0.0.0/8 dev eth0\n"
	if got := parseBlackholes(out); !slices.Equal(got, []string{"10.214.3.2", "172.18.0.4"}) {
		t.Fatalf("got %v", got)
	}
}

// fakeIP is an `ip` that keeps each namespace's blackhole routes in a file.
const fakeIP = `#!/bin/bash
state=$1; shift
case "$*" in
"route replace blackhole "*) d=${4%/32}; grep -qx "blackhole $d" "$state" 2>/dev/null || echo "blackhole $d" >>"$state" ;;
"route del blackhole "*) grep -vx "blackhole $4" "$state" >"$state.tmp"; mv "$state.tmp" "$state" ;;
"-o -4 route show type blackhole") cat "$state" 2>/dev/null ;;
*) echo "unexpected: $*" >&2; exit 1 ;;
esac
`

func TestCutter_CutsBothWaysAndHealsEverything(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	ip := filepath.Join(dir, "ip")
	if err := os.WriteFile(ip, []byte(fakeIP), 0o755); err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{"n1": "10.0.0.1", "n2": "10.0.0.2", "n3": "10.0.0.3"}
	stopped := map[string]bool{}
	c := &cutter{
		ip: func(_ context.Context, id string) ([]string, bool, error) {
			return []string{ip, filepath.Join(dir, id+".routes")}, stopped[id], nil
		},
		addr: func(_ context.Context, id string) (string, error) { return addrs[id], nil },
	}
	routes := func(id string) []string {
		b, _ := os.ReadFile(filepath.Join(dir, id+".routes"))
		return parseBlackholes(string(b))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.cut(ctx, [][2]string{{"n1", "n2"}, {"n1", "n3"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.cut(ctx, [][2]string{{"n2", "n1"}}); err != nil { // again: idempotent
		t.Fatal(err)
	}
	if got := routes("n1"); !slices.Equal(got, []string{"10.0.0.2", "10.0.0.3"}) {
		t.Fatalf("n1 blackholes %v", got)
	}
	if got := routes("n2"); !slices.Equal(got, []string{"10.0.0.1"}) {
		t.Fatalf("n2 blackholes %v", got)
	}
	if got := c.active(); !slices.Equal(got, []string{"n1-n2", "n1-n3"}) {
		t.Fatalf("active %v", got)
	}
	if err := c.cut(ctx, [][2]string{{"n2", "n2"}}); err == nil {
		t.Fatal("cutting a node from itself must fail")
	}
	// A route nobody recorded (a cut interrupted half way) goes too.
	if err := os.WriteFile(filepath.Join(dir, "n3.routes"), []byte("blackhole 10.0.0.1\nblackhole 10.0.0.9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stopped["n2"] = true // a stopped container has no namespace: nothing to heal there
	if err := c.heal(ctx, []string{"n1", "n2", "n3"}); err != nil {
		t.Fatal(err)
	}
	if len(routes("n1"))+len(routes("n3")) != 0 || len(c.active()) != 0 {
		t.Fatalf("left after heal: n1 %v n3 %v active %v", routes("n1"), routes("n3"), c.active())
	}
	stopped["n2"] = false
	if err := c.cut(ctx, [][2]string{{"n2", "n3"}}); err != nil {
		t.Fatal(err)
	}
	stopped["n3"] = true
	if err := c.cut(ctx, [][2]string{{"n2", "n3"}}); err == nil {
		t.Fatal("cutting a stopped node must fail")
	}
}

func TestFreePrefixes_SkipsTakenPorts(t *testing.T) {
	resp, admin, err := freePrefixes(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Take one port of the pair it chose: it must choose another pair.
	ln, err := net.Listen("tcp", "127.0.0.1:"+resp+"2")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	resp2, admin2, err := freePrefixes(nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp2 == resp {
		t.Fatalf("chose %s again although %s2 is taken", resp2, resp)
	}
	for _, p := range []string{resp2, admin2} {
		n, _ := strconv.Atoi(p)
		if !portsFree(n) {
			t.Fatalf("prefix %s is not free", p)
		}
	}
	// A prefix skipped after a failed `up` is not chosen again.
	n, _ := strconv.Atoi(resp2)
	if resp3, _, err := freePrefixes([]int{n}); err != nil || resp3 == resp2 {
		t.Fatalf("skip ignored: %s, %v", resp3, err)
	}
	if admin == resp || admin2 == resp2 {
		t.Fatalf("RESP and admin prefixes overlap: %s/%s, %s/%s", resp, admin, resp2, admin2)
	}
}
