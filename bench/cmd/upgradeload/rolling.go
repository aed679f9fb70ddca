package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/understudy/understudy/server/upgradetest"
)

// The rolling upgrade's load (scripts/rolling-upgrade.sh): clients as
// applications run them, with go-redis's default retries, each writing
// unique keys and recording which writes were acknowledged.
//
// What counts as an error: a command that fails after the client's own
// retries (an error reply or a broken connection go-redis gave up on). A
// TRYAGAIN or a closed connection that go-redis retried past is not one:
// the application never saw it. A pause is one command's time from the
// call to its result, retries included; max_pause is the longest.

// loadKeyPrefix starts every key the load writes; verify leaves them out
// of the comparison with the seed manifest.
const loadKeyPrefix = "roll:"

// loadResult is what load leaves for verify.
type loadResult struct {
	Acked      int      `json:"acked"`
	Errors     int      `json:"errors"`
	FirstErrs  []string `json:"first_errors,omitempty"`
	MaxPause   string   `json:"max_pause"`
	MaxPauseBy string   `json:"max_pause_by,omitempty"`
}

type loadStats struct {
	mu         sync.Mutex
	acked      []string
	errors     int
	firstErrs  []string
	maxPause   time.Duration
	maxPauseBy string
}

func (s *loadStats) record(worker, key string, started time.Time, took time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if took > s.maxPause {
		s.maxPause = took
		s.maxPauseBy = fmt.Sprintf("%s at %s (%s)", worker, started.Format("15:04:05.000"), key)
	}
	if err == nil {
		s.acked = append(s.acked, key)
		return
	}
	s.errors++
	if len(s.firstErrs) < 20 {
		s.firstErrs = append(s.firstErrs, fmt.Sprintf("%s %s %s: %v", started.Format("15:04:05.000"), worker, key, err))
	}
}

// spreadDialer dials home first and, when it refuses, the other nodes in
// turn: a plain client behind a load balancer that skips a node that is
// down (a Kubernetes Service skips a pod that is not ready).
func spreadDialer(home int, addrs []string) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		d := net.Dialer{Timeout: time.Second}
		var errs []error
		for i := range addrs {
			c, err := d.DialContext(ctx, network, addrs[(home+i)%len(addrs)])
			if err == nil {
				return c, nil
			}
			errs = append(errs, err)
		}
		return nil, fmt.Errorf("no node accepts: %v", errs)
	}
}

// load runs the writers until it is signalled, then writes the acknowledged
// keys (one a line) and the result.
func load(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	nodes := fs.String("nodes", "", "client addresses of the nodes, comma-separated")
	master := fs.String("sentinel-name", "understudy", "master name the nodes answer SENTINEL with")
	failovers := fs.Int("failover", 2, "writers through one go-redis FailoverClient")
	plain := fs.Int("plain", 2, "writers through plain clients per node")
	interval := fs.Duration("interval", 5*time.Millisecond, "pause between one writer's writes")
	ackedOut := fs.String("acked", "", "write the acknowledged keys here")
	resultOut := fs.String("result", "", "write the result (JSON) here")
	ready := fs.String("ready", "", "create this file once every writer has had a write acknowledged")
	if err := fs.Parse(args); err != nil {
		return err
	}
	addrs := split(*nodes)
	if len(addrs) == 0 || *ackedOut == "" || *resultOut == "" {
		return fmt.Errorf("need --nodes, --acked and --result")
	}
	fc := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: *master, SentinelAddrs: addrs})
	defer fc.Close()
	type writer struct {
		name string
		c    *redis.Client
	}
	var writers []writer
	for i := range *failovers {
		writers = append(writers, writer{fmt.Sprintf("failover%d", i), fc})
	}
	for n, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a, Dialer: spreadDialer(n, addrs)})
		defer c.Close()
		for i := range *plain {
			writers = append(writers, writer{fmt.Sprintf("plain-n%d-%d", n+1, i), c})
		}
	}
	st := &loadStats{}
	var wg, first sync.WaitGroup
	first.Add(len(writers))
	for _, w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(*interval)
			defer t.Stop()
			seen := false
			for seq := 0; ; seq++ {
				select {
				case <-ctx.Done():
					if !seen {
						first.Done()
					}
					return
				case <-t.C:
				}
				key := fmt.Sprintf("%s%s:%d", loadKeyPrefix, w.name, seq)
				// Not ctx: a write in flight when the load stops runs to its end.
				cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				start := time.Now()
				err := w.c.Set(cctx, key, loadValue(key), 0).Err()
				took := time.Since(start)
				cancel()
				st.record(w.name, key, start, took, err)
				if err == nil && !seen {
					seen = true
					first.Done()
				}
			}
		}()
	}
	if *ready != "" {
		go func() {
			first.Wait()
			if ctx.Err() == nil {
				_ = os.WriteFile(*ready, nil, 0o644)
			}
		}()
	}
	wg.Wait()
	st.mu.Lock()
	defer st.mu.Unlock()
	f, err := os.Create(*ackedOut)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	for _, k := range st.acked {
		fmt.Fprintln(bw, k)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	r := loadResult{Acked: len(st.acked), Errors: st.errors, FirstErrs: st.firstErrs,
		MaxPause: st.maxPause.Round(time.Millisecond).String(), MaxPauseBy: st.maxPauseBy}
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	log.Printf("load: %d writes acknowledged, %d errors, longest pause %s by %s", r.Acked, r.Errors, r.MaxPause, r.MaxPauseBy)
	return os.WriteFile(*resultOut, b, 0o644)
}

