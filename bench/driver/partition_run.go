package driver

import (
	"context"
	"fmt"
	"log"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/understudy/understudy/bench"
)

// The partition experiment: both systems' leaders sit in one namespace,
// writers keep writing fresh keys through two kinds of client, that
// namespace is cut off from the other two (but not from the clients, which
// run in the root namespace) long enough for the majority side to fail over,
// the cut is healed, and every acknowledged key is read back.

// Client kinds.
const (
	// KindDirect writers keep a connection to the address that led when
	// the round began: clients that "still reach the old primary".
	KindDirect = "direct to the old primary"
	// KindFailover writers are go-redis FailoverClients (Sentinel-aware).
	KindFailover = "go-redis FailoverClient"
)

// PartitionSpec describes the experiment.
type PartitionSpec struct {
	Rounds    int
	Writers   int           // per system and client kind
	Rate      int           // writes per second per writer; 0: unpaced
	Settle    time.Duration // load before the cut
	Hold      time.Duration // the cut lasts at least this long
	OpTimeout time.Duration
	Prefix    string // key prefix, unique per run
}

// PartitionSystem is one system under test.
type PartitionSystem struct {
	Name   string // short, for keys and logs
	Label  string // for the report
	Target PartitionTarget
}

// PartitionClient is what one kind of client saw in one round.
type PartitionClient struct {
	Kind    string `json:"kind"`
	Writers int    `json:"writers"`
	Acked   int64  `json:"acked"`
	// AckedDuring: acknowledged between the cut and the heal.
	AckedDuring int64 `json:"acked_during_partition"`
	// AckedByIsolated: of those, acknowledged on a connection to the
	// isolated old leader.
	AckedByIsolated int64 `json:"acked_by_isolated"`
	// LastIsolatedAck: the cut to the last acknowledgement the isolated old
	// leader gave before the heal; 0 if none.
	LastIsolatedAck bench.Ms `json:"last_isolated_ack_ms"`
	Lost            int64    `json:"lost"`
	// LostByIsolated: of the lost, those acknowledged after the cut on a
	// connection to the old leader's address; LostAfterHeal: of those, the
	// ones acknowledged after the heal (an old Redis primary accepts writes
	// until a Sentinel demotes it).
	LostByIsolated int64 `json:"lost_by_isolated"`
	LostAfterHeal  int64 `json:"lost_after_heal"`
	// LastLostAck: the heal to the last of those acknowledged after it; 0
	// if none.
	LastLostAck bench.Ms `json:"last_lost_ack_ms"`
	Verified    bool     `json:"verified"`
	// Gaps: per writer that acknowledged again after both systems
	// converged, its longest gap between consecutive acknowledgements
	// ending after the cut; NotRecovered counts the other writers.
	Gaps         []bench.Ms         `json:"gaps_ms"`
	NotRecovered int                `json:"not_recovered"`
	Errors       int64              `json:"errors"`
	ErrorSamples []bench.ErrorCount `json:"error_samples,omitempty"`
}

// PartitionSystemRound is one system in one round.
type PartitionSystemRound struct {
	System    string `json:"system"`
	Label     string `json:"label"`
	OldLeader string `json:"old_leader"`
	NewLeader string `json:"new_leader"`
	// Elected: the cut to every node on the majority side naming one new
	// leader (0: not seen during the cut).
	Elected bench.Ms `json:"elected_ms"`
	// StepDown: the cut to the isolated node no longer naming itself as the
	// leader (0: it did so until the heal).
	StepDown    bench.Ms          `json:"step_down_ms"`
	Converged   bench.Ms          `json:"converged_ms"` // heal to converged
	ConvergedOK bool              `json:"converged"`
	Clients     []PartitionClient `json:"clients"`
	Notes       string            `json:"notes,omitempty"`
}

// PartitionRound is one cut.
type PartitionRound struct {
	Round    int                    `json:"round"`
	Isolated string                 `json:"isolated"` // the namespace cut off
	Cut      bench.Ms               `json:"cut_ms"`   // how long it lasted
	Systems  []PartitionSystemRound `json:"systems"`
	Notes    string                 `json:"notes,omitempty"`
}

// dialRecorder is a go-redis hook that remembers the address of the last
// connection the client opened. Every writer has one connection at a time
// (PoolSize 1), so that is the server that answered its last command.
type dialRecorder struct{ addr *atomic.Pointer[string] }

func (d dialRecorder) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err == nil {
			a := c.RemoteAddr().String()
			d.addr.Store(&a)
		}
		return c, err
	}
}

