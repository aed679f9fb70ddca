package checker

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Stream operation kinds. Deliveries are the XREADGROUP replies (new
// entries with ">", the consumer's own pending entries with "0") and
// XAUTOCLAIM's; every one of them hands entries to the group.
const (
	StrGroup   = "group"   // XGROUP CREATE key g 0 MKSTREAM (BUSYGROUP counts as done)
	StrAdd     = "xadd"    // XADD key * v <unique value>
	StrNew     = "new"     // XREADGROUP GROUP g c ... STREAMS key >
	StrHistory = "history" // XREADGROUP GROUP g c ... STREAMS key 0
	StrClaim   = "claim"   // XAUTOCLAIM key g c <idle> <cursor> COUNT n
	StrAck     = "ack"     // XACK key g id...
	StrRange   = "range"   // the final XRANGE key - + of the whole stream
	StrDrained = "drained" // marker: the final drain of the group completed
)

// StreamEntry is one entry read: its ID and the value of its one field.
// Deleted is set for an ID the server listed without its entry (a pending
// entry no longer in the stream, XAUTOCLAIM's deleted IDs).
type StreamEntry struct {
	ID      string `json:"id"`
	Value   string `json:"value,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`
}

// StreamOp is one operation of the stream workload.
type StreamOp struct {
	Client   int           `json:"client"`
	Kind     string        `json:"kind"`
	Key      string        `json:"key"`
	Consumer string        `json:"consumer,omitempty"`
	Value    string        `json:"value,omitempty"`   // xadd: the value written
	ID       string        `json:"id,omitempty"`      // xadd: the ID replied
	Entries  []StreamEntry `json:"entries,omitempty"` // deliveries and the final range
	IDs      []string      `json:"ids,omitempty"`     // ack: the IDs acknowledged
	Acked    int64         `json:"acked,omitempty"`   // ack: the reply
	NoGroup  bool          `json:"nogroup,omitempty"` // a delivery or ack answered NOGROUP
	Outcome  Outcome       `json:"outcome"`
	Call     int64         `json:"call"`
	Return   int64         `json:"return"`
	Final    bool          `json:"final,omitempty"`
}

// StreamVerdict is the stream workload's result.
type StreamVerdict struct {
	Keys          int         `json:"keys"`
	Acknowledged  int         `json:"acknowledged"` // XADDs
	Entries       int         `json:"entries"`      // in the final ranges
	LostAdds      int         `json:"lost_adds"`
	Duplicated    int         `json:"duplicated"`
	Delivered     int         `json:"delivered"`   // distinct entries delivered to the group
	Undelivered   int         `json:"undelivered"` // entries never delivered (checked after a complete drain)
	Redelivered   int         `json:"redelivered"` // deliveries of an entry after its XACK was acknowledged
	Acks          int         `json:"acks"`        // entries acknowledged by an acknowledged XACK
	KeysUnchecked int         `json:"keys_unchecked"`
	Violations    []Violation `json:"violations,omitempty"`
}

// streamID is a parsed entry ID, ordered as Redis orders them.
type streamID struct{ ms, seq uint64 }

func parseStreamID(s string) (streamID, bool) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return streamID{}, false
	}
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return streamID{ms, seq}, err1 == nil && err2 == nil
}

func (a streamID) less(b streamID) bool { return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq) }

type streamKey struct {
	name     string
	adds     []StreamOp          // every XADD
	byValue  map[string]StreamOp // value -> its XADD
	deliv    []StreamOp          // successful deliveries
	acks     []StreamOp          // acknowledged XACKs
	groupOK  int64               // return of the first acknowledged group creation (Never: none)
	nogroup  []StreamOp          // operations answered NOGROUP
	final    *StreamOp
	drained  bool
	counts   map[string]int
	verdict  *StreamVerdict
	inStream map[string]string // final range: ID -> value
	idOf     map[string]string // final range: value -> ID (its first)
}

