package fsm

import (
	"strconv"

	"github.com/understudy/understudy/cmdtab"
)

// XREAD and XREADGROUP. Neither blocks in the state machine: BLOCK is
// parsed and checked, and a command that finds nothing answers a null
// array, as Redis does when it may not block (MULTI, scripts). The RESP
// layer blocks on the leader (resp/xblocking.go): it resolves XREAD's IDs
// with XReadResolveCommand, then retries XReadServeCommand (a read) or
// XReadGroupServeCommand (a write, through the log, so every replica agrees
// on who got which entry) each time an applied write touches a key, the
// way Redis's serveClientsBlockedOnStreamKey serves blocked clients.
const (
	// XReadResolveCommand takes XREAD's arguments (without the name) and
	// answers XREAD's reply, or, when XREAD would block, an array of the
	// IDs to wait beyond ("$" resolved), one per key.
	XReadResolveCommand = "understudy.xreadresolve"
	// XReadServeCommand is "count key id [key id ...]": a blocked XREAD's
	// retry. The first key whose stream's last ID is past its ID answers
	// (one key, as Redis serves a blocked client); else a null array.
	XReadServeCommand = "understudy.xreadserve"
	// XReadGroupServeCommand is "group consumer count noack key [key ...]":
	// a blocked XREADGROUP's retry for the keys it may take from. A key
	// that is gone, or a group that is, ends the wait with Redis's error.
	XReadGroupServeCommand = "understudy.xreadgroupserve"
)

// xreadBlockedCount is XREAD_BLOCKED_DEFAULT_COUNT: what a blocked client
// without COUNT is served at most.
const xreadBlockedCount = 1000

// XRead is a parsed XREAD or XREADGROUP.
type XRead struct {
	Group, Consumer []byte // XREADGROUP
	Count           int64  // 0: no limit
	NoAck           bool
	Block           bool  // BLOCK given
	Timeout         int64 // BLOCK's milliseconds; 0 waits forever
	Keys, IDs       [][]byte
}

// BlockCount is how many entries a blocked client is served at most.
func (x *XRead) BlockCount() int64 {
	if x.Count > 0 {
		return x.Count
	}
	return xreadBlockedCount
}

