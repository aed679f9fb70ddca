package driver

import (
	"context"
	"fmt"
	"log"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/understudy/understudy/bench"
)

// ScaleSpec is the bulk load.
type ScaleSpec struct {
	Keys           int
	ValueSize      int
	Batch          int // keys per MSET
	Depth          int // MSETs per pipeline (round trip)
	Conns          int
	CatchUpTimeout time.Duration
}

// LoadKeys writes spec.Keys keys "scale:<i>" through addr with pipelined MSET
// batches and returns how long it took.
func LoadKeys(ctx context.Context, addr string, spec ScaleSpec) (time.Duration, error) {
	c := redis.NewClient(RedisOptions(addr, spec.Conns))
	defer c.Close()
	val := Value(spec.ValueSize)
	per := spec.Batch * spec.Depth
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	for w := 0; w < spec.Conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				from := int(next.Add(int64(per))) - per
				if from >= spec.Keys {
					return
				}
				to := min(from+per, spec.Keys)
				p := c.Pipeline()
				for i := from; i < to; i += spec.Batch {
					// A fresh slice per command: the pipeline keeps it until Exec.
					args := make([]any, 0, 1+2*spec.Batch)
					args = append(args, "MSET")
					for k := i; k < min(i+spec.Batch, to); k++ {
						args = append(args, "scale:"+strconv.Itoa(k), val)
					}
					p.Do(ctx, args...)
				}
				octx, cancel := context.WithTimeout(ctx, 60*time.Second)
				cmds, err := p.Exec(octx)
				cancel()
				if err == nil {
					for _, cmd := range cmds {
						if err = cmd.Err(); err != nil {
							break
						}
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("load keys %d..%d on %s: %w", from, to, addr, err)
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return time.Since(start), firstErr
	}
	return time.Since(start), ctx.Err()
}

func dbsize(ctx context.Context, addr string) int64 {
	c := redis.NewClient(RedisOptions(addr, 1))
	defer c.Close()
	n, _ := c.DBSize(ctx).Result()
	return n
}

func mem(procs Procs, name string) bench.NodeMem {
	m := bench.NodeMem{Node: name}
	if pid, err := procs.PID(name); err == nil {
		if x, err := ReadMem(pid); err == nil {
			m.RSSBefore, m.AnonBefore = x.RSS, x.Anon
		}
	}
	return m
}

func memAfter(procs Procs, m *bench.NodeMem) {
	if pid, err := procs.PID(m.Node); err == nil {
		if x, err := ReadMem(pid); err == nil {
			m.RSSAfter, m.AnonAfter = x.RSS, x.Anon
		}
	}
	if d, err := DiskUsage(procs.DataDir(m.Node)); err == nil {
		m.DiskBytes = d
	}
}

// ScaleRedis loads the keys into one Redis server.
func ScaleRedis(ctx context.Context, system string, n Node, procs Procs, spec ScaleSpec) bench.Scale {
	res := bench.Scale{System: system, Keys: spec.Keys, ValueSize: spec.ValueSize}
	m := mem(procs, n.Name)
	m.Role = "single"
	took, err := LoadKeys(ctx, n.Addr, spec)
	res.LoadSeconds = took.Seconds()
	if err != nil {
		res.Notes = err.Error()
	}
	time.Sleep(time.Second)
	memAfter(procs, &m)
	res.Nodes = []bench.NodeMem{m}
	res.DBSize = dbsize(ctx, n.Addr)
	log.Printf("scale %s: %d keys in %v, dbsize %d", system, spec.Keys, took.Round(time.Millisecond), res.DBSize)
	return res
}

// ScaleUnderstudy stops one follower, loads the keys through the leader,
// measures every node's memory, restarts the follower and times its catch-up
// (until its applied index equals the leader's).
func ScaleUnderstudy(ctx context.Context, u UnderstudyCluster, procs Procs, spec ScaleSpec) bench.Scale {
	res := bench.Scale{System: bench.SysUnderstudy, Keys: spec.Keys, ValueSize: spec.ValueSize}
	var leader string
	if _, err := poll(ctx, 20*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		var err error
		leader, err = u.Leader(ctx)
		return err == nil, err
	}); err != nil {
		res.Notes = "no leader: " + err.Error()
		return res
	}
	var ln, stopped Node
	var others []Node
	for _, n := range u.Nodes {
		switch {
		case n.Name == leader:
			ln = n
		case stopped.Name == "":
			stopped = n
		default:
			others = append(others, n)
		}
	}
	if err := procs.Stop(stopped.Name); err != nil {
		res.Notes = err.Error()
		return res
	}
	log.Printf("scale understudy: leader %s, stopped follower %s", leader, stopped.Name)
	lm := mem(procs, ln.Name)
	lm.Role = "leader"
	oms := []bench.NodeMem{}
	for _, o := range others {
		m := mem(procs, o.Name)
		m.Role = "follower"
		oms = append(oms, m)
	}
	took, err := LoadKeys(ctx, ln.Addr, spec)
	res.LoadSeconds = took.Seconds()
	if err != nil {
		res.Notes = err.Error()
	}
	time.Sleep(time.Second)
	memAfter(procs, &lm)
	for i := range oms {
		memAfter(procs, &oms[i])
	}
	log.Printf("scale understudy: %d keys in %v", spec.Keys, took.Round(time.Millisecond))

	sm := bench.NodeMem{Node: stopped.Name, Role: "restarted follower"}
	if err := procs.Launch(ctx, stopped.Name); err != nil {
		res.Notes += " " + err.Error()
	} else {
		catch, err := poll(ctx, spec.CatchUpTimeout, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
			ls, err := u.Status(ctx, ln)
			if err != nil {
				return false, err
			}
			fs, err := u.Status(ctx, stopped)
			if err != nil {
				return false, err
			}
			return fs.AppliedIndex >= ls.AppliedIndex, nil
		})
		res.CaughtUp = err == nil
		res.CatchUp = bench.ToMs(catch)
		if err != nil {
			res.Notes += " follower catch-up: " + err.Error()
		}
		log.Printf("scale understudy: %s caught up in %v (ok=%v)", stopped.Name, catch.Round(time.Millisecond), err == nil)
		time.Sleep(500 * time.Millisecond)
		memAfter(procs, &sm)
	}
	res.Nodes = append([]bench.NodeMem{lm}, oms...)
	res.Nodes = append(res.Nodes, sm)
	res.DBSize = dbsize(ctx, ln.Addr)
	return res
}
