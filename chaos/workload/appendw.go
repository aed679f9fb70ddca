package workload

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/understudy/understudy/chaos/checker"
	"github.com/understudy/understudy/chaos/respclient"
)

// Append is the append workload: RPUSH key value with values unique in the
// run, and LRANGE key 0 -1 to read the whole list back. The reply to RPUSH,
// the list's new length, pins where each value landed.
type Append struct {
	Env       *Env
	Clients   int
	Keys      int
	OpsPerKey int

	ring  *keyRing
	seq   atomic.Int64
	tally tally

	ops history[checker.AppendOp]
}

// Run runs the clients until ctx ends.
func (w *Append) Run(ctx context.Context, seed int64) {
	w.ring = newKeyRing(w.Env.Prefix+"app:", w.Keys, w.OpsPerKey)
	runClients(w.Clients, func(i int) { w.client(ctx, newSession(w.Env, seed+1000+int64(i), i)) })
}

func (w *Append) client(ctx context.Context, s *session) {
	defer s.drop()
	for ctx.Err() == nil {
		key := w.ring.pick(s.rng)
		if s.rng.Float64() < 0.3 {
			r := s.do("LRANGE", key, "0", "-1")
			op := checker.AppendOp{Client: s.id, Kind: checker.AppRead, Key: key, Outcome: r.outcome, Call: r.call, Return: r.ret}
			if r.outcome == checker.OK {
				list, err := listOf(r.reply)
				if err != nil {
					op.Outcome, r.class = checker.Failed, err.Error()
				}
				op.List = list
			}
			w.tally.add(false, op.Outcome, r.class)
			w.ops.add(op)
			s.after(ctx, r, false)
			continue
		}
		value := fmt.Sprintf("e%d-c%d", w.seq.Add(1), s.id)
		r := s.write("RPUSH", key, value)
		op := checker.AppendOp{Client: s.id, Kind: checker.AppAppend, Key: key, Value: value, Outcome: r.outcome, Call: r.call, Return: r.ret}
		if r.outcome == checker.OK {
			if r.reply.Kind != respclient.Int {
				op.Outcome, r.class = checker.Unknown, "unexpected reply "+r.reply.String()
			}
			op.Length = r.reply.Int
		}
		w.tally.add(true, op.Outcome, r.class)
		w.ops.add(op)
		s.after(ctx, r, true)
	}
}

// Final reads every key used, once the cluster has healed.
func (w *Append) Final(ctx context.Context) (missing int) {
	for _, key := range w.ring.keys() {
		r, ok := finalRead(ctx, w.Env, "LRANGE", key, "0", "-1")
		if !ok {
			missing++
			continue
		}
		list, err := listOf(r.reply)
		if err != nil {
			w.Env.Log.Warn("final read", "key", key, "err", err)
			missing++
			continue
		}
		w.ops.add(checker.AppendOp{Client: -1, Kind: checker.AppRead, Key: key, List: list, Outcome: checker.OK, Call: r.call, Return: r.ret, Final: true})
	}
	return missing
}

// Ops is the recorded history.
func (w *Append) Ops() []checker.AppendOp { return w.ops.all() }

// Summary is the workload's counts for the report.
func (w *Append) Summary() checker.WorkloadSummary {
	return w.tally.summary("append", w.Clients, []string{"RPUSH of unique values, LRANGE 0 -1 of the whole list"})
}

// listOf turns an LRANGE reply into the list it holds (a missing key is an
// empty array).
func listOf(r respclient.Reply) ([]string, error) {
	if r.Kind != respclient.Array || r.Nil {
		return nil, fmt.Errorf("unexpected LRANGE reply %s", r.String())
	}
	out := make([]string, 0, len(r.Elems))
	for _, e := range r.Elems {
		if e.Kind != respclient.Bulk || e.Nil {
			return nil, fmt.Errorf("unexpected LRANGE element %s", e.String())
		}
		out = append(out, e.Str)
	}
	return out, nil
}
