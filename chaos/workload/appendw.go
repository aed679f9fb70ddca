package workload

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/understudy/understudy/chaos/checker"
	"github.com/understudy/understudy/chaos/respclient"
)

// Append is the append workload: APPEND key ",token" with unique tokens, and
// GET key to read the whole string back. (Lists would be the natural type;
// APPEND on strings detects lost, duplicated and reordered appends just as
// well, and the reply, the new length, pins where each token landed.)
type Append struct {
	Env       *Env
	Clients   int
	Keys      int
	OpsPerKey int

	ring  *keyRing
	seq   atomic.Int64
	tally tally

	mu  sync.Mutex
	ops []checker.AppendOp
}

func (w *Append) record(op checker.AppendOp) {
	w.mu.Lock()
	w.ops = append(w.ops, op)
	w.mu.Unlock()
}

// Run runs the clients until ctx ends.
func (w *Append) Run(ctx context.Context, seed int64) {
	w.ring = newKeyRing(w.Env.Prefix+"app:", w.Keys, w.OpsPerKey)
	var wg sync.WaitGroup
	for i := range w.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.client(ctx, newSession(w.Env, seed+1000+int64(i), i))
		}()
	}
	wg.Wait()
}

func (w *Append) client(ctx context.Context, s *session) {
	defer s.drop()
	for ctx.Err() == nil {
		key := w.ring.pick(s.rng)
		if s.rng.Float64() < 0.3 {
			r := s.do("GET", key)
			op := checker.AppendOp{Client: s.id, Kind: checker.AppRead, Key: key, Outcome: r.outcome, Call: r.call, Return: r.ret}
			if r.outcome == checker.OK && r.reply.Kind != respclient.Bulk {
				op.Outcome, r.class = checker.Failed, "unexpected reply "+r.reply.String()
			}
			op.Raw = r.reply.Str
			w.tally.add(false, op.Outcome, r.class)
			w.record(op)
			s.after(ctx, r, false)
			continue
		}
		token := fmt.Sprintf("t%d", w.seq.Add(1))
		var r result
		if s.rng.Float64() < w.Env.CutProb {
			r = s.cut("APPEND", key, checker.Sep+token)
		} else {
			r = s.do("APPEND", key, checker.Sep+token)
		}
		op := checker.AppendOp{Client: s.id, Kind: checker.AppAppend, Key: key, Token: token, Outcome: r.outcome, Call: r.call, Return: r.ret}
		if r.outcome == checker.OK {
			if r.reply.Kind != respclient.Int {
				op.Outcome, r.class = checker.Unknown, "unexpected reply "+r.reply.String()
			}
			op.Length = r.reply.Int
		}
		w.tally.add(true, op.Outcome, r.class)
		w.record(op)
		s.after(ctx, r, true)
	}
}

// Final reads every key used, once the cluster has healed.
func (w *Append) Final(ctx context.Context) (missing int) {
	for _, key := range w.ring.keys() {
		r, ok := finalRead(ctx, w.Env, key)
		if !ok || r.reply.Kind != respclient.Bulk {
			missing++
			continue
		}
		w.record(checker.AppendOp{Client: -1, Kind: checker.AppRead, Key: key, Raw: r.reply.Str, Outcome: checker.OK, Call: r.call, Return: r.ret, Final: true})
	}
	return missing
}

// Ops is the recorded history.
func (w *Append) Ops() []checker.AppendOp {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]checker.AppendOp(nil), w.ops...)
}

// Summary is the workload's counts for the report.
func (w *Append) Summary() checker.WorkloadSummary {
	return w.tally.summary("append", w.Clients, []string{"APPEND of unique tokens on string keys (lists are not implemented yet)"})
}
