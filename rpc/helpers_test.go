package rpc_test

// Test harness for the admin API: real TCP Raft clusters started in-process
// with server.Start (bolt stores in t.TempDir()), polling helpers, writers
// that record every acknowledged write, and a small RESP2 client.
//
// The RESP client is written here rather than taken from go-redis so that
// these tests do not depend on go.mod carrying go-redis, and so that every
// retry it makes is counted and can be asserted on. It retries as go-redis
// does with its defaults: a TRYAGAIN reply, or a connection that closed,
// broke or timed out, is retried up to three times with a short exponential
// back-off on a redialled connection.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/understudy/understudy/fsm"
	"github.com/understudy/understudy/internal/testcluster"
	"github.com/understudy/understudy/rpc"
	"github.com/understudy/understudy/server"
)

// ---------------------------------------------------------------------------
// Nodes and clusters: the one test harness (internal/testcluster), over TCP
// with bolt stores in t.TempDir().

type (
	tnode    = testcluster.Node
	tcluster = testcluster.Cluster
)

// newCluster prepares an empty cluster named name (it prefixes log lines);
// opts change every node's configuration. Nodes are stopped when the test ends.
func newCluster(t *testing.T, name string, opts ...func(*server.Config)) *tcluster {
	t.Helper()
	return testcluster.New(t, name, clusterOpts(opts)...)
}

// startCluster starts n nodes n1..nN bootstrapped as one cluster. It does not
// wait for a leader: see Leader.
func startCluster(t *testing.T, name string, n int, opts ...func(*server.Config)) *tcluster {
	t.Helper()
	return testcluster.Start(t, n, append(clusterOpts(opts), testcluster.Named(name))...)
}

func clusterOpts(fns []func(*server.Config)) []testcluster.Option {
	// Real stores fsync: on a loaded machine a 100ms lease is lost under
	// load, which these tests (about the admin API, not elections) do not
	// want.
	opts := []testcluster.Option{testcluster.RealStores(), testcluster.StableTiming()}
	for _, fn := range fns {
		opts = append(opts, testcluster.WithConfig(fn))
	}
	return opts
}

// adminAddrs lists the admin addresses of the given nodes, comma-separated.
func adminAddrs(nodes []*tnode) string {
	var as []string
	for _, n := range nodes {
		as = append(as, n.AdminAddr())
	}
	return strings.Join(as, ",")
}

// waitAddrsKnown waits until the replicated metadata on every live member
// holds every member's own client and admin address (followers register
// theirs with the leader about once a second).
func waitAddrsKnown(t *testing.T, c *tcluster) {
	t.Helper()
	testcluster.WaitFor(t, 10*time.Second, func() bool {
		l := testcluster.ReadyLeader(c.Nodes)
		return l != nil && testcluster.MetaRecorded(c.Members(l))
	}, "cluster %s: members' addresses not recorded everywhere: %s", c.Name, c.Describe())
}

func waitFor(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	testcluster.WaitFor(t, timeout, cond, msg, args...)
}

func freeAddr(t testing.TB) string { return testcluster.FreeAddr(t) }

func poll(timeout time.Duration, cond func() bool) bool { return testcluster.Poll(timeout, cond) }

