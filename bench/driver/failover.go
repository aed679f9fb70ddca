package driver

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/understudy/understudy/bench"
)

// FailoverSpec describes one failover experiment.
type FailoverSpec struct {
	System  string
	Client  string // "sentinel", "plain" or "etcd"
	Prefix  string // key prefix, unique per experiment
	Rounds  int
	Writers int
	// Settle is how long the load runs (and the cluster is given) before
	// each kill.
	Settle         time.Duration
	RecoverTimeout time.Duration // kill to writes flowing again
	RejoinTimeout  time.Duration // restart to caught up
	OpTimeout      time.Duration
}

// Writer is one failover client: it writes a fresh key per operation.
type Writer interface {
	Set(ctx context.Context, key string, val []byte) error
	Close() error
}

// PlainRotator writes to one of several nodes and moves on to the next when
// its node fails (a connection error or TRYAGAIN): the "plain clients to all
// three nodes, followers forward" way of following the leader.
type PlainRotator struct {
	cs  []*redis.Client
	cur int
}

// NewPlainRotator connects to every addr, starting with addrs[start%n].
func NewPlainRotator(addrs []string, start int) *PlainRotator {
	p := &PlainRotator{cur: start % len(addrs)}
	for _, a := range addrs {
		p.cs = append(p.cs, redis.NewClient(RedisOptions(a, 2)))
	}
	return p
}

func (p *PlainRotator) Set(ctx context.Context, key string, val []byte) error {
	err := p.cs[p.cur].Set(ctx, key, val, 0).Err()
	if err != nil {
		var re redis.Error
		if !errors.As(err, &re) || strings.HasPrefix(err.Error(), "TRYAGAIN") {
			p.cur = (p.cur + 1) % len(p.cs)
		}
	}
	return err
}

func (p *PlainRotator) Close() error {
	for _, c := range p.cs {
		c.Close()
	}
	return nil
}

// acks is the shared record of acknowledged writes.
type acks struct {
	mu    sync.Mutex
	times []time.Time
	keys  []string
	n     atomic.Int64
}

func (a *acks) add(t time.Time, key string) {
	a.mu.Lock()
	a.times = append(a.times, t)
	a.keys = append(a.keys, key)
	a.mu.Unlock()
	a.n.Add(1)
}

func (a *acks) snapshot() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Time(nil), a.times...)
}

// RunFailover kills the leader of c spec.Rounds times under a write load from
// spec.Writers writers (newWriter(i)), restarting the killed node each time
// and waiting for it to rejoin; then it reads back every acknowledged key
// through verify and counts those missing or wrong. Every wait is bounded.
func RunFailover(ctx context.Context, spec FailoverSpec, c Cluster, procs Procs, newWriter func(int) Writer,
	verify func(context.Context) (KV, error)) bench.Failover {
	res := bench.Failover{System: spec.System, Client: spec.Client, Writers: spec.Writers}
	var errs bench.ErrorLog
	var a acks
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := 0; w < spec.Writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			cl := newWriter(w)
			defer cl.Close()
			for seq := 0; wctx.Err() == nil; seq++ {
				key := spec.Prefix + strconv.Itoa(w) + ":" + strconv.Itoa(seq)
				octx, cancel := context.WithTimeout(wctx, spec.OpTimeout)
				err := cl.Set(octx, key, []byte(key))
				cancel()
				if err == nil {
					a.add(time.Now(), key)
					continue
				}
				if wctx.Err() != nil {
					return
				}
				errs.Add(err)
				select { // do not spin while there is no leader
				case <-wctx.Done():
				case <-time.After(20 * time.Millisecond):
				}
			}
		}(w)
	}
	logf := func(format string, args ...any) {
		log.Printf("failover %s/%s: "+format, append([]any{spec.System, spec.Client}, args...)...)
	}

	for round := 0; round < spec.Rounds && ctx.Err() == nil; round++ {
		// Load flows before the kill.
		before := a.n.Load()
		time.Sleep(spec.Settle)
		if _, err := poll(ctx, spec.RecoverTimeout, 20*time.Millisecond, func(context.Context) (bool, error) {
			return a.n.Load() > before+int64(spec.Writers), nil
		}); err != nil {
			res.Notes = fmt.Sprintf("round %d: writes not flowing before the kill: %v", round+1, err)
			logf("%s", res.Notes)
			break
		}
		var leader string
		if _, err := poll(ctx, 15*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
			var err error
			leader, err = c.Leader(ctx)
			return err == nil, err
		}); err != nil {
			res.Notes = fmt.Sprintf("round %d: no leader found: %v", round+1, err)
			logf("%s", res.Notes)
			break
		}
		kill := time.Now()
		c0 := a.n.Load()
		if err := procs.Kill(leader); err != nil {
			res.Notes = fmt.Sprintf("round %d: %v", round+1, err)
			logf("%s", res.Notes)
			break
		}
		rd := bench.FailoverRound{Killed: leader}
		// Recovered once more writes than there are writers (at most one
		// reply per writer can have been in flight at the kill) completed.
		_, err := poll(ctx, spec.RecoverTimeout, 5*time.Millisecond, func(context.Context) (bool, error) {
			return a.n.Load() > c0+int64(spec.Writers), nil
		})
		end := time.Now()
		gap, ok := bench.Unavailability(a.snapshot(), kill, end)
		rd.Recovered = err == nil && ok
		rd.Unavailable = bench.ToMs(gap)
		logf("round %d: killed %s, unavailable %v (recovered=%v)", round+1, leader, gap.Round(time.Millisecond), rd.Recovered)

		if err := procs.Launch(ctx, leader); err != nil {
			res.Notes = err.Error()
			res.Rounds = append(res.Rounds, rd)
			logf("%v", err)
			break
		}
		took, err := poll(ctx, spec.RejoinTimeout, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
			return c.Rejoined(ctx, leader)
		})
		rd.Rejoined = err == nil
		rd.Rejoin = bench.ToMs(took)
		res.Rounds = append(res.Rounds, rd)
		if err != nil {
			// Killing another leader now would leave no majority.
			res.Notes = fmt.Sprintf("round %d: %s did not rejoin: %v", round+1, leader, err)
			logf("%s", res.Notes)
			break
		}
		logf("round %d: %s rejoined in %v", round+1, leader, took.Round(time.Millisecond))
	}
	time.Sleep(spec.Settle / 2)
	stop()
	wg.Wait()

	a.mu.Lock()
	keys := append([]string(nil), a.keys...)
	a.mu.Unlock()
	res.Acked = int64(len(keys))
	res.Errors = errs.Total()
	res.ErrorSamples = errs.Samples()

	// Read back every acknowledged key, retrying (bounded) while the cluster
	// settles.
	vctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	_, err := poll(vctx, 60*time.Second, 500*time.Millisecond, func(ctx context.Context) (bool, error) {
		kv, err := verify(ctx)
		if err != nil {
			return false, err
		}
		defer kv.Close()
		vals, err := kv.ReadMany(ctx, keys)
		if err != nil {
			return false, err
		}
		lost := int64(0)
		for i, v := range vals {
			if string(v) != keys[i] {
				lost++
			}
		}
		res.Lost = lost
		return true, nil
	})
	res.Verified = err == nil
	if err != nil {
		res.Notes = strings.TrimSpace(res.Notes + " verification failed: " + err.Error())
	}
	logf("acked %d, lost %d (verified=%v), errors %d", res.Acked, res.Lost, res.Verified, res.Errors)
	return res
}
