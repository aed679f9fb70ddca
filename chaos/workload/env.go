// Package workload runs the chaos suite's clients against a cluster and
// records their histories for the checker: one goroutine per logical client,
// one operation at a time, call and return times on one monotonic base.
package workload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/chaos/checker"
	"github.com/understudy/understudy/chaos/respclient"
)

// Env is what every client shares.
type Env struct {
	Base      time.Time     // time zero of every recorded time
	Addrs     []string      // RESP addresses of the nodes, tried in turn
	OpTimeout time.Duration // deadline of one request
	Pace      time.Duration // clients sleep up to this long between operations
	CutProb   float64       // chance that a write's connection is cut right after sending (F13)
	Prefix    string        // key prefix, unique per run
	Log       *slog.Logger

	ids       atomic.Int64
	successes successes
}

// Now is the time since Base in nanoseconds (monotonic).
func (e *Env) Now() int64 { return int64(time.Since(e.Base)) }

// NewClientID returns a porcupine client id not used before.
func (e *Env) NewClientID() int { return int(e.ids.Add(1) - 1) }

// Successes returns the sorted return times of every successful write.
func (e *Env) Successes() []int64 { return e.successes.sorted() }

type successes struct {
	mu sync.Mutex
	ts []int64
}

func (s *successes) add(t int64) {
	s.mu.Lock()
	s.ts = append(s.ts, t)
	s.mu.Unlock()
}

func (s *successes) sorted() []int64 {
	s.mu.Lock()
	out := append([]int64(nil), s.ts...)
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// tally is a workload's outcome counts, shared by its clients.
type tally struct {
	mu     sync.Mutex
	counts checker.Counts
	writes checker.Counts
	errors map[string]int
}

func (t *tally) add(write bool, o checker.Outcome, class string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts.Add(o)
	if write {
		t.writes.Add(o)
	}
	if class != "" {
		if t.errors == nil {
			t.errors = map[string]int{}
		}
		t.errors[class]++
	}
}

func (t *tally) summary(name string, clients int, notes []string) checker.WorkloadSummary {
	t.mu.Lock()
	defer t.mu.Unlock()
	errs := map[string]int{}
	for k, v := range t.errors {
		errs[k] = v
	}
	return checker.WorkloadSummary{Name: name, Clients: clients, Counts: t.counts, Writes: t.writes, Errors: errs, Notes: notes}
}

// history is what a workload records of one kind (its operations, its
// notes for the report), appended to by its clients concurrently.
type history[T any] struct {
	mu   sync.Mutex
	list []T
}

func (h *history[T]) add(v T) {
	h.mu.Lock()
	h.list = append(h.list, v)
	h.mu.Unlock()
}

// all is a copy of what was recorded so far.
func (h *history[T]) all() []T {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]T(nil), h.list...)
}

// runClients runs client(i) for every i below n, each in a goroutine of its
// own, and returns once all have returned.
func runClients(n int, client func(i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { client(i) })
	}
	wg.Wait()
}

// session is one logical client's connection to the cluster.
type session struct {
	env  *Env
	rng  *rand.Rand
	addr int
	conn *respclient.Conn
	id   int // porcupine client id; replaced after an unknown outcome
	db   int // database every connection SELECTs first (0: the default)
}

func newSession(env *Env, seed int64, first int) *session {
	return &session{env: env, rng: rand.New(rand.NewSource(seed)), addr: first % len(env.Addrs), id: env.NewClientID()}
}

// connect dials the current address if there is no live connection, and
// SELECTs the session's database on it; a failure moves on to the next
// address (nothing of the operation was sent).
func (s *session) connect() error {
	if s.conn != nil && !s.conn.Broken() {
		return nil
	}
	addr := s.env.Addrs[s.addr]
	c, err := respclient.Dial(addr, time.Second)
	if err != nil {
		s.next()
		return err
	}
	if s.db != 0 {
		r, err := c.Do(s.env.OpTimeout, "SELECT", strconv.Itoa(s.db))
		if err == nil && r.IsError() {
			err = errors.New(r.Str)
		}
		if err != nil {
			c.Close()
			s.next()
			return fmt.Errorf("SELECT %d: %w", s.db, err)
		}
	}
	s.conn = c
	return nil
}

// next drops the connection and moves to the next node.
func (s *session) next() {
	s.drop()
	s.addr = (s.addr + 1) % len(s.env.Addrs)
}

