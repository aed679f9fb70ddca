package fsm

import (
	"strconv"
)

// Transactions. The RESP layer queues MULTI ... EXEC on the connection and
// proposes the whole transaction as ONE command, so it is applied atomically
// and identically on every replica:
//
//	understudy.exec <watches> <commands>
//
// watches is AppendWatch-encoded (key, version) pairs taken at WATCH time;
// commands is AppendCmd-encoded client commands. If any watched key's version
// differs when the entry is applied, nothing runs and the reply is a null
// array, as EXEC answers in Redis when a watched key changed.
//
// A key's version is the log index of the entry that last wrote it, 0 when
// the key does not exist, so any write, deletion or expiry changes it.

// ExecCommand and VersionsCommand are the internal names the RESP layer uses.
const (
	ExecCommand     = "understudy.exec"
	VersionsCommand = "understudy.keyversions"
)

// Internal reports whether name is one of the commands clients are not
// meant to see (they are safe to call, but not listed by COMMAND).
func Internal(name string) bool { return len(name) > 11 && name[:11] == "understudy." }

func txCommands() []*Command {
	return []*Command{
		{Name: ExecCommand, Arity: 3, Flags: FlagWrite, run: cmdExec},
		{Name: VersionsCommand, Arity: -2, Flags: FlagRead, First: 1, Last: -1, Step: 1, run: cmdVersions},
	}
}

// version is what WATCH remembers of a key.
func (c *ctx) version(key []byte) uint64 {
	it, ok := c.get(key)
	if !ok {
		return 0
	}
	return it.ver
}

func cmdVersions(c *ctx, argv [][]byte) Value {
	out := make([]Value, len(argv)-1)
	for i, k := range argv[1:] {
		out[i] = BulkString(strconv.FormatUint(c.version(k), 10))
	}
	return Array(out)
}

// AppendWatch encodes one watched key and its version.
func AppendWatch(dst []byte, key []byte, ver uint64) []byte {
	return AppendCmd(dst, Cmd{Op: OpClient, Argv: [][]byte{key, []byte(strconv.FormatUint(ver, 10))}})
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
	for _, w := range watches {
		if len(w.Argv) != 2 {
			return Err("ERR malformed transaction")
		}
		ver, err := strconv.ParseUint(string(w.Argv[1]), 10, 64)
		if err != nil {
			return Err("ERR malformed transaction")
		}
		if c.version(w.Argv[0]) != ver {
			return NullArray
		}
	}
	out := make([]Value, len(cmds))
	for i, cmd := range cmds {
		if len(cmd.Argv) > 0 && eqFold(cmd.Argv[0], ExecCommand) {
			out[i] = Err("ERR EXEC inside a transaction")
			continue
		}
		out[i] = run(c, cmd.Argv)
	}
	return Array(out)
}