func (sk *streamKey) add(inv, kind, detail string) {
	sk.counts[kind]++
	switch n := sk.counts[kind]; {
	case n <= maxPerKind:
		sk.verdict.Violations = append(sk.verdict.Violations, Violation{Invariant: inv, Workload: "stream", Key: sk.name, Detail: detail})
	case n == maxPerKind+1:
		sk.verdict.Violations = append(sk.verdict.Violations, Violation{Invariant: inv, Workload: "stream", Key: sk.name, Detail: "more " + kind + " violations on this key not shown"})
	}
}

// CheckStream checks each stream and its consumer group:
//   - the final XRANGE holds every acknowledged XADD exactly once, under the
//     ID its reply named (I2 lost, I11 duplicated or crossed replies), no
//     value of an XADD reported failed (I5) and no value nobody added (I1);
//   - IDs strictly increase along the stream and follow real time: an XADD
//     called after another was acknowledged got a greater ID, whichever
//     node led each (I1);
//   - every delivery names entries as the stream holds them (I1, I5), and
//     entries delivered as new (">") never go backwards: a read called after
//     another returned gets only greater IDs, so nothing is delivered as new
//     twice (I11) and the group's position never rolls back (I3);
//   - no entry is delivered again (new, history or claimed) once an XACK of
//     it was acknowledged (I3), and an XACK never counts more IDs than it
//     names (I11);
//   - after the final drain, every entry of the stream was delivered to the
//     group at least once (I2);
//   - the group, once its creation was acknowledged, never goes missing (I2).
func CheckStream(ops []StreamOp) StreamVerdict {
	var v StreamVerdict
	keys := map[string]*streamKey{}
	var order []string
	for i := range ops {
		op := ops[i]
		sk, ok := keys[op.Key]
		if !ok {
			sk = &streamKey{name: op.Key, byValue: map[string]StreamOp{}, groupOK: Never, counts: map[string]int{}, verdict: &v}
			keys[op.Key] = sk
			order = append(order, op.Key)
		}
		if op.NoGroup {
			sk.nogroup = append(sk.nogroup, op)
			continue
		}
		switch op.Kind {
		case StrGroup:
			if op.Outcome == OK && op.Return < sk.groupOK {
				sk.groupOK = op.Return
			}
		case StrAdd:
			if op.Outcome == Unknown {
				op.Return = Never
			}
			sk.adds = append(sk.adds, op)
			sk.byValue[op.Value] = op
		case StrNew, StrHistory, StrClaim:
			if op.Outcome == OK {
				sk.deliv = append(sk.deliv, op)
			}
		case StrAck:
			if op.Outcome == OK {
				sk.acks = append(sk.acks, op)
			}
		case StrRange:
			if op.Outcome == OK && op.Final {
				sk.final = &ops[i]
			}
		case StrDrained:
			sk.drained = true
		}
	}
	v.Keys = len(order)
	for _, k := range order {
		keys[k].check()
	}
	return v
}

func (sk *streamKey) check() {
	v := sk.verdict
	for _, a := range sk.adds {
		if a.Outcome == OK {
			v.Acknowledged++
		}
	}
	for _, op := range sk.nogroup {
		if sk.groupOK != Never && op.Call > sk.groupOK {
			sk.add("I2", "group lost", fmt.Sprintf("%s at %s answered NOGROUP, but the group's creation was acknowledged at %s", op.Kind, At(op.Call), At(sk.groupOK)))
		}
	}
	sk.checkFinal()
	sk.checkIDOrder()
	sk.checkDeliveries()
}

