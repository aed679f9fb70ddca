package fsm

import "math"

// streamCommands are the stream commands (Redis 7.0's t_stream.c), in
// stream_cmd.go (entries), stream_read.go (XREAD, XREADGROUP),
// stream_cgcmd.go (groups and pending entries) and stream_info.go (XINFO).
func streamCommands() []decl {
	return []decl{
		{name: "xadd", run: cmdXAdd, since: Level2},
		{name: "xrange", run: cmdXRange, since: Level2},
		{name: "xrevrange", run: cmdXRange, since: Level2},
		{name: "xlen", run: cmdXLen, since: Level2},
		{name: "xdel", run: cmdXDel, since: Level2},
		{name: "xtrim", run: cmdXTrim, since: Level2},
		{name: "xsetid", run: cmdXSetID, since: Level2},
		{name: "xread", run: cmdXRead, since: Level2},
		{name: "xreadgroup", run: cmdXRead, since: Level2},
		{name: "xack", run: cmdXAck, since: Level2},
		{name: "xpending", run: cmdXPending, since: Level2},
		{name: "xclaim", run: cmdXClaim, since: Level2},
		{name: "xautoclaim", run: cmdXAutoClaim, since: Level2},
		{name: "xgroup|create", run: cmdXGroupCreate, since: Level2},
		{name: "xgroup|setid", run: cmdXGroupSetID, since: Level2},
		{name: "xgroup|destroy", run: cmdXGroupDestroy, since: Level2},
		{name: "xgroup|createconsumer", run: cmdXGroupCreateConsumer, since: Level2},
		{name: "xgroup|delconsumer", run: cmdXGroupDelConsumer, since: Level2},
		{name: "xgroup|help", run: cmdXGroupHelp, since: Level2},
		{name: "xinfo|stream", run: cmdXInfoStream, since: Level2},
		{name: "xinfo|groups", run: cmdXInfoGroups, since: Level2},
		{name: "xinfo|consumers", run: cmdXInfoConsumers, since: Level2},
		{name: "xinfo|help", run: cmdXInfoHelp, since: Level2},
	}
}

// xaddArgs are XADD's parsed options.
type xaddArgs struct {
	trimArgs
	id       streamID
	idGiven  bool
	seqGiven bool
	noMk     bool
	idPos    int
}

