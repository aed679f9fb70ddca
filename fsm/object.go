package fsm

import (
	"strconv"

	"github.com/tidwall/btree"

	"github.com/understudy/understudy/fsm/rdb"
)

// Collections (hashes, lists, sets, sorted sets) are mutable objects, unlike
// strings. A snapshot shares them with the live keyspace, so they are
// copy-on-write per object: the keyspace has a generation, bumped by every
// clone(); each object records the generation it was made in; a write that
// wants to change an object of an older generation first copies it (at most
// once per snapshot) and swaps the copy into the tree. See DESIGN.md.
//
// Each object also remembers its Redis encoding (OBJECT ENCODING), because the
// encoding decides what Redis shows: small hashes and sets keep insertion
// order, intsets are sorted, and Redis never goes back to a small encoding
// on its own. The thresholds are the replicated configuration's
// (hash-max-listpack-entries and friends: config.go), which a collection
// reads through its lim, refreshed whenever a command changes it.
const (
	// listMaxListpackBytes is where a list's quicklist flag (kept in the
	// snapshot since Redis 7.2's rules were followed) turns; Redis 7.0 shows
	// every list as a quicklist, so it no longer shows.
	listMaxListpackBytes = 8192
	// maxRandomCount bounds the reply of SRANDMEMBER, HRANDFIELD and
	// ZRANDMEMBER with a negative count (repeats allowed), which Redis lets
	// grow to billions of elements. A read holds the FSM's lock.
	maxRandomCount = 1 << 20
)

// encLimits are the encoding thresholds in force. A collection keeps a
// pointer to the ones it was last changed under (nil: the defaults).
type encLimits struct {
	hashEntries, hashValue int
	setIntset              int
	zsetEntries, zsetValue int
	// setListpack: small non-integer sets are listpacks (Redis 7.2, and
	// this cluster below level 2); Redis 7.0 makes them hashtables.
	setListpack                  bool
	setListpackEntries, setValue int
}

// legacyLimits are the rules of the builds before level 2 (Redis 7.2's
// defaults), which a cluster keeps until every member runs this build:
// replicas applying the same entry must build the same encoding.
var legacyLimits = encLimits{hashEntries: 512, hashValue: 64, setIntset: 512, zsetEntries: 128, zsetValue: 64,
	setListpack: true, setListpackEntries: 128, setValue: 64}

// enc returns the thresholds a command applies: the replicated ones, or
// the legacy rules below level 2.
func (c *ctx) enc() *encLimits {
	if c.f.level < Level2 {
		return &legacyLimits
	}
	return c.f.conf.enc
}

// limits of a collection: its own, or the legacy ones for one never
// changed by a command (loaded from a snapshot).
func limitsOf(l *encLimits) *encLimits {
	if l == nil {
		return &legacyLimits
	}
	return l
}

// member is one field of a hash or member of a set in the hashtable
// encoding, ordered by (hash, key) like the keyspace, so *SCAN cursors are
// hashes and stable under change, and random picks are O(log n).
type member struct {
	h   uint64
	key string
	val string // the hash field's value; unused for sets
}

func lessMember(a, b member) bool {
	if a.h != b.h {
		return a.h < b.h
	}
	return a.key < b.key
}

func newMemberTree() *btree.BTreeG[member] {
	return btree.NewBTreeGOptions(lessMember, btree.Options{NoLocks: true})
}

// swap stores it in place of the item with the same key without stamping a
// new version: the copy-on-write copy of an object is not a logical change.
func (ks *keyspace) swap(it item) { ks.tree.Set(slot{hashKey(it.key), &it}) }

// getTyped returns the live item at key and its value as a T. ok is false
// when the key does not exist; errv is WRONGTYPE when it holds another type.
func getTyped[T any](c *ctx, key []byte) (it item, v T, ok bool, errv Value) {
	it, ok = c.get(key)
	if !ok {
		return it, v, false, Value{}
	}
	v, isT := it.val.(T)
	if !isT {
		return it, v, false, errWrongType
	}
	return it, v, true, Value{}
}

// checkType reports WRONGTYPE if key holds something other than a T.
func checkType[T any](c *ctx, key []byte) Value {
	_, _, _, errv := getTyped[T](c, key)
	return errv
}

// save stores it after its collection changed, stamping the key's version,
// or deletes the key if the collection is now empty (as Redis does).
func (c *ctx) save(it item) {
	if collLen(it.val) == 0 {
		c.ks.del(it.key)
		return
	}
	c.ks.put(it)
}

// notifyDeleted sends the "del" event Redis sends after a command's own
// when it leaves a collection empty (save deleted it then).
func (c *ctx) notifyDeleted(it item) {
	if collLen(it.val) == 0 {
		c.notify(NotifyGeneric, "del", it.key)
	}
}

