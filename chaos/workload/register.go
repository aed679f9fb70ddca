package workload

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/chaos/checker"
	"github.com/understudy/understudy/chaos/respclient"
)

// Register is the register workload: GET, SET and compare-and-set through
// WATCH/MULTI/EXEC on a few keys, every value written unique.
type Register struct {
	Env       *Env
	Clients   int
	Keys      int // keys in use at a time
	OpsPerKey int // operations before a slot moves to a fresh key
	// DB, when not 0, is the database every other client (the odd ones)
	// SELECTs on each connection; its keys are named apart from db 0's.
	DB int

	cas    atomic.Bool
	ring   *keyRing
	dbRing *keyRing
	seq    atomic.Int64
	tally  tally

	ops   history[checker.RegisterOp]
	notes history[string]
}

// ProbeCAS finds out whether the server has transactions: WATCH, MULTI and
// DISCARD on a scratch key. An "unknown command" disables CAS operations
// (with a note in the report); any other failure is retried until ctx ends.
func (w *Register) ProbeCAS(ctx context.Context) bool {
	s := newSession(w.Env, 7, 0)
	defer s.drop()
	for ctx.Err() == nil {
		ok, definite := w.probeOnce(s)
		if definite {
			w.cas.Store(ok)
			if !ok {
				w.notes.add("CAS (WATCH/MULTI/EXEC) skipped: the server answered \"unknown command\"; only reads and writes were checked")
			}
			return ok
		}
		s.next()
		sleep(ctx, 200*time.Millisecond)
	}
	return false
}

func (w *Register) probeOnce(s *session) (ok, definite bool) {
	for _, cmd := range [][]string{{"WATCH", w.Env.Prefix + "probe"}, {"MULTI"}, {"DISCARD"}} {
		r := s.do(cmd...)
		if respclient.IsUnknownCommand(r.reply) {
			return false, true
		}
		if r.outcome != checker.OK {
			return false, false
		}
	}
	return true, true
}

// Run runs the clients until ctx ends.
func (w *Register) Run(ctx context.Context, seed int64) {
	w.ring = newKeyRing(w.Env.Prefix+"reg:", w.Keys, w.OpsPerKey)
	w.dbRing = newKeyRing(fmt.Sprintf("%sreg:db%d:", w.Env.Prefix, w.DB), w.Keys, w.OpsPerKey)
	runClients(w.Clients, func(i int) {
		s := newSession(w.Env, seed+int64(i), i)
		if i%2 == 1 {
			s.db = w.DB
		}
		w.client(ctx, s)
	})
}

func (w *Register) client(ctx context.Context, s *session) {
	defer s.drop()
	ring := w.ring
	if s.db != 0 {
		ring = w.dbRing
	}
	for ctx.Err() == nil {
		key := ring.pick(s.rng)
		p := s.rng.Float64()
		switch {
		case p < 0.45:
			w.read(ctx, s, key)
		case p < 0.8 || !w.cas.Load():
			w.write(ctx, s, key)
		default:
			w.compareAndSet(ctx, s, key)
		}
	}
}

func (w *Register) value(client int) string {
	return fmt.Sprintf("v%d-c%d", w.seq.Add(1), client)
}

func (w *Register) read(ctx context.Context, s *session, key string) {
	r := s.do("GET", key)
	op := checker.RegisterOp{Client: s.id, Kind: checker.RegRead, Key: key, Outcome: r.outcome, Call: r.call, Return: r.ret}
	if r.outcome == checker.OK {
		if r.reply.Kind != respclient.Bulk {
			op.Outcome, r.class = checker.Failed, "unexpected reply "+r.reply.String()
		}
		op.Value = r.reply.Str
	}
	w.tally.add(false, op.Outcome, r.class)
	w.ops.add(op)
	s.after(ctx, r, false)
}

func (w *Register) write(ctx context.Context, s *session, key string) {
	v := w.value(s.id)
	r := s.write("SET", key, v)
	w.tally.add(true, r.outcome, r.class)
	w.ops.add(checker.RegisterOp{Client: s.id, Kind: checker.RegWrite, Key: key, Value: v, Outcome: r.outcome, Call: r.call, Return: r.ret})
	s.after(ctx, r, true)
}

