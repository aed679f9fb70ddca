package fault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
	"strings"
	"sync"
	"time"

	"github.com/understudy/understudy/chaos/checker"
)

// Kinds of fault, after the table of faults in docs/reliability.md.
const (
	KillLeader      = "kill-leader"         // F1
	KillFollower    = "kill-follower"       // F1, F6 with a low snapshot threshold
	KillAll         = "kill-all"            // F2
	PauseLeader     = "pause-leader"        // F3
	IsolateLeader   = "isolate-leader"      // F4: the leader alone, a minority; the followers a majority
	IsolateFollower = "isolate-follower"    // F4, F6: a follower alone; the leader keeps a majority
	IsolateAll      = "isolate-all"         // every node alone: no majority anywhere
	Bridge          = "bridge"              // F5: two nodes cut from each other, the third reaching both
	Transfer        = "transfer-leadership" // F10
	WipeFollower    = "wipe-follower"       // F9
)

// AllKinds lists every fault with its weight in the random mix.
var AllKinds = []struct {
	Kind   string
	Weight int
}{
	{KillLeader, 3}, {KillFollower, 2}, {KillAll, 1}, {PauseLeader, 3}, {Transfer, 2},
	{IsolateLeader, 3}, {IsolateFollower, 2}, {IsolateAll, 1}, {Bridge, 2}, {WipeFollower, 1},
}

// NeedsPartition reports whether a kind cuts the network between nodes.
func NeedsPartition(kind string) bool {
	return strings.HasPrefix(kind, "isolate-") || kind == Bridge
}

// Phases of the schedule.
const (
	PhaseEach = "each" // first pass: every kind alone, once
	PhaseMix  = "mix"  // then kinds drawn at random by weight
)

// Injector runs a seeded schedule of faults, one at a time, each injected,
// held, healed, and followed by a wait for the cluster to be whole again:
// first every kind once, in a seeded order (the "each" pass), then kinds
// drawn at random by weight (the "mix") until the run ends.
type Injector struct {
	Cluster     Cluster
	Base        time.Time
	Rng         *rand.Rand
	Log         *slog.Logger
	Kinds       []string      // allowed kinds (default: all the cluster supports)
	Quiet       time.Duration // mean pause between faults
	Recovery    time.Duration // bound on getting whole again (I10)
	ElectionMin time.Duration // pauses and partitions last at least this long

	faults []checker.FaultRecord
	// First is the order of the first pass; FirstDone how many of it ran.
	First     []string
	FirstDone int

	mu          sync.Mutex
	killed      map[string]bool
	paused      map[string]bool
	partitioned bool
}

func (in *Injector) now() int64 { return int64(time.Since(in.Base)) }

