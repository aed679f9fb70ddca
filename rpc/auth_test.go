package rpc_test

import (
	"bytes"
	"io"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/understudy/understudy/internal/testcluster"
	adminpb "github.com/understudy/understudy/proto/understudy/v1"
	"github.com/understudy/understudy/server"
)

// TestAdmin_TokenEnforcement: with an admin token configured, every verb
// that changes the cluster or hands out its data needs it, on the leader and
// on a follower alike; Status and Members stay open; with the token every
// verb works.
func TestAdmin_TokenEnforcement(t *testing.T) {
	const token = "s3cret-token"
	c := startCluster(t, "tok", 3, func(cfg *server.Config) { cfg.AdminToken = token })
	l := c.Leader(t)
	waitAddrsKnown(t, c) // followers registered their addresses, with the token
	fs := c.Followers(l)
	keys, _ := loadKeys(t, l.ClientAddr(), "tok", 50, 0)

	// A valid backup to offer to Restore without the token.
	var good bytes.Buffer
	res, err := adminClient(l.AdminAddr(), token).Backup(ctxT(t), &good, nil)
	if err != nil {
		t.Fatalf("backup with the token: %v", err)
	}
	n2 := fs[0]

	for _, addr := range []*tnode{l, fs[1]} {
		for _, tok := range []string{"", "wrong-token"} {
			cli := adminClient(addr.AdminAddr(), tok)
			ctx := ctxT(t)
			calls := []struct {
				verb string
				call func() error
			}{
				{"Join", func() error {
					_, err := cli.Join(ctx, &adminpb.JoinRequest{Id: "n9", RaftAddr: freeAddr(t)})
					return err
				}},
				{"Promote", func() error { _, err := cli.Promote(ctx, n2.ID); return err }},
				{"Remove", func() error { _, err := cli.Remove(ctx, n2.ID); return err }},
				{"TransferLeadership", func() error { _, err := cli.TransferLeadership(ctx, ""); return err }},
				{"Snapshot", func() error { _, err := cli.Snapshot(ctx); return err }},
				{"Backup", func() error { _, err := cli.Backup(ctx, io.Discard, nil); return err }},
				{"Restore", func() error {
					_, err := cli.Restore(ctx, bytes.NewReader(good.Bytes()), res.SHA256, nil)
					return err
				}},
			}
			for _, v := range calls {
				wantCode(t, v.verb+" via "+addr.ID+" with token "+tok, v.call(), codes.Unauthenticated, "token")
			}
			if _, err := cli.Status(ctx); err != nil {
				t.Errorf("status via %s with token %q: %v", addr.ID, tok, err)
			}
			if ms, err := cli.Members(ctx); err != nil || len(ms.Members) != 3 {
				t.Errorf("members via %s with token %q: %v %v", addr.ID, tok, ms, err)
			}
		}
	}
	// Nothing changed.
	if ms := membersOf(t, l.AdminAddr()); len(ms) != 3 || ms["n9"] != nil || !ms[l.ID].Leader {
		t.Fatalf("members after refused calls: %s", describeMembers(ms))
	}

	// With the token, through a follower where the verb forwards.
	cli := adminClient(fs[1].AdminAddr(), token)
	ctx := ctxT(t)
	if _, err := cli.Snapshot(ctx); err != nil {
		t.Errorf("snapshot with the token: %v", err)
	}
	var buf bytes.Buffer
	br, err := cli.Backup(ctx, &buf, nil)
	if err != nil {
		t.Fatalf("backup with the token: %v", err)
	}
	if rr, err := cli.Restore(ctx, bytes.NewReader(buf.Bytes()), br.SHA256, nil); err != nil || rr.Keys != int64(len(keys)) {
		t.Fatalf("restore with the token: %v %v, want %d keys", rr, err, len(keys))
	}
	if _, err := cli.Join(ctx, &adminpb.JoinRequest{Id: n2.ID, RaftAddr: n2.Cfg.RaftAddr, ClientAddr: n2.ClientAddr(), AdminAddr: n2.AdminAddr()}); err != nil {
		t.Errorf("join (again, same addresses) with the token: %v", err)
	}
	if _, err := cli.Promote(ctx, n2.ID); err != nil {
		t.Errorf("promote (already a voter) with the token: %v", err)
	}
	r, err := cli.TransferLeadership(ctx, "")
	if err != nil {
		t.Fatalf("transfer leadership with the token: %v", err)
	}
	nl := c.Leader(t)
	if nl.ID != r.NewLeader {
		t.Fatalf("transfer named %s, %s leads", r.NewLeader, nl.ID)
	}
	var gone *tnode
	for _, f := range c.Followers(nl) {
		if f != fs[1] {
			gone = f
		}
	}
	if _, err := cli.Remove(ctx, gone.ID); err != nil {
		t.Fatalf("remove %s with the token: %v", gone.ID, err)
	}
	if ms := membersOf(t, nl.AdminAddr()); len(ms) != 2 || ms[gone.ID] != nil {
		t.Fatalf("members after removing %s: %s", gone.ID, describeMembers(ms))
	}
	gone.Kill(t)
	checkValues(t, nl.ClientAddr(), keys)
	testcluster.Converge(t, c.Live())
}
