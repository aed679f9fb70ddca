package fsm

import (
	"math"
	"math/big"
	"strconv"
	"strings"
)

// maxString is proto-max-bulk-len (replicated: config.go): no string grows
// past it.
func (c *ctx) maxString() int64 { return c.f.conf.protoMaxBulkLen }

func stringCommands() []decl {
	return []decl{
		{name: "get", run: cmdGet, since: 1},
		{name: "set", run: cmdSet, since: 1},
		{name: "getset", run: cmdGetSet, since: 1},
		{name: "mget", run: cmdMGet, since: 1},
		{name: "mset", run: cmdMSet, since: 1},
		{name: "msetnx", run: cmdMSetNX, since: 1},
		{name: "setnx", run: cmdSetNX, since: 1},
		{name: "setex", run: cmdSetEx, since: 1},
		{name: "psetex", run: cmdPSetEx, since: 1},
		{name: "append", run: cmdAppend, since: 1},
		{name: "strlen", run: cmdStrlen, since: 1},
		{name: "incr", run: cmdIncr, since: 1},
		{name: "decr", run: cmdDecr, since: 1},
		{name: "incrby", run: cmdIncrBy, since: 1},
		{name: "decrby", run: cmdDecrBy, since: 1},
		{name: "incrbyfloat", run: cmdIncrByFloat, since: 1},
		{name: "getdel", run: cmdGetDel, since: 1},
		{name: "getex", run: cmdGetEx, since: 1},
		{name: "getrange", run: cmdGetRange, since: 1},
		{name: "substr", run: cmdGetRange, since: 1},
		{name: "setrange", run: cmdSetRange, since: 1},
	}
}

// getString returns the string at key: ok=false if absent, or a WRONGTYPE error.
func (c *ctx) getString(key []byte) (it item, s string, ok bool, errv Value) {
	it, ok = c.get(key)
	if !ok {
		return it, "", false, Value{}
	}
	s, isStr := it.val.(string)
	if !isStr {
		return it, "", false, errWrongType
	}
	return it, s, true, Value{}
}

