package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestProcess_BigWriteNeverCostsAnElection sends the writes a new user might
// try on a three-node cluster: a 100 MB MSET (200 values of 500 KB) is
// refused up front, through the leader and through a follower, with an
// error naming --max-entry-bytes; a large MSET under the limit commits. No node may change term throughout: a big write must not stop
// heartbeats or lease checks.
func TestProcess_BigWriteNeverCostsAnElection(t *testing.T) {
	c := startProcCluster(t)
	leader := findLeader(t, c, 15*time.Second)
	terms := map[string]string{}
	for _, p := range c.procs {
		term, err := info(p, "replication", "raft_term")
		if err != nil {
			t.Fatalf("%s: %v", p.id, err)
		}
		terms[p.id] = term
	}
	value := strings.Repeat("v", 500_000)
	mset := func(p *proc, n int, prefix string) error {
		rdb := grClient(t, p.clientAddr, func(o *redis.Options) {
			o.ReadTimeout, o.WriteTimeout = 60*time.Second, 60*time.Second
		})
		args := make([]any, 0, 2*n)
		for i := range n {
			args = append(args, fmt.Sprintf("%s:%03d", prefix, i), value)
		}
		start := time.Now()
		err := rdb.MSet(grCtx(t, 90*time.Second), args...).Err()
		t.Logf("MSET of %d x 500 KB via %s: %v after %v", n, p.id, err, time.Since(start).Round(time.Millisecond))
		return err
	}
	follower := c.procs[0]
	if follower == leader {
		follower = c.procs[1]
	}
	for _, p := range []*proc{leader, follower} {
		err := mset(p, 200, "huge")
		if err == nil || !strings.Contains(err.Error(), "max-entry-bytes") {
			t.Fatalf("100 MB MSET via %s: %v, want a refusal naming max-entry-bytes", p.id, err)
		}
	}
	// Under the default limit of 8 MiB, a large MSET commits.
	if err := mset(leader, 4, "big"); err != nil {
		t.Fatalf("2 MB MSET, under the limit: %v", err)
	}
	cl := follower.client()
	defer cl.Close()
	waitFor(t, 15*time.Second, func() bool {
		got, err := cl.Do("STRLEN", "big:003")
		return err == nil && got == int64(len(value))
	}, "the 2 MB MSET readable through %s", follower.id)
	for _, p := range c.procs {
		if term, err := info(p, "replication", "raft_term"); err != nil || term != terms[p.id] {
			t.Errorf("%s: term %s before the big writes, %s (%v) after: an election happened", p.id, terms[p.id], term, err)
		}
		if r, _, err := role(p); err != nil || (p == leader) != (r == "master") {
			t.Errorf("%s: role %q (%v) after the big writes; %s led before", p.id, r, err, leader.id)
		}
	}
}
