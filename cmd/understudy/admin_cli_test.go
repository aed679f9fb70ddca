package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/understudy/understudy/server"
)

// update rewrites the golden files: go test ./cmd/understudy -run Golden -update
var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// checkGolden compares got with testdata/golden/name.golden (or writes it
// with -update).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run with -update if the change is intended)\n--- got:\n%s\n--- want:\n%s", name, path, got, want)
	}
}

// Fixed inputs: a leader, a follower and a member that did not answer.
var (
	goldenStatus = []statusView{
		{ID: "n1", Role: "leader", Term: 7, LeaderID: "n1", LeaderClientAddr: "10.0.0.1:6381", LeaderAdminAddr: "10.0.0.1:9181",
			CommitIndex: 104213, AppliedIndex: 104213, LastLogIndex: 104214, LastContactMs: 0, LastSnapshotIndex: 98304,
			LogSizeBytes: 3<<20 + 1<<19, Keys: 50211, UptimeSeconds: 3723, Version: "v0.2.0", FormatLevel: 2,
			RaftAddr: "10.0.0.1:7381", ClientAddr: "10.0.0.1:6381", AdminAddr: "10.0.0.1:9181"},
		{ID: "n2", Role: "follower", Term: 7, LeaderID: "n1", LeaderClientAddr: "10.0.0.1:6381", LeaderAdminAddr: "10.0.0.1:9181",
			CommitIndex: 104213, AppliedIndex: 104210, LastLogIndex: 104213, LastContactMs: 12, LastSnapshotIndex: 98304,
			LogSizeBytes: 900 << 10, Keys: 50209, UptimeSeconds: 59, Version: "0.1.0",
			RaftAddr: "10.0.0.2:7381", ClientAddr: "10.0.0.2:6381", AdminAddr: "10.0.0.2:9181"},
		{ID: "n3", Role: "unreachable", AdminAddr: "10.0.0.3:9181",
			Error: "10.0.0.3:9181: node unreachable: connection refused"},
	}
	goldenMembers = []memberView{
		{ID: "n1", RaftAddr: "10.0.0.1:7381", ClientAddr: "10.0.0.1:6381", AdminAddr: "10.0.0.1:9181", Suffrage: "voter", Leader: true, Reachable: true},
		{ID: "n2", RaftAddr: "10.0.0.2:7381", ClientAddr: "10.0.0.2:6381", AdminAddr: "10.0.0.2:9181", Suffrage: "voter", Reachable: true},
		{ID: "n4", RaftAddr: "10.0.0.4:7381", Suffrage: "nonvoter"}, // joined, addresses not recorded yet, down
	}
)

func TestGolden_StatusAndMembers(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(*bytes.Buffer) error
	}{
		{"status_human", func(b *bytes.Buffer) error { return writeStatus(b, "human", goldenStatus[:1], false) }},
		{"status_json", func(b *bytes.Buffer) error { return writeStatus(b, "json", goldenStatus[:1], false) }},
		{"status_cluster_human", func(b *bytes.Buffer) error { return writeStatus(b, "human", goldenStatus, true) }},
		{"status_cluster_json", func(b *bytes.Buffer) error { return writeStatus(b, "json", goldenStatus, true) }},
		{"members_human", func(b *bytes.Buffer) error { return writeMembers(b, "human", goldenMembers) }},
		{"members_json", func(b *bytes.Buffer) error { return writeMembers(b, "json", goldenMembers) }},
		{"status_follower_human", func(b *bytes.Buffer) error { return writeStatus(b, "human", goldenStatus[1:2], false) }},
		{"status_no_leader_human", func(b *bytes.Buffer) error {
			return writeStatus(b, "human", []statusView{{ID: "n3", Role: "candidate", Term: 9, LastContactMs: -1,
				RaftAddr: "10.0.0.3:7381", ClientAddr: "10.0.0.3:6381", AdminAddr: "10.0.0.3:9181"}}, false)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.run(&b); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name, b.Bytes())
		})
	}
}

