package fsm

import "strconv"

// Databases. Like Redis, the state holds numbered databases, each a keyspace
// of its own (with its expiries and WATCH tombstones). A command runs in the
// database its log record names (Cmd.DB); database 0 is the only one before
// cluster level 2. Keyspaces are made on first write, so the FSM accepts any
// number below MaxDatabases: how many a client may SELECT is the server's
// setting (--databases), checked where the command is received, and the log
// stays deterministic whatever the setting of each node.

// MaxDatabases bounds the database numbers a log record may name.
const MaxDatabases = 1 << 16

// DBKey is a key in a database.
type DBKey struct {
	DB  int
	Key string
}

// AllKeys, as a DBKey's Key, stands for every key of its database: what
// FLUSHDB, FLUSHALL and SWAPDB change, for the apply hook.
const AllKeys = ""

// keyspace returns database n for a write, making it if needed.
func (f *FSM) keyspace(n int) *keyspace {
	for len(f.dbs) <= n {
		f.dbs = append(f.dbs, nil)
	}
	ks := f.dbs[n]
	if ks == nil {
		ks = newKeyspace()
		ks.num, ks.gen = n, f.gen
		f.dbs[n] = ks
	}
	return ks
}

// readKeyspace returns database n for a read: never made on a read (reads
// share the FSM's read lock), an empty one stands in.
func (f *FSM) readKeyspace(n int) *keyspace {
	if n < len(f.dbs) && f.dbs[n] != nil {
		return f.dbs[n]
	}
	return f.empty
}

// use points the command context at database n. In a write the keyspace is
// stamped with the entry being applied (the version WATCH compares, the
// clock of tombstones) and reports what it changes to the apply hook.
func (c *ctx) use(n int) {
	c.db = n
	if !c.write {
		c.ks = c.f.readKeyspace(n)
		return
	}
	c.ks = c.f.keyspace(n)
	c.stamp(c.ks)
}

// stamp prepares a keyspace for the entry being applied: every write in it
// carries the entry's index (WATCH's versions, tombstones) and is reported
// to the apply hook.
func (c *ctx) stamp(ks *keyspace) {
	ks.index, ks.clock, ks.touched, ks.f = c.index, c.f.clock, c.touched, c.f
	ks.lfu = c.f.conf.policy.lfu()
}

// eachDB calls fn for every database that exists, in order.
func (f *FSM) eachDB(fn func(ks *keyspace)) {
	for _, ks := range f.dbs {
		if ks != nil {
			fn(ks)
		}
	}
}

// errDBRange is Redis's reply to a database number it does not have.
var errDBRange = Err("ERR DB index is out of range")

// parseDB reads a database number argument as Redis does (an int), and
// checks it against the cluster's number of databases.
func (c *ctx) parseDB(b []byte, notInt Value) (int, Value) {
	n, err := strconv.ParseInt(string(b), 10, 32)
	if err != nil {
		return 0, notInt
	}
	if n < 0 || n >= int64(c.f.dbCount()) {
		return 0, errDBRange
	}
	return int(n), Value{}
}

// DBStat is one database's size, for INFO keyspace.
type DBStat struct {
	DB, Keys, Expires int
	// AvgTTL is the average remaining time to live of the keys with one, ms.
	AvgTTL int64
}

// DBStats returns the size of every non-empty database.
func (f *FSM) DBStats() []DBStat {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var out []DBStat
	f.eachDB(func(ks *keyspace) {
		if ks.len() == 0 {
			return
		}
		st := DBStat{DB: ks.num, Keys: ks.len(), Expires: ks.exps.Len()}
		// An estimate, as Redis's is: 64 keys spread over the expiry index.
		if n := st.Expires; n > 0 {
			var sum, k int64
			step := max(n/64, 1)
			for i := 0; i < n; i += step {
				if e, ok := ks.exps.GetAt(i); ok {
					sum += max(e.exp-f.clock, 0)
					k++
				}
			}
			st.AvgTTL = sum / k
		}
		out = append(out, st)
	})
	return out
}
