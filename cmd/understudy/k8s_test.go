package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/server"
)

// podCluster starts three nodes in this process named as a StatefulSet's
// pods (us-0, us-1, us-2) and returns them by id with their admin addresses.
func podCluster(t *testing.T) (map[string]*server.Server, string) {
	t.Helper()
	os.Unsetenv("UNDERSTUDY_ADMIN")
	os.Unsetenv("UNDERSTUDY_ADMIN_TOKEN")
	var cfgs []server.Config
	var peers []string
	for i := range 3 {
		cfg := server.Defaults()
		cfg.ID = fmt.Sprintf("us-%d", i)
		cfg.DataDir = t.TempDir()
		cfg.RaftAddr = freeAddr(t)
		cfg.ClientAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0"
		cfg.HeartbeatTimeout, cfg.ElectionTimeout = 300*time.Millisecond, 300*time.Millisecond
		cfg.LeaderLeaseTimeout, cfg.CommitTimeout = 200*time.Millisecond, 5*time.Millisecond
		cfg.Logger = slog.New(slog.DiscardHandler)
		cfgs = append(cfgs, cfg)
		peers = append(peers, cfg.ID+"="+cfg.RaftAddr)
	}
	byID := map[string]*server.Server{}
	var nodes []*server.Server
	t.Cleanup(func() {
		for _, s := range nodes {
			s.Close()
		}
	})
	var addrs []string
	for _, cfg := range cfgs {
		cfg.Peers = strings.Join(peers, ",")
		s, err := server.Start(cfg)
		if err != nil {
			t.Fatalf("start %s: %v", cfg.ID, err)
		}
		nodes = append(nodes, s)
		byID[cfg.ID] = s
		addrs = append(addrs, s.AdminAddr())
	}
	waitFor(t, 10*time.Second, func() bool { return adminCLIClusterReady(nodes) }, "no leader with every admin address recorded")
	return byID, strings.Join(addrs, ",")
}

// leaderOf waits for one of the nodes to lead and be ready, and names it.
func leaderOf(t *testing.T, byID map[string]*server.Server) string {
	t.Helper()
	var id string
	waitFor(t, 10*time.Second, func() bool {
		id = ""
		for k, s := range byID {
			if s.Node.ReadReady() {
				id = k
			}
		}
		return id != ""
	}, "no leader")
	return id
}

func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runAdminCLI(t, args...)
	if err != nil {
		t.Fatalf("understudy %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// handoff, a pod's preStop: a follower does nothing; a leader hands over to
// the pod with the highest ordinal above its own (updated first by a
// rolling update).
func TestCLI_HandoffPrefersHigherOrdinal(t *testing.T) {
	byID, all := podCluster(t)
	if leaderOf(t, byID) != "us-0" {
		mustCLI(t, "transfer-leadership", "--to", "us-0", "--admin", all)
	}
	if l := leaderOf(t, byID); l != "us-0" {
		t.Fatalf("leader %s after transfer to us-0", l)
	}
	out := mustCLI(t, "handoff", "--statefulset", "us", "--admin", byID["us-1"].AdminAddr())
	if !strings.Contains(out, "nothing to hand over") || leaderOf(t, byID) != "us-0" {
		t.Fatalf("handoff on a follower: %q, leader %s; want nothing done", out, leaderOf(t, byID))
	}
	out = mustCLI(t, "handoff", "--statefulset", "us", "--admin", byID["us-0"].AdminAddr())
	if l := leaderOf(t, byID); l != "us-2" || !strings.Contains(out, "us-2") {
		t.Fatalf("handoff from us-0: %q, leader %s; want us-2 (highest ordinal)", out, l)
	}
	// From the highest ordinal there is none above: any voter.
	mustCLI(t, "handoff", "--statefulset", "us", "--admin", byID["us-2"].AdminAddr())
	if l := leaderOf(t, byID); l == "us-2" {
		t.Fatal("handoff from us-2 left it leading")
	}
}

// prune, the scale-down hook: members at or above --keep go, highest
// first, and a leader among them hands over to a kept pod first.
func TestCLI_PruneRemovesScaledDownOrdinals(t *testing.T) {
	byID, all := podCluster(t)
	if leaderOf(t, byID) != "us-2" {
		mustCLI(t, "transfer-leadership", "--to", "us-2", "--admin", all)
	}
	if l := leaderOf(t, byID); l != "us-2" {
		t.Fatalf("leader %s after transfer to us-2", l)
	}
	out := mustCLI(t, "prune", "--statefulset", "us", "--keep", "1", "--admin", byID["us-0"].AdminAddr())
	for _, want := range []string{"leadership handed from us-2 to us-0", "removed us-2", "removed us-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("prune output lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "removed us-2") > strings.Index(out, "removed us-1") {
		t.Errorf("prune removed us-1 before us-2:\n%s", out)
	}
	ms, err := byID["us-0"].Node.Members()
	if err != nil || len(ms) != 1 || ms[0].ID != "us-0" {
		t.Fatalf("members after prune: %+v %v, want us-0 alone", ms, err)
	}
	if !byID["us-0"].Node.IsLeader() {
		t.Fatal("us-0 does not lead after the prune")
	}
	out = mustCLI(t, "prune", "--statefulset", "us", "--keep", "1", "--admin", byID["us-0"].AdminAddr())
	if !strings.Contains(out, "nothing to prune") {
		t.Fatalf("second prune: %q, want nothing to prune", out)
	}
	if _, err := runAdminCLI(t, "prune", "--statefulset", "us", "--keep", "0", "--admin", all); err == nil {
		t.Fatal("prune --keep 0 accepted")
	}
}

func TestOrdinal(t *testing.T) {
	for id, want := range map[string]int{"us-0": 0, "us-12": 12, "us-01": -1, "us-": -1, "us-x": -1, "usx-1": -1, "other-1": -1, "us-0-1": -1, "us--1": -1} {
		n, ok := ordinal("us", id)
		if (want < 0) == ok || (ok && n != want) {
			t.Errorf("ordinal(us, %q) = %d, %v; want %d", id, n, ok, want)
		}
	}
}
