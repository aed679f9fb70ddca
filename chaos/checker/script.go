package checker

import (
	"fmt"
	"strconv"
	"time"
)

// Transfer operation kinds.
const (
	TrTransfer = "transfer"
	TrRead     = "read"
)

// TransferOp is one operation of the script workload's transfers: the
// transfer script (move Amount from one account of Pair to the other if it
// holds that much, count the moves) or the balances script (read both
// accounts and the count, atomically). A, B and N are the state the reply
// reported: after the move for a transfer, as read for a read.
type TransferOp struct {
	Client  int     `json:"client"`
	Kind    string  `json:"kind"`
	Pair    int     `json:"pair"`
	Amount  int64   `json:"amount,omitempty"`
	Moved   bool    `json:"moved,omitempty"` // transfer: it moved the amount (else refused: not enough)
	A       int64   `json:"a"`
	B       int64   `json:"b"`
	N       int64   `json:"n"`
	Broken  string  `json:"broken,omitempty"` // a reply without the accounts
	Outcome Outcome `json:"outcome"`
	Call    int64   `json:"call"`
	Return  int64   `json:"return"`
	Final   bool    `json:"final,omitempty"`
}

// ScriptVerdict is the script workload's result.
type ScriptVerdict struct {
	CAS           RegisterVerdict `json:"cas"`
	Transfers     CounterVerdict  `json:"transfers"`
	Moved         int             `json:"moved"`   // acknowledged transfers that moved money
	Refused       int             `json:"refused"` // acknowledged transfers refused for lack of funds
	SumChecked    int             `json:"sum_checked"`
	LostTransfers int64           `json:"lost_transfers"`
	Violations    []Violation     `json:"violations,omitempty"`
}

// CheckScript checks the script workload:
//   - its compare-and-set history as a register (CheckRegister: porcupine,
//     lost acknowledged CAS, values of aborted CAS never read);
//   - every pair's sum: each reply of a transfer or a read, and the final
//     read, must show both accounts summing to total, neither negative (I1:
//     a transfer is atomic, a read sees none or all of it);
//   - the move count of each pair as a counter (CheckCounter): an
//     acknowledged move is never lost (I2), none is applied twice or after
//     a definite failure (I11, I5), reads see every move acknowledged
//     before them (I3).
func CheckScript(cas []RegisterOp, transfers []TransferOp, total int64, timeout time.Duration) ScriptVerdict {
	v := ScriptVerdict{CAS: CheckRegister(cas, timeout)}
	for i := range v.CAS.Violations {
		v.CAS.Violations[i].Workload = "script CAS"
	}
	v.Violations = append(v.Violations, v.CAS.Violations...)

	var counts []CounterOp
	shown := map[int]int{}
	for _, op := range transfers {
		if op.Outcome != OK && op.Kind == TrRead {
			continue
		}
		key := "pair " + strconv.Itoa(op.Pair)
		if op.Outcome == OK {
			v.SumChecked++
			bad := op.Broken
			if bad == "" && (op.A+op.B != total || op.A < 0 || op.B < 0) {
				bad = fmt.Sprintf("accounts %d + %d = %d, want %d", op.A, op.B, op.A+op.B, total)
			}
			if bad != "" {
				if shown[op.Pair]++; shown[op.Pair] <= maxPerKind {
					what := op.Kind
					if op.Final {
						what = "final read"
					}
					v.Violations = append(v.Violations, Violation{Invariant: "I1", Workload: "script transfer", Key: key,
						Detail: fmt.Sprintf("%s at %s: %s (the sum broke)", what, At(op.Call), bad)})
				}
			}
		}
		c := CounterOp{Client: op.Client, Kind: CntRead, Key: key, Value: op.N, Outcome: op.Outcome, Call: op.Call, Return: op.Return, Final: op.Final}
		switch {
		case op.Kind == TrTransfer && op.Outcome == OK && op.Moved:
			c.Kind = CntIncr
			v.Moved++
		case op.Kind == TrTransfer && op.Outcome == OK:
			v.Refused++ // refused: it read the count, moved nothing
		case op.Kind == TrTransfer:
			c.Kind = CntIncr // failed or unknown: CheckCounter weighs it
		}
		counts = append(counts, c)
	}
	for p, n := range shown {
		if n > maxPerKind {
			v.Violations = append(v.Violations, Violation{Invariant: "I1", Workload: "script transfer", Key: "pair " + strconv.Itoa(p),
				Detail: fmt.Sprintf("%d more broken sums on this pair not shown", n-maxPerKind)})
		}
	}
	v.Transfers = CheckCounter(counts)
	for i := range v.Transfers.Violations {
		v.Transfers.Violations[i].Workload = "script transfer"
	}
	v.LostTransfers = v.Transfers.LostIncrs
	v.Violations = append(v.Violations, v.Transfers.Violations...)
	return v
}
