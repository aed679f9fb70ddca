package workload

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/chaos/checker"
	"github.com/understudy/understudy/chaos/respclient"
)

// luaScript is a script body and its SHA1, as EVALSHA names it.
type luaScript struct{ body, sha string }

func newLuaScript(body string) luaScript {
	sum := sha1.Sum([]byte(body))
	return luaScript{body: body, sha: hex.EncodeToString(sum[:])}
}

// The scripts. CAS answers {1, old} when it set the new value and {0, cur}
// when the key held something else ("" for missing), so an aborted CAS is
// also a read. Transfer moves ARGV[1] from KEYS[1] to KEYS[2] if KEYS[1]
// has it and counts the moves in KEYS[3]; its reply is the state after it:
// {moved, KEYS[1], KEYS[2], count}.
var (
	scriptCAS = newLuaScript(`local cur = redis.call('get', KEYS[1]) or ''
if cur == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[2])
  return {1, cur}
end
return {0, cur}`)
	scriptGet      = newLuaScript(`return redis.call('get', KEYS[1])`)
	scriptTransfer = newLuaScript(`local a = tonumber(redis.call('get', KEYS[1]))
local b = tonumber(redis.call('get', KEYS[2]))
local amount = tonumber(ARGV[1])
if a == nil or b == nil or amount == nil then
  return redis.error_reply('ERR transfer: accounts missing')
end
if a < amount then
  return {0, a, b, tonumber(redis.call('get', KEYS[3]) or '0')}
end
redis.call('set', KEYS[1], a - amount)
redis.call('set', KEYS[2], b + amount)
return {1, a - amount, b + amount, redis.call('incr', KEYS[3])}`)
	scriptBalances = newLuaScript(`return {redis.call('get', KEYS[1]), redis.call('get', KEYS[2]), redis.call('get', KEYS[3]) or '0'}`)
)

// Script is the script workload: compare-and-set by EVALSHA (NOSCRIPT falls
// back to SCRIPT LOAD, then EVAL) after a read by EVALSHA_RO, on rotating
// keys with unique values; and transfers between the two accounts of a few
// pairs, whose sum must never change, read back atomically by EVALSHA_RO.
type Script struct {
	Env       *Env
	Clients   int
	Keys      int // CAS keys in use at a time
	OpsPerKey int
	Pairs     int   // account pairs
	Total     int64 // each pair's sum

	transferScript luaScript // scriptTransfer unless a test breaks it

	enabled  atomic.Bool
	ring     *keyRing
	seq      atomic.Int64
	noscript atomic.Int64 // NOSCRIPT replies (then SCRIPT LOAD / EVAL)
	tally    tally

	cas       history[checker.RegisterOp]
	transfers history[checker.TransferOp]
	notes     history[string]
}

func (w *Script) account(pair int, which string) string {
	return w.Env.Prefix + "acct:" + strconv.Itoa(pair) + ":" + which
}

func (w *Script) pairKeys(pair int) []string {
	return []string{w.account(pair, "a"), w.account(pair, "b"), w.account(pair, "n")}
}

