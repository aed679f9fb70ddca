package workload

import (
	"context"
	"strconv"

	"github.com/understudy/understudy/chaos/checker"
	"github.com/understudy/understudy/chaos/respclient"
)

// Counter is the counter workload: INCR and GET on a few keys.
type Counter struct {
	Env     *Env
	Clients int
	Keys    int

	tally tally
	ops   history[checker.CounterOp]
}

func (w *Counter) key(i int) string { return w.Env.Prefix + "cnt:" + strconv.Itoa(i) }

// Run runs the clients until ctx ends.
func (w *Counter) Run(ctx context.Context, seed int64) {
	runClients(w.Clients, func(i int) { w.client(ctx, newSession(w.Env, seed+2000+int64(i), i)) })
}

// parseCount reads a GET reply as a counter: missing is 0.
func parseCount(r respclient.Reply) (int64, bool) {
	if r.Kind != respclient.Bulk {
		return 0, false
	}
	if r.Nil {
		return 0, true
	}
	n, err := strconv.ParseInt(r.Str, 10, 64)
	return n, err == nil
}

func (w *Counter) client(ctx context.Context, s *session) {
	defer s.drop()
	for ctx.Err() == nil {
		key := w.key(s.rng.Intn(w.Keys))
		if s.rng.Float64() < 0.2 {
			r := s.do("GET", key)
			op := checker.CounterOp{Client: s.id, Kind: checker.CntRead, Key: key, Outcome: r.outcome, Call: r.call, Return: r.ret}
			if r.outcome == checker.OK {
				n, ok := parseCount(r.reply)
				if !ok {
					op.Outcome, r.class = checker.Failed, "unexpected reply "+r.reply.String()
				}
				op.Value = n
			}
			w.tally.add(false, op.Outcome, r.class)
			w.ops.add(op)
			s.after(ctx, r, false)
			continue
		}
		r := s.write("INCR", key)
		op := checker.CounterOp{Client: s.id, Kind: checker.CntIncr, Key: key, Outcome: r.outcome, Call: r.call, Return: r.ret}
		if r.outcome == checker.OK {
			if r.reply.Kind != respclient.Int {
				op.Outcome, r.class = checker.Unknown, "unexpected reply "+r.reply.String()
			}
			op.Value = r.reply.Int
		}
		w.tally.add(true, op.Outcome, r.class)
		w.ops.add(op)
		s.after(ctx, r, true)
	}
}

// Final reads every counter once the cluster has healed.
func (w *Counter) Final(ctx context.Context) (missing int) {
	for i := range w.Keys {
		r, ok := finalRead(ctx, w.Env, "GET", w.key(i))
		n, parsed := parseCount(r.reply)
		if !ok || !parsed {
			missing++
			continue
		}
		w.ops.add(checker.CounterOp{Client: -1, Kind: checker.CntRead, Key: w.key(i), Value: n, Outcome: checker.OK, Call: r.call, Return: r.ret, Final: true})
	}
	return missing
}

// Ops is the recorded history.
func (w *Counter) Ops() []checker.CounterOp { return w.ops.all() }

// Summary is the workload's counts for the report.
func (w *Counter) Summary() checker.WorkloadSummary {
	return w.tally.summary("counter", w.Clients, nil)
}
