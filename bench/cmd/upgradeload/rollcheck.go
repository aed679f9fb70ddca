package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/understudy/understudy/rpc"
	"github.com/understudy/understudy/server/upgradetest"
)

// nodesStatus prints one line per node of --admin, in order:
//
//	<n> <id> <role> <leader id|-> <cluster level> <version|->
//
// (the level as the node applied it: 1 from a build before levels), or
// "<n> - down" for one that does not answer.
func nodesStatus(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	admin := fs.String("admin", "", "admin addresses of the nodes, comma-separated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c := rpc.NewClient(*admin, "")
	for i, a := range split(*admin) {
		st, err := c.StatusOf(ctx, a)
		if err != nil {
			fmt.Printf("%d - down\n", i+1)
			continue
		}
		fmt.Printf("%d %s %s %s %d %s\n", i+1, st.Id, st.Role, orDash(st.LeaderId), clusterLevel(st.ClusterLevel), orDash(st.Version))
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clusterLevel reads a Status's cluster_level: 0 from builds before levels,
// which run level 1.
func clusterLevel(l uint32) uint32 { return max(l, 1) }

// caughtUp waits until node --index (1-based) of --nodes/--admin serves a data
// command and has applied everything the leader had committed when the wait
// began, with every node agreeing on one leader.
func caughtUp(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("caught-up", flag.ContinueOnError)
	nodes := fs.String("nodes", "", "client addresses of the nodes, comma-separated")
	admin := fs.String("admin", "", "admin addresses of the nodes, in the same order")
	index := fs.Int("index", 0, "the node to wait for, 1-based")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	addrs, admins := split(*nodes), split(*admin)
	if *index < 1 || *index > len(addrs) || len(admins) != len(addrs) {
		return fmt.Errorf("need --nodes, as many --admin, and --index within them")
	}
	c := rpc.NewClient(*admin, "")
	deadline := time.Now().Add(*timeout)
	var target uint64
	var last error
	for {
		last = func() error {
			leaders := map[string]bool{}
			var leaderCommit uint64
			var self uint64
			for i, a := range admins {
				st, err := c.StatusOf(ctx, a)
				if err != nil {
					return fmt.Errorf("status of %s: %w", a, err)
				}
				leaders[st.LeaderId] = true
				if st.Role == "leader" {
					leaderCommit = st.CommitIndex
				}
				if i+1 == *index {
					self = st.AppliedIndex
				}
			}
			if len(leaders) != 1 || leaders[""] || leaderCommit == 0 {
				return fmt.Errorf("the nodes do not agree on a leader: %v", leaders)
			}
			if target == 0 {
				target = leaderCommit
			}
			if self < target {
				return fmt.Errorf("applied %d of %d", self, target)
			}
			rc := direct(addrs[*index-1])
			defer rc.Close()
			return rc.Exists(ctx, "rolling-upgrade:probe").Err()
		}()
		if last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %d not caught up after %v: %w", *index, *timeout, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// verify checks the end state of a rolling upgrade and prints the final
// line, errors=<n> lost=<n> max_pause=<d>. lost counts acknowledged load
// writes missing or changed on any node, and seed keys that differ from
// their manifest. It fails if either count is not zero, if the nodes'
// digests differ, or if a node runs another version or a lower level than
// wanted.
func verify(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	nodes := fs.String("nodes", "", "client addresses of the nodes, comma-separated")
	admin := fs.String("admin", "", "admin addresses of the nodes, in the same order")
	ackedIn := fs.String("acked", "", "the load's acknowledged keys")
	resultIn := fs.String("result", "", "the load's result")
	manifest := fs.String("manifest", "", "the seed data's manifest")
	version := fs.String("version", "", "the version every node must report")
	level := fs.Uint("level", 1, "the cluster level every node must have reached")
	if err := fs.Parse(args); err != nil {
		return err
	}
	addrs, admins := split(*nodes), split(*admin)
	var res loadResult
	b, err := os.ReadFile(*resultIn)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("%s: %w", *resultIn, err)
	}
	acked, err := readLines(*ackedIn)
	if err != nil {
		return err
	}
	if len(acked) != res.Acked {
		return fmt.Errorf("%s holds %d keys, the result says %d", *ackedIn, len(acked), res.Acked)
	}
	for _, e := range res.FirstErrs {
		fmt.Println("client error:", e)
	}
	fmt.Printf("load: %d writes acknowledged; longest pause by %s\n", res.Acked, res.MaxPauseBy)

	var problems []error
	digest, applied, err := sameDigest(ctx, addrs, 60*time.Second)
	if err != nil {
		problems = append(problems, err)
	} else {
		fmt.Printf("every node: digest %s at applied index %d\n", digest, applied)
	}
	lost := map[string]bool{}
	for _, a := range addrs {
		bad, err := readKeys(ctx, a, acked)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		for _, k := range bad {
			if !lost[k] && len(lost) < 20 {
				fmt.Printf("lost on %s: %s\n", a, k)
			}
			lost[k] = true
		}
	}
	if *manifest != "" {
		want, err := upgradetest.Load(*manifest)
		if err != nil {
			return err
		}
		li, err := waitLeader(ctx, addrs, 30*time.Second)
		if err != nil {
			return err
		}
		lc := patient(addrs[li])
		got, err := upgradetest.Dump(ctx, lc, want.Absent)
		lc.Close()
		if err != nil {
			problems = append(problems, fmt.Errorf("read the seed data: %w", err))
		} else {
			for k := range got.Keys {
				if strings.HasPrefix(k, loadKeyPrefix) {
					delete(got.Keys, k)
				}
			}
			diff := upgradetest.Diff(want, got)
			for _, d := range diff {
				fmt.Println("seed data:", d)
				lost["seed "+d] = true
			}
			fmt.Printf("seed data: %d keys of %s, %d differ\n", len(want.Keys), want.MadeWith, len(diff))
		}
	}
	c := rpc.NewClient(*admin, "")
	for _, a := range admins {
		st, err := c.StatusOf(ctx, a)
		if err != nil {
			problems = append(problems, fmt.Errorf("status of %s: %w", a, err))
			continue
		}
		fmt.Printf("%s: version %s, cluster level %d\n", st.Id, st.Version, clusterLevel(st.ClusterLevel))
		if *version != "" && st.Version != *version {
			problems = append(problems, fmt.Errorf("%s runs version %q, want %q", st.Id, st.Version, *version))
		}
		if clusterLevel(st.ClusterLevel) < uint32(*level) {
			problems = append(problems, fmt.Errorf("%s is at cluster level %d, want %d", st.Id, clusterLevel(st.ClusterLevel), *level))
		}
	}
	for _, p := range problems {
		fmt.Println("problem:", p)
	}
	fmt.Printf("errors=%d lost=%d max_pause=%s\n", res.Errors, len(lost), res.MaxPause)
	if res.Errors > 0 || len(lost) > 0 || len(problems) > 0 {
		return errors.New("the rolling upgrade was not clean")
	}
	return nil
}

// waitLevel waits until every node of --admin reports cluster level --level.
func waitLevel(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("wait-level", flag.ContinueOnError)
	admin := fs.String("admin", "", "admin addresses of the nodes, comma-separated")
	level := fs.Uint("level", 1, "the level to wait for")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c := rpc.NewClient(*admin, "")
	deadline := time.Now().Add(*timeout)
	for {
		var levels []uint32
		for _, a := range split(*admin) {
			st, err := c.StatusOf(ctx, a)
			if err != nil {
				levels = append(levels, 0)
				continue
			}
			levels = append(levels, clusterLevel(st.ClusterLevel))
		}
		if slices.Min(levels) >= uint32(*level) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster levels %v after %v, want %d", levels, *timeout, *level)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