func (s *session) drop() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// result is one request's reply with its times and classification.
type result struct {
	reply     respclient.Reply
	err       error
	call, ret int64
	outcome   checker.Outcome
	class     string
}

// do sends one request and classifies the answer. A broken connection is
// dropped (and the next node tried next time); TRYAGAIN makes the client
// back off briefly.
func (s *session) do(args ...string) result {
	if err := s.connect(); err != nil {
		t := s.env.Now()
		return result{err: err, call: t, ret: t, outcome: checker.Failed, class: respclient.ErrorClass(respclient.Reply{}, err)}
	}
	var r result
	r.call = s.env.Now()
	r.reply, r.err = s.conn.Do(s.env.OpTimeout, args...)
	r.ret = s.env.Now()
	r.outcome = checker.Outcome(respclient.Classify(r.reply, r.err))
	r.class = respclient.ErrorClass(r.reply, r.err)
	if r.err != nil {
		s.next()
	}
	return r
}

// write sends a write, cut (see cut) with the chance Env.CutProb.
func (s *session) write(args ...string) result {
	if s.cuts() {
		return s.cut(args...)
	}
	return s.do(args...)
}

// cuts draws whether the next write is cut: true with the chance
// Env.CutProb.
func (s *session) cuts() bool { return s.rng.Float64() < s.env.CutProb }

// cut sends a write and closes the connection without reading the reply:
// the client cannot know whether it happened (docs/reliability.md, F13).
func (s *session) cut(args ...string) result {
	if err := s.connect(); err != nil {
		t := s.env.Now()
		return result{err: err, call: t, ret: t, outcome: checker.Failed, class: respclient.ErrorClass(respclient.Reply{}, err)}
	}
	r := result{call: s.env.Now(), outcome: checker.Unknown, class: "cut by client"}
	_ = s.conn.Send(s.env.OpTimeout, args...)
	s.drop()
	r.ret = s.env.Now()
	return r
}

// after records what a finished operation means for the session: an unknown
// outcome retires the porcupine client id (the operation stays open forever),
// a write success is an availability point, failures slow the client down.
func (s *session) after(ctx context.Context, r result, write bool) {
	switch r.outcome {
	case checker.Unknown:
		s.id = s.env.NewClientID()
	case checker.OK:
		if write {
			s.env.successes.add(r.ret)
		}
	case checker.Failed:
		sleep(ctx, time.Duration(20+s.rng.Intn(30))*time.Millisecond)
	}
	if s.env.Pace > 0 {
		sleep(ctx, time.Duration(s.rng.Int63n(int64(s.env.Pace))))
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// keyRing hands out key names per slot, moving a slot to a fresh key after
// perKey operations so that each key's history stays small enough for the
// checker.
type keyRing struct {
	prefix string
	perKey int64
	counts []atomic.Int64
	mu     sync.Mutex
	used   []string
	seen   map[string]bool
}

func newKeyRing(prefix string, slots, perKey int) *keyRing {
	return &keyRing{prefix: prefix, perKey: int64(perKey), counts: make([]atomic.Int64, slots), seen: map[string]bool{}}
}

func (k *keyRing) pick(rng *rand.Rand) string {
	slot := rng.Intn(len(k.counts))
	n := k.counts[slot].Add(1) - 1
	key := k.prefix + strconv.Itoa(slot) + ":" + strconv.FormatInt(n/k.perKey, 10)
	k.mu.Lock()
	if !k.seen[key] {
		k.seen[key] = true
		k.used = append(k.used, key)
	}
	k.mu.Unlock()
	return key
}

func (k *keyRing) keys() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.used...)
}

// finalRead sends a read (GET key, LRANGE key 0 -1) once the cluster has
// healed, trying every node until it succeeds or ctx ends.
func finalRead(ctx context.Context, env *Env, args ...string) (result, bool) {
	return finalReadIn(ctx, env, 0, args...)
}

// finalReadIn is finalRead in database db.
func finalReadIn(ctx context.Context, env *Env, db int, args ...string) (result, bool) {
	s := newSession(env, 1, 0)
	s.db = db
	defer s.drop()
	for ctx.Err() == nil {
		r := s.do(args...)
		if r.outcome == checker.OK {
			return r, true
		}
		s.next()
		sleep(ctx, 100*time.Millisecond)
	}
	return result{}, false
}