// ParseKinds checks a comma-separated list of kinds; "" is every kind.
func ParseKinds(list string) ([]string, error) {
	known := map[string]bool{}
	var all []string
	for _, k := range AllKinds {
		known[k.Kind] = true
		all = append(all, k.Kind)
	}
	if strings.TrimSpace(list) == "" {
		return all, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, k := range strings.Split(list, ",") {
		k = strings.TrimSpace(k)
		if !known[k] {
			return nil, fmt.Errorf("unknown fault kind %q (known: %s)", k, strings.Join(all, ", "))
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out, nil
}

// Supported splits kinds into those the (running) cluster can inject and
// those it cannot, with the reason.
func Supported(c Cluster, kinds []string) (use, skipped []string, why error) {
	perr := c.PartitionSupport()
	for _, k := range kinds {
		if NeedsPartition(k) && perr != nil {
			skipped = append(skipped, k)
			continue
		}
		use = append(use, k)
	}
	if len(skipped) > 0 {
		why = perr
	}
	return use, skipped, why
}

func (in *Injector) pick() string {
	total := 0
	weight := map[string]int{}
	for _, k := range AllKinds {
		weight[k.Kind] = k.Weight
	}
	for _, k := range in.Kinds {
		total += weight[k]
	}
	x := in.Rng.Intn(total)
	for _, k := range in.Kinds {
		if x -= weight[k]; x < 0 {
			return k
		}
	}
	return in.Kinds[0]
}

func (in *Injector) hold(min, max time.Duration) time.Duration {
	return min + time.Duration(in.Rng.Int63n(int64(max-min)+1))
}

// Run injects faults until ctx ends or until passes; every fault is healed
// before it returns. It returns the faults injected.
func (in *Injector) Run(ctx context.Context, until time.Time) []checker.FaultRecord {
	in.killed, in.paused = map[string]bool{}, map[string]bool{}
	in.First = nil
	for _, i := range in.Rng.Perm(len(in.Kinds)) {
		in.First = append(in.First, in.Kinds[i])
	}
	for ctx.Err() == nil {
		quiet := in.hold(in.Quiet/2, in.Quiet*3/2)
		if time.Now().Add(quiet + 3*time.Second).After(until) {
			break
		}
		sleepCtx(ctx, quiet)
		if ctx.Err() != nil {
			break
		}
		kind, phase := "", PhaseMix
		if in.FirstDone < len(in.First) {
			kind, phase = in.First[in.FirstDone], PhaseEach
			in.FirstDone++
		} else {
			kind = in.pick()
		}
		rec := in.one(ctx, kind)
		rec.Phase = phase
		rec.N = len(in.faults) + 1
		in.faults = append(in.faults, rec)
		in.Log.Info("fault", "n", rec.N, "phase", rec.Phase, "kind", rec.Kind, "target", rec.Target, "at", checker.At(rec.Start),
			"held", time.Duration(rec.Healed-rec.Start).Round(time.Millisecond), "recovered_after", recoveredAfter(rec), "err", rec.Error)
	}
	return in.faults
}

func recoveredAfter(r checker.FaultRecord) string {
	if r.Recovered == checker.Never {
		return "never"
	}
	return time.Duration(r.Recovered - r.Healed).Round(time.Millisecond).String()
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// one injects, holds and heals one fault, then waits for recovery. The
// fault's own steps use a context that outlives ctx by a little, so that a
// cancelled run still heals what it broke.
func (in *Injector) one(ctx context.Context, kind string) checker.FaultRecord {
	rec := checker.FaultRecord{Kind: kind, Start: in.now(), Recovered: checker.Never}
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	nodes := in.Cluster.Nodes()
	// A spontaneous election may be under way: give it a moment.
	var leader string
	lerr := poll(hctx, 5*time.Second, 100*time.Millisecond, func(ctx context.Context) error {
		var err error
		leader, err = Leader(ctx, nodes)
		return err
	})
	var followers []string
	for _, n := range nodes {
		if n.ID != leader {
			followers = append(followers, n.ID)
		}
	}
	follower := followers[in.Rng.Intn(len(followers))]
	if lerr != nil && kind != KillAll {
		rec.Error = "no leader to target: " + lerr.Error()
		rec.Healed = in.now()
		in.recover(hctx, &rec)
		return rec
	}
	var err error
	switch kind {
	case KillLeader, KillFollower:
		target := leader
		if kind == KillFollower {
			target = follower
		}
		rec.Target = target
		rec.Start = in.now()
		if err = in.kill(hctx, target); err == nil {
			sleepCtx(ctx, in.hold(500*time.Millisecond, 4*time.Second))
		}
	case KillAll:
		rec.Target = "all"
		rec.Start = in.now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if e := in.kill(hctx, n.ID); e != nil {
					mu.Lock()
					err = errors.Join(err, e)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		sleepCtx(ctx, in.hold(200*time.Millisecond, 2*time.Second))
	case PauseLeader:
		rec.Target = leader
		rec.Start = in.now()
		if err = in.Cluster.Pause(hctx, leader); err == nil {
			in.set(in.paused, leader, true)
			sleepCtx(ctx, in.hold(in.ElectionMin, in.ElectionMin+3*time.Second))
		}
	case IsolateLeader, IsolateFollower, IsolateAll, Bridge:
		var pairs [][2]string
		pairs, rec.Target = in.partition(kind, leader, follower, followers)
		rec.Start = in.now()
		in.mu.Lock()
		in.partitioned = true
		in.mu.Unlock()
		if err = in.Cluster.Cut(hctx, pairs); err == nil {
			sleepCtx(ctx, in.hold(in.ElectionMin, in.ElectionMin+4*time.Second))
		}
	case Transfer:
		rec.Target = leader
		rec.Start = in.now()
		var notes []string
		for range 3 {
			r, e := transferLeadership(hctx, in.Cluster.Nodes())
			if e != nil {
				err = e
				break
			}
			notes = append(notes, fmt.Sprintf("%s→%s %dms", r.OldLeader, r.NewLeader, r.DurationMs))
			sleepCtx(ctx, 300*time.Millisecond)
		}
		rec.Note = strings.Join(notes, ", ")
	case WipeFollower:
		rec.Target = follower
		rec.Start = in.now()
		err = in.wipe(hctx, follower, &rec)
	default:
		err = fmt.Errorf("unknown fault %q", kind)
	}
	if err != nil {
		rec.Error = oneLine(err)
	}
	if herr := in.HealAll(hctx); herr != nil {
		rec.Error = strings.TrimSpace(rec.Error + " heal: " + oneLine(herr))
	}
	rec.Healed = in.now()
	in.recover(hctx, &rec)
	return rec
}

// partition returns the pairs a partition kind cuts, and how the report
// names its target.
func (in *Injector) partition(kind, leader, follower string, followers []string) ([][2]string, string) {
	other := followers[0]
	if other == follower {
		other = followers[1]
	}
	switch kind {
	case IsolateLeader:
		return [][2]string{{leader, followers[0]}, {leader, followers[1]}}, leader
	case IsolateFollower:
		return [][2]string{{follower, leader}, {follower, other}}, follower
	case IsolateAll:
		return [][2]string{{leader, followers[0]}, {leader, followers[1]}, {followers[0], followers[1]}}, "all"
	}
	// Bridge: half the time the leader is the bridge between two followers
	// that cannot see each other, half the time an end that cannot see the
	// other end.
	a, b, mid := followers[0], followers[1], leader
	if in.Rng.Intn(2) == 0 {
		a, b, mid = leader, other, follower
	}
	return [][2]string{{a, b}}, fmt.Sprintf("%s-%s cut, %s bridges", a, b, mid)
}

func (in *Injector) set(m map[string]bool, id string, v bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if v {
		m[id] = true
	} else {
		delete(m, id)
	}
}

func (in *Injector) kill(ctx context.Context, id string) error {
	if err := in.Cluster.Kill(ctx, id); err != nil {
		return err
	}
	in.set(in.killed, id, true)
	in.set(in.paused, id, false)
	return nil
}

// wipe crashes a follower, removes it from the configuration, deletes its
// data and starts it empty, joining the cluster again (F9), then waits for
// it to catch up.
func (in *Injector) wipe(ctx context.Context, id string, rec *checker.FaultRecord) error {
	if err := in.kill(ctx, id); err != nil {
		return err
	}
	err := poll(ctx, 20*time.Second, 300*time.Millisecond, func(ctx context.Context) error {
		var others []Node
		for _, n := range in.Cluster.Nodes() {
			if n.ID != id {
				others = append(others, n)
			}
		}
		return removeMember(ctx, others, id)
	})
	if err != nil {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	if err := in.Cluster.Wipe(ctx, id); err != nil {
		return fmt.Errorf("wipe %s: %w", id, err)
	}
	restart := time.Now()
	if err := in.Cluster.Start(ctx, id); err != nil {
		return fmt.Errorf("start %s empty: %w", id, err)
	}
	in.set(in.killed, id, false)
	started := time.Now()
	err = poll(ctx, 60*time.Second, 100*time.Millisecond, func(ctx context.Context) error { return in.caughtUp(ctx, id) })
	if err != nil {
		return fmt.Errorf("%s did not catch up: %w", id, err)
	}
	rec.Note = fmt.Sprintf("removed, wiped, started empty with --join (%s), joined and caught up %s later",
		started.Sub(restart).Round(10*time.Millisecond), time.Since(started).Round(10*time.Millisecond))
	// The node's own view of the configuration should list it too: a node
	// missing from its own configuration never stands for election.
	for _, n := range in.Cluster.Nodes() {
		if n.ID != id {
			continue
		}
		if ok, err := isMember(ctx, n, id); err == nil && !ok {
			rec.Note += fmt.Sprintf("; %s's own configuration does not list %s yet", id, id)
		}
	}
	return nil
}

// caughtUp: id is a member again in the leader's configuration (the one
// that counts), and has applied at least what the leader had committed just
// before id was asked (under load the two never match at one instant).
func (in *Injector) caughtUp(ctx context.Context, id string) error {
	var self, leader Node
	var commit uint64
	for _, n := range in.Cluster.Nodes() {
		if n.ID == id {
			self = n
			continue
		}
		if st, err := statusOf(ctx, n, time.Second); err == nil && st.Role == "leader" {
			leader, commit = n, st.CommitIndex
		}
	}
	if leader.ID == "" {
		return errors.New("no leader")
	}
	member, err := isMember(ctx, leader, id)
	if err != nil {
		return err
	}
	if !member {
		return fmt.Errorf("%s is not in the leader's (%s) configuration yet", id, leader.ID)
	}
	st, err := statusOf(ctx, self, time.Second)
	if err != nil {
		return err
	}
	if st.AppliedIndex < commit {
		return fmt.Errorf("%s applied %d of %d", id, st.AppliedIndex, commit)
	}
	return nil
}

// HealAll undoes every fault still in force: resumes paused nodes, removes
// network cuts and starts killed nodes.
func (in *Injector) HealAll(ctx context.Context) error {
	in.mu.Lock()
	var paused, killed []string
	for id := range in.paused {
		paused = append(paused, id)
	}
	for id := range in.killed {
		killed = append(killed, id)
	}
	partitioned := in.partitioned
	in.mu.Unlock()
	var errs []error
	for _, id := range paused {
		if err := in.Cluster.Resume(ctx, id); err != nil {
			errs = append(errs, err)
			continue
		}
		in.set(in.paused, id, false)
	}
	if partitioned {
		if err := in.Cluster.Heal(ctx); err != nil {
			errs = append(errs, err)
		} else {
			in.mu.Lock()
			in.partitioned = false
			in.mu.Unlock()
		}
	}
	for _, id := range killed {
		if err := in.Cluster.Start(ctx, id); err != nil {
			errs = append(errs, err)
			continue
		}
		in.set(in.killed, id, false)
	}
	return errors.Join(errs...)
}

// recover waits for the cluster to be whole (I10) and stamps the time.
func (in *Injector) recover(ctx context.Context, rec *checker.FaultRecord) {
	err := poll(ctx, in.Recovery, 100*time.Millisecond, func(ctx context.Context) error { return Whole(ctx, in.Cluster.Nodes()) })
	if err == nil {
		rec.Recovered = in.now()
		return
	}
	rec.Error = strings.TrimSpace(rec.Error + " not whole again: " + oneLine(err))
}