// adminClient returns a client for addrs with the given token and short deadlines.
func adminClient(addrs, token string) *rpc.Client {
	c := rpc.NewClient(addrs, token)
	c.Timeout = 10 * time.Second
	c.StreamTimeout = 20 * time.Second
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ---------------------------------------------------------------------------
// Data

// valueFor is the value every test writes under key, so any copy of the data
// can be checked without remembering what was written.
func valueFor(key string) string { return "v:" + key }

// fsmGet reads key straight from a node's state machine: (value, present).
func fsmGet(n *tnode, key string) (string, bool) {
	v := n.S.Node.FSM().Read(0, time.Now().UnixMilli(), 0, [][]byte{[]byte("GET"), []byte(key)})
	if v.Kind != fsm.KindBulk {
		return "", false
	}
	return string(v.Str), true
}

// loadKeys writes keys prefix-0..prefix-(count-1) through addr in pipelines;
// every ttlEvery-th key gets an expiry a day ahead. It returns the keys (all
// acknowledged) and the subset with a TTL.
func loadKeys(t testing.TB, addr, prefix string, count, ttlEvery int) (keys, withTTL []string) {
	t.Helper()
	c := dialRESP(addr)
	defer c.Close()
	for start := 0; start < count; start += 100 {
		var cmds [][]string
		var batch []string
		for i := start; i < min(start+100, count); i++ {
			k := fmt.Sprintf("%s-%05d", prefix, i)
			cmd := []string{"SET", k, valueFor(k)}
			if ttlEvery > 0 && i%ttlEvery == 0 {
				cmd = append(cmd, "EX", "86400")
				withTTL = append(withTTL, k)
			}
			cmds = append(cmds, cmd)
			batch = append(batch, k)
		}
		rs, err := c.Pipeline(cmds)
		if err != nil {
			t.Fatalf("load %s: %v", addr, err)
		}
		for i, r := range rs {
			if !r.OK() { // retry one by one (TRYAGAIN)
				r2, err := c.Do(cmds[i]...)
				if err != nil || !r2.OK() {
					t.Fatalf("load %s: SET %s: %v %v", addr, batch[i], r, err)
				}
			}
		}
		keys = append(keys, batch...)
	}
	return keys, withTTL
}

// checkValues reads keys through addr with MGET and fails the test for any
// key missing or holding another value than valueFor(key).
func checkValues(t testing.TB, addr string, keys []string) {
	t.Helper()
	c := dialRESP(addr)
	defer c.Close()
	var missing []string
	for start := 0; start < len(keys); start += 200 {
		batch := keys[start:min(start+200, len(keys))]
		r, err := c.Do(append([]string{"MGET"}, batch...)...)
		if err != nil || r.Kind != '*' || len(r.Arr) != len(batch) {
			t.Fatalf("MGET through %s: %v %v", addr, r, err)
		}
		for i, v := range r.Arr {
			if v.Null || v.Str != valueFor(batch[i]) {
				missing = append(missing, fmt.Sprintf("%s=%s", batch[i], v))
			}
		}
	}
	if len(missing) > 0 {
		t.Fatalf("through %s: %d of %d keys missing or wrong, e.g. %v", addr, len(missing), len(keys), missing[:min(10, len(missing))])
	}
}

// writers run concurrent SETs of unique keys and remember which were
// acknowledged (+OK), and when.
type writers struct {
	t      testing.TB
	prefix string
	stop   chan struct{}
	wg     sync.WaitGroup

	mu    sync.Mutex
	acked []string // in acknowledgement order

	attempts, tryagain, uncertain, other atomic.Int64
	// relayLost counts UNCERTAIN replies a follower gave because its
	// connection to the leader closed under a forwarded write.
	relayLost atomic.Int64
	firstErrs sync.Map // kind -> first message
	retries   sync.Map // reason -> *atomic.Int64
}

// retried counts the retries made for reason.
func (w *writers) retried(reason string) int64 {
	v, ok := w.retries.Load(reason)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

// startWriters starts one writer per address (addresses may repeat).
func startWriters(t testing.TB, prefix string, addrs []string) *writers {
	w := &writers{t: t, prefix: prefix, stop: make(chan struct{})}
	for i, addr := range addrs {
		w.wg.Add(1)
		go w.run(i, addr)
	}
	t.Cleanup(w.halt)
	return w
}

func (w *writers) run(i int, addr string) {
	defer w.wg.Done()
	c := dialRESP(addr)
	c.OnRetry = func(reason string) {
		v, _ := w.retries.LoadOrStore(reason, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	defer c.Close()
	for seq := 0; ; seq++ {
		select {
		case <-w.stop:
			return
		default:
		}
		k := fmt.Sprintf("%s-%d-%07d", w.prefix, i, seq)
		w.attempts.Add(1)
		r, err := c.Do("SET", k, valueFor(k))
		switch {
		case err == nil && r.OK():
			w.mu.Lock()
			w.acked = append(w.acked, k)
			w.mu.Unlock()
		case err != nil:
			w.other.Add(1)
			w.firstErrs.LoadOrStore("transport", fmt.Sprintf("writer %d on %s: %v", i, addr, err))
		case r.ErrPrefix("TRYAGAIN"):
			w.tryagain.Add(1)
			w.firstErrs.LoadOrStore("TRYAGAIN", fmt.Sprintf("writer %d on %s: %s", i, addr, r.Str))
		case r.ErrPrefix("UNCERTAIN"):
			w.uncertain.Add(1)
			if strings.Contains(r.Str, "leader connection lost") {
				w.relayLost.Add(1)
			}
			w.firstErrs.LoadOrStore("UNCERTAIN", fmt.Sprintf("writer %d on %s: %s", i, addr, r.Str))
		default:
			w.other.Add(1)
			w.firstErrs.LoadOrStore("other", r.String())
		}
	}
}

// ackedCount is how many writes have been acknowledged so far.
func (w *writers) ackedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// ackedKeys returns a copy of the keys acknowledged so far.
func (w *writers) ackedKeys() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.acked...)
}

// waitMore waits until n more writes have been acknowledged than now.
func (w *writers) waitMore(n int) {
	w.t.Helper()
	base := w.ackedCount()
	waitFor(w.t, 10*time.Second, func() bool { return w.ackedCount() >= base+n },
		"writers %s: fewer than %d more writes acknowledged (%s)", w.prefix, n, w.summary())
}

func (w *writers) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
}

func (w *writers) summary() string {
	s := fmt.Sprintf("attempts=%d acked=%d tryagain_after_retries=%d uncertain=%d other=%d",
		w.attempts.Load(), w.ackedCount(), w.tryagain.Load(), w.uncertain.Load(), w.other.Load())
	var retries []string
	w.retries.Range(func(k, v any) bool {
		retries = append(retries, fmt.Sprintf("%s: %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	sort.Strings(retries)
	if len(retries) > 0 {
		s += "; retried after " + strings.Join(retries, ", ")
	}
	var kinds []string
	w.firstErrs.Range(func(k, v any) bool {
		kinds = append(kinds, fmt.Sprintf("%s: %q", k, v))
		return true
	})
	sort.Strings(kinds)
	if len(kinds) > 0 {
		s += "; first errors: " + strings.Join(kinds, "; ")
	}
	return s
}

// ---------------------------------------------------------------------------
// RESP client

// respTimeout bounds every RESP call, like go-redis's default read and write
// timeouts: a reply that never comes is an error, not a hung test.
const respTimeout = 3 * time.Second

// dialRESP is a client of addr that retries as go-redis does by default
// (three retries after TRYAGAIN or a broken connection, redialling), so
// these tests see what a go-redis user would and can count every retry.
func dialRESP(addr string) *testcluster.Client {
	c := testcluster.NewClient(addr)
	c.Timeout, c.MaxRetries = respTimeout, 3
	return c
}
