package workload

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/chaos/checker"
	"github.com/understudy/understudy/chaos/respclient"
)

// streamGroup is the one consumer group of every stream.
const streamGroup = "g"

// Stream is the stream workload: producers XADD values unique in the run to
// a few streams while consumers of one consumer group read them
// (XREADGROUP ">" new entries, sometimes blocking; their own pending entries
// with "0"; XAUTOCLAIM of entries left idle by others) and XACK what they
// read. After the run a final consumer drains the group and the whole stream
// is read back with XRANGE (checker.CheckStream says what is checked).
type Stream struct {
	Env       *Env
	Producers int
	Consumers int
	Keys      int // streams, for the whole run

	seq   atomic.Int64
	tally tally
	ready chan struct{} // closed once every stream's group exists

	ops history[checker.StreamOp]
}

func (w *Stream) key(i int) string { return w.Env.Prefix + "str:" + strconv.Itoa(i) }

// Run creates the group on every stream, then runs the producers and
// consumers until ctx ends. Producers start at once: the group is created at
// ID 0, so it delivers whatever was added before it existed.
func (w *Stream) Run(ctx context.Context, seed int64) {
	w.ready = make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		if w.createGroups(ctx, newSession(w.Env, seed+3999, 0)) {
			close(w.ready)
		}
	})
	wg.Go(func() {
		runClients(w.Producers, func(i int) { w.producer(ctx, newSession(w.Env, seed+3000+int64(i), i)) })
	})
	runClients(w.Consumers, func(i int) {
		select {
		case <-ctx.Done():
			return
		case <-w.ready:
		}
		w.consumer(ctx, newSession(w.Env, seed+3500+int64(i), i+1), "c"+strconv.Itoa(i))
	})
	wg.Wait()
}

// createGroups runs XGROUP CREATE key g 0 MKSTREAM on every stream until it
// is acknowledged (BUSYGROUP: an earlier attempt of unknown outcome did it).
func (w *Stream) createGroups(ctx context.Context, s *session) bool {
	defer s.drop()
	for i := 0; i < w.Keys && ctx.Err() == nil; {
		key := w.key(i)
		r := s.do("XGROUP", "CREATE", key, streamGroup, "0", "MKSTREAM")
		busy := r.reply.IsError() && strings.HasPrefix(r.reply.Str, "BUSYGROUP")
		if busy {
			r.outcome, r.class = checker.OK, ""
		}
		w.tally.add(true, r.outcome, r.class)
		w.ops.add(checker.StreamOp{Client: s.id, Kind: checker.StrGroup, Key: key, Outcome: r.outcome, Call: r.call, Return: r.ret})
		s.after(ctx, r, true)
		if r.outcome == checker.OK {
			i++
		}
	}
	return ctx.Err() == nil
}

func (w *Stream) producer(ctx context.Context, s *session) {
	defer s.drop()
	for ctx.Err() == nil {
		key := w.key(s.rng.Intn(w.Keys))
		value := fmt.Sprintf("s%d-c%d", w.seq.Add(1), s.id)
		args := []string{"XADD", key, "*", "v", value}
		r := s.write(args...)
		op := checker.StreamOp{Client: s.id, Kind: checker.StrAdd, Key: key, Value: value, Outcome: r.outcome, Call: r.call, Return: r.ret}
		if r.outcome == checker.OK {
			if r.reply.Kind != respclient.Bulk || r.reply.Nil {
				op.Outcome, r.class = checker.Unknown, "unexpected reply "+r.reply.String()
			}
			op.ID = r.reply.Str
		}
		w.tally.add(true, op.Outcome, r.class)
		w.ops.add(op)
		s.after(ctx, r, true)
	}
}

// consumer reads as one consumer of the group and acknowledges what it
// read, but leaves a tenth of the batches pending for its history reads and
// the others' claims.
func (w *Stream) consumer(ctx context.Context, s *session, name string) {
	defer s.drop()
	for ctx.Err() == nil {
		key := w.key(s.rng.Intn(w.Keys))
		var args []string
		kind := checker.StrNew
		switch p := s.rng.Float64(); {
		case p < 0.4:
			args = []string{"XREADGROUP", "GROUP", streamGroup, name, "COUNT", "10", "STREAMS", key, ">"}
		case p < 0.65:
			// Blocking, well inside the request deadline.
			args = []string{"XREADGROUP", "GROUP", streamGroup, name, "COUNT", "10", "BLOCK", "200", "STREAMS", key, ">"}
		case p < 0.9:
			kind = checker.StrHistory
			args = []string{"XREADGROUP", "GROUP", streamGroup, name, "COUNT", "50", "STREAMS", key, "0"}
		default:
			kind = checker.StrClaim
			args = []string{"XAUTOCLAIM", key, streamGroup, name, "300", "0-0", "COUNT", "20"}
		}
		op := w.deliver(ctx, s, kind, key, name, args, false)
		if op.Outcome != checker.OK || len(op.Entries) == 0 || (kind == checker.StrNew && s.rng.Float64() < 0.1) {
			continue
		}
		ids := make([]string, 0, len(op.Entries))
		for _, e := range op.Entries {
			ids = append(ids, e.ID)
		}
		w.ack(ctx, s, key, name, ids)
	}
}