// parseAddTrim is streamParseAddOrTrimArgsOrReply, for XADD (xadd) or XTRIM.
func parseAddTrim(argv [][]byte, xadd bool) (a xaddArgs, errv Value) {
	i := 2
	limitGiven := false
	for ; i < len(argv); i++ {
		more := len(argv) - 1 - i
		opt := argv[i]
		switch {
		case xadd && len(opt) == 1 && opt[0] == '*':
			a.idPos = i
			return a, a.finishTrim(limitGiven, xadd)
		case eqFold(opt, "maxlen") && more > 0, eqFold(opt, "minid") && more > 0:
			if a.strategy != trimNone {
				return a, Err("ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
			}
			a.approx = false
			if next := argv[i+1]; more >= 2 && len(next) == 1 && (next[0] == '~' || next[0] == '=') {
				a.approx = next[0] == '~'
				i++
			}
			if eqFold(opt, "maxlen") {
				n, ok := parseInt(argv[i+1])
				if !ok {
					return a, errNotInt
				}
				if n < 0 {
					return a, Err("ERR The MAXLEN argument must be >= 0.")
				}
				a.maxlen, a.strategy = n, trimMaxLen
			} else {
				id, _, ok := parseStreamID(argv[i+1], idArg{strict: true})
				if !ok {
					return a, errInvalidStreamID
				}
				a.minid, a.strategy = id, trimMinID
			}
			i++
		case eqFold(opt, "limit") && more > 0:
			n, ok := parseInt(argv[i+1])
			if !ok {
				return a, errNotInt
			}
			if n < 0 {
				return a, Err("ERR The LIMIT argument must be >= 0.")
			}
			a.limit, limitGiven = n, true
			i++
		case xadd && eqFold(opt, "nomkstream"):
			a.noMk = true
		case xadd:
			id, seqGiven, ok := parseStreamID(opt, idArg{strict: true, autoSeq: true})
			if !ok {
				return a, errInvalidStreamID
			}
			a.id, a.idGiven, a.seqGiven, a.idPos = id, true, seqGiven, i
			return a, a.finishTrim(limitGiven, xadd)
		default:
			return a, errSyntax
		}
	}
	a.idPos = i
	return a, a.finishTrim(limitGiven, xadd)
}

func (a *xaddArgs) finishTrim(limitGiven, xadd bool) Value {
	if a.limit != 0 && a.strategy == trimNone {
		return Err("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
	}
	if !xadd && a.strategy == trimNone {
		return Err("ERR syntax error, XTRIM must be called with a trimming strategy")
	}
	switch {
	case limitGiven && !a.approx:
		return Err("ERR syntax error, LIMIT cannot be used without the special ~ option")
	case !limitGiven && a.approx:
		a.limit = 100 * streamNodeMaxEntries
	case !limitGiven:
		a.limit = 0
	}
	return Value{}
}

// nextID is the ID "*" gives (streamNextID): the entry's time, or when the
// clock is behind the last ID (a new leader's clock, say) the last ID's
// time with the next sequence, so IDs never go backwards.
func (s *streamObj) nextID(now int64) (streamID, bool) {
	if ms := uint64(max(now, 0)); ms > s.lastID.ms {
		return streamID{ms: ms}, true
	}
	return s.lastID.incr()
}

// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]
func cmdXAdd(c *ctx, argv [][]byte) Value {
	a, errv := parseAddTrim(argv, true)
	if errv.Kind == KindError {
		return errv
	}
	fieldPos := a.idPos + 1
	if n := len(argv) - fieldPos; n < 2 || n%2 == 1 {
		return ErrArity("xadd")
	}
	if a.idGiven && a.seqGiven && a.id.isZero() {
		return Err("ERR The ID specified in XADD must be greater than 0-0")
	}
	it, _, exists, errv := c.getStream(argv[1])
	var s *streamObj
	if errv.Kind == KindError {
		return errv
	}
	if !exists {
		if a.noMk {
			return Null
		}
		// Redis adds the key first (its "new" event comes before "xadd"),
		// and leaves it even if the entry is then refused.
		s = newStream(c.ks.gen)
		it = item{key: string(argv[1]), val: s}
		c.ks.put(it)
	} else {
		s = c.mutableStream(&it)
	}
	if s.lastID == maxStreamID {
		return Err("ERR The stream has exhausted the last possible ID, unable to add more items")
	}
	id, errv := s.idFor(a, c.now)
	total := 0
	for _, x := range argv[fieldPos:] {
		total += len(x)
	}
	if errv.Kind == KindError || total > streamListpackMaxSize {
		if errv.Kind == KindError {
			return errv
		}
		return Err("ERR Elements are too large to be stored")
	}
	s.appendEntry(id, argv[fieldPos:])
	c.notify(NotifyStream, "xadd", it.key)
	if s.trim(a.trimArgs) > 0 {
		c.notify(NotifyStream, "xtrim", it.key)
	}
	c.ks.put(it)
	return id.bulk()
}

// idFor is the ID streamAppendItem gives an entry: "*", <ms>-* or explicit.
func (s *streamObj) idFor(a xaddArgs, now int64) (streamID, Value) {
	tooSmall := Err("ERR The ID specified in XADD is equal or smaller than the target stream top item")
	var id streamID
	switch {
	case !a.idGiven:
		var ok bool
		if id, ok = s.nextID(now); !ok {
			return id, tooSmall
		}
	case a.seqGiven:
		id = a.id
	case s.lastID.ms == a.id.ms:
		if s.lastID.seq == math.MaxUint64 {
			return id, tooSmall
		}
		id = streamID{a.id.ms, s.lastID.seq + 1}
	default:
		id = a.id
	}
	if id.cmp(s.lastID) <= 0 {
		return id, tooSmall
	}
	return id, Value{}
}

// XRANGE key start end [COUNT n] / XREVRANGE key end start [COUNT n]
func cmdXRange(c *ctx, argv [][]byte) Value {
	rev := eqFold(argv[0], "xrevrange")
	startArg, endArg := argv[2], argv[3]
	if rev {
		startArg, endArg = endArg, startArg
	}
	start, end, errv := parseRange(startArg, endArg)
	if errv.Kind == KindError {
		return errv
	}
	count := int64(-1)
	for j := 4; j < len(argv); j++ {
		if !eqFold(argv[j], "count") || j+1 >= len(argv) {
			return errSyntax
		}
		n, ok := parseInt(argv[j+1])
		if !ok {
			return errNotInt
		}
		count = max(n, 0)
		j++
	}
	_, s, ok, errv := c.getStream(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	if !ok {
		return Array([]Value{})
	}
	if count == 0 {
		return NullArray
	}
	return Array(s.rangeValues(start, end, max(count, 0), rev))
}

func cmdXLen(c *ctx, argv [][]byte) Value {
	_, s, ok, errv := c.getStream(argv[1])
	if !ok {
		if errv.Kind == KindError {
			return errv
		}
		return Zero
	}
	return Int(int64(s.length))
}

// XDEL key id [id ...]
func cmdXDel(c *ctx, argv [][]byte) Value {
	it, _, ok, errv := c.getStream(argv[1])
	if !ok {
		if errv.Kind == KindError {
			return errv
		}
		return Zero
	}
	ids := make([]streamID, len(argv)-2)
	for i, a := range argv[2:] {
		id, _, ok := parseStreamID(a, idArg{strict: true})
		if !ok {
			return errInvalidStreamID
		}
		ids[i] = id
	}
	s := c.mutableStream(&it)
	var deleted int64
	first := false
	for _, id := range ids {
		if s.delete(id) {
			first = first || id == s.firstID
			if id.cmp(s.maxDeleted) > 0 {
				s.maxDeleted = id
			}
			deleted++
		}
	}
	if deleted == 0 {
		return Zero
	}
	if s.length == 0 {
		s.firstID = streamID{}
	} else if first {
		s.firstID, _ = s.edge(false)
	}
	c.ks.put(it)
	c.notify(NotifyStream, "xdel", it.key)
	return Int(deleted)
}

// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
func cmdXTrim(c *ctx, argv [][]byte) Value {
	a, errv := parseAddTrim(argv, false)
	if errv.Kind == KindError {
		return errv
	}
	it, _, ok, errv := c.getStream(argv[1])
	if !ok {
		if errv.Kind == KindError {
			return errv
		}
		return Zero
	}
	s := c.mutableStream(&it)
	n := s.trim(a.trimArgs)
	if n > 0 {
		c.notify(NotifyStream, "xtrim", it.key)
		c.ks.put(it)
	}
	return Int(n)
}

// XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id]
func cmdXSetID(c *ctx, argv [][]byte) Value {
	id, _, ok := parseStreamID(argv[2], idArg{strict: true})
	if !ok {
		return errInvalidStreamID
	}
	entriesAdded := int64(-1)
	var maxDel streamID
	for i := 3; i < len(argv); i += 2 {
		more := len(argv) - 1 - i
		switch {
		case eqFold(argv[i], "entriesadded") && more > 0:
			n, ok := parseInt(argv[i+1])
			if !ok {
				return errNotInt
			}
			if n < 0 {
				return Err("ERR entries_added must be positive")
			}
			entriesAdded = n
		case eqFold(argv[i], "maxdeletedid") && more > 0:
			if maxDel, _, ok = parseStreamID(argv[i+1], idArg{strict: true}); !ok {
				return errInvalidStreamID
			}
			if id.less(maxDel) {
				return Err("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
			}
		default:
			return errSyntax
		}
	}
	it, s, ok, errv := c.getStream(argv[1])
	if !ok {
		if errv.Kind == KindError {
			return errv
		}
		return errNoSuchKey
	}
	if s.length > 0 {
		if id.less(s.lastValidID()) {
			return Err("ERR The ID specified in XSETID is smaller than the target stream top item")
		}
		if entriesAdded != -1 && s.length > uint64(entriesAdded) {
			return Err("ERR The entries_added specified in XSETID is smaller than the target stream length")
		}
	}
	s = c.mutableStream(&it)
	s.lastID = id
	if entriesAdded != -1 {
		s.entriesAdded = uint64(entriesAdded)
	}
	if !maxDel.isZero() {
		s.maxDeleted = maxDel
	}
	c.notify(NotifyStream, "xsetid", it.key)
	return OK
}
