package fsm

import (
	"errors"
	"strconv"
	"sync/atomic"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm/rdb"
)

// DUMP and RESTORE in Redis's own serialization (package rdb: RDB version
// 10, CRC64 trailer), with Redis 7.0.15's options, replies and events, and
// the two halves of MIGRATE's source side, whose network part is the RESP
// layer's (resp/migrate.go): a read that DUMPs the keys with their expiry
// and version, and a write that deletes the ones the target acknowledged if
// nothing changed them since.

// The internal commands of MIGRATE's source side.
const (
	// MigrateReadCommand key [key ...] answers, per key, null if it does not
	// exist, else [payload, expire-at ms or -1, version].
	MigrateReadCommand = "understudy.migrateread"
	// MigrateDelCommand key version [key version ...] deletes each key that
	// still has that version, with Redis's "del" event; answers how many.
	MigrateDelCommand = "understudy.migratedel"
)

func dumpCommands() []decl {
	return []decl{
		{name: "dump", run: cmdDump, since: Level2},
		{name: "restore", run: cmdRestore, since: Level2},
		// What a Redis Cluster node's MIGRATE sends: RESTORE, allowed on
		// an importing slot. Every slot is this cluster's.
		{name: "restore-asking", run: cmdRestore, since: Level2},
		{name: MigrateReadCommand, run: cmdMigrateRead, since: Level2,
			own: &cmdtab.Spec{Name: MigrateReadCommand, Arity: -2, Flags: cmdtab.ReadOnly, First: 1, Last: -1, Step: 1}},
		{name: MigrateDelCommand, run: cmdMigrateDel, since: Level2,
			own: &cmdtab.Spec{Name: MigrateDelCommand, Arity: -3, Flags: cmdtab.Write, First: 1, Last: -1, Step: 2}},
	}
}

// dumpPayload is it's value serialized as DUMP answers it.
func (c *ctx) dumpPayload(it item) ([]byte, error) {
	v, err := toRDB(it.val)
	if err != nil {
		return nil, err
	}
	return rdb.Encode(v, c.rdbLimits())
}

// cmdDump is DUMP key: null for a missing key (an access, as Redis's
// lookupKeyRead).
func cmdDump(c *ctx, argv [][]byte) Value {
	it, ok := c.get(argv[1])
	if !ok {
		return Null
	}
	p, err := c.dumpPayload(it)
	if err != nil {
		return Err("ERR " + err.Error())
	}
	return Bulk(p)
}

var (
	errBusyKey     = Err("BUSYKEY Target key name already exists.")
	errRestoreTTL  = Err("ERR Invalid TTL value, must be >= 0")
	errRestoreIdle = Err("ERR Invalid IDLETIME value, must be >= 0")
	errRestoreFreq = Err("ERR Invalid FREQ value, must be >= 0 and <= 255")
)