// checkFinal compares the final XRANGE with the XADDs.
func (sk *streamKey) checkFinal() {
	v := sk.verdict
	if sk.final == nil {
		for _, a := range sk.adds {
			if a.Outcome == OK {
				v.KeysUnchecked++
				break
			}
		}
		return
	}
	sk.inStream = map[string]string{}
	seen := map[string]string{} // value -> ID
	var prev streamID
	for i, e := range sk.final.Entries {
		id, ok := parseStreamID(e.ID)
		switch {
		case !ok:
			sk.add("I1", "bad id", fmt.Sprintf("final XRANGE holds the malformed ID %q", e.ID))
		case i > 0 && !prev.less(id):
			sk.add("I1", "order", fmt.Sprintf("final XRANGE: ID %s follows %s", e.ID, sk.final.Entries[i-1].ID))
		}
		prev = id
		sk.inStream[e.ID] = e.Value
		a, added := sk.byValue[e.Value]
		switch {
		case seen[e.Value] != "":
			v.Duplicated++
			sk.add("I11", "duplicate", fmt.Sprintf("value %s is in the stream twice, as %s and %s", e.Value, seen[e.Value], e.ID))
		case !added:
			sk.add("I1", "unknown value", fmt.Sprintf("entry %s holds %q, which no client added", e.ID, e.Value))
		case a.Outcome == Failed:
			sk.add("I5", "failed add seen", fmt.Sprintf("entry %s holds %s, whose XADD at %s was reported failed", e.ID, e.Value, At(a.Call)))
		case a.Outcome == OK && a.ID != e.ID:
			sk.add("I11", "reply mismatch", fmt.Sprintf("XADD of %s at %s replied ID %s, but the stream holds it as %s", e.Value, At(a.Call), a.ID, e.ID))
		}
		if seen[e.Value] == "" {
			seen[e.Value] = e.ID
		}
	}
	v.Entries += len(sk.final.Entries)
	sk.idOf = seen
	for _, a := range sk.adds {
		if a.Outcome == OK && seen[a.Value] == "" {
			v.LostAdds++
			sk.add("I2", "lost", fmt.Sprintf("acknowledged XADD of %s (ID %s, at %s) is missing from the final XRANGE", a.Value, a.ID, At(a.Call)))
		}
	}
}

// timedID is an operation's span and an entry ID it produced or read.
type timedID struct {
	call, ret int64
	id        streamID
	raw, what string
}

// checkIDOrder: an XADD called after another returned has a greater ID.
// Unknown XADDs take part with the ID the final range shows for them.
func (sk *streamKey) checkIDOrder() {
	var ts []timedID
	for _, a := range sk.adds {
		raw := a.ID
		if a.Outcome == Unknown {
			raw = sk.idOf[a.Value] // "" when it did not happen (or no final range)
		}
		if a.Outcome == Failed || raw == "" {
			continue
		}
		id, ok := parseStreamID(raw)
		if !ok {
			sk.add("I11", "bad id", fmt.Sprintf("XADD of %s at %s replied the malformed ID %q", a.Value, At(a.Call), raw))
			continue
		}
		ts = append(ts, timedID{call: a.Call, ret: a.Return, id: id, raw: raw, what: "XADD of " + a.Value})
	}
	sweepAfter(ts, func(b, before timedID) {
		sk.add("I1", "id order", fmt.Sprintf("%s at %s got ID %s, not above %s of %s, acknowledged at %s before it was called",
			b.what, At(b.call), b.raw, before.raw, before.what, At(before.ret)))
	})
}

// sweepAfter calls bad(b, a) for every b whose ID is not greater than the
// greatest ID among the operations that returned before b was called (a is
// the one holding it).
func sweepAfter(ts []timedID, bad func(b, a timedID)) {
	byRet := append([]timedID(nil), ts...)
	sort.Slice(byRet, func(i, j int) bool { return byRet[i].ret < byRet[j].ret })
	byCall := append([]timedID(nil), ts...)
	sort.Slice(byCall, func(i, j int) bool { return byCall[i].call < byCall[j].call })
	var top *timedID
	j := 0
	for _, b := range byCall {
		for j < len(byRet) && byRet[j].ret < b.call {
			if top == nil || top.id.less(byRet[j].id) {
				top = &byRet[j]
			}
			j++
		}
		if top != nil && !top.id.less(b.id) {
			bad(b, *top)
		}
	}
}

