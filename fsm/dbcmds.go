package fsm

// Commands that name databases: MOVE, COPY ... DB, SWAPDB (Redis 7.0's
// semantics and texts). All need cluster level 2.

func dbCommands() []decl {
	return []decl{
		{name: "move", run: cmdMove, since: Level2},
		{name: "copy", run: cmdCopy, since: Level2},
		{name: "swapdb", run: cmdSwapDB, since: Level2},
	}
}

var errSameObject = Err("ERR source and destination objects are the same")

// cmdMove is MOVE key db.
func cmdMove(c *ctx, argv [][]byte) Value {
	dst, errv := c.parseDB(argv[2], errNotInt)
	if errv.Kind == KindError {
		return errv
	}
	if dst == c.db {
		return errSameObject
	}
	it, ok := c.get(argv[1])
	if !ok {
		return Zero
	}
	src := c.ks
	target := c.f.keyspace(dst)
	c.stamp(target)
	if cur, ok := target.raw(it.key); ok && !isExpired(cur.exp, c.now) {
		return Zero
	} else if ok {
		target.del(cur.key) // reclaimed, as a write's lookup would
		c.notifyDB(dst, NotifyExpired, "expired", cur.key)
	}
	src.del(it.key)
	target.put(item{key: it.key, exp: it.exp, val: it.val, raw: it.raw})
	c.notify(NotifyGeneric, "move_from", it.key)
	c.notifyDB(dst, NotifyGeneric, "move_to", it.key)
	return One
}

// cmdCopy is COPY source destination [DB destination-db] [REPLACE].
func cmdCopy(c *ctx, argv [][]byte) Value {
	dst, replace := c.db, false
	for j := 3; j < len(argv); j++ {
		switch {
		case eqFold(argv[j], "replace"):
			replace = true
		case eqFold(argv[j], "db") && j+1 < len(argv):
			n, errv := c.parseDB(argv[j+1], errNotInt)
			if errv.Kind == KindError {
				return errv
			}
			dst = n
			j++
		default:
			return errSyntax
		}
	}
	if dst == c.db && string(argv[1]) == string(argv[2]) {
		return errSameObject
	}
	it, ok := c.get(argv[1])
	if !ok {
		return Zero
	}
	target := c.f.keyspace(dst)
	c.stamp(target)
	newKey := string(argv[2])
	if cur, ok := target.raw(newKey); ok {
		expired := isExpired(cur.exp, c.now)
		if !expired && !replace {
			return Zero
		}
		target.del(newKey)
		if expired {
			c.notifyDB(dst, NotifyExpired, "expired", newKey)
		}
	}
	target.put(item{key: newKey, exp: it.exp, val: dupValue(it.val, target.gen), raw: it.raw})
	c.notifyDB(dst, NotifyGeneric, "copy_to", newKey)
	return One
}

// dupValue is an independent copy of a value, in the same encoding.
func dupValue(v any, gen uint64) any {
	switch o := v.(type) {
	case *hashObj:
		return o.clone(gen)
	case *listObj:
		return o.clone(gen)
	case *setObj:
		return o.clone(gen)
	case *zsetObj:
		return o.clone(gen)
	case *streamObj:
		return o.dup(gen)
	}
	return v // strings are immutable
}

// cmdSwapDB is SWAPDB index1 index2: the two databases trade places, so
// every client of one now sees the other's keys.
func cmdSwapDB(c *ctx, argv [][]byte) Value {
	a, errv := c.parseDB(argv[1], Err("ERR invalid first DB index"))
	if errv.Kind == KindError {
		return errv
	}
	b, errv := c.parseDB(argv[2], Err("ERR invalid second DB index"))
	if errv.Kind == KindError {
		return errv
	}
	if a == b {
		return OK
	}
	ka, kb := c.f.keyspace(a), c.f.keyspace(b)
	c.f.dbs[a], c.f.dbs[b] = kb, ka
	ka.num, kb.num = b, a
	c.stamp(ka)
	c.stamp(kb)
	// WATCH: every key of both databases may have changed (Redis's
	// touchAllWatchedKeysInDb).
	ka.swapped, kb.swapped = c.index, c.index
	if c.touched != nil {
		*c.touched = append(*c.touched, DBKey{a, AllKeys}, DBKey{b, AllKeys})
	}
	c.use(c.db) // the command's own database may be one of them
	return OK
}
