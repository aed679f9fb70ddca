package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/understudy/understudy/rpc"
	"github.com/understudy/understudy/server/upgradetest"
)

// fixture writes the upgrade fixtures' data set: a scratch state and its
// FLUSHALL, phase "a", a snapshot on every node, then phase "b" and changes to
// phase a's keys, so every node holds a snapshot and log entries after it.
func fixture(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fixture", flag.ContinueOnError)
	nodes := fs.String("nodes", "", "client addresses of the nodes, comma-separated")
	admin := fs.String("admin", "", "admin addresses of the nodes, in the same order")
	raft := fs.String("raft", "", "id=raft-addr,... as given to --peers")
	madeWith := fs.String("made-with", "", "the build that serves the cluster (git describe)")
	out := fs.String("manifest", "", "write the manifest here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	addrs, admins := split(*nodes), split(*admin)
	if len(addrs) < 2 || len(admins) != len(addrs) || *out == "" {
		return fmt.Errorf("need --nodes (2 or more), as many --admin, and --manifest")
	}
	li, err := waitLeader(ctx, addrs, 30*time.Second)
	if err != nil {
		return err
	}
	leader, other := direct(addrs[li]), direct(addrs[(li+1)%len(addrs)])
	defer leader.Close()
	defer other.Close()
	w := &upgradetest.Writer{C: leader, Other: other}
	if err := w.Scratch(ctx); err != nil {
		return err
	}
	if err := w.Populate(ctx, "a"); err != nil {
		return err
	}
	if _, _, err := sameDigest(ctx, addrs, 30*time.Second); err != nil {
		return fmt.Errorf("before the snapshots: %w", err)
	}
	for _, a := range admins {
		r, err := rpc.NewClient(a, "").Snapshot(ctx)
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", a, err)
		}
		log.Printf("snapshot of %s at index %d", a, r.Index)
	}
	if err := w.Populate(ctx, "b"); err != nil {
		return err
	}
	if err := w.Amend(ctx, "a"); err != nil {
		return err
	}
	digest, applied, err := sameDigest(ctx, addrs, 30*time.Second)
	if err != nil {
		return err
	}
	log.Printf("every node at applied index %d, digest %s", applied, digest)
	for _, a := range admins {
		st, err := rpc.NewClient(a, "").Status(ctx)
		if err != nil {
			return fmt.Errorf("status %s: %w", a, err)
		}
		if st.LastSnapshotIndex == 0 || st.AppliedIndex <= st.LastSnapshotIndex {
			return fmt.Errorf("%s (%s): snapshot at %d, applied %d: want a snapshot and entries after it",
				st.Id, a, st.LastSnapshotIndex, st.AppliedIndex)
		}
		log.Printf("%s: snapshot at %d, applied %d", st.Id, st.LastSnapshotIndex, st.AppliedIndex)
	}
	m, err := upgradetest.Dump(ctx, leader, w.Absent)
	if err != nil {
		return err
	}
	m.MadeWith = *madeWith
	m.RaftAddrs = map[string]string{}
	for _, p := range split(*raft) {
		id, addr, ok := strings.Cut(p, "=")
		if !ok {
			return fmt.Errorf("--raft %q: want id=host:port", p)
		}
		m.RaftAddrs[id] = addr
	}
	log.Printf("%d keys, %d absent; manifest %s", len(m.Keys), len(m.Absent), *out)
	return m.Save(*out)
}