// The verbs that change the cluster: one line for people, one JSON object.
func TestGolden_Verbs(t *testing.T) {
	views := map[string]humanView{
		"join":     joinView{Joined: "n4", RaftAddr: "10.0.0.4:7381", ClientAddr: "10.0.0.4:6381", AdminAddr: "10.0.0.4:9181", Suffrage: "non-voter", Index: 1042},
		"promote":  promoteView{Promoted: "n4", Index: 1050},
		"remove":   removeView{Removed: "n2", Index: 1061},
		"transfer": transferView{OldLeader: "n1", NewLeader: "n3", DurationMs: 87},
		"snapshot": snapshotView{Index: 104213, Term: 7},
		"backup":   backupView{File: "backup.snap", Bytes: 5<<20 + 1<<18, Index: 104213, SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		"restore":  restoreView{File: "backup.snap", Keys: 50211, Index: 3},
	}
	for name, v := range views {
		for _, format := range []string{"human", "json"} {
			t.Run(name+"_"+format, func(t *testing.T) {
				var b bytes.Buffer
				if err := write(&b, format, v); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, name+"_"+format, b.Bytes())
			})
		}
	}
}

// adminCLICluster starts a 3-node cluster in this process (real TCP Raft,
// ephemeral client and admin ports) and waits until it has a leader and
// every member's admin address is recorded, so that `status --cluster` can
// reach them all.
func adminCLICluster(t *testing.T) []*server.Server {
	t.Helper()
	var cfgs []server.Config
	var peers []string
	for i := 1; i <= 3; i++ {
		cfg := server.Defaults()
		cfg.ID = fmt.Sprintf("n%d", i)
		cfg.DataDir = t.TempDir()
		cfg.RaftAddr = freeAddr(t)
		cfg.ClientAddr, cfg.AdminAddr = "127.0.0.1:0", "127.0.0.1:0"
		cfg.HeartbeatTimeout, cfg.ElectionTimeout = 100*time.Millisecond, 100*time.Millisecond
		cfg.LeaderLeaseTimeout, cfg.CommitTimeout = 100*time.Millisecond, 5*time.Millisecond
		cfg.Logger = slog.New(slog.DiscardHandler)
		cfgs = append(cfgs, cfg)
		peers = append(peers, cfg.ID+"="+cfg.RaftAddr)
	}
	var nodes []*server.Server
	t.Cleanup(func() {
		for _, s := range nodes {
			s.Close()
		}
	})
	for _, cfg := range cfgs {
		cfg.Peers = strings.Join(peers, ",")
		s, err := server.Start(cfg)
		if err != nil {
			t.Fatalf("start %s: %v", cfg.ID, err)
		}
		nodes = append(nodes, s)
	}
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !adminCLIClusterReady(nodes) {
		if time.Now().After(deadline) {
			t.Fatal("cluster: no leader with every member's admin address recorded after 10s")
		}
		<-tick.C
	}
	return nodes
}

func adminCLIClusterReady(nodes []*server.Server) bool {
	leaders := 0
	for _, s := range nodes {
		if s.Node.ReadReady() {
			leaders++
		}
		for _, o := range nodes {
			m, ok := s.Node.FSM().Meta(o.Node.ID())
			if !ok || m.AdminAddr != o.AdminAddr() {
				return false
			}
		}
	}
	return leaders == 1
}

// runAdminCLI runs the command tree main builds, in-process, and returns
// what it printed.
func runAdminCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "understudy", SilenceUsage: true, SilenceErrors: true}
	addAdminCommands(root)
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	if errb.Len() > 0 {
		t.Logf("understudy %s: stderr: %s", strings.Join(args, " "), errb.String())
	}
	return out.String(), err
}

