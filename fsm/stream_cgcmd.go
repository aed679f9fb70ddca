package fsm

import (
	"math"
	"strconv"
	"strings"
)

// Consumer groups: XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM. As in Redis
// 7.0, only XGROUP CREATE MKSTREAM (which creates the key) changes the
// key's version for WATCH; the rest is bookkeeping that Redis does not
// signal (see ctx.wake).

// errSubSyntax is addReplySubcommandSyntaxError.
func errSubSyntax(argv [][]byte) Value {
	return Err("ERR unknown subcommand or wrong number of arguments for '" + truncate(cString(argv[1]), 128) +
		"'. Try " + strings.ToUpper(string(argv[0])) + " HELP.")
}

func errNoGroupFor(group, key []byte) Value {
	return Err("NOGROUP No such consumer group '" + errText(group) + "' for key name '" + errText(key) + "'")
}

func errNoKeyOrGroup(key, group []byte) Value {
	return Err("NOGROUP No such key '" + errText(key) + "' or consumer group '" + errText(group) + "'")
}

// xgroupTarget is what xgroupCommand works out before its subcommand runs.
type xgroupTarget struct {
	it          item
	s           *streamObj // nil: no key (CREATE MKSTREAM)
	g           *streamGroup
	mkstream    bool
	entriesRead int64
}

