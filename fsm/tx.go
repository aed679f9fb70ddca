package fsm

import (
	"strconv"

	"github.com/understudy/understudy/cmdtab"
)

// Transactions. The RESP layer queues MULTI ... EXEC on the connection and
// proposes the whole transaction as ONE command, so it is applied atomically
// and identically on every replica:
//
//	understudy.exec <watches> <commands>
//
// watches is AppendWatch-encoded records taken at WATCH time; commands is
// AppendCmd-encoded client commands. If any watched key changed since WATCH
// when the entry is applied, nothing runs and the reply is a null array, as
// EXEC answers in Redis when a watched key changed.
//
// A key that existed at WATCH is recorded as (key, version): the log index
// of the entry that last wrote it. Any write changes the version, and a
// deletion or an expiry leaves the key absent, which aborts too. A key that
// was absent (or expired) is recorded as (key, 0, index): the index WATCH
// read the state at. It changed if it exists now, or if a write or deletion
// after that index left a trace: the expired item's version or a tombstone
// (tomb.go), so a key created and deleted again in between aborts EXEC too.
// (Entries written before tombstones existed hold (key, 0) for an absent
// key, which compares as before: absent now.)

// ExecCommand and VersionsCommand are the internal names the RESP layer uses.
const (
	ExecCommand     = "understudy.exec"
	VersionsCommand = "understudy.keyversions"
)

// Internal reports whether name is one of the commands clients are not
// meant to see (they are safe to call, but not listed by COMMAND).
func Internal(name string) bool { return len(name) > 11 && name[:11] == "understudy." }

func txCommands() []decl {
	return []decl{
		{name: ExecCommand, run: cmdExec, since: 1,
			own: &cmdtab.Spec{Name: ExecCommand, Arity: 3, Flags: cmdtab.Write}},
		{name: VersionsCommand, run: cmdVersions, since: 1,
			own: &cmdtab.Spec{Name: VersionsCommand, Arity: -2, Flags: cmdtab.ReadOnly, First: 1, Last: -1, Step: 1}},
	}
}

// version is what WATCH remembers of a key: the index of its last write, 0
// if it does not exist.
func (c *ctx) version(key []byte) uint64 {
	it, ok := c.get(key)
	if !ok {
		return 0
	}
	return it.ver
}

// understudy.keyversions key [key ...] answers each key's version, then the
// index of the state they were read in.
func cmdVersions(c *ctx, argv [][]byte) Value {
	out := make([]Value, len(argv))
	for i, k := range argv[1:] {
		out[i] = BulkString(strconv.FormatUint(c.version(k), 10))
	}
	out[len(out)-1] = BulkString(strconv.FormatUint(c.f.applied, 10))
	return Array(out)
}

// AppendWatch encodes one watched key of database db: its version, and for
// an absent key (version 0) the index the version was read at.
func AppendWatch(dst []byte, db int, key []byte, ver, readIndex uint64) []byte {
	argv := [][]byte{key, []byte(strconv.FormatUint(ver, 10))}
	if ver == 0 {
		argv = append(argv, []byte(strconv.FormatUint(readIndex, 10)))
	}
	return AppendCmd(dst, Cmd{Op: OpClient, DB: db, Argv: argv})
}

// decodeCmds decodes a sequence of AppendCmd records; only client commands
// may appear in a transaction.
func decodeCmds(b []byte) ([]Cmd, bool) {
	var out []Cmd
	for len(b) > 0 {
		c, rest, err := decodeCmd(b)
		if err != nil || c.Op != OpClient {
			return nil, false
		}
		out = append(out, c)
		b = rest
	}
	return out, true
}

func cmdExec(c *ctx, argv [][]byte) Value {
	if !c.write {
		return Err("ERR EXEC is a write")
	}
	watches, ok1 := decodeCmds(argv[1])
	cmds, ok2 := decodeCmds(argv[2])
	if !ok1 || !ok2 {
		return Err("ERR malformed transaction")
	}
	db := c.db
	for _, w := range watches {
		c.use(w.DB)
		changed, ok := watchChanged(c, w.Argv)
		if !ok {
			return Err("ERR malformed transaction")
		}
		if changed {
			c.use(db)
			return NullArray
		}
	}
	out := make([]Value, len(cmds))
	for i, cmd := range cmds {
		if len(cmd.Argv) > 0 && eqFold(cmd.Argv[0], ExecCommand) {
			out[i] = Err("ERR EXEC inside a transaction")
			continue
		}
		c.use(cmd.DB)
		out[i] = run(c, cmd.Argv)
	}
	c.use(db)
	return Array(out)
}

// watchChanged reports whether the key of one AppendWatch record changed
// since WATCH; ok is false for a malformed record.
func watchChanged(c *ctx, rec [][]byte) (changed, ok bool) {
	if len(rec) != 2 && len(rec) != 3 {
		return false, false
	}
	ver, err := strconv.ParseUint(string(rec[1]), 10, 64)
	if err != nil {
		return false, false
	}
	if len(rec) == 2 {
		return c.version(rec[0]) != ver || c.ks.swapped > ver, true
	}
	at, err := strconv.ParseUint(string(rec[2]), 10, 64)
	if err != nil || ver != 0 {
		return false, false
	}
	return c.changedSince(rec[0], at) || c.ks.swapped > at, true
}