// Setup loads the scripts and opens the accounts (MSETNX: pair p's a holds
// Total, b 0), retrying until ctx ends. "unknown command" for EVAL disables
// the workload, with a note in the report.
func (w *Script) Setup(ctx context.Context) bool {
	if w.transferScript.sha == "" {
		w.transferScript = scriptTransfer
	}
	s := newSession(w.Env, 11, 0)
	defer s.drop()
	cmds := [][]string{{"SCRIPT", "LOAD", scriptCAS.body}, {"SCRIPT", "LOAD", scriptGet.body},
		{"SCRIPT", "LOAD", w.transferScript.body}, {"SCRIPT", "LOAD", scriptBalances.body}}
	for p := range w.Pairs {
		cmds = append(cmds, []string{"MSETNX", w.account(p, "a"), strconv.FormatInt(w.Total, 10), w.account(p, "b"), "0"})
	}
	for i := 0; i < len(cmds) && ctx.Err() == nil; {
		r := s.do(cmds[i]...)
		if respclient.IsUnknownCommand(r.reply) {
			w.notes.add("script workload skipped: the server answered \"unknown command\" to " + cmds[i][0])
			return false
		}
		if r.outcome != checker.OK {
			// MSETNX is safe to repeat: it sets nothing if a key exists.
			s.next()
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		i++
	}
	if ctx.Err() != nil {
		return false
	}
	w.enabled.Store(true)
	return true
}

// Run runs the clients until ctx ends (nothing if Setup failed).
func (w *Script) Run(ctx context.Context, seed int64) {
	w.ring = newKeyRing(w.Env.Prefix+"scas:", w.Keys, w.OpsPerKey)
	if !w.enabled.Load() {
		return
	}
	runClients(w.Clients, func(i int) { w.client(ctx, newSession(w.Env, seed+3000+int64(i), i)) })
}

func (w *Script) client(ctx context.Context, s *session) {
	defer s.drop()
	for ctx.Err() == nil {
		switch p := s.rng.Float64(); {
		case p < 0.45:
			w.compareAndSet(ctx, s, w.ring.pick(s.rng))
		case p < 0.85:
			w.transfer(ctx, s, s.rng.Intn(w.Pairs))
		default:
			w.balances(ctx, s, s.rng.Intn(w.Pairs))
		}
	}
}

func isNoScript(r respclient.Reply) bool {
	return r.Kind == respclient.Error && strings.HasPrefix(r.Str, "NOSCRIPT")
}

// eval runs a script by EVALSHA (EVALSHA_RO when ro). NOSCRIPT means nothing
// ran: the client loads the script and tries EVALSHA once more, then EVAL.
// The result's call time is the first attempt's. cut sends the first attempt
// and drops the connection (F13).
func (w *Script) eval(s *session, sc luaScript, ro, cut bool, keys []string, args ...string) result {
	evalsha, eval := "EVALSHA", "EVAL"
	if ro {
		evalsha, eval = "EVALSHA_RO", "EVAL_RO"
	}
	argv := func(cmd, script string) []string {
		a := append([]string{cmd, script, strconv.Itoa(len(keys))}, keys...)
		return append(a, args...)
	}
	if cut {
		return s.cut(argv(evalsha, sc.sha)...)
	}
	r := s.do(argv(evalsha, sc.sha)...)
	if !isNoScript(r.reply) {
		return r
	}
	w.noscript.Add(1)
	call := r.call
	if l := s.do("SCRIPT", "LOAD", sc.body); l.outcome == checker.OK && l.reply.Str == sc.sha {
		if r = s.do(argv(evalsha, sc.sha)...); !isNoScript(r.reply) {
			r.call = call
			return r
		}
	}
	r = s.do(argv(eval, sc.body)...)
	r.call = call
	return r
}

// compareAndSet reads key by EVALSHA_RO, then sets a new unique value by
// the CAS script if the key still holds what was read.
func (w *Script) compareAndSet(ctx context.Context, s *session, key string) {
	g := w.eval(s, scriptGet, true, false, []string{key})
	read := checker.RegisterOp{Client: s.id, Kind: checker.RegRead, Key: key, Outcome: g.outcome, Call: g.call, Return: g.ret}
	if g.outcome == checker.OK {
		if g.reply.Kind != respclient.Bulk {
			read.Outcome, g.class = checker.Failed, "unexpected reply "+g.reply.String()
		}
		read.Value = g.reply.Str
	}
	w.tally.add(false, read.Outcome, g.class)
	w.cas.add(read)
	if read.Outcome != checker.OK {
		s.after(ctx, g, false)
		return
	}
	v := fmt.Sprintf("s%d-c%d", w.seq.Add(1), s.id)
	r := w.eval(s, scriptCAS, false, s.cuts(), []string{key}, read.Value, v)
	op := checker.RegisterOp{Client: s.id, Kind: checker.RegCAS, Key: key, Value: v, From: read.Value,
		Outcome: r.outcome, Call: r.call, Return: r.ret}
	if r.outcome == checker.OK {
		el := r.reply.Elems
		switch {
		case r.reply.Kind != respclient.Array || len(el) != 2 || el[0].Kind != respclient.Int || el[1].Kind != respclient.Bulk:
			op.Outcome, r.class = checker.Unknown, "unexpected reply "+r.reply.String()
		case el[0].Int == 1:
			op.Result = checker.CASApplied
		default:
			// Not applied: the script read the current value, atomically.
			op.Result = checker.CASAborted
			w.cas.add(checker.RegisterOp{Client: s.id, Kind: checker.RegRead, Key: key, Value: el[1].Str,
				Outcome: checker.OK, Call: r.call, Return: r.ret})
		}
	}
	w.tally.add(true, op.Outcome, r.class)
	w.cas.add(op)
	s.after(ctx, r, true)
}

// parseBalances reads {a, b, n} (integers or decimal strings).
func parseBalances(el []respclient.Reply) (a, b, n int64, ok bool) {
	vals := make([]int64, len(el))
	for i, e := range el {
		switch e.Kind {
		case respclient.Int:
			vals[i] = e.Int
		case respclient.Bulk:
			if e.Nil {
				return 0, 0, 0, false
			}
			x, err := strconv.ParseInt(e.Str, 10, 64)
			if err != nil {
				return 0, 0, 0, false
			}
			vals[i] = x
		default:
			return 0, 0, 0, false
		}
	}
	if len(vals) != 3 {
		return 0, 0, 0, false
	}
	return vals[0], vals[1], vals[2], true
}

func (w *Script) transfer(ctx context.Context, s *session, pair int) {
	keys := w.pairKeys(pair)
	amount := int64(1 + s.rng.Intn(int(w.Total/4)))
	reverse := s.rng.Intn(2) == 1
	if reverse {
		keys[0], keys[1] = keys[1], keys[0]
	}
	r := w.eval(s, w.transferScript, false, s.cuts(), keys, strconv.FormatInt(amount, 10))
	op := checker.TransferOp{Client: s.id, Kind: checker.TrTransfer, Pair: pair, Amount: amount, Outcome: r.outcome, Call: r.call, Return: r.ret}
	if r.outcome == checker.OK {
		el := r.reply.Elems
		if r.reply.Kind != respclient.Array || len(el) != 4 || el[0].Kind != respclient.Int {
			op.Outcome, r.class = checker.Unknown, "unexpected reply "+r.reply.String()
		} else if a, b, n, ok := parseBalances(el[1:]); !ok {
			op.Outcome, r.class = checker.Unknown, "unexpected reply "+r.reply.String()
		} else {
			if reverse {
				a, b = b, a
			}
			op.Moved, op.A, op.B, op.N = el[0].Int == 1, a, b, n
		}
	}
	w.tally.add(true, op.Outcome, r.class)
	w.transfers.add(op)
	s.after(ctx, r, true)
}

func (w *Script) balances(ctx context.Context, s *session, pair int) {
	r := w.eval(s, scriptBalances, true, false, w.pairKeys(pair))
	op := w.balanceOp(s.id, pair, r)
	w.tally.add(false, op.Outcome, r.class)
	w.transfers.add(op)
	s.after(ctx, r, false)
}

func (w *Script) balanceOp(client, pair int, r result) checker.TransferOp {
	op := checker.TransferOp{Client: client, Kind: checker.TrRead, Pair: pair, Outcome: r.outcome, Call: r.call, Return: r.ret}
	if r.outcome == checker.OK {
		a, b, n, ok := parseBalances(r.reply.Elems)
		if r.reply.Kind != respclient.Array || !ok {
			// Missing accounts are a violation of their own (the sum
			// broke), not a failed read: record them as 0.
			op.Broken = "read " + r.reply.String()
		}
		op.A, op.B, op.N = a, b, n
	}
	return op
}

// Final reads every CAS key and every pair once the cluster has healed.
func (w *Script) Final(ctx context.Context) (missing int) {
	if !w.enabled.Load() {
		return 0
	}
	for _, key := range w.ring.keys() {
		r, ok := finalRead(ctx, w.Env, "GET", key)
		if !ok || r.reply.Kind != respclient.Bulk {
			missing++
			continue
		}
		w.cas.add(checker.RegisterOp{Client: w.Env.NewClientID(), Kind: checker.RegRead, Key: key, Value: r.reply.Str,
			Outcome: checker.OK, Call: r.call, Return: r.ret, Final: true})
	}
	for p := range w.Pairs {
		keys := w.pairKeys(p)
		r, ok := finalRead(ctx, w.Env, append([]string{"MGET"}, keys...)...)
		if !ok {
			missing++
			continue
		}
		if len(r.reply.Elems) == 3 && r.reply.Elems[2].Nil {
			r.reply.Elems[2] = respclient.Reply{Kind: respclient.Bulk, Str: "0"}
		}
		op := w.balanceOp(-1, p, r)
		op.Final = true
		w.transfers.add(op)
	}
	return missing
}

// CASOps is the recorded compare-and-set history (reads included).
func (w *Script) CASOps() []checker.RegisterOp { return w.cas.all() }

// TransferOps is the recorded transfer history.
func (w *Script) TransferOps() []checker.TransferOp { return w.transfers.all() }

// Summary is the workload's counts for the report.
func (w *Script) Summary() checker.WorkloadSummary {
	notes := w.notes.all()
	if w.enabled.Load() {
		notes = append(notes, fmt.Sprintf("CAS by EVALSHA on rotating keys, transfers between %d pairs of accounts (sum %d each); NOSCRIPT answered %d times (then SCRIPT LOAD / EVAL)",
			w.Pairs, w.Total, w.noscript.Load()))
	}
	return w.tally.summary("script", w.Clients, dedupe(notes))
}