// xgroupPrepare parses CREATE's and SETID's options and finds the key and
// group, in xgroupCommand's order.
func (c *ctx) xgroupPrepare(argv [][]byte) (t xgroupTarget, errv Value) {
	create, setid := eqFold(argv[1], "create"), eqFold(argv[1], "setid")
	t.entriesRead = invalidEntriesRead
	for i := 5; i < len(argv); {
		switch {
		case create && eqFold(argv[i], "mkstream"):
			t.mkstream = true
			i++
		case (create || setid) && eqFold(argv[i], "entriesread") && i+1 < len(argv):
			n, ok := parseInt(argv[i+1])
			if !ok {
				return t, errNotInt
			}
			if n < 0 && n != invalidEntriesRead {
				return t, Err("ERR value for ENTRIESREAD must be positive or -1")
			}
			t.entriesRead = n
			i += 2
		default:
			return t, errSubSyntax(argv)
		}
	}
	it, s, exists, errv := c.getStream(argv[2])
	if errv.Kind == KindError {
		return t, errv
	}
	if exists {
		t.it, t.s, t.g = it, s, s.group(argv[3])
	}
	if !t.mkstream {
		if !exists {
			return t, Err("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
		}
		if t.g == nil && !create && !eqFold(argv[1], "destroy") {
			return t, errNoGroupFor(argv[3], argv[2])
		}
	}
	return t, Value{}
}

// XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n]
func cmdXGroupCreate(c *ctx, argv [][]byte) Value {
	t, errv := c.xgroupPrepare(argv)
	if errv.Kind == KindError {
		return errv
	}
	if len(argv) > 8 {
		return errSubSyntax(argv)
	}
	var id streamID
	if string(argv[4]) == "$" {
		if t.s != nil {
			id = t.s.lastID
		}
	} else {
		var ok bool
		if id, _, ok = parseStreamID(argv[4], idArg{strict: true}); !ok {
			return errInvalidStreamID
		}
	}
	if t.s == nil {
		t.s = newStream(c.ks.gen)
		t.it = item{key: string(argv[2]), val: t.s}
		c.ks.put(t.it)
	} else if t.g != nil {
		return Err("BUSYGROUP Consumer Group name already exists")
	} else {
		t.s = c.mutableStream(&t.it)
	}
	if t.s.groups == nil {
		t.s.groups = newGroupTree()
	}
	t.s.groups.Set(newStreamGroup(t.s.gen, string(argv[3]), id, t.entriesRead))
	c.notify(NotifyStream, "xgroup-create", t.it.key)
	return OK
}

// XGROUP SETID key group id|$ [ENTRIESREAD n]
func cmdXGroupSetID(c *ctx, argv [][]byte) Value {
	t, errv := c.xgroupPrepare(argv)
	if errv.Kind == KindError {
		return errv
	}
	if len(argv) != 5 && len(argv) != 7 {
		return errSubSyntax(argv)
	}
	id := t.s.lastID
	if string(argv[4]) != "$" {
		var ok bool
		if id, _, ok = parseStreamID(argv[4], idArg{}); !ok {
			return errInvalidStreamID
		}
	}
	s := c.mutableStream(&t.it)
	g := s.mutableGroup(t.g)
	g.lastID, g.entriesRead = id, t.entriesRead
	c.notify(NotifyStream, "xgroup-setid", t.it.key)
	return OK
}

// XGROUP DESTROY key group
func cmdXGroupDestroy(c *ctx, argv [][]byte) Value {
	t, errv := c.xgroupPrepare(argv)
	if errv.Kind == KindError {
		return errv
	}
	if t.g == nil {
		return Zero
	}
	s := c.mutableStream(&t.it)
	s.groups.Delete(t.g)
	c.notify(NotifyStream, "xgroup-destroy", t.it.key)
	c.wake(t.it.key) // its blocked readers get NOGROUP
	return One
}

// XGROUP CREATECONSUMER key group consumer
func cmdXGroupCreateConsumer(c *ctx, argv [][]byte) Value {
	t, errv := c.xgroupPrepare(argv)
	if errv.Kind == KindError {
		return errv
	}
	if t.g.consumer(string(argv[4])) != nil {
		return Zero
	}
	s := c.mutableStream(&t.it)
	c.addConsumer(s.mutableGroup(t.g), t.it.key, string(argv[4]))
	return One
}

// XGROUP DELCONSUMER key group consumer: the pending entries it held.
func cmdXGroupDelConsumer(c *ctx, argv [][]byte) Value {
	t, errv := c.xgroupPrepare(argv)
	if errv.Kind == KindError {
		return errv
	}
	sc := t.g.consumer(string(argv[4]))
	if sc == nil {
		return Zero
	}
	pending := sc.pel.Len()
	s := c.mutableStream(&t.it)
	s.mutableGroup(t.g).delConsumer(sc)
	c.notify(NotifyStream, "xgroup-delconsumer", t.it.key)
	return Int(int64(pending))
}

var xgroupHelp = []string{
	"XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CREATE <key> <groupname> <id|$> [option]",
	"    Create a new consumer group. Options are:",
	"    * MKSTREAM",
	"      Create the empty stream if it does not exist.",
	"    * ENTRIESREAD entries_read",
	"      Set the group's entries_read counter (internal use).",
	"CREATECONSUMER <key> <groupname> <consumer>",
	"    Create a new consumer in the specified group.",
	"DELCONSUMER <key> <groupname> <consumer>",
	"    Remove the specified consumer.",
	"DESTROY <key> <groupname>",
	"    Remove the specified group.",
	"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
	"    Set the current group ID and entries_read counter.",
	"HELP",
	"    Prints this help.",
}

func cmdXGroupHelp(*ctx, [][]byte) Value { return SimpleLines(xgroupHelp) }

// streamGroupFor finds key's group for XACK, XCLAIM and XAUTOCLAIM; ok is
// false when either is missing.
func (c *ctx) streamGroupFor(key, group []byte) (it item, s *streamObj, g *streamGroup, ok bool, errv Value) {
	it, s, exists, errv := c.getStream(key)
	if !exists {
		return it, nil, nil, false, errv
	}
	g = s.group(group)
	return it, s, g, g != nil, Value{}
}

// XACK key group id [id ...]
func cmdXAck(c *ctx, argv [][]byte) Value {
	it, _, g, ok, errv := c.streamGroupFor(argv[1], argv[2])
	if !ok {
		if errv.Kind == KindError {
			return errv
		}
		return Zero
	}
	ids := make([]streamID, len(argv)-3)
	for i, a := range argv[3:] {
		id, _, ok := parseStreamID(a, idArg{strict: true})
		if !ok {
			return errInvalidStreamID
		}
		ids[i] = id
	}
	var acked int64
	for _, id := range ids {
		if _, pending := g.pel.Get(nack{id: id}); !pending {
			continue
		}
		s := c.mutableStream(&it)
		g = s.mutableGroup(g)
		g.ack(id)
		acked++
	}
	return Int(acked)
}

// XPENDING key group [[IDLE min-idle] start end count [consumer]]
func cmdXPending(c *ctx, argv [][]byte) Value {
	if len(argv) != 3 && (len(argv) < 6 || len(argv) > 9) {
		return errSyntax
	}
	var start, end streamID
	var count, minIdle int64
	var consumer []byte
	if len(argv) >= 6 {
		at := 3
		if eqFold(argv[3], "idle") {
			n, ok := parseInt(argv[4])
			if !ok {
				return errNotInt
			}
			minIdle = n
			if len(argv) < 8 {
				return errSyntax
			}
			at += 2
		}
		n, ok := parseInt(argv[at+2])
		if !ok {
			return errNotInt
		}
		count = max(n, 0)
		var errv Value
		if start, end, errv = parseRange(argv[at], argv[at+1]); errv.Kind == KindError {
			return errv
		}
		if at+3 < len(argv) {
			consumer = argv[at+3]
		}
	}
	_, s, exists, errv := c.getStream(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	var g *streamGroup
	if exists {
		g = s.group(argv[2])
	}
	if g == nil {
		return errNoKeyOrGroup(argv[1], argv[2])
	}
	if len(argv) == 3 {
		return pendingSummary(g)
	}
	var ids func(fn func(streamID) bool)
	if consumer != nil {
		sc := g.consumer(string(consumer))
		if sc == nil {
			return Array([]Value{})
		}
		ids = func(fn func(streamID) bool) { sc.pel.Ascend(start, fn) }
	} else {
		ids = func(fn func(streamID) bool) {
			g.pel.Ascend(nack{id: start}, func(n nack) bool { return fn(n.id) })
		}
	}
	out := []Value{}
	ids(func(id streamID) bool {
		if count == 0 || id.cmp(end) > 0 {
			return false
		}
		n, _ := g.pel.Get(nack{id: id})
		idle := c.now - n.time
		if minIdle != 0 && idle < minIdle {
			return true
		}
		count--
		out = append(out, Array([]Value{id.bulk(), BulkString(n.consumer), Int(max(idle, 0)), Int(n.count)}))
		return true
	})
	return Array(out)
}

func pendingSummary(g *streamGroup) Value {
	if g.pel.Len() == 0 {
		return Array([]Value{Zero, Null, Null, NullArray})
	}
	first, _ := g.pel.Min()
	last, _ := g.pel.Max()
	owners := []Value{}
	g.consumers.Scan(func(sc *streamConsumer) bool {
		if n := sc.pel.Len(); n > 0 {
			owners = append(owners, Array([]Value{BulkString(sc.name), BulkString(strconv.Itoa(n))}))
		}
		return true
	})
	return Array([]Value{Int(int64(g.pel.Len())), first.id.bulk(), last.id.bulk(), Array(owners)})
}

// claim gives the pending entry n to consumer sc (XCLAIM and XAUTOCLAIM);
// owned is false for an entry XCLAIM FORCE makes pending just now.
func (g *streamGroup) claim(n nack, owned bool, sc *streamConsumer, time, count int64) {
	if owned && n.consumer != sc.name {
		if old := g.consumer(n.consumer); old != nil {
			old = g.mutableConsumer(old)
			old.pel.Delete(n.id)
		}
	}
	g.pel.Set(nack{id: n.id, consumer: sc.name, time: time, count: count})
	sc.pel.Set(n.id)
}

// claimedValue is the reply for a claimed entry: its ID, or the entry.
func (s *streamObj) claimedValue(id streamID, justID bool) Value {
	if justID {
		return id.bulk()
	}
	n, _ := s.nodeAt(id)
	return entryValue(n, &n.entries[n.find(id)])
}

// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms]
// [RETRYCOUNT n] [FORCE] [JUSTID] [LASTID id]
func cmdXClaim(c *ctx, argv [][]byte) Value {
	it, s, g, ok, errv := c.streamGroupFor(argv[1], argv[2])
	if !ok {
		if errv.Kind == KindError {
			return errv
		}
		return errNoKeyOrGroup(argv[1], argv[2])
	}
	minIdle, ok := parseInt(argv[4])
	if !ok {
		return Err("ERR Invalid min-idle-time argument for XCLAIM")
	}
	minIdle = max(minIdle, 0)
	var ids []streamID
	j := 5
	for ; j < len(argv); j++ {
		id, _, ok := parseStreamID(argv[j], idArg{strict: true})
		if !ok {
			break
		}
		ids = append(ids, id)
	}
	now := c.now
	retry, delivery := int64(-1), int64(-1)
	force, justID := false, false
	var lastID streamID
	for ; j < len(argv); j++ {
		more := len(argv) - 1 - j
		opt := argv[j]
		num := func(what string) (int64, Value) {
			j++
			n, ok := parseInt(argv[j])
			if !ok {
				return 0, Err("ERR Invalid " + what + " option argument for XCLAIM")
			}
			return n, Value{}
		}
		switch {
		case eqFold(opt, "force"):
			force = true
		case eqFold(opt, "justid"):
			justID = true
		case eqFold(opt, "idle") && more > 0:
			n, errv := num("IDLE")
			if errv.Kind == KindError {
				return errv
			}
			delivery = now - n
		case eqFold(opt, "time") && more > 0:
			n, errv := num("TIME")
			if errv.Kind == KindError {
				return errv
			}
			delivery = n
		case eqFold(opt, "retrycount") && more > 0:
			n, errv := num("RETRYCOUNT")
			if errv.Kind == KindError {
				return errv
			}
			retry = n
		case eqFold(opt, "lastid") && more > 0:
			j++
			if lastID, _, ok = parseStreamID(argv[j], idArg{strict: true}); !ok {
				return errInvalidStreamID
			}
		default:
			return Err("ERR Unrecognized XCLAIM option '" + errText(opt) + "'")
		}
	}
	if lastID.cmp(g.lastID) > 0 {
		s = c.mutableStream(&it)
		g = s.mutableGroup(g)
		g.lastID = lastID
	}
	if delivery == -1 || delivery < 0 || delivery > now {
		delivery = now
	}
	var sc *streamConsumer
	out := []Value{}
	for _, id := range ids {
		n, pending := g.pel.Get(nack{id: id})
		if !s.exists(id) {
			if pending {
				s = c.mutableStream(&it)
				g = s.mutableGroup(g)
				g.ack(id)
			}
			continue
		}
		forced := force && !pending
		if forced {
			n = nack{id: id, time: now, count: 1}
		} else if !pending {
			continue
		}
		if !forced && minIdle != 0 && now-n.time < minIdle {
			continue
		}
		s = c.mutableStream(&it)
		g = s.mutableGroup(g)
		if sc == nil {
			sc = c.touchConsumer(g, it.key, string(argv[3]))
		}
		count := n.count
		if retry >= 0 {
			count = retry
		} else if !justID {
			count++
		}
		g.claim(n, !forced, sc, delivery, count)
		out = append(out, s.claimedValue(id, justID))
	}
	return Array(out)
}

// xautoclaimMaxCount is LONG_MAX / max(sizeof(streamID), attempts factor).
const xautoclaimMaxCount = math.MaxInt64 / 16

// XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID]
func cmdXAutoClaim(c *ctx, argv [][]byte) Value {
	minIdle, ok := parseInt(argv[4])
	if !ok {
		return Err("ERR Invalid min-idle-time argument for XAUTOCLAIM")
	}
	minIdle = max(minIdle, 0)
	start, ex, ok := parseIntervalID(argv[5], 0)
	if !ok {
		return errInvalidStreamID
	}
	if ex {
		if start, ok = start.incr(); !ok {
			return Err("ERR invalid start ID for the interval")
		}
	}
	count := int64(100)
	justID := false
	for j := 6; j < len(argv); j++ {
		more := len(argv) - 1 - j
		switch {
		case eqFold(argv[j], "count") && more > 0:
			n, ok := parseInt(argv[j+1])
			if !ok || n < 1 || n > xautoclaimMaxCount {
				return Err("ERR COUNT must be > 0")
			}
			count = n
			j++
		case eqFold(argv[j], "justid"):
			justID = true
		default:
			return errSyntax
		}
	}
	it, s, g, ok, errv := c.streamGroupFor(argv[1], argv[2])
	if !ok {
		if errv.Kind == KindError {
			return errv
		}
		return errNoKeyOrGroup(argv[1], argv[2])
	}
	now := c.now
	attempts := count * 10
	claimed, deleted := []Value{}, []Value{}
	var sc *streamConsumer
	next := streamID{}
	cursor := start
	for {
		var n nack
		found := false
		g.pel.Ascend(nack{id: cursor}, func(x nack) bool { n, found = x, true; return false })
		if !found {
			break
		}
		if attempts == 0 || count == 0 {
			next = n.id
			break
		}
		attempts--
		cursor = incrWrap(n.id)
		if !s.exists(n.id) {
			s = c.mutableStream(&it)
			g = s.mutableGroup(g)
			g.ack(n.id)
			deleted = append(deleted, n.id.bulk())
			count--
		} else if minIdle == 0 || now-n.time >= minIdle {
			s = c.mutableStream(&it)
			g = s.mutableGroup(g)
			if sc == nil {
				sc = c.touchConsumer(g, it.key, string(argv[3]))
			}
			cnt := n.count
			if !justID {
				cnt++
			}
			g.claim(n, true, sc, now, cnt)
			claimed = append(claimed, s.claimedValue(n.id, justID))
			count--
		}
		if n.id == maxStreamID {
			break
		}
	}
	return Array([]Value{next.bulk(), Array(claimed), Array(deleted)})
}