// cmdRestore is RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s]
// [FREQ f] (and RESTORE-ASKING), checked in Redis's order: options, an
// existing key, the TTL, the payload's footer, its body. A relative TTL
// counts from the entry's time, so every node sets the same expiry; one
// already past creates nothing (and deletes what REPLACE replaced).
func cmdRestore(c *ctx, argv [][]byte) Value {
	replace, absTTL := false, false
	idle, freq := int64(-1), int64(-1)
	for j := 4; j < len(argv); j++ {
		more := len(argv) - j - 1
		switch {
		case eqFold(argv[j], "replace"):
			replace = true
		case eqFold(argv[j], "absttl"):
			absTTL = true
		case eqFold(argv[j], "idletime") && more >= 1 && freq == -1:
			n, ok := parseInt(argv[j+1])
			if !ok {
				return errNotInt
			}
			if n < 0 {
				return errRestoreIdle
			}
			idle = n
			j++
		case eqFold(argv[j], "freq") && more >= 1 && idle == -1:
			n, ok := parseInt(argv[j+1])
			if !ok {
				return errNotInt
			}
			if n < 0 || n > 255 {
				return errRestoreFreq
			}
			freq = n
			j++
		default:
			return errSyntax
		}
	}
	key := string(argv[1])
	if !replace {
		if _, exists := c.get(argv[1]); exists {
			return errBusyKey
		}
	}
	ttl, ok := parseInt(argv[2])
	if !ok {
		return errNotInt
	}
	if ttl < 0 {
		return errRestoreTTL
	}
	v, err := rdb.Decode(argv[3], c.rdbLimits())
	if errors.Is(err, rdb.ErrChecksum) {
		return Err(rdb.ErrChecksum.Error())
	}
	if err != nil {
		return Err(rdb.ErrBadFormat.Error())
	}
	val, err := fromRDB(v, c.enc(), c.ks.gen)
	if err != nil {
		return Err(rdb.ErrBadFormat.Error())
	}
	deleted := false
	if replace {
		if _, live := c.get(argv[1]); live {
			c.ks.del(key)
			deleted = true
		}
	}
	if ttl != 0 && !absTTL {
		ttl += c.now
	}
	if ttl != 0 && ttl <= c.now {
		// Redis's checkAlreadyExpired: nothing to create.
		if deleted {
			c.notify(NotifyGeneric, "del", key)
		}
		return OK
	}
	c.ks.put(item{key: key, exp: ttl, val: val, acc: c.restoredAccess(idle, freq)})
	c.notify(NotifyGeneric, "restore", key)
	return OK
}

// restoredAccess is a restored key's access word (access.go): new, as
// rdbLoadObject makes it, then as objectSetLRUOrLFU sets it from FREQ
// (under an LFU policy) or IDLETIME (under any other).
func (c *ctx) restoredAccess(idle, freq int64) *atomic.Uint32 {
	lfu := c.f.conf.policy.lfu()
	a := newAccess(c.now, lfu)
	switch {
	case lfu && freq >= 0:
		a.Store(lfuMinutes(c.now)<<8 | uint32(freq))
	case !lfu && idle >= 0:
		clock := int64(lruClock(c.now))
		abs := clock - idle*1000/lruResolution
		if abs < 0 {
			// The wrapping clock underflows: Redis puts the key half-way.
			abs = (clock + lruClockMax/2) % lruClockMax
		}
		a.Store(uint32(abs))
	}
	return a
}

// cmdMigrateRead is MigrateReadCommand: DUMP, the expiry and the version of
// each key, in one read so that the three agree.
func cmdMigrateRead(c *ctx, argv [][]byte) Value {
	out := make([]Value, len(argv)-1)
	for i, k := range argv[1:] {
		it, ok := c.get(k)
		if !ok {
			out[i] = Null
			continue
		}
		p, err := c.dumpPayload(it)
		if err != nil {
			return Err("ERR " + err.Error())
		}
		exp := int64(-1)
		if it.exp != 0 {
			exp = it.exp
		}
		out[i] = Array([]Value{Bulk(p), Int(exp), BulkString(strconv.FormatUint(it.ver, 10))})
	}
	return Array(out)
}

// cmdMigrateDel is MigrateDelCommand: MIGRATE's deletion of what it moved,
// as Redis's dbDelete + "del" event, skipping a key written since it was
// read (Redis, single-threaded, cannot see one).
func cmdMigrateDel(c *ctx, argv [][]byte) Value {
	if len(argv)%2 != 1 {
		return ErrArity(MigrateDelCommand)
	}
	var n int64
	for i := 1; i+1 < len(argv); i += 2 {
		ver, err := strconv.ParseUint(string(argv[i+1]), 10, 64)
		if err != nil {
			return errNotInt
		}
		it, ok := c.ks.raw(string(argv[i]))
		if !ok || it.ver != ver {
			continue
		}
		c.ks.del(it.key)
		c.notify(NotifyGeneric, "del", it.key)
		n++
	}
	return Int(n)
}