// compareAndSet runs WATCH key; GET key; MULTI; SET key new; EXEC on one
// connection. Anything going wrong before EXEC is sent means nothing was
// executed; the connection is then closed, which also drops the WATCH.
func (w *Register) compareAndSet(ctx context.Context, s *session, key string) {
	fail := func(r result) {
		s.drop()
		w.tally.add(true, checker.Failed, r.class)
		s.after(ctx, result{outcome: checker.Failed}, true)
	}
	if r := s.do("WATCH", key); r.outcome != checker.OK {
		if respclient.IsUnknownCommand(r.reply) && w.cas.CompareAndSwap(true, false) {
			w.notes.add("CAS disabled during the run: WATCH answered \"unknown command\"")
		}
		fail(r)
		return
	}
	g := s.do("GET", key)
	if g.outcome != checker.OK || g.reply.Kind != respclient.Bulk {
		fail(g)
		return
	}
	w.ops.add(checker.RegisterOp{Client: s.id, Kind: checker.RegRead, Key: key, Value: g.reply.Str, Outcome: checker.OK, Call: g.call, Return: g.ret})
	w.tally.add(false, checker.OK, "")

	v := w.value(s.id)
	op := checker.RegisterOp{Client: s.id, Kind: checker.RegCAS, Key: key, Value: v, From: g.reply.Str, Call: w.Env.Now()}
	for _, cmd := range [][]string{{"MULTI"}, {"SET", key, v}} {
		r := s.do(cmd...)
		if r.outcome != checker.OK {
			op.Outcome, op.Return = checker.Failed, r.ret
			w.ops.add(op) // its value must never be read (I5)
			fail(r)
			return
		}
	}
	r := s.do("EXEC")
	op.Return = r.ret
	switch {
	case r.err != nil:
		op.Outcome = checker.Unknown
	case r.reply.Kind == respclient.Array && r.reply.Nil:
		op.Outcome, op.Result = checker.OK, checker.CASAborted
	case r.reply.Kind == respclient.Array && len(r.reply.Elems) == 1 && !r.reply.Elems[0].IsError():
		op.Outcome, op.Result = checker.OK, checker.CASApplied
	case r.reply.Kind == respclient.Array && len(r.reply.Elems) == 1:
		op.Outcome = checker.Outcome(respclient.Classify(r.reply.Elems[0], nil))
		r.class = "EXEC element: " + respclient.ErrorClass(r.reply.Elems[0], nil)
	case r.reply.IsError():
		op.Outcome = r.outcome
	default:
		op.Outcome, r.class = checker.Unknown, "unexpected EXEC reply "+r.reply.String()
	}
	if op.Outcome != checker.OK {
		s.drop()
	}
	r.outcome = op.Outcome
	w.tally.add(true, op.Outcome, r.class)
	w.ops.add(op)
	s.after(ctx, r, true)
}

// Final reads every key used, once the cluster has healed, each in its
// database.
func (w *Register) Final(ctx context.Context) (missing int) {
	for _, in := range []struct {
		db   int
		ring *keyRing
	}{{0, w.ring}, {w.DB, w.dbRing}} { // with DB 0 the second ring is unused
		for _, key := range in.ring.keys() {
			r, ok := finalReadIn(ctx, w.Env, in.db, "GET", key)
			if !ok || r.reply.Kind != respclient.Bulk {
				missing++
				continue
			}
			w.ops.add(checker.RegisterOp{Client: w.Env.NewClientID(), Kind: checker.RegRead, Key: key, Value: r.reply.Str,
				Outcome: checker.OK, Call: r.call, Return: r.ret, Final: true})
		}
	}
	return missing
}

// Ops is the recorded history.
func (w *Register) Ops() []checker.RegisterOp { return w.ops.all() }

// Summary is the workload's counts for the report.
func (w *Register) Summary() checker.WorkloadSummary {
	notes := w.notes.all()
	if w.cas.Load() {
		notes = append(notes, "CAS through WATCH/MULTI/EXEC enabled")
	}
	if w.DB != 0 && w.Clients > 1 {
		notes = append(notes, fmt.Sprintf("%d of %d clients in db %d (SELECT on every connection), on keys of their own", w.Clients/2, w.Clients, w.DB))
	}
	return w.tally.summary("register", w.Clients, dedupe(notes))
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] && strings.TrimSpace(s) != "" {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