func cmdGet(c *ctx, argv [][]byte) Value {
	_, s, ok, errv := c.getString(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	if !ok {
		return Null
	}
	return Bulk(b(s))
}

// setOpts holds SET's flags.
type setOpts struct {
	nx, xx, get, keepTTL bool
	exp                  int64 // absolute Unix ms; 0 = none
	hasExp               bool
}

// isExpireOpt reports whether a is one of SET's and GETEX's expire options.
func isExpireOpt(a []byte) bool {
	return eqFold(a, "ex") || eqFold(a, "px") || eqFold(a, "exat") || eqFold(a, "pxat")
}

// parseExpire turns EX/PX/EXAT/PXAT n into an absolute time, with Redis's checks.
func parseExpire(c *ctx, unit string, arg []byte, cmd string) (int64, Value) {
	n, ok := parseInt(arg)
	if !ok {
		return 0, errNotInt
	}
	if n <= 0 {
		return 0, errExpire(cmd)
	}
	ms := n
	if unit == "ex" || unit == "exat" {
		if n > math.MaxInt64/1000 {
			return 0, errExpire(cmd)
		}
		ms = n * 1000
	}
	if unit == "ex" || unit == "px" {
		if ms > math.MaxInt64-c.now {
			return 0, errExpire(cmd)
		}
		ms += c.now
	}
	return ms, Value{}
}

func cmdSet(c *ctx, argv [][]byte) Value {
	var o setOpts
	// Like Redis, every option is parsed before the expire time is checked,
	// and EX/PX/EXAT/PXAT may repeat (the last wins) but not mix.
	var expUnit string
	var expArg []byte
	for i := 3; i < len(argv); i++ {
		a := argv[i]
		switch {
		case eqFold(a, "nx") && !o.xx:
			o.nx = true
		case eqFold(a, "xx") && !o.nx:
			o.xx = true
		case eqFold(a, "get"):
			o.get = true
		case eqFold(a, "keepttl") && expUnit == "":
			o.keepTTL = true
		case isExpireOpt(a) && !o.keepTTL && (expUnit == "" || eqFold(a, expUnit)) && i+1 < len(argv):
			expUnit, expArg = strings.ToLower(string(a)), argv[i+1]
			i++
		default:
			return errSyntax
		}
	}
	if expUnit != "" {
		exp, errv := parseExpire(c, expUnit, expArg, "set")
		if errv.Kind == KindError {
			return errv
		}
		o.exp, o.hasExp = exp, true
	}
	if !o.nx && !o.xx && !o.get && !o.keepTTL && !isExpired(o.exp, c.now) {
		// The common SET: whatever the key held, it is replaced, so one
		// traversal of the tree does get's and put's work (reclaim).
		it := kvItem(argv[1], argv[2], o.exp)
		if prev, live := c.ks.reclaim(it); live {
			c.touch(&prev)
		}
		c.notify(NotifyString, "set", it.key)
		if o.hasExp {
			c.notify(NotifyGeneric, "expire", it.key)
		}
		return OK
	}
	old, oldStr, exists, errv := c.getString(argv[1])
	if errv.Kind == KindError && o.get {
		return errv
	}
	exists = exists || errv.Kind == KindError
	reply := OK
	if o.get {
		reply = Null
		if exists {
			reply = Bulk(b(oldStr))
		}
	}
	if (o.nx && exists) || (o.xx && !exists) {
		if o.get {
			return reply
		}
		return Null
	}
	it := kvItem(argv[1], argv[2], 0)
	if o.hasExp {
		it.exp = o.exp
	} else if o.keepTTL && exists {
		it.exp = old.exp
	}
	if isExpired(it.exp, c.now) {
		// An absolute time already past: the write happens and the key is
		// gone at once (a change WATCH sees). Redis 7.0 stores it and
		// expires it at its next look: the same events, in that order.
		if _, existed := c.ks.del(it.key); !existed {
			c.ks.changedAbsent(it.key)
		}
		if !exists {
			c.notify(NotifyNew, "new", it.key)
		}
		c.notify(NotifyString, "set", it.key)
		c.notify(NotifyGeneric, "expire", it.key)
		c.notify(NotifyExpired, "expired", it.key)
		return reply
	}
	c.ks.put(it)
	c.notify(NotifyString, "set", it.key)
	if o.hasExp {
		c.notify(NotifyGeneric, "expire", it.key)
	}
	return reply
}

func cmdGetSet(c *ctx, argv [][]byte) Value {
	_, s, ok, errv := c.getString(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	c.ks.put(kvItem(argv[1], argv[2], 0))
	c.notify(NotifyString, "set", string(argv[1]))
	if !ok {
		return Null
	}
	return Bulk(b(s))
}

func cmdMGet(c *ctx, argv [][]byte) Value {
	out := make([]Value, len(argv)-1)
	for i, k := range argv[1:] {
		_, s, ok, _ := c.getString(k)
		if ok {
			out[i] = Bulk(b(s))
		} else {
			out[i] = Null
		}
	}
	return Array(out)
}

func cmdMSet(c *ctx, argv [][]byte) Value {
	if len(argv)%2 == 0 {
		return ErrArity("mset")
	}
	for i := 1; i < len(argv); i += 2 {
		c.ks.put(kvItem(argv[i], argv[i+1], 0))
		c.notify(NotifyString, "set", string(argv[i]))
	}
	return OK
}

func cmdMSetNX(c *ctx, argv [][]byte) Value {
	if len(argv)%2 == 0 {
		return ErrArity("msetnx")
	}
	for i := 1; i < len(argv); i += 2 {
		if _, ok := c.get(argv[i]); ok {
			return Zero
		}
	}
	for i := 1; i < len(argv); i += 2 {
		c.ks.put(kvItem(argv[i], argv[i+1], 0))
		c.notify(NotifyString, "set", string(argv[i]))
	}
	return One
}

func cmdSetNX(c *ctx, argv [][]byte) Value {
	if _, ok := c.get(argv[1]); ok {
		return Zero
	}
	c.ks.put(kvItem(argv[1], argv[2], 0))
	c.notify(NotifyString, "set", string(argv[1]))
	return One
}

func setWithTTL(c *ctx, argv [][]byte, unit, name string) Value {
	exp, errv := parseExpire(c, unit, argv[2], name)
	if errv.Kind == KindError {
		return errv
	}
	c.ks.put(kvItem(argv[1], argv[3], exp))
	c.notify(NotifyString, "set", string(argv[1]))
	c.notify(NotifyGeneric, "expire", string(argv[1]))
	return OK
}

func cmdSetEx(c *ctx, argv [][]byte) Value  { return setWithTTL(c, argv, "ex", "setex") }
func cmdPSetEx(c *ctx, argv [][]byte) Value { return setWithTTL(c, argv, "px", "psetex") }

func cmdAppend(c *ctx, argv [][]byte) Value {
	it, s, ok, errv := c.getString(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	if int64(len(s)+len(argv[2])) > c.maxString() {
		return errTooBig
	}
	if !ok {
		it = item{key: string(argv[1])}
	} else {
		it.raw = c.rawStrings() // appended to in place
	}
	it.val = s + string(argv[2])
	c.ks.put(it)
	c.notify(NotifyString, "append", it.key)
	return Int(int64(len(s) + len(argv[2])))
}

func cmdStrlen(c *ctx, argv [][]byte) Value {
	_, s, _, errv := c.getString(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	return Int(int64(len(s)))
}

func incrBy(c *ctx, key []byte, by int64) Value {
	it, s, ok, errv := c.getString(key)
	if errv.Kind == KindError {
		return errv
	}
	var n int64
	if ok {
		var valid bool
		if n, valid = parseInt(b(s)); !valid {
			return errNotInt
		}
	} else {
		it = item{key: string(key)}
	}
	if (by < 0 && n < 0 && by < math.MinInt64-n) || (by > 0 && n > 0 && by > math.MaxInt64-n) {
		return errOverflow
	}
	n += by
	it.val = strconv.FormatInt(n, 10)
	it.raw = false // a new integer object
	c.ks.put(it)
	c.notify(NotifyString, "incrby", it.key)
	return Int(n)
}

func cmdIncr(c *ctx, argv [][]byte) Value { return incrBy(c, argv[1], 1) }
func cmdDecr(c *ctx, argv [][]byte) Value { return incrBy(c, argv[1], -1) }

func cmdIncrBy(c *ctx, argv [][]byte) Value {
	by, ok := parseInt(argv[2])
	if !ok {
		return errNotInt
	}
	return incrBy(c, argv[1], by)
}

func cmdDecrBy(c *ctx, argv [][]byte) Value {
	by, ok := parseInt(argv[2])
	if !ok {
		return errNotInt
	}
	if by == math.MinInt64 {
		return Err("ERR decrement would overflow")
	}
	return incrBy(c, argv[1], -by)
}

// parseLongDouble parses a float the way Redis's string2ld does, at the
// precision of the x87 long double Redis computes INCRBYFLOAT in, so that
// results format identically (0.1 + 0.2 gives "0.3", as on Redis). Like
// strtold it reads decimal and 0x-hex numbers and "inf"/"infinity" in any
// case, and refuses NaN, spaces, and numbers outside the long double range.
func parseLongDouble(s string) (*big.Float, bool) {
	if len(s) == 0 || len(s) >= 5*1024 || isSpace(s[0]) {
		return nil, false
	}
	body := s
	if body[0] == '+' || body[0] == '-' {
		body = body[1:]
	}
	if strings.EqualFold(body, "inf") || strings.EqualFold(body, "infinity") {
		return new(big.Float).SetPrec(64).SetInf(s[0] == '-'), true
	}
	// big.ParseFloat also takes '_' separators, 0b/0o prefixes and a 'p'
	// exponent on decimals; strtold takes none of them.
	base := 10
	if len(body) > 1 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X') {
		base = 0
	}
	if strings.IndexByte(body, '_') >= 0 || (base == 10 && strings.ContainsAny(body, "pP")) {
		return nil, false
	}
	f, _, err := big.ParseFloat(s, base, 64, big.ToNearestEven)
	if err != nil || f.IsInf() || ldOverflows(f) {
		return nil, false
	}
	// strtold reports ERANGE and 0 for a number below the smallest subnormal.
	if f.Sign() != 0 && f.MantExp(nil) <= ldMinExp {
		return nil, false
	}
	return f, true
}

// The x87 long double's range, as big.Float.MantExp exponents: its largest
// finite value is just under 2**16384, its smallest subnormal is 2**-16445.
const (
	ldMaxExp = 16384
	ldMinExp = -16446
)

// ldOverflows reports whether f is infinite as a long double.
func ldOverflows(f *big.Float) bool {
	return f.IsInf() || (f.Sign() != 0 && f.MantExp(nil) > ldMaxExp)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// formatLongDouble mirrors Redis's ld2string(LD_STR_HUMAN): "%.17Lf" with
// trailing zeros (and a trailing dot) removed.
func formatLongDouble(f *big.Float) string {
	s := f.Text('f', 17)
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

var errNaNOrInf = Err("ERR increment would produce NaN or Infinity")

func cmdIncrByFloat(c *ctx, argv [][]byte) Value {
	it, s, ok, errv := c.getString(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	cur := new(big.Float).SetPrec(64)
	if ok {
		var valid bool
		if cur, valid = parseLongDouble(s); !valid {
			return errNotFloat
		}
	} else {
		it = item{key: string(argv[1])}
	}
	by, valid := parseLongDouble(string(argv[2]))
	if !valid {
		return errNotFloat
	}
	if cur.IsInf() || by.IsInf() { // inf + x is inf, inf - inf is NaN
		return errNaNOrInf
	}
	sum := new(big.Float).SetPrec(64).Add(cur, by)
	if ldOverflows(sum) {
		return errNaNOrInf
	}
	it.val = formatLongDouble(sum)
	it.raw = false
	c.ks.put(it)
	c.notify(NotifyString, "incrbyfloat", it.key)
	return BulkString(it.val.(string))
}

func cmdGetDel(c *ctx, argv [][]byte) Value {
	_, s, ok, errv := c.getString(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	if !ok {
		return Null
	}
	c.ks.del(string(argv[1]))
	c.notify(NotifyGeneric, "del", string(argv[1]))
	return Bulk(b(s))
}

func cmdGetEx(c *ctx, argv [][]byte) Value {
	// Redis parses every option first, then looks the key up, and only
	// then checks the expire time: a missing key answers nil regardless.
	var expUnit string
	var expArg []byte
	var persist bool
	for i := 2; i < len(argv); i++ {
		a := argv[i]
		switch {
		case eqFold(a, "persist") && expUnit == "":
			persist = true
		case isExpireOpt(a) && !persist && (expUnit == "" || eqFold(a, expUnit)) && i+1 < len(argv):
			expUnit, expArg = strings.ToLower(string(a)), argv[i+1]
			i++
		default:
			return errSyntax
		}
	}
	it, s, ok, errv := c.getString(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	if !ok {
		return Null
	}
	var exp int64
	hasExp := expUnit != ""
	if hasExp {
		exp, errv = parseExpire(c, expUnit, expArg, "getex")
		if errv.Kind == KindError {
			return errv
		}
	}
	reply := Bulk(b(s))
	switch {
	case hasExp && exp <= c.now:
		c.ks.del(it.key)
		c.notify(NotifyGeneric, "del", it.key)
	case hasExp:
		it.exp = exp
		c.ks.put(it)
		c.notify(NotifyGeneric, "expire", it.key)
	case persist && it.exp != 0:
		it.exp = 0
		c.ks.put(it)
		c.notify(NotifyGeneric, "persist", it.key)
	}
	return reply
}

func cmdGetRange(c *ctx, argv [][]byte) Value {
	start, ok1 := parseInt(argv[2])
	end, ok2 := parseInt(argv[3])
	if !ok1 || !ok2 {
		return errNotInt
	}
	_, s, _, errv := c.getString(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	n := int64(len(s))
	if start < 0 && end < 0 && start > end {
		return BulkString("")
	}
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 {
		start = 0
	}
	if end < 0 {
		end = 0
	}
	if end >= n {
		end = n - 1
	}
	if start > end || n == 0 {
		return BulkString("")
	}
	return Bulk(b(s[start : end+1]))
}

func cmdSetRange(c *ctx, argv [][]byte) Value {
	off, ok := parseInt(argv[2])
	if !ok {
		return errNotInt
	}
	if off < 0 {
		return errOutOfRange
	}
	it, s, exists, errv := c.getString(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	val := argv[3]
	if len(val) == 0 {
		return Int(int64(len(s)))
	}
	if off > c.maxString()-int64(len(val)) { // not off+len: that can overflow
		return errTooBig
	}
	if !exists {
		it = item{key: string(argv[1])}
	}
	size := max(int64(len(s)), off+int64(len(val)))
	buf := make([]byte, size)
	copy(buf, s)
	copy(buf[off:], val)
	it.val = string(buf)
	it.raw = c.rawStrings() // made, or changed in place, as an sds
	c.ks.put(it)
	c.notify(NotifyString, "setrange", it.key)
	return Int(size)
}
