package fsm

import (
	"math"
	"strconv"
)

func keyCommands() []*Command {
	w, r := FlagWrite, FlagRead
	return []*Command{
		{Name: "del", Arity: -2, Flags: w, First: 1, Last: -1, Step: 1, run: cmdDel},
		{Name: "unlink", Arity: -2, Flags: w, First: 1, Last: -1, Step: 1, run: cmdDel},
		{Name: "exists", Arity: -2, Flags: r, First: 1, Last: -1, Step: 1, run: cmdExists},
		{Name: "type", Arity: 2, Flags: r, First: 1, Last: 1, Step: 1, run: cmdType},
		{Name: "expire", Arity: -3, Flags: w, First: 1, Last: 1, Step: 1, run: cmdExpire},
		{Name: "pexpire", Arity: -3, Flags: w, First: 1, Last: 1, Step: 1, run: cmdExpire},
		{Name: "expireat", Arity: -3, Flags: w, First: 1, Last: 1, Step: 1, run: cmdExpire},
		{Name: "pexpireat", Arity: -3, Flags: w, First: 1, Last: 1, Step: 1, run: cmdExpire},
		{Name: "ttl", Arity: 2, Flags: r, First: 1, Last: 1, Step: 1, run: cmdTTL},
		{Name: "pttl", Arity: 2, Flags: r, First: 1, Last: 1, Step: 1, run: cmdTTL},
		{Name: "expiretime", Arity: 2, Flags: r, First: 1, Last: 1, Step: 1, run: cmdExpireTime},
		{Name: "pexpiretime", Arity: 2, Flags: r, First: 1, Last: 1, Step: 1, run: cmdExpireTime},
		{Name: "persist", Arity: 2, Flags: w, First: 1, Last: 1, Step: 1, run: cmdPersist},
		{Name: "rename", Arity: 3, Flags: w, First: 1, Last: 2, Step: 1, run: cmdRename},
		{Name: "renamenx", Arity: 3, Flags: w, First: 1, Last: 2, Step: 1, run: cmdRename},
		{Name: "keys", Arity: 2, Flags: r, run: cmdKeys},
		{Name: "scan", Arity: -2, Flags: r, run: cmdScan},
		{Name: "dbsize", Arity: 1, Flags: r, run: cmdDBSize},
		{Name: "flushdb", Arity: -1, Flags: w, run: cmdFlush},
		{Name: "flushall", Arity: -1, Flags: w, run: cmdFlush},
		{Name: "randomkey", Arity: 1, Flags: r, run: cmdRandomKey},
	}
}

func cmdDel(c *ctx, argv [][]byte) Value {
	var n int64
	for _, k := range argv[1:] {
		if _, ok := c.get(k); ok {
			c.ks.del(string(k))
			n++
		}
	}
	return Int(n)
}

func cmdExists(c *ctx, argv [][]byte) Value {
	var n int64
	for _, k := range argv[1:] {
		if _, ok := c.get(k); ok {
			n++
		}
	}
	return Int(n)
}

// typeName is what TYPE reports for a value.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case *hashObj:
		return "hash"
	case *listObj:
		return "list"
	case *setObj:
		return "set"
	case *zsetObj:
		return "zset"
	}
	return "none"
}

func cmdType(c *ctx, argv [][]byte) Value {
	it, ok := c.get(argv[1])
	if !ok {
		return Simple("none")
	}
	return Simple(typeName(it.val))
}

// cmdExpire serves EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT with Redis 7's
// NX/XX/GT/LT options.
func cmdExpire(c *ctx, argv [][]byte) Value {
	cmd := "expire"
	for _, name := range []string{"pexpireat", "expireat", "pexpire"} {
		if eqFold(argv[0], name) {
			cmd = name
		}
	}
	// Redis checks the options before the time argument.
	var nx, xx, gt, lt bool
	for _, a := range argv[3:] {
		switch {
		case eqFold(a, "nx"):
			nx = true
		case eqFold(a, "xx"):
			xx = true
		case eqFold(a, "gt"):
			gt = true
		case eqFold(a, "lt"):
			lt = true
		default:
			return Err("ERR Unsupported option " + errText(a))
		}
	}
	if nx && (xx || gt || lt) {
		return Err("ERR NX and XX, GT or LT options at the same time are not compatible")
	}
	if gt && lt {
		return Err("ERR GT and LT options at the same time are not compatible")
	}
	n, ok := parseInt(argv[2])
	if !ok {
		return errNotInt
	}
	ms := n
	if cmd == "expire" || cmd == "expireat" {
		if n > math.MaxInt64/1000 || n < math.MinInt64/1000 {
			return errExpire(cmd)
		}
		ms = n * 1000
	}
	if cmd == "expire" || cmd == "pexpire" {
		if ms > math.MaxInt64-c.now {
			return errExpire(cmd)
		}
		ms += c.now
	}
	it, exists := c.get(argv[1])
	if !exists {
		return Zero
	}
	switch {
	case nx && it.exp != 0, xx && it.exp == 0:
		return Zero
	case gt && (it.exp == 0 || ms <= it.exp):
		return Zero
	case lt && it.exp != 0 && ms >= it.exp:
		return Zero
	}
	if ms <= c.now {
		c.ks.del(it.key)
		return One
	}
	it.exp = ms
	c.ks.put(it)
	return One
}