// ParseXRead parses XREAD or XREADGROUP (argv[0] says which) as Redis does,
// before looking at any key; errv is Redis's error.
func ParseXRead(argv [][]byte) (x XRead, errv Value) {
	group := eqFold(argv[0], "xreadgroup")
	streams := 0
	for i := 1; i < len(argv); i++ {
		more := len(argv) - i - 1
		o := argv[i]
		switch {
		case eqFold(o, "block") && more > 0:
			i++
			n, ok := parseInt(argv[i])
			if !ok {
				return x, Err("ERR timeout is not an integer or out of range")
			}
			if n < 0 {
				return x, Err("ERR timeout is negative")
			}
			x.Block, x.Timeout = true, n
		case eqFold(o, "count") && more > 0:
			i++
			n, ok := parseInt(argv[i])
			if !ok {
				return x, errNotInt
			}
			x.Count = max(n, 0)
		case eqFold(o, "streams") && more > 0:
			streams = i + 1
			if (len(argv)-streams)%2 != 0 {
				return x, Err("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
			}
			i = len(argv)
		case eqFold(o, "group") && more >= 2:
			if !group {
				return x, Err("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
			}
			x.Group, x.Consumer = argv[i+1], argv[i+2]
			i += 2
		case eqFold(o, "noack"):
			if !group {
				return x, Err("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
			}
			x.NoAck = true
		default:
			return x, errSyntax
		}
	}
	if streams == 0 {
		return x, errSyntax
	}
	if group && x.Group == nil {
		return x, Err("ERR Missing GROUP option for XREADGROUP")
	}
	n := (len(argv) - streams) / 2
	x.Keys, x.IDs = argv[streams:streams+n], argv[streams+n:]
	return x, Value{}
}

// gtNew is the ID that stands for ">" (as in Redis: the greatest ID).
var gtNew = maxStreamID

// resolveIDs checks every key and ID in order, as Redis does: the type,
// the group, then the ID ("$" becomes the stream's last ID).
func (c *ctx) resolveIDs(x *XRead) ([]streamID, Value) {
	ids := make([]streamID, len(x.Keys))
	for i, key := range x.Keys {
		_, s, exists, errv := c.getStream(key)
		if errv.Kind == KindError {
			return nil, errv
		}
		if x.Group != nil {
			if !exists || s.group(x.Group) == nil {
				return nil, Err("NOGROUP No such key '" + errText(key) + "' or consumer group '" +
					errText(x.Group) + "' in XREADGROUP with GROUP option")
			}
		}
		arg := x.IDs[i]
		switch string(arg) {
		case "$":
			if x.Group != nil {
				return nil, Err("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
			}
			if exists {
				ids[i] = s.lastID
			}
			continue
		case ">":
			if x.Group == nil {
				return nil, Err("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
			}
			ids[i] = gtNew
			continue
		}
		id, _, ok := parseStreamID(arg, idArg{strict: true})
		if !ok {
			return nil, errInvalidStreamID
		}
		ids[i] = id
	}
	return ids, Value{}
}

// incrWrap is streamIncrID as XREAD uses it: past the last ID it wraps to 0-0.
func incrWrap(id streamID) streamID {
	next, ok := id.incr()
	if !ok {
		return streamID{}
	}
	return next
}

// cmdXRead serves XREAD and XREADGROUP without blocking.
func cmdXRead(c *ctx, argv [][]byte) Value {
	x, errv := ParseXRead(argv)
	if errv.Kind == KindError {
		return errv
	}
	reply, _, errv := c.xread(&x)
	if errv.Kind == KindError {
		return errv
	}
	return reply
}

// xread tries to serve x now. When nothing can be served the reply is a
// null array and ids are what a blocked client waits beyond.
func (c *ctx) xread(x *XRead) (reply Value, ids []streamID, errv Value) {
	ids, errv = c.resolveIDs(x)
	if errv.Kind == KindError {
		return Value{}, nil, errv
	}
	var out []Value
	for i, key := range x.Keys {
		it, s, exists, _ := c.getStream(key)
		if !exists {
			continue
		}
		gt := ids[i]
		serve, history := false, false
		if x.Group != nil {
			if gt != gtNew {
				serve, history = true, true
			} else if g := s.group(x.Group); s.length > 0 && s.lastValidID().cmp(g.lastID) > 0 {
				serve, gt = true, g.lastID
			}
		} else if s.length > 0 && s.lastValidID().cmp(gt) > 0 {
			serve = true
		}
		if !serve {
			continue
		}
		var entries Value
		if x.Group == nil {
			entries = Array(s.rangeValues(incrWrap(gt), maxStreamID, x.Count, false))
		} else {
			s = c.mutableStream(&it)
			g := s.mutableGroup(s.group(x.Group))
			sc := c.touchConsumer(g, it.key, string(x.Consumer))
			if history {
				entries = c.readHistory(s, g, sc, incrWrap(gt), x.Count)
			} else {
				entries = c.readNew(s, g, sc, incrWrap(gt), x.Count, x.NoAck)
			}
		}
		out = append(out, BulkString(string(key)), entries)
	}
	if out == nil {
		return NullArray, ids, Value{}
	}
	return Value{Kind: KindArrayMap, Arr: out}, nil, Value{}
}

// readNew delivers entries from start on to consumer sc of group g
// (streamReplyWithRange with a group): the group's last ID and read
// counter advance, and unless noack each entry becomes pending for sc.
func (c *ctx) readNew(s *streamObj, g *streamGroup, sc *streamConsumer, start streamID, count int64, noack bool) Value {
	out := []Value{}
	var ids []streamID
	s.each(start, maxStreamID, false, func(n *streamNode, e *streamEntry) bool {
		out = append(out, entryValue(n, e))
		ids = append(ids, e.id)
		return count == 0 || int64(len(out)) < count
	})
	for _, id := range ids {
		if id.cmp(g.lastID) > 0 {
			s.advance(g, id)
		}
		if !noack {
			g.deliver(sc, id, c.now, 1)
		}
	}
	return Array(out)
}

// readHistory serves sc's own pending entries from start on
// (streamReplyWithRangeFromConsumerPEL): each delivered again, and an entry
// since deleted as [id, nil].
func (c *ctx) readHistory(s *streamObj, g *streamGroup, sc *streamConsumer, start streamID, count int64) Value {
	out := []Value{}
	var again []nack
	sc.pel.Ascend(start, func(id streamID) bool {
		if count != 0 && int64(len(out)) >= count {
			return false
		}
		n, ok := s.nodeAt(id)
		i := -1
		if ok {
			i = n.find(id)
		}
		if i < 0 || n.entries[i].deleted() {
			out = append(out, Array([]Value{id.bulk(), NullArray}))
			return true
		}
		out = append(out, entryValue(n, &n.entries[i]))
		if p, ok := g.pel.Get(nack{id: id}); ok {
			p.time, p.count = c.now, p.count+1
			again = append(again, p)
		}
		return true
	})
	for _, p := range again {
		g.pel.Set(p)
	}
	return Array(out)
}

// The blocked retries' facts: internal commands, never listed.
var (
	xreadResolveSpec = &cmdtab.Spec{Name: XReadResolveCommand, Arity: -4, Flags: cmdtab.ReadOnly}
	xreadServeSpec   = &cmdtab.Spec{Name: XReadServeCommand, Arity: -4, Flags: cmdtab.ReadOnly,
		First: 2, Last: -1, Step: 2}
	xreadGroupServeSpec = &cmdtab.Spec{Name: XReadGroupServeCommand, Arity: -6, Flags: cmdtab.Write,
		First: 5, Last: -1, Step: 1}
)

func xreadBlockedCommands() []decl {
	return []decl{
		{name: XReadResolveCommand, run: cmdXReadResolve, since: Level2, own: xreadResolveSpec},
		{name: XReadServeCommand, run: cmdXReadServe, since: Level2, own: xreadServeSpec},
		{name: XReadGroupServeCommand, run: cmdXReadGroupServe, since: Level2, own: xreadGroupServeSpec},
	}
}

// understudy.xreadresolve <XREAD arguments>
func cmdXReadResolve(c *ctx, argv [][]byte) Value {
	xargv := append([][]byte{[]byte("xread")}, argv[1:]...)
	x, errv := ParseXRead(xargv)
	if errv.Kind == KindError {
		return errv
	}
	reply, ids, errv := c.xread(&x)
	if errv.Kind == KindError {
		return errv
	}
	if ids == nil {
		return reply
	}
	out := make([]Value, len(ids))
	for i, id := range ids {
		out[i] = id.bulk()
	}
	return Array(out)
}

// understudy.xreadserve count key id [key id ...]
func cmdXReadServe(c *ctx, argv [][]byte) Value {
	count, ok := parseInt(argv[1])
	if !ok || len(argv)%2 != 0 {
		return errSyntax
	}
	for i := 2; i+1 < len(argv); i += 2 {
		_, s, exists, _ := c.getStream(argv[i])
		if !exists {
			continue
		}
		gt, _, ok := parseStreamID(argv[i+1], idArg{strict: true})
		if !ok {
			return errInvalidStreamID
		}
		if s.lastID.cmp(gt) > 0 {
			entries := Array(s.rangeValues(incrWrap(gt), maxStreamID, count, false))
			return Value{Kind: KindArrayMap, Arr: []Value{BulkString(string(argv[i])), entries}}
		}
	}
	return NullArray
}

// understudy.xreadgroupserve group consumer count noack key [key ...]
func cmdXReadGroupServe(c *ctx, argv [][]byte) Value {
	group, consumer := argv[1], string(argv[2])
	count, ok := parseInt(argv[3])
	if !ok {
		return errSyntax
	}
	noack := string(argv[4]) == "1"
	for _, key := range argv[5:] {
		it, s, exists, _ := c.getStream(key)
		if !exists {
			return Err("UNBLOCKED the stream key no longer exists")
		}
		g := s.group(group)
		if g == nil {
			return Err("NOGROUP the consumer group this client was blocked on no longer exists")
		}
		if s.lastID.cmp(g.lastID) <= 0 {
			continue
		}
		s = c.mutableStream(&it)
		g = s.mutableGroup(g)
		sc := c.touchConsumer(g, it.key, consumer)
		entries := c.readNew(s, g, sc, incrWrap(g.lastID), count, noack)
		return Value{Kind: KindArrayMap, Arr: []Value{BulkString(string(key)), entries}}
	}
	return NullArray
}

// XReadServeArgs builds a blocked XREAD's retry for the given keys and the
// IDs it waits beyond.
func XReadServeArgs(count int64, keys [][]byte, ids [][]byte) [][]byte {
	out := [][]byte{[]byte(XReadServeCommand), []byte(strconv.FormatInt(count, 10))}
	for i := range keys {
		out = append(out, keys[i], ids[i])
	}
	return out
}

// XReadGroupServeArgs builds a blocked XREADGROUP's retry for keys.
func XReadGroupServeArgs(x *XRead, keys [][]byte) [][]byte {
	noack := "0"
	if x.NoAck {
		noack = "1"
	}
	out := [][]byte{[]byte(XReadGroupServeCommand), x.Group, x.Consumer,
		[]byte(strconv.FormatInt(x.BlockCount(), 10)), []byte(noack)}
	return append(out, keys...)
}