// store replaces whatever key holds with the collection v (SINTERSTORE and
// friends): the old TTL goes, and an empty v deletes the key.
// event is the command's keyspace event for a stored result; an empty
// result is a "del", sent only if a key was deleted.
func (c *ctx) store(key []byte, v any, class byte, event string) {
	if collLen(v) == 0 {
		if _, existed := c.ks.del(string(key)); existed {
			c.notify(NotifyGeneric, "del", string(key))
		}
		return
	}
	c.ks.put(item{key: string(key), val: v})
	c.notify(class, event, string(key))
}

func collLen(v any) int {
	switch o := v.(type) {
	case *hashObj:
		return o.len()
	case *listObj:
		return o.len()
	case *setObj:
		return o.len()
	case *zsetObj:
		return o.len()
	}
	return 1
}

// objectCommands are the commands about values rather than keys.
func objectCommands() []decl {
	return []decl{
		{name: "object", run: cmdObject, since: 1},
	}
}

var objectHelp = []string{
	"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"ENCODING <key>",
	"    Return the kind of internal representation used in order to store the value",
	"    associated with a <key>.",
	"FREQ <key>",
	"    Return the access frequency index of the <key>. The returned integer is",
	"    proportional to the logarithm of the recent access frequency of the key.",
	"IDLETIME <key>",
	"    Return the idle time of the <key>, that is the approximated number of",
	"    seconds elapsed since the last access to the key.",
	"REFCOUNT <key>",
	"    Return the number of references of the value associated with the specified",
	"    <key>.",
	"HELP",
	"    Prints this help.",
}