func cmdTTL(c *ctx, argv [][]byte) Value {
	it, ok := c.get(argv[1])
	if !ok {
		return Int(-2)
	}
	if it.exp == 0 {
		return Int(-1)
	}
	left := max(it.exp-c.now, 0)
	if eqFold(argv[0], "pttl") {
		return Int(left)
	}
	return Int((left + 500) / 1000)
}

func cmdExpireTime(c *ctx, argv [][]byte) Value {
	it, ok := c.get(argv[1])
	if !ok {
		return Int(-2)
	}
	if it.exp == 0 {
		return Int(-1)
	}
	if eqFold(argv[0], "pexpiretime") {
		return Int(it.exp)
	}
	// Redis rounds to the nearest second, (ms+500)/1000, written so that
	// it cannot overflow.
	return Int(it.exp/1000 + (it.exp%1000+500)/1000)
}

func cmdPersist(c *ctx, argv [][]byte) Value {
	it, ok := c.get(argv[1])
	if !ok || it.exp == 0 {
		return Zero
	}
	it.exp = 0
	c.ks.put(it)
	return One
}

func cmdRename(c *ctx, argv [][]byte) Value {
	nx := eqFold(argv[0], "renamenx")
	src, ok := c.get(argv[1])
	if !ok {
		return errNoSuchKey
	}
	dst := string(argv[2])
	if src.key == dst {
		if nx {
			return Zero
		}
		return OK
	}
	if nx {
		if _, exists := c.get(argv[2]); exists {
			return Zero
		}
	}
	c.ks.del(src.key)
	c.ks.del(dst)
	c.ks.put(item{key: dst, exp: src.exp, val: src.val})
	if nx {
		return One
	}
	return OK
}

func cmdKeys(c *ctx, argv [][]byte) Value {
	pat := argv[1]
	all := len(pat) == 1 && pat[0] == '*'
	var out []Value
	c.ks.tree.Scan(func(it *item) bool {
		if isExpired(it.exp, c.now) {
			return true
		}
		if all || globMatch(pat, b(it.key), false) {
			out = append(out, BulkString(it.key))
		}
		return true
	})
	if out == nil {
		out = []Value{}
	}
	return Array(out)
}

// cmdScan walks keys in hash order. The cursor is the hash where the next call
// resumes, so every key present for the whole iteration is returned exactly
// once whatever changes in between, which is the guarantee Redis gives.
func cmdScan(c *ctx, argv [][]byte) Value {
	cursor, ok := parseCursor(argv[1])
	if !ok {
		return errInvalidCurs
	}
	count := int64(10)
	var match, typ []byte
	for i := 2; i < len(argv); i += 2 {
		if i+1 >= len(argv) {
			return errSyntax
		}
		switch {
		case eqFold(argv[i], "count"):
			n, ok := parseInt(argv[i+1])
			if !ok {
				return errNotInt
			}
			if n < 1 {
				return errSyntax
			}
			count = n
		case eqFold(argv[i], "match"):
			match = argv[i+1]
			if len(match) == 1 && match[0] == '*' {
				match = nil // matches all keys, the empty one too, as in Redis
			}
		case eqFold(argv[i], "type"):
			typ = argv[i+1]
		default:
			return errSyntax
		}
	}
	var out []Value
	var seen int64
	next, lastH := uint64(0), uint64(0)
	c.ks.tree.Ascend(&item{h: cursor}, func(it *item) bool {
		// Stop only between hash groups so a cursor never splits keys
		// that share a hash.
		if seen >= count && it.h != lastH && it.h != 0 {
			next = it.h
			return false
		}
		seen++
		lastH = it.h
		if isExpired(it.exp, c.now) {
			return true
		}
		if match != nil && !globMatch(match, b(it.key), false) {
			return true
		}
		if typ != nil && !eqFold(typ, typeName(it.val)) {
			return true
		}
		out = append(out, BulkString(it.key))
		return true
	})
	if out == nil {
		out = []Value{}
	}
	return Array([]Value{BulkString(strconv.FormatUint(next, 10)), Array(out)})
}

// parseCursor reads a SCAN cursor as Redis does, with strtoul: an optional
// sign ("-1" wraps around), no leading space, and "" reads as 0.
func parseCursor(arg []byte) (uint64, bool) {
	s := string(arg)
	if s == "" {
		return 0, true
	}
	neg := s[0] == '-'
	if s[0] == '+' || s[0] == '-' {
		s = s[1:]
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func cmdDBSize(c *ctx, _ [][]byte) Value { return Int(int64(c.ks.len())) }

func cmdFlush(c *ctx, argv [][]byte) Value {
	if len(argv) > 2 || (len(argv) == 2 && !eqFold(argv[1], "async") && !eqFold(argv[1], "sync")) {
		return errSyntax
	}
	c.ks.clear()
	return OK
}

func cmdRandomKey(c *ctx, _ [][]byte) Value {
	n := c.ks.len()
	if n == 0 {
		return Null
	}
	// Like Redis, give up on a keyspace of only expired keys after a few tries.
	for range 100 {
		it, _ := c.ks.tree.GetAt(c.rand().IntN(n))
		if !isExpired(it.exp, c.now) {
			return BulkString(it.key)
		}
	}
	return Null
}