func (dialRecorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (dialRecorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

type pack struct {
	t   time.Time
	key string
	by  string
}

type pwriter struct {
	sys  int
	kind string
	kv   *RedisKV
	by   atomic.Pointer[string]
	n    atomic.Int64
	last atomic.Int64 // UnixNano of the last ack
	acks []pack       // owned by the writer's goroutine until it returns
	errs *bench.ErrorLog
}

func (w *pwriter) run(ctx context.Context, spec PartitionSpec, prefix string) {
	var interval time.Duration
	if spec.Rate > 0 {
		interval = time.Second / time.Duration(spec.Rate)
	}
	next := time.Now()
	for seq := 0; ctx.Err() == nil; seq++ {
		if interval > 0 {
			next = next.Add(interval)
			if d := time.Until(next); d > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(d):
				}
			} else if d < -time.Second {
				next = time.Now() // do not burst after a stall
			}
		}
		key := prefix + strconv.Itoa(seq)
		octx, cancel := context.WithTimeout(ctx, spec.OpTimeout)
		err := w.kv.Set(octx, key, []byte(key))
		cancel()
		if err == nil {
			now := time.Now()
			by := ""
			if p := w.by.Load(); p != nil {
				by = *p
			}
			w.acks = append(w.acks, pack{t: now, key: key, by: by})
			w.last.Store(now.UnixNano())
			w.n.Add(1)
			continue
		}
		if ctx.Err() != nil {
			return
		}
		w.errs.Add(err)
		select { // do not spin while there is no leader
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// timeline watches one system during the cut: when the majority side names
// a new leader, and when the isolated node stops naming the old one.
type timeline struct {
	elected, stepDown time.Duration
	newLeader         string
}

func watch(ctx context.Context, t PartitionTarget, n, isolated int, old string, cut time.Time) timeline {
	var tl timeline
	for ctx.Err() == nil {
		if tl.elected == 0 {
			agreed := ""
			for j := 0; j < n; j++ {
				if j == isolated {
					continue
				}
				v, err := t.View(ctx, j)
				if err != nil || v == "" || v == old || (agreed != "" && v != agreed) {
					agreed = ""
					break
				}
				agreed = v
			}
			if agreed != "" {
				tl.elected, tl.newLeader = time.Since(cut), agreed
			}
		}
		if tl.stepDown == 0 {
			if v, err := t.View(ctx, isolated); err == nil && v != old {
				tl.stepDown = time.Since(cut)
			}
		}
		if sleepCtx(ctx, 100*time.Millisecond) != nil {
			break
		}
	}
	return tl
}

// RunPartition runs spec.Rounds rounds over systems, whose node i runs in
// nets[i]; probe(i) is an address something listens on in nets[i] (to check
// the cut). It returns the rounds done; an error ends the experiment early.
// Every wait is bounded.
func RunPartition(ctx context.Context, spec PartitionSpec, systems []PartitionSystem, nets []Netns,
	probe func(int) string) ([]PartitionRound, error) {
	logf := func(format string, args ...any) { log.Printf("partition: "+format, args...) }
	var rounds []PartitionRound
	for _, s := range systems {
		took, err := poll(ctx, 90*time.Second, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
			return s.Target.Converged(ctx, false)
		})
		if err != nil {
			return nil, fmt.Errorf("%s not ready: %w", s.Label, err)
		}
		logf("%s ready (%v)", s.Label, took.Round(time.Millisecond))
	}
	for r := 1; r <= spec.Rounds; r++ {
		rd, err := partitionRound(ctx, spec, systems, nets, probe, r, logf)
		if rd != nil {
			rounds = append(rounds, *rd)
		}
		if err != nil {
			return rounds, fmt.Errorf("round %d: %w", r, err)
		}
	}
	return rounds, nil
}

func partitionRound(ctx context.Context, spec PartitionSpec, systems []PartitionSystem, nets []Netns,
	probe func(int) string, round int, logf func(string, ...any)) (*PartitionRound, error) {
	// 1. Both (all) leaders into the namespace of the first system's.
	var target int
	if _, err := poll(ctx, 30*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		var err error
		target, err = systems[0].Target.Leader(ctx)
		return err == nil, err
	}); err != nil {
		return nil, fmt.Errorf("%s leader: %w", systems[0].Label, err)
	}
	for _, s := range systems[1:] {
		start := time.Now()
		if err := s.Target.MoveLeader(ctx, target); err != nil {
			return nil, fmt.Errorf("move the %s leader to %s: %w", s.Label, nets[target].Name, err)
		}
		logf("round %d: %s leads in %s (moved in %v)", round, s.Label, nets[target].Name, time.Since(start).Round(time.Millisecond))
	}
	for _, s := range systems {
		if _, err := poll(ctx, 60*time.Second, 250*time.Millisecond, func(ctx context.Context) (bool, error) {
			l, err := s.Target.Leader(ctx)
			if err != nil {
				return false, err
			}
			if l != target {
				return false, fmt.Errorf("the leader is in %s", nets[l].Name)
			}
			return s.Target.Converged(ctx, false)
		}); err != nil {
			return nil, fmt.Errorf("%s not settled in %s before the cut: %w", s.Label, nets[target].Name, err)
		}
	}
	rd := &PartitionRound{Round: round, Isolated: nets[target].Name}

	// 2. Writers: per system, Writers direct to the leader and Writers
	// FailoverClients.
	wctx, stopWriters := context.WithCancel(ctx)
	defer stopWriters()
	var ws []*pwriter
	errLogs := map[[2]int]*bench.ErrorLog{}
	var wg sync.WaitGroup
	for si, s := range systems {
		for ki, kind := range []string{KindDirect, KindFailover} {
			el := &bench.ErrorLog{}
			errLogs[[2]int{si, ki}] = el
			for w := 0; w < spec.Writers; w++ {
				pw := &pwriter{sys: si, kind: kind, errs: el}
				short := "d"
				if kind == KindDirect {
					pw.kv = NewRedisKV(s.Target.Addr(target), 1)
				} else {
					pw.kv = s.Target.FailoverClient()
					short = "f"
				}
				pw.kv.C.AddHook(dialRecorder{&pw.by})
				ws = append(ws, pw)
				prefix := fmt.Sprintf("%s:%s:r%d:%s%d:", spec.Prefix, s.Name, round, short, w)
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer pw.kv.Close()
					pw.run(wctx, spec, prefix)
				}()
			}
		}
	}
	stop := func() time.Time {
		stopWriters()
		wg.Wait()
		return time.Now()
	}
	if err := sleepCtx(ctx, spec.Settle); err != nil {
		stop()
		return nil, err
	}
	if _, err := poll(ctx, 20*time.Second, 50*time.Millisecond, func(context.Context) (bool, error) {
		for _, w := range ws {
			if w.n.Load() == 0 {
				return false, fmt.Errorf("a %s writer of %s has no acknowledgement yet", w.kind, systems[w.sys].Label)
			}
		}
		return true, nil
	}); err != nil {
		stop()
		return nil, fmt.Errorf("writes not flowing before the cut: %w", err)
	}

	// 3. The cut.
	old := make([]string, len(systems))
	for si, s := range systems {
		old[si] = s.Target.Addr(target)
	}
	if err := Isolate(ctx, nets, target); err != nil {
		// Some routes may be in place: take them out (errors for the
		// missing ones are expected).
		_ = Heal(context.WithoutCancel(ctx), nets, target)
		stop()
		return nil, err
	}
	cut := time.Now()
	logf("round %d: %s cut off from the other namespaces", round, nets[target].Name)
	healed := false
	heal := func() error {
		if healed {
			return nil
		}
		healed = true
		return Heal(context.WithoutCancel(ctx), nets, target)
	}
	defer func() { _ = heal() }() // on every early return
	if err := CheckIsolated(ctx, nets, target, probe); err != nil {
		stop()
		return nil, fmt.Errorf("the cut is not what it should be: %w", err)
	}
	tctx, stopWatch := context.WithCancel(ctx)
	tlines := make([]timeline, len(systems))
	var twg sync.WaitGroup
	for si, s := range systems {
		twg.Add(1)
		go func() {
			defer twg.Done()
			tlines[si] = watch(tctx, s.Target, len(nets), target, old[si], cut)
		}()
	}
	if err := sleepCtx(ctx, time.Until(cut.Add(spec.Hold))); err != nil {
		stopWatch()
		twg.Wait()
		stop()
		return nil, err
	}
	// Hold longer (bounded) while a majority side has not failed over yet:
	// Sentinel must have had its chance.
	_, waitErr := poll(ctx, 20*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		for si, s := range systems {
			agreed := ""
			for j := range nets {
				if j == target {
					continue
				}
				v, err := s.Target.View(ctx, j)
				if err != nil {
					return false, err
				}
				if v == "" || v == old[si] || (agreed != "" && v != agreed) {
					return false, fmt.Errorf("%s: no new leader on the majority side", s.Label)
				}
				agreed = v
			}
		}
		return true, nil
	})
	if waitErr != nil {
		rd.Notes = "healed without a new leader on every majority side: " + waitErr.Error()
		logf("round %d: %s", round, rd.Notes)
	}
	stopWatch() // before the heal: what it saw, it saw during the cut
	twg.Wait()
	if err := heal(); err != nil {
		stop()
		return rd, err
	}
	healAt := time.Now()
	rd.Cut = bench.ToMs(healAt.Sub(cut))
	logf("round %d: healed after %v", round, healAt.Sub(cut).Round(time.Millisecond))

	// 4. Converge (writers still running).
	srs := make([]PartitionSystemRound, len(systems))
	var cwg sync.WaitGroup
	for si, s := range systems {
		srs[si] = PartitionSystemRound{System: s.Name, Label: s.Label, OldLeader: old[si], NewLeader: tlines[si].newLeader,
			Elected: bench.ToMs(tlines[si].elected), StepDown: bench.ToMs(tlines[si].stepDown)}
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			_, err := poll(ctx, 90*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
				return s.Target.Converged(ctx, false)
			})
			srs[si].Converged = bench.ToMs(time.Since(healAt))
			srs[si].ConvergedOK = err == nil
			if err != nil {
				srs[si].Notes = "not converged after the heal: " + err.Error()
			}
		}()
	}
	cwg.Wait()
	convAt := time.Now()
	for _, sr := range srs {
		logf("round %d: %s converged=%v in %v after the heal", round, sr.Label, sr.ConvergedOK, time.Duration(float64(sr.Converged)*float64(time.Millisecond)).Round(time.Millisecond))
	}
	// Keep the load on until every FailoverClient writer has written again
	// (bounded), and at least a second, so each one's gap is closed.
	if _, err := poll(ctx, 15*time.Second, 50*time.Millisecond, func(context.Context) (bool, error) {
		for _, w := range ws {
			if w.kind == KindFailover && w.last.Load() < convAt.UnixNano() {
				return false, nil
			}
		}
		return time.Since(convAt) >= time.Second, nil
	}); err != nil {
		logf("round %d: not every FailoverClient writer wrote again after convergence: %v", round, err)
	}
	end := stop()

	// 5. Read back every acknowledged key from the leader.
	for si, s := range systems {
		sr := &srs[si]
		if _, err := poll(ctx, 30*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
			return s.Target.Converged(ctx, true)
		}); err != nil {
			sr.Notes = joinNote(sr.Notes, "not quiesced before the read-back: "+err.Error())
		}
		for ki, kind := range []string{KindDirect, KindFailover} {
			pc := PartitionClient{Kind: kind}
			var keys []string
			var byIso []bool
			var ackAt []time.Time
			for _, w := range ws {
				if w.sys != si || w.kind != kind {
					continue
				}
				pc.Writers++
				times := make([]time.Time, len(w.acks))
				for i, a := range w.acks {
					times[i] = a.t
					keys = append(keys, a.key)
					ackAt = append(ackAt, a.t)
					// On a connection to the old leader's address, after the cut.
					iso := a.by == old[si] && !a.t.Before(cut)
					byIso = append(byIso, iso)
					if !a.t.Before(cut) && !a.t.After(healAt) {
						pc.AckedDuring++
						if iso {
							pc.AckedByIsolated++
							pc.LastIsolatedAck = max(pc.LastIsolatedAck, bench.ToMs(a.t.Sub(cut)))
						}
					}
				}
				if gap, ok := bench.Unavailability(times, cut, end); ok && w.last.Load() >= convAt.UnixNano() {
					pc.Gaps = append(pc.Gaps, bench.ToMs(gap))
				} else {
					pc.NotRecovered++
				}
			}
			sort.Slice(pc.Gaps, func(i, j int) bool { return pc.Gaps[i] < pc.Gaps[j] })
			pc.Acked = int64(len(keys))
			el := errLogs[[2]int{si, ki}]
			pc.Errors, pc.ErrorSamples = el.Total(), el.Samples()
			_, err := poll(ctx, 60*time.Second, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
				l, err := s.Target.Leader(ctx)
				if err != nil {
					return false, err
				}
				kv := NewRedisKV(s.Target.Addr(l), 1)
				defer kv.Close()
				vals, err := kv.ReadMany(ctx, keys)
				if err != nil {
					return false, fmt.Errorf("read back from %s: %w", s.Target.Addr(l), err)
				}
				pc.Lost, pc.LostByIsolated, pc.LostAfterHeal, pc.LastLostAck = 0, 0, 0, 0
				for i, v := range vals {
					if string(v) != keys[i] {
						pc.Lost++
						if byIso[i] {
							pc.LostByIsolated++
							if at := ackAt[i]; at.After(healAt) {
								pc.LostAfterHeal++
								pc.LastLostAck = max(pc.LastLostAck, bench.ToMs(at.Sub(healAt)))
							}
						}
					}
				}
				return true, nil
			})
			pc.Verified = err == nil
			if err != nil {
				sr.Notes = joinNote(sr.Notes, kind+": verification failed: "+err.Error())
			}
			logf("round %d: %s, %s: acked %d (%d during the cut, %d of them by the isolated node), lost %d (verified=%v), errors %d",
				round, s.Label, kind, pc.Acked, pc.AckedDuring, pc.AckedByIsolated, pc.Lost, pc.Verified, pc.Errors)
			sr.Clients = append(sr.Clients, pc)
		}
	}
	rd.Systems = srs
	for _, sr := range srs {
		if !sr.ConvergedOK {
			return rd, fmt.Errorf("%s did not converge after the heal", sr.Label)
		}
	}
	return rd, nil
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
