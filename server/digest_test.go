package server_test

import (
	"testing"
	"time"
)

// DEBUG DIGEST is answered by each node from its own state: equal on every
// node at the same applied index, different once the state differs.
func TestDebugDigest_EqualOnConvergedNodes(t *testing.T) {
	nodes := startCluster(t, 3)
	l := leader(t, nodes)
	lc := mustClient(t, l.ClientAddr())
	lc.MustReply(t, okReply(), "SET", "a", "1")
	lc.MustReply(t, reply{Kind: ':', Int: 3}, "RPUSH", "l", "x", "y", "z")
	digests := func() (map[string]string, bool) {
		out := map[string]string{}
		var applied int64 = -1
		same := true
		for _, n := range nodes {
			r := mustClient(t, n.ClientAddr()).MustDo(t, "DEBUG", "DIGEST", "APPLIED")
			if r.Kind != '*' || len(r.Arr) != 2 || len(r.Arr[0].Str) != 40 {
				t.Fatalf("DEBUG DIGEST APPLIED on %s: %s", n.ID, r)
			}
			out[n.ID] = r.Arr[0].Str
			if applied >= 0 && r.Arr[1].Int != applied {
				same = false
			}
			applied = r.Arr[1].Int
		}
		return out, same
	}
	var before map[string]string
	waitFor(t, 10*time.Second, func() bool {
		var same bool
		before, same = digests()
		return same && before["n1"] == before["n2"] && before["n2"] == before["n3"]
	}, "nodes never agreed on a digest at one applied index: %v", &before)

	lc.MustReply(t, okReply(), "SET", "a", "2")
	var after map[string]string
	waitFor(t, 10*time.Second, func() bool {
		var same bool
		after, same = digests()
		return same && after["n1"] == after["n2"] && after["n2"] == after["n3"]
	}, "nodes never agreed on a digest after a write: %v", &after)
	if after[l.ID] == before[l.ID] {
		t.Fatalf("the digest did not change after SET a 2: %s", after[l.ID])
	}
	// Plain DEBUG DIGEST is the APPLIED one without the index. The leader may
	// apply an entry of its own at any time (the cluster level, the relay
	// secret), so compare the two only when no entry was applied around it.
	var plain, want string
	waitFor(t, 10*time.Second, func() bool {
		a := lc.MustDo(t, "DEBUG", "DIGEST", "APPLIED")
		d := lc.MustDo(t, "DEBUG", "DIGEST")
		b := lc.MustDo(t, "DEBUG", "DIGEST", "APPLIED")
		if d.Kind != '$' || len(a.Arr) != 2 || len(b.Arr) != 2 {
			t.Fatalf("DEBUG DIGEST: %s; APPLIED: %s, %s", d, a, b)
		}
		plain, want = d.Str, a.Arr[0].Str
		return a.Arr[1].Int == b.Arr[1].Int
	}, "the leader never held still for one DEBUG DIGEST")
	if plain != want {
		t.Fatalf("DEBUG DIGEST: %s, want %s (DEBUG DIGEST APPLIED at the same index)", plain, want)
	}
	lc.MustReply(t, errReply("ERR unknown subcommand 'SLEEP'. Only DEBUG DIGEST is supported here."), "DEBUG", "SLEEP", "0")
}
