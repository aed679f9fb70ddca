package checker

import (
	"fmt"
	"math/rand"
	"sort"
	"testing"
	"time"
)

// simulateRegister builds a linearizable history of one key the way the
// register workload records it: clients one operation at a time, each
// taking effect at a random instant within its call and return; a write or
// CAS of unknown outcome takes effect or not at random, is recorded with
// return time Never and retires its client id (the client carries on under
// a new one).
func simulateRegister(rng *rand.Rand, key string, clients, ops int, unknown float64, nextID *int) []RegisterOp {
	type pending struct {
		op    RegisterOp
		at    int64 // linearization point
		apply bool
	}
	var all []pending
	now := make([]int64, clients)
	ids := make([]int, clients)
	for c := range ids {
		ids[c] = *nextID
		*nextID++
	}
	seq := 0
	for range ops {
		c := rng.Intn(clients)
		call := now[c] + int64(rng.Intn(3_000_000))
		ret := call + 100_000 + int64(rng.Intn(2_000_000))
		op := RegisterOp{Client: ids[c], Key: key, Call: call, Return: ret, Outcome: OK}
		switch p := rng.Float64(); {
		case p < 0.45:
			op.Kind = RegRead
		case p < 0.8:
			op.Kind = RegWrite
		default:
			op.Kind = RegCAS
		}
		if op.Kind != RegRead {
			seq++
			op.Value = fmt.Sprintf("v%d", seq)
		}
		pd := pending{op: op, at: call + rng.Int63n(ret-call), apply: true}
		if op.Kind != RegRead && rng.Float64() < unknown {
			pd.op.Outcome = Unknown
			pd.apply = rng.Intn(2) == 0
			ids[c] = *nextID
			*nextID++
		}
		now[c] = ret
		all = append(all, pd)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at < all[j].at })
	state := ""
	out := make([]RegisterOp, 0, len(all))
	for _, pd := range all {
		op := pd.op
		switch op.Kind {
		case RegRead:
			op.Value = state
		case RegWrite:
			if pd.apply {
				state = op.Value
			}
		case RegCAS:
			// The client read state just before (its WATCH; GET), so From is
			// usually current; sometimes another write got in between.
			op.From = state
			if rng.Intn(4) == 0 {
				op.From = "stale"
			}
			if op.From == state && pd.apply {
				state = op.Value
				op.Result = CASApplied
			} else {
				op.Result = CASAborted
			}
		}
		if op.Outcome == Unknown {
			op.Result = ""
		}
		out = append(out, op)
	}
	return out
}

// TestCheckRegister_BoundedHistoryChecksInTime is the reason keys rotate
// after --ops-per-key operations: porcupine's search grows with the number
// of concurrent and open (unknown) operations on a key, so a run of any
// length must still be checked well within the CI's --check-timeout. It
// checks histories the size of a 75-second CI run (about 30,000 register
// operations: 200 keys of 150) with far more unknown outcomes than runs
// see (runs record well under 1%).
func TestCheckRegister_BoundedHistoryChecksInTime(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds of checking")
	}
	for _, unknown := range []float64{0.01, 0.05, 0.3} {
		rng := rand.New(rand.NewSource(int64(unknown * 1000)))
		var ops []RegisterOp
		id := 0
		for k := range 200 {
			ops = append(ops, simulateRegister(rng, fmt.Sprintf("k%d", k), 6, 150, unknown, &id)...)
		}
		start := time.Now()
		v := CheckRegister(ops, time.Minute)
		took := time.Since(start)
		t.Logf("unknown %.0f%% of writes: %d operations on %d keys checked in %s: %s", unknown*100, v.CheckedOps, v.Keys, took.Round(time.Millisecond), v.Linearizable)
		if v.Linearizable != LinYes {
			t.Fatalf("simulated linearizable history judged %s (%v)", v.Linearizable, v.Violations)
		}
		if took > 20*time.Second {
			t.Fatalf("checking took %s: a CI run's check would not be sure to finish", took)
		}
	}
}