// deliver sends one XREADGROUP or XAUTOCLAIM and records what it handed out.
func (w *Stream) deliver(ctx context.Context, s *session, kind, key, name string, args []string, final bool) checker.StreamOp {
	var r result
	if !final && s.cuts() {
		r = s.cut(args...)
	} else {
		r = s.do(args...)
	}
	op := checker.StreamOp{Client: s.id, Kind: kind, Key: key, Consumer: name, Outcome: r.outcome, Call: r.call, Return: r.ret, Final: final}
	if r.reply.IsError() && strings.HasPrefix(r.reply.Str, "NOGROUP") {
		op.NoGroup = true
	}
	if r.outcome == checker.OK {
		var err error
		if kind == checker.StrClaim {
			op.Entries, op.ID, err = claimEntries(r.reply)
		} else {
			op.Entries, err = readGroupEntries(r.reply, key)
		}
		if err != nil {
			// A write whose reply makes no sense: it happened, but what it
			// delivered is not known.
			op.Outcome, r.class, op.Entries = checker.Unknown, err.Error(), nil
		}
	}
	w.tally.add(true, op.Outcome, r.class)
	w.ops.add(op)
	r.outcome = op.Outcome
	s.after(ctx, r, true)
	return op
}

func (w *Stream) ack(ctx context.Context, s *session, key, name string, ids []string) {
	args := append([]string{"XACK", key, streamGroup}, ids...)
	r := s.write(args...)
	op := checker.StreamOp{Client: s.id, Kind: checker.StrAck, Key: key, Consumer: name, IDs: ids, Outcome: r.outcome, Call: r.call, Return: r.ret}
	if r.outcome == checker.OK {
		if r.reply.Kind != respclient.Int {
			op.Outcome, r.class = checker.Unknown, "unexpected reply "+r.reply.String()
		}
		op.Acked = r.reply.Int
	}
	w.tally.add(true, op.Outcome, r.class)
	w.ops.add(op)
	r.outcome = op.Outcome
	s.after(ctx, r, true)
}

// readGroupEntries decodes an XREADGROUP reply for one stream: null when
// nothing was there (or a BLOCK timed out), else [[key, [[id, [v, value]] ...]]].
// A history entry whose fields are null was deleted from the stream.
func readGroupEntries(r respclient.Reply, key string) ([]checker.StreamEntry, error) {
	if r.Kind == respclient.Array && r.Nil {
		return nil, nil
	}
	if r.Kind != respclient.Array || len(r.Elems) != 1 || len(r.Elems[0].Elems) != 2 || r.Elems[0].Elems[0].Str != key {
		return nil, fmt.Errorf("unexpected XREADGROUP reply %.80s", r.String())
	}
	return entriesOf(r.Elems[0].Elems[1])
}

// claimEntries decodes XAUTOCLAIM's [cursor, [[id, [v, value]] ...], [deleted id ...]].
func claimEntries(r respclient.Reply) ([]checker.StreamEntry, string, error) {
	if r.Kind != respclient.Array || len(r.Elems) != 3 || r.Elems[0].Kind != respclient.Bulk {
		return nil, "", fmt.Errorf("unexpected XAUTOCLAIM reply %.80s", r.String())
	}
	out, err := entriesOf(r.Elems[1])
	if err != nil {
		return nil, "", err
	}
	for _, d := range r.Elems[2].Elems {
		out = append(out, checker.StreamEntry{ID: d.Str, Deleted: true})
	}
	return out, r.Elems[0].Str, nil
}