// loadValue is what the load writes at key.
func loadValue(key string) string { return "v:" + key }

// seed writes the data set of server/upgradetest (every type, TTLs,
// deletions, transactions) through the leader and saves its manifest.
func seed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	nodes := fs.String("nodes", "", "client addresses of the nodes, comma-separated")
	madeWith := fs.String("made-with", "", "the build that serves the cluster")
	out := fs.String("manifest", "", "write the manifest here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	addrs := split(*nodes)
	if len(addrs) < 2 || *out == "" {
		return fmt.Errorf("need --nodes (2 or more) and --manifest")
	}
	li, err := waitLeader(ctx, addrs, 30*time.Second)
	if err != nil {
		return err
	}
	leader, other := direct(addrs[li]), direct(addrs[(li+1)%len(addrs)])
	defer leader.Close()
	defer other.Close()
	w := &upgradetest.Writer{C: leader, Other: other}
	if err := w.Populate(ctx, "seed"); err != nil {
		return err
	}
	m, err := upgradetest.Dump(ctx, leader, w.Absent)
	if err != nil {
		return err
	}
	m.MadeWith = *madeWith
	log.Printf("seed: %d keys, %d absent", len(m.Keys), len(m.Absent))
	return m.Save(*out)
}

// readKeys reads keys from one node's own state (READONLY: a follower
// answers from what it applied rather than forwarding) and returns those
// missing or holding another value.
func readKeys(ctx context.Context, addr string, keys []string) ([]string, error) {
	o := patientOptions(addr)
	o.PoolSize = 1
	o.OnConnect = func(ctx context.Context, cn *redis.Conn) error { return cn.ReadOnly(ctx).Err() }
	c := redis.NewClient(o)
	defer c.Close()
	var bad []string
	for len(keys) > 0 {
		n := min(len(keys), 500)
		vals, err := c.MGet(ctx, keys[:n]...).Result()
		if err != nil {
			return nil, fmt.Errorf("%s: MGET: %w", addr, err)
		}
		for i, v := range vals {
			if s, ok := v.(string); !ok || s != loadValue(keys[i]) {
				bad = append(bad, keys[i])
			}
		}
		keys = keys[n:]
	}
	return bad, nil
}

// patient is a client for the checks, not the load: it rides out an
// election (a leader on a loaded machine can lose its lease while the
// checks read), retrying for several seconds.
func patient(addr string) *redis.Client { return redis.NewClient(patientOptions(addr)) }

func patientOptions(addr string) *redis.Options {
	return &redis.Options{Addr: addr, MaxRetries: 15, MinRetryBackoff: 100 * time.Millisecond, MaxRetryBackoff: time.Second}
}

// readLines reads a file of one item a line.
func readLines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}