// checkDeliveries checks what the group handed out against the stream and
// the acknowledged XACKs.
func (sk *streamKey) checkDeliveries() {
	v := sk.verdict
	ackedAt := map[string]int64{}
	for _, a := range sk.acks {
		if a.Acked > int64(len(a.IDs)) {
			sk.add("I11", "ack count", fmt.Sprintf("XACK at %s of %d IDs replied %d", At(a.Call), len(a.IDs), a.Acked))
		}
		for _, id := range a.IDs {
			if t, ok := ackedAt[id]; !ok || a.Return < t {
				ackedAt[id] = a.Return
			}
		}
	}
	v.Acks += len(ackedAt)
	delivered := map[string]bool{}
	var news []timedID
	for _, d := range sk.deliv {
		var prev streamID
		for i, e := range d.Entries {
			delivered[e.ID] = true
			id, ok := parseStreamID(e.ID)
			if !ok {
				sk.add("I1", "bad id", fmt.Sprintf("%s delivery at %s names the malformed ID %q", d.Kind, At(d.Call), e.ID))
				continue
			}
			if d.Kind == StrNew {
				if i > 0 && !prev.less(id) {
					sk.add("I1", "delivery order", fmt.Sprintf("new entries delivered at %s: %s after %s", At(d.Call), e.ID, d.Entries[i-1].ID))
				}
				news = append(news, timedID{call: d.Call, ret: d.Return, id: id, raw: e.ID, what: "delivery to " + d.Consumer})
			}
			prev = id
			if t, ok := ackedAt[e.ID]; ok && t < d.Call {
				v.Redelivered++
				sk.add("I3", "redelivered", fmt.Sprintf("%s delivery to %s at %s hands out %s, whose XACK was acknowledged at %s", d.Kind, d.Consumer, At(d.Call), e.ID, At(t)))
			}
			sk.checkEntry(d, e)
		}
	}
	// New entries never go backwards: the group's last delivered ID only grows.
	sweepAfter(news, func(b, a timedID) {
		inv, what := "I3", "the group's position went back"
		if a.id == b.id {
			inv, what = "I11", "delivered as new twice"
		}
		sk.add(inv, "new again", fmt.Sprintf("%s: %s at %s got %s, not above %s given by the %s that returned at %s",
			what, b.what, At(b.call), b.raw, a.raw, a.what, At(a.ret)))
	})
	v.Delivered += len(delivered)
	if !sk.drained || sk.final == nil {
		return
	}
	for _, e := range sk.final.Entries {
		if !delivered[e.ID] {
			v.Undelivered++
			sk.add("I2", "undelivered", fmt.Sprintf("entry %s (%s) was never delivered to the group, even by the final drain", e.ID, e.Value))
		}
	}
}

// checkEntry: a delivered entry is the one the stream holds under its ID,
// added by an XADD called before the delivery returned.
func (sk *streamKey) checkEntry(d StreamOp, e StreamEntry) {
	if e.Deleted {
		sk.add("I2", "deleted", fmt.Sprintf("%s delivery at %s lists %s as deleted from the stream (nothing deletes)", d.Kind, At(d.Call), e.ID))
		return
	}
	a, ok := sk.byValue[e.Value]
	switch {
	case !ok:
		sk.add("I1", "unknown value", fmt.Sprintf("%s delivery at %s hands out %s holding %q, which no client added", d.Kind, At(d.Call), e.ID, e.Value))
		return
	case a.Outcome == Failed:
		sk.add("I5", "failed add seen", fmt.Sprintf("%s delivery at %s hands out %s, whose XADD at %s was reported failed", d.Kind, At(d.Call), e.Value, At(a.Call)))
	case a.Call > d.Return:
		sk.add("I1", "future value", fmt.Sprintf("%s delivery at %s (returned %s) hands out %s, added only at %s", d.Kind, At(d.Call), At(d.Return), e.Value, At(a.Call)))
	case a.Outcome == OK && a.ID != e.ID:
		sk.add("I11", "reply mismatch", fmt.Sprintf("%s delivery at %s hands out %s as %s, but its XADD replied %s", d.Kind, At(d.Call), e.Value, e.ID, a.ID))
	}
	if sk.inStream != nil {
		if val, ok := sk.inStream[e.ID]; !ok {
			sk.add("I2", "not in stream", fmt.Sprintf("%s delivery at %s hands out %s, which the final XRANGE lacks", d.Kind, At(d.Call), e.ID))
		} else if val != e.Value {
			sk.add("I1", "entry mismatch", fmt.Sprintf("%s delivery at %s hands out %s as %q, the stream holds %q", d.Kind, At(d.Call), e.ID, e.Value, val))
		}
	}
}
