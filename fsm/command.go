package fsm

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/understudy/understudy/cmdtab"
)

// Level is a cluster feature level: what every member of a cluster can
// apply. A command, an entry format or a snapshot section that older members
// would not understand is used only once the replicated level says every
// member has it (node and resp ask; the FSM refuses a command above the level
// too, so even a stray proposal cannot make replicas diverge).
type Level uint8

const (
	// Level1 is the first versioned release (ae470a0): one database, entry
	// format 2, snapshot formats 1-3.
	Level1 Level = 1
	// Level2 adds sixteen databases (entry format 3), replicated CONFIG,
	// scripts, streams and the rest of this release's commands.
	Level2 Level = 2
	// MaxLevel is the highest level this build can apply.
	MaxLevel = Level2
)

// Command is one entry of the state machine's half of the command table:
// what Redis says the command is (cmdtab.Spec, found by name) and how this
// state machine runs it.
type Command struct {
	*cmdtab.Spec
	since Level // the cluster level that introduced it
	// log: replicated through the log although Redis does not flag it
	// write (PUBLISH: every node delivers it to its own subscribers).
	log bool
	// readable: a write that may also run as a read (EVAL, EVALSHA and
	// FCALL of a no-writes script: FSM.ReadOnlyScript).
	readable bool
	run      func(c *ctx, argv [][]byte) Value
	subs     map[string]*Command // subcommands declared with handlers of their own
}

// decl declares one command: its name (and, for Understudy's internal
// commands, which Redis does not have, its own facts) and its handler.
type decl struct {
	name  string
	own   *cmdtab.Spec
	since Level
	log   bool
	// readable: see Command.readable.
	readable bool
	run      func(c *ctx, argv [][]byte) Value
}

// IsWrite reports whether the command goes through the log.
func (c *Command) IsWrite() bool { return c.log || c.Has(cmdtab.Write) }

// RunsScript reports whether the command runs a script that may be
// read-only (EVAL, EVALSHA, FCALL): FSM.ReadOnlyScript then says whether
// it can be served as a read.
func (c *Command) RunsScript() bool { return c.readable }

// Since is the cluster level a command needs.
func (c *Command) Since() Level { return c.since }

// DenyOOM reports whether a node over its memory limit refuses the command
// (Redis's denyoom flag).
func (c *Command) DenyOOM() bool { return c.Has(cmdtab.DenyOOM) }

// ctx is the environment one command runs in.
type ctx struct {
	f     *FSM
	ks    *keyspace // the database the command runs in (use)
	db    int
	index uint64 // the entry being applied (writes)
	// touched collects the keys the entry writes, for the apply hook.
	touched *[]DBKey
	now     int64 // Unix ms: the entry's time for writes, the leader's clock for reads
	write   bool
	// script: the command runs inside a script (Redis's CLIENT_SCRIPT,
	// which SORT asks about).
	script bool
	// noChannels: the caller's user may not publish (scripts check it for
	// PUBLISH inside them; understudy.nochannels carries it).
	noChannels bool
	seed       uint64
	rng        *rand.Rand
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
			// Redis's lookups delete an expired key on the master, telling
			// subscribers.
			c.ks.del(it.key)
			c.notify(NotifyExpired, "expired", it.key)
		}
		return item{}, false
	}
	c.touch(&it)
	return it, true
}

// peek is get without recording an access (Redis's LOOKUP_NOTOUCH: OBJECT).
func (c *ctx) peek(key []byte) (item, bool) {
	it, ok := c.ks.raw(string(key))
	if !ok || isExpired(it.exp, c.now) {
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

// Resolve finds the command argv names and checks its arity, the way Redis
// does before running anything: unknown command, wrong number of
// arguments, and for a container (OBJECT, XINFO ...) a missing or unknown
// subcommand. The command returned is the subcommand's own if it was
// declared with a handler, else the container's; spec is the (sub)command's
// reference facts. On failure cmd is nil and errv is Redis's error.
func Resolve(argv [][]byte) (cmd *Command, spec *cmdtab.Spec, errv Value) {
	cmd = Lookup(argv[0])
	if cmd == nil {
		return nil, nil, ErrUnknownCommand(argv)
	}
	spec, text := cmdtab.Sub(cmd.Spec, argv)
	if text != "" {
		return nil, nil, Err(text)
	}
	if spec != cmd.Spec {
		if sub := cmd.subs[strings.TrimPrefix(spec.Name, cmd.Name+"|")]; sub != nil {
			return sub, spec, Value{}
		}
		if cmd.run == nil {
			return nil, nil, Err(cmdtab.UnknownSubcommand(cmd.Spec, argv[1]))
		}
	}
	return cmd, spec, Value{}
}

// run dispatches one client command. Arity was checked by the RESP layer,
// but is checked again: the log is the contract, not the caller.
func run(c *ctx, argv [][]byte) Value {
	cmd, _, errv := Resolve(argv)
	if cmd == nil {
		return errv
	}
	if cmd.since > c.f.level {
		return ErrLevel(cmd.Name, cmd.since, c.f.level)
	}
	if !c.write && cmd.IsWrite() && !cmd.readable {
		return Err("ERR write command in a read-only context")
	}
	return cmd.run(c, argv)
}

// ErrLevel refuses a command the cluster cannot run yet.
func ErrLevel(name string, need, have Level) Value {
	return Err("ERR '" + name + "' needs cluster version " + strconv.Itoa(int(need)) +
		" but the cluster runs at version " + strconv.Itoa(int(have)) +
		": upgrade every member first (understudy status --cluster shows them)")
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
	add := func(decls []decl) {
		for _, d := range decls {
			name, sub, isSub := strings.Cut(d.name, "|")
			spec := d.own
			if spec == nil {
				spec = cmdtab.Lookup(d.name)
			}
			if spec == nil {
				panic("fsm: command " + d.name + " is not in the reference table")
			}
			since := d.since
			if since == 0 {
				since = MaxLevel
			}
			c := &Command{Spec: spec, since: since, log: d.log, readable: d.readable, run: d.run}
			if !isSub {
				if prev := t[name]; prev != nil {
					if prev.run != nil {
						panic("fsm: command " + name + " declared twice")
					}
					c.subs = prev.subs
				}
				t[name] = c
				continue
			}
			parent := t[name]
			if parent == nil {
				parent = &Command{Spec: cmdtab.Lookup(name), since: since}
				t[name] = parent
			}
			if parent.subs == nil {
				parent.subs = map[string]*Command{}
			}
			parent.subs[sub] = c
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
	add(dbCommands())
	add(bitsHLLGeoCommands())
	add(streamCommands())
	add(xreadBlockedCommands())
	add(mpopCommands())
	add(lcsCommands())
	add(sortCommands())
	add(dumpCommands())
	add(scriptCommands())
	add(functionCommands())
	return t
}
