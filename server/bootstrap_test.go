package server_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/internal/testcluster"
)

// startAskFirst starts n nodes over TCP with real stores the way the Helm
// chart starts a StatefulSet's pods: the same --peers and the same --join
// (every pod's admin address) on each.
func startAskFirst(t *testing.T, n int) []*testNode {
	t.Helper()
	c := testcluster.Plan(t, n, testcluster.RealStores(), testcluster.StableTiming())
	var admins []string
	for _, tn := range c.Nodes {
		admins = append(admins, tn.Cfg.AdminAddr)
	}
	for _, tn := range c.Nodes {
		tn.Cfg.Join = strings.Join(admins, ",")
	}
	c.StartAll(t)
	return c.Nodes
}

// wipe stops the node and gives it a new, empty data directory: a lost
// volume, or a claim deleted on scale-down before the pod comes back.
func wipe(t *testing.T, n *testNode) {
	t.Helper()
	if n.Alive() {
		closeWithin(t, n, 5*time.Second)
	}
	if err := os.RemoveAll(n.Cfg.DataDir); err != nil {
		t.Fatal(err)
	}
	n.Cfg.DataDir = t.TempDir()
}

// A StatefulSet's pods bootstrap one cluster when all of them are new; a
// pod whose volume is new while the cluster lives on (a lost claim; a
// scale-down that removed members and deleted their claims, then a
// scale-up) joins it instead of bootstrapping, even when two such pods
// would be a majority of the peer list and could have elected each other.
func TestAskFirst_NewVolumesJoinTheLivingCluster(t *testing.T) {
	nodes := startAskFirst(t, 3)
	l := leader(t, nodes)
	c := mustClient(t, l.ClientAddr())
	c.MustReply(t, okReply(), "SET", "k", "v1")

	// One lost volume.
	lost := followers(nodes, l)[0]
	wipe(t, lost)
	lost.Start(t)
	leader(t, nodes)
	checkConvergence(t, nodes)
	mustClient(t, lost.ClientAddr()).MustReply(t, bulkReply("v1"), "GET", "k")

	// Scale down to one (remove both others, their claims deleted), then up again.
	l = leader(t, nodes)
	c = mustClient(t, l.ClientAddr())
	c.MustReply(t, okReply(), "SET", "k", "v2")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	gone := followers(nodes, l)
	for _, f := range gone {
		if _, err := l.S.Node.Remove(ctx, f.ID); err != nil {
			t.Fatalf("remove %s: %v", f.ID, err)
		}
		wipe(t, f)
	}
	for _, f := range gone {
		f.Start(t)
	}
	nl := leader(t, nodes)
	if nl != l {
		t.Fatalf("after the scale-up %s leads, want %s still: the new pods formed a cluster of their own? %s", nl.ID, l.ID, stateOf(nodes))
	}
	waitFor(t, 15*time.Second, func() bool {
		ms, err := l.S.Node.Members()
		return err == nil && len(ms) == 3
	}, "the scaled-up pods did not join: %s", stateOf(nodes))
	checkConvergence(t, nodes)
	for _, n := range nodes {
		mustClient(t, n.ClientAddr()).MustReply(t, bulkReply("v2"), "GET", "k")
	}

	// A full restart with the volumes kept: the stored configuration wins.
	for _, n := range nodes {
		closeWithin(t, n, 5*time.Second)
	}
	for _, n := range nodes {
		n.Start(t)
	}
	leader(t, nodes)
	checkConvergence(t, nodes)
	mustClient(t, nodes[0].ClientAddr()).MustReply(t, bulkReply("v2"), "GET", "k")
}

// A new pod waits for every peer to answer before it bootstraps: with one
// peer not yet started there is no cluster, and then there is one.
func TestAskFirst_WaitsForEveryPeer(t *testing.T) {
	nodes := startAskFirst(t, 3)
	closeWithin(t, nodes[2], 5*time.Second)
	wipe(t, nodes[0])
	wipe(t, nodes[1])
	nodes[0].Start(t)
	nodes[1].Start(t)
	// Two of three could elect a leader; they must not have bootstrapped.
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		for _, n := range nodes[:2] {
			if idx := n.S.Node.Raft().LastIndex(); idx != 0 {
				t.Fatalf("%s bootstrapped (last index %d) while a peer had not answered", n.ID, idx)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	wipe(t, nodes[2])
	nodes[2].Start(t)
	leader(t, nodes)
	checkConvergence(t, nodes)
}