// entriesOf decodes [[id, [v, value]] ...] (XRANGE's reply too).
func entriesOf(r respclient.Reply) ([]checker.StreamEntry, error) {
	if r.Kind != respclient.Array || r.Nil {
		return nil, fmt.Errorf("unexpected entry list %.80s", r.String())
	}
	out := make([]checker.StreamEntry, 0, len(r.Elems))
	for _, e := range r.Elems {
		if e.Kind != respclient.Array || len(e.Elems) != 2 || e.Elems[0].Kind != respclient.Bulk {
			return nil, fmt.Errorf("unexpected entry %.80s", e.String())
		}
		f := e.Elems[1]
		switch {
		case f.Kind == respclient.Array && f.Nil:
			out = append(out, checker.StreamEntry{ID: e.Elems[0].Str, Deleted: true})
		case f.Kind == respclient.Array && len(f.Elems) == 2 && f.Elems[0].Str == "v":
			out = append(out, checker.StreamEntry{ID: e.Elems[0].Str, Value: f.Elems[1].Str})
		default:
			return nil, fmt.Errorf("unexpected entry fields %.80s", f.String())
		}
	}
	return out, nil
}

// Final drains the group and reads every stream back, once the cluster has
// healed: a final consumer takes every entry not yet delivered (">" until
// empty), then claims every pending one (XAUTOCLAIM from 0-0 until the
// cursor comes back to 0-0), so every entry has been handed out at least
// once; then XRANGE reads the whole stream in pages.
func (w *Stream) Final(ctx context.Context) (missing int) {
	for i := range w.Keys {
		key := w.key(i)
		if !w.drain(ctx, key) {
			missing++
			continue
		}
		w.ops.add(checker.StreamOp{Client: -1, Kind: checker.StrDrained, Key: key, Outcome: checker.OK, Final: true})
		if !w.readAll(ctx, key) {
			missing++
		}
	}
	return missing
}

// finalDo sends args until it gets an answer that is not an error,
// trying every node. A retried XREADGROUP or XAUTOCLAIM of unknown outcome
// may have delivered entries to the final consumer: the claim sweep after
// it hands them out again.
func (w *Stream) finalDo(ctx context.Context, s *session, kind, key string, args []string) (checker.StreamOp, bool) {
	for ctx.Err() == nil {
		op := w.deliver(ctx, s, kind, key, "final", args, true)
		if op.Outcome == checker.OK {
			return op, true
		}
		s.next()
		sleep(ctx, 100*time.Millisecond)
	}
	return checker.StreamOp{}, false
}

func (w *Stream) drain(ctx context.Context, key string) bool {
	s := newSession(w.Env, 2, 0)
	defer s.drop()
	for {
		op, ok := w.finalDo(ctx, s, checker.StrNew, key, []string{"XREADGROUP", "GROUP", streamGroup, "final", "COUNT", "500", "STREAMS", key, ">"})
		if !ok {
			return false
		}
		if len(op.Entries) == 0 {
			break
		}
	}
	cursor := "0-0"
	for {
		op, ok := w.finalDo(ctx, s, checker.StrClaim, key, []string{"XAUTOCLAIM", key, streamGroup, "final", "0", cursor, "COUNT", "500"})
		if !ok {
			return false
		}
		if cursor = op.ID; cursor == "0-0" {
			return true
		}
	}
}

// readAll reads the whole stream with XRANGE in pages of 1000 and records
// it as one final range.
func (w *Stream) readAll(ctx context.Context, key string) bool {
	all := checker.StreamOp{Client: -1, Kind: checker.StrRange, Key: key, Outcome: checker.OK, Final: true}
	start := "-"
	for first := true; ; first = false {
		r, ok := finalRead(ctx, w.Env, "XRANGE", key, start, "+", "COUNT", "1000")
		if !ok {
			return false
		}
		page, err := entriesOf(r.reply)
		if err != nil {
			w.Env.Log.Warn("final XRANGE", "key", key, "err", err)
			return false
		}
		if first {
			all.Call = r.call
		}
		all.Return = r.ret
		all.Entries = append(all.Entries, page...)
		if len(page) < 1000 {
			break
		}
		start = "(" + page[len(page)-1].ID
	}
	w.ops.add(all)
	return true
}

// Ops is the recorded history.
func (w *Stream) Ops() []checker.StreamOp { return w.ops.all() }

// Summary is the workload's counts for the report.
func (w *Stream) Summary() checker.WorkloadSummary {
	return w.tally.summary("stream", w.Producers+w.Consumers, []string{fmt.Sprintf(
		"%d producers XADD to %d streams; %d consumers of one group: XREADGROUP > (some with BLOCK 200), their pending entries with XREADGROUP 0, XAUTOCLAIM of entries idle 300 ms, XACK of what they read (a tenth of the batches left pending)",
		w.Producers, w.Keys, w.Consumers)})
}