func TestCLI_StatusAndMembersAgainstLiveCluster(t *testing.T) {
	t.Setenv("UNDERSTUDY_ADMIN", "")
	t.Setenv("UNDERSTUDY_ADMIN_TOKEN", "")
	os.Unsetenv("UNDERSTUDY_ADMIN")
	os.Unsetenv("UNDERSTUDY_ADMIN_TOKEN")

	nodes := adminCLICluster(t)
	var leader string
	addrs := make([]string, len(nodes))
	byID := map[string]*server.Server{}
	for i, s := range nodes {
		addrs[i] = s.AdminAddr()
		byID[s.Node.ID()] = s
		if s.Node.ReadReady() {
			leader = s.Node.ID()
		}
	}

	out, err := runAdminCLI(t, "status", "--cluster", "-o", "json", "--admin", strings.Join(addrs, ","))
	if err != nil {
		t.Fatalf("status --cluster: %v\n%s", err, out)
	}
	var views []statusView
	if err := json.Unmarshal([]byte(out), &views); err != nil {
		t.Fatalf("status --cluster -o json: %v\n%s", err, out)
	}
	if len(views) != 3 {
		t.Fatalf("status --cluster lists %d nodes, want 3:\n%s", len(views), out)
	}
	for _, v := range views {
		s := byID[v.ID]
		if s == nil {
			t.Fatalf("status --cluster lists unknown node %q", v.ID)
		}
		wantRole := "follower"
		if v.ID == leader {
			wantRole = "leader"
		}
		if v.Error != "" || v.Role != wantRole || v.LeaderID != leader || v.AdminAddr != s.AdminAddr() ||
			v.ClientAddr != s.ClientAddr() || v.Version != server.BuildVersion() || v.Term == 0 {
			t.Errorf("status of %s: %+v; want %s of leader %s at admin %s", v.ID, v, wantRole, leader, s.AdminAddr())
		}
	}

	// members, with the addresses from the environment this time.
	t.Setenv("UNDERSTUDY_ADMIN", addrs[1])
	out, err = runAdminCLI(t, "members", "-o", "json")
	if err != nil {
		t.Fatalf("members: %v\n%s", err, out)
	}
	var members []memberView
	if err := json.Unmarshal([]byte(out), &members); err != nil {
		t.Fatalf("members -o json: %v\n%s", err, out)
	}
	if len(members) != 3 {
		t.Fatalf("members lists %d, want 3:\n%s", len(members), out)
	}
	for i, m := range members {
		if want := fmt.Sprintf("n%d", i+1); m.ID != want {
			t.Errorf("members[%d] is %s, want %s (sorted by id)", i, m.ID, want)
		}
		s := byID[m.ID]
		if s == nil {
			continue
		}
		if m.Suffrage != "voter" || m.Leader != (m.ID == leader) || !m.Reachable ||
			m.AdminAddr != s.AdminAddr() || m.ClientAddr != s.ClientAddr() || m.RaftAddr != s.Node.Config().AdvertiseRaftAddr {
			t.Errorf("member %s: %+v; want a reachable voter, leader=%v", m.ID, m, m.ID == leader)
		}
	}

	// Human output names every node; a dead address is named in the error.
	out, err = runAdminCLI(t, "status", "--cluster", "--admin", strings.Join(addrs, ","))
	if err != nil {
		t.Fatalf("status --cluster (human): %v", err)
	}
	for id := range byID {
		if !strings.Contains(out, id) {
			t.Errorf("status --cluster (human) does not mention %s:\n%s", id, out)
		}
	}
	dead := freeAddr(t)
	if _, err := runAdminCLI(t, "status", "--admin", dead, "--timeout", "2s"); err == nil || !strings.Contains(err.Error(), dead) {
		t.Errorf("status against %s: error %v, want one naming the address", dead, err)
	}
}

// The admin verbs' --timeout takes a duration or a bare number of seconds,
// as serve's --timeout does; anything else is refused before any call.
func TestAdminCLI_TimeoutIsSecondsOrDuration(t *testing.T) {
	dead := freeAddr(t)
	for _, v := range []string{"2", "2s", "1500ms"} {
		if _, err := runAdminCLI(t, "status", "--admin", dead, "--timeout", v); err == nil || !strings.Contains(err.Error(), dead) {
			t.Errorf("--timeout %s against %s: error %v, want a call that failed naming the address", v, dead, err)
		}
	}
	for _, v := range []string{"-1", "soon"} {
		if _, err := runAdminCLI(t, "status", "--admin", dead, "--timeout", v); err == nil || strings.Contains(err.Error(), dead) {
			t.Errorf("--timeout %s: error %v, want the flag refused", v, err)
		}
	}
}
