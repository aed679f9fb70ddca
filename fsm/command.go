package fsm

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Flags describe a command to the layers above: whether it goes through the
// log, and how to find its keys.
type Flags uint8

const (
	// FlagWrite commands change state and are applied through the Raft log.
	FlagWrite Flags = 1 << iota
	// FlagRead commands only read and run on the leader after a leadership check.
	FlagRead
)

// Command is one entry of the command table.
type Command struct {
	Name  string // lower case, as Redis reports it in errors
	Arity int    // Redis convention: n exact, -n at least n (the name counts)
	Flags Flags
	// First, Last, Step locate key arguments (COMMAND INFO); Last -1 means the final argument.
	First, Last, Step int
	run               func(c *ctx, argv [][]byte) Value
}

// IsWrite reports whether the command goes through the log.
func (c *Command) IsWrite() bool { return c.Flags&FlagWrite != 0 }

// CheckArity reports whether argc arguments (name included) suit the command.
func (c *Command) CheckArity(argc int) bool {
	if c.Arity >= 0 {
		return argc == c.Arity
	}
	return argc >= -c.Arity
}

// ctx is the environment one command runs in.
type ctx struct {
	f     *FSM
	ks    *keyspace
	now   int64 // Unix ms: the entry's time for writes, the leader's clock for reads
	write bool
	seed  uint64
	rng   *rand.Rand
}

func (c *ctx) rand() *rand.Rand {
	if c.rng == nil {
		c.rng = rand.New(rand.NewPCG(c.seed, 0x9e3779b97f4a7c15))
	}
	return c.rng
}

// get returns the live item for key. In a write it also reclaims an expired
// key, which is deterministic because every replica applies the same entry
// with the same time.
func (c *ctx) get(key []byte) (item, bool) {
	it, ok := c.ks.raw(string(key))
	if !ok {
		return item{}, false
	}
	if isExpired(it.exp, c.now) {
		if c.write {
			c.ks.del(it.key)
		}
		return item{}, false
	}
	return it, true
}

// Lookup finds a command by name, case-insensitively. Nil if unknown.
func Lookup(name []byte) *Command {
	var buf [32]byte
	if len(name) > len(buf) {
		return table[strings.ToLower(string(name))]
	}
	for i, ch := range name {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	return table[string(buf[:len(name)])]
}

// Commands lists the command table (for COMMAND).
func Commands() []*Command {
	out := make([]*Command, 0, len(table))
	for _, c := range table {
		out = append(out, c)
	}
	return out
}

// run dispatches one client command. Arity was checked by the RESP layer,
// but is checked again: the log is the contract, not the caller.
func run(c *ctx, argv [][]byte) Value {
	cmd := Lookup(argv[0])
	if cmd == nil {
		return ErrUnknownCommand(argv)
	}
	if !cmd.CheckArity(len(argv)) {
		return ErrArity(cmd.Name)
	}
	if !c.write && cmd.IsWrite() {
		return Err("ERR write command in a read-only context")
	}
	return cmd.run(c, argv)
}

// ErrUnknownCommand is Redis 7's reply to a command it does not know. As in
// Redis the quoted arguments stop once they reach 128 bytes, each is cut at
// a NUL (Redis formats them with %s), and CR and LF become spaces.
func ErrUnknownCommand(argv [][]byte) Value {
	var args strings.Builder
	for _, a := range argv[1:] {
		if args.Len() >= 128 {
			break
		}
		n := 128 - args.Len()
		args.WriteByte('\'')
		args.WriteString(truncate(cString(a), n))
		args.WriteString("' ")
	}
	return Err(oneLine("ERR unknown command '" + truncate(cString(argv[0]), 128) +
		"', with args beginning with: " + args.String()))
}

// cString is b up to its first NUL, as C's %s would print it.
func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// errText is user input as Redis puts it in an error: cut at a NUL, with CR
// and LF turned into spaces so the reply stays one line.
func errText(b []byte) string { return oneLine(string(cString(b))) }

// oneLine replaces CR and LF with spaces, byte by byte.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	p := []byte(s)
	for i, c := range p {
		if c == '\r' || c == '\n' {
			p[i] = ' '
		}
	}
	return string(p)
}

func truncate(b []byte, n int) string {
	if n < 0 {
		n = 0
	}
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// ErrArity is Redis's reply to a wrong argument count.
func ErrArity(name string) Value {
	return Err("ERR wrong number of arguments for '" + name + "' command")
}

// Error replies shared by many commands, texts as in Redis 7.
var (
	errWrongType   = Err("WRONGTYPE Operation against a key holding the wrong kind of value")
	errNotInt      = Err("ERR value is not an integer or out of range")
	errNotFloat    = Err("ERR value is not a valid float")
	errSyntax      = Err("ERR syntax error")
	errNoSuchKey   = Err("ERR no such key")
	errOverflow    = Err("ERR increment or decrement would overflow")
	errOutOfRange  = Err("ERR offset is out of range")
	errTooBig      = Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
	errInvalidCurs = Err("ERR invalid cursor")
)

func errExpire(cmd string) Value {
	return Err("ERR invalid expire time in '" + cmd + "' command")
}

// parseInt parses a Redis integer argument strictly (no spaces, no '+').
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 || b[0] == '+' || (len(b) > 1 && b[0] == '0') || (len(b) > 1 && b[0] == '-' && b[1] == '0') {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		ch := b[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != s[i] {
			return false
		}
	}
	return true
}

// table is built once at start-up and only read afterwards. (Built in init
// because EXEC dispatches through it.)
var table map[string]*Command

func init() { table = buildTable() }

func buildTable() map[string]*Command {
	t := map[string]*Command{}
	add := func(cmds []*Command) {
		for _, c := range cmds {
			t[c.Name] = c
		}
	}
	add(stringCommands())
	add(keyCommands())
	add(txCommands())
	add(bpopCommands())
	add(publishCommands())
	add(objectCommands())
	add(hashCommands())
	add(listCommands())
	add(setCommands())
	add(zsetCommands())
	add(zrangeCommands())
	add(zstoreCommands())
	return t
}