// cmdObject serves OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ|HELP. IDLETIME and
// FREQ read the key's access word (access.go) as Redis reads its lru field.
func cmdObject(c *ctx, argv [][]byte) Value {
	sub := argv[1]
	switch {
	case eqFold(sub, "help"):
		if len(argv) != 2 {
			return Err("ERR wrong number of arguments for 'object|help' command")
		}
		return SimpleLines(objectHelp)
	case eqFold(sub, "encoding"), eqFold(sub, "refcount"), eqFold(sub, "idletime"), eqFold(sub, "freq"):
		if len(argv) != 3 {
			return Err("ERR wrong number of arguments for 'object|" + lowerASCII(sub) + "' command")
		}
	default:
		return Err("ERR unknown subcommand '" + truncate(cString(sub), 128) + "'. Try OBJECT HELP.")
	}
	it, ok := c.peek(argv[2]) // OBJECT does not count as an access
	if !ok {
		return Null
	}
	lfu := c.f.conf.policy.lfu()
	switch {
	case eqFold(sub, "encoding"):
		if it.raw {
			return BulkString("raw")
		}
		return BulkString(encodingOf(it.val))
	case eqFold(sub, "refcount"):
		noShared := c.f.conf.maxmemory != 0 && (lfu || c.f.conf.policy == volatileLRU || c.f.conf.policy == allkeysLRU)
		if i, isStr := it.val.(string); isStr && !noShared && stringEncoding(i) == "int" {
			if n, _ := parseInt(b(i)); n >= 0 && n < 10000 {
				return Int(2147483647) // Redis's shared integers (OBJ_SHARED_REFCOUNT)
			}
		}
		return One
	case eqFold(sub, "idletime"):
		if lfu {
			return Err("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
		}
		if it.acc == nil {
			return Zero
		}
		return Int(idleMillis(it.acc.Load(), c.now) / 1000)
	}
	if !lfu {
		return Err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
	}
	if it.acc == nil {
		return Int(lfuInitVal)
	}
	return Int(int64(lfuDecr(it.acc.Load(), c.now, c.f.conf.lfuDecayTime)))
}

func lowerASCII(b []byte) string {
	out := make([]byte, len(b))
	for i, ch := range b {
		out[i] = lower(ch)
	}
	return string(out)
}

// encodingOf is what OBJECT ENCODING reports, as Redis 7.0 would (a set
// made by the legacy rules may still be a listpack: see encLimits).
func encodingOf(v any) string {
	switch o := v.(type) {
	case string:
		return stringEncoding(o)
	case *hashObj:
		if o.ht != nil {
			return "hashtable"
		}
		return "listpack"
	case *listObj:
		return "quicklist" // Redis 7.0 makes every list a quicklist
	case *setObj:
		return [...]string{encIntset: "intset", encListpack: "listpack", encHashtable: "hashtable"}[o.enc]
	case *zsetObj:
		if o.skiplist {
			return "skiplist"
		}
		return "listpack"
	case *streamObj:
		return "stream"
	}
	return "unknown"
}

// stringEncoding judges a string by its value alone: "int" if Redis would
// read it as a long, "embstr" up to 44 bytes, "raw" beyond.
func stringEncoding(s string) string {
	if _, ok := parseInt(b(s)); ok {
		return "int"
	}
	if len(s) <= 44 {
		return "embstr"
	}
	return "raw"
}

// lpEmptyBytes is the size of an empty listpack: header and end marker.
const lpEmptyBytes = rdb.ListpackEmptySize

// scanOpts are the options shared by HSCAN, SSCAN and ZSCAN.
type scanOpts struct {
	count int64
	match []byte // nil: everything
}

// parseCollScan parses "KEY cursor [MATCH p] [COUNT n]" the way Redis does:
// the cursor first, then the key (a missing key answers an empty scan before
// any option is looked at), then the options. errv or done end the command.
func parseCollScan[T any](c *ctx, argv [][]byte) (o T, cursor uint64, opts scanOpts, reply Value, done bool) {
	cursor, ok := parseCursor(argv[2])
	if !ok {
		return o, 0, opts, errInvalidCurs, true
	}
	_, o, exists, errv := getTyped[T](c, argv[1])
	if errv.Kind == KindError {
		return o, 0, opts, errv, true
	}
	if !exists {
		return o, 0, opts, Array([]Value{BulkString("0"), Array([]Value{})}), true
	}
	opts.count = 10
	for i := 3; i < len(argv); i += 2 {
		if i+1 >= len(argv) {
			return o, 0, opts, errSyntax, true
		}
		switch {
		case eqFold(argv[i], "count"):
			n, ok := parseInt(argv[i+1])
			if !ok {
				return o, 0, opts, errNotInt, true
			}
			if n < 1 {
				return o, 0, opts, errSyntax, true
			}
			opts.count = n
		case eqFold(argv[i], "match"):
			opts.match = argv[i+1]
			if len(opts.match) == 1 && opts.match[0] == '*' {
				opts.match = nil
			}
		default:
			return o, 0, opts, errSyntax, true
		}
	}
	return o, cursor, opts, Value{}, false
}

func (o scanOpts) matches(s string) bool {
	return o.match == nil || globMatch(o.match, b(s), false)
}

// scanTree walks a hash-ordered tree from cursor like SCAN does: it stops
// only between hash groups, after count elements, and returns the hash to
// resume at (0 when done).
func scanTree[T any](t *btree.BTreeG[T], pivot T, hashOf func(T) uint64, count int64, emit func(T)) uint64 {
	var seen int64
	next, lastH := uint64(0), uint64(0)
	t.Ascend(pivot, func(x T) bool {
		h := hashOf(x)
		if seen >= count && h != lastH && h != 0 {
			next = h
			return false
		}
		seen++
		lastH = h
		emit(x)
		return true
	})
	return next
}

func scanReply(next uint64, out []Value) Value {
	if out == nil {
		out = []Value{}
	}
	return Array([]Value{BulkString(strconv.FormatUint(next, 10)), Array(out)})
}

// parseRandCount parses the count of SRANDMEMBER, HRANDFIELD and
// ZRANDMEMBER: any long but LONG_MIN, and with a pair-producing option
// (WITHVALUES, WITHSCORES) at most LONG_MAX/2 either way.
func parseRandCount(arg []byte) (int64, Value) {
	n, ok := parseInt(arg)
	if !ok {
		return 0, errNotInt
	}
	if n == -1<<63 {
		return 0, Err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
	}
	return n, Value{}
}

var errValueRange = Err("ERR value is out of range")

// checkRandCount applies the pair limit and Understudy's bound on repeats.
func checkRandCount(n int64, pairs bool) Value {
	if pairs && (n < -(1<<62-1) || n > 1<<62-1) {
		return errValueRange
	}
	if n < -maxRandomCount {
		return errValueRange
	}
	return Value{}
}

// sampleIndexes returns count distinct indexes in [0, n), count < n, in a
// random order drawn from c.rand().
func sampleIndexes(c *ctx, n, count int) []int {
	r := c.rand()
	if count*4 < n {
		seen := make(map[int]bool, count)
		out := make([]int, 0, count)
		for len(out) < count {
			i := r.IntN(n)
			if !seen[i] {
				seen[i] = true
				out = append(out, i)
			}
		}
		return out
	}
	p := r.Perm(n)
	return p[:count]
}

// parsePositive parses a count that must be >= 0; any failure is msg.
func parsePositive(arg []byte, msg string) (int64, Value) {
	n, ok := parseInt(arg)
	if !ok || n < 0 {
		return 0, Err(msg)
	}
	return n, Value{}
}

const mustBePositive = "ERR value is out of range, must be positive"
