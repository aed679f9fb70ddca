package resp

import (
	"sort"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm"
)

// The one command table. Every command a client may send is declared once:
// the state machine's in package fsm (name and handler), the ones this layer
// answers in localCommands below. What Redis says a command is (arity,
// flags, ACL categories, key specifications, subcommands, docs) comes from
// the reference table in package cmdtab. Dispatch, MULTI, COMMAND, the
// statistics, the slow log, ACL categories and the metrics all read this
// table; none of them names a command.

// route is how dispatch serves a command.
type route uint8

const (
	// routeData: the state machine runs it, through the log (a write) or as
	// a linearizable read; a follower forwards it to the leader.
	routeData route = iota
	// routeLocal: answered by the node that receives it, whatever its role.
	routeLocal
	// routeTx: MULTI, EXEC, DISCARD, WATCH, UNWATCH (tx.go).
	routeTx
	// routeSubscribe: this connection's own subscriptions (pubsub.go).
	routeSubscribe
	// routeBlocking: blocking pops, served on the leader (blocking.go).
	routeBlocking
	// routeWait: answered by the leader's RESP layer, not a log entry (WAIT).
	routeWait
	// routeLeader: a node-local side effect that needs the leader's data
	// (MIGRATE connects out): run by the leader's RESP layer, forwarded by
	// a follower, refused inside MULTI.
	routeLeader
)

// command is one entry of the table.
type command struct {
	*cmdtab.Spec
	route route
	data  *fsm.Command                           // routeData
	local func(c *conn, argv [][]byte) fsm.Value // routeLocal
	plan  blockPlan                              // routeBlocking
	// xread: XREAD and XREADGROUP, which block (routeBlocking) when given
	// BLOCK (xblocking.go).
	xread bool
	// hidden commands are not listed by COMMAND: SENTINEL (a Redis server
	// leaves it out too) and Understudy's internal ones.
	hidden bool
	// quits: the connection ends after the reply (QUIT).
	quits bool
	// immediate: run at once even inside MULTI, never queued (RESET).
	immediate bool
	// rejectAborts: refusing it (arity) discards the transaction and
	// answers EXECABORT (EXEC).
	rejectAborts bool
	// unpaused: never held by CLIENT PAUSE (CLIENT itself, so UNPAUSE
	// gets through).
	unpaused bool
	// startsTx (MULTI) and endsTx (DISCARD; EXEC is rejectAborts) tell a
	// follower where a forwarded transaction begins and ends; changesDB
	// (SELECT) that a queued command moves the connection's database.
	startsTx, endsTx, changesDB bool
	// timeoutFirst: a blocking command whose timeout is its first
	// argument (BLMPOP, BZMPOP), not its last.
	timeoutFirst bool
}

// localDecl declares a command the RESP layer serves.
type localDecl struct {
	name         string
	route        route
	run          func(c *conn, argv [][]byte) fsm.Value
	plan         blockPlan
	own          *cmdtab.Spec // facts for a command Redis 7.0 does not have
	hidden       bool
	quits        bool
	immediate    bool
	rejectAborts bool
	startsTx     bool
	endsTx       bool
	changesDB    bool
	unpaused     bool
	timeoutFirst bool
}

// localCommands declares every command this layer serves itself.
func localCommands() []localDecl {
	return []localDecl{
		{name: "ping", run: cmdPing},
		{name: "echo", run: func(_ *conn, argv [][]byte) fsm.Value { return fsm.Bulk(argv[1]) }},
		{name: "quit", run: func(*conn, [][]byte) fsm.Value { return fsm.OK }, quits: true},
		{name: "select", run: cmdSelect, changesDB: true},
		{name: "hello", run: cmdHello},
		{name: "auth", run: cmdAuth},
		{name: "reset", run: func(c *conn, argv [][]byte) fsm.Value { return c.resetCmd(argv) }, immediate: true},
		{name: "command", run: cmdCommand},
		{name: "info", run: cmdInfo},
		{name: "role", run: cmdRole},
		{name: "time", run: cmdTime},
		{name: "client", run: cmdClient, unpaused: true},
		{name: "config", run: cmdConfig},
		{name: "cluster", run: cmdCluster},
		{name: "readonly", run: cmdReadonly},
		{name: "readwrite", run: cmdReadwrite},
		{name: "asking", run: cmdAsking},
		{name: "slowlog", run: cmdSlowlog},
		{name: "memory", run: cmdMemory},
		{name: "latency", run: cmdLatency},
		{name: "monitor", run: cmdMonitor},
		{name: "lolwut", run: cmdLolwut},
		{name: "shutdown", run: cmdShutdown},
		{name: "save", run: cmdSave},
		{name: "bgsave", run: cmdBgsave},
		{name: "bgrewriteaof", run: cmdBgrewriteaof},
		{name: "lastsave", run: cmdLastsave},
		{name: "acl", run: cmdACL},
		{name: "debug", run: cmdDebug},
		{name: "pubsub", run: func(c *conn, argv [][]byte) fsm.Value { return c.pubsubCmd(argv) }},
		{name: "sentinel", run: cmdSentinel, hidden: true,
			own: &cmdtab.Spec{Name: "sentinel", Arity: -2, Flags: cmdtab.Admin | cmdtab.Sentinel | cmdtab.OnlySentinel}},
		{name: relayCommand, run: cmdRelay, hidden: true,
			own: &cmdtab.Spec{Name: relayCommand, Arity: -1, Flags: cmdtab.Fast | cmdtab.SkipSlowlog}},
		{name: lastIndexCommand, run: cmdLastIndex, hidden: true, own: lastIndexSpec},
		{name: "multi", route: routeTx, startsTx: true},
		{name: "exec", route: routeTx, rejectAborts: true},
		{name: "discard", route: routeTx, endsTx: true},
		{name: "watch", route: routeTx},
		{name: "unwatch", route: routeTx},
		{name: "subscribe", route: routeSubscribe},
		{name: "psubscribe", route: routeSubscribe},
		{name: "unsubscribe", route: routeSubscribe},
		{name: "punsubscribe", route: routeSubscribe},
		{name: "ssubscribe", route: routeSubscribe},
		{name: "sunsubscribe", route: routeSubscribe},
		{name: "blpop", route: routeBlocking, plan: planFirst(fsm.BPopCommand, "LEFT")},
		{name: "brpop", route: routeBlocking, plan: planFirst(fsm.BPopCommand, "RIGHT")},
		{name: "blmove", route: routeBlocking, plan: planMove},
		{name: "brpoplpush", route: routeBlocking, plan: planMove},
		{name: "blmpop", route: routeBlocking, plan: planMPop("LMPOP", false), timeoutFirst: true},
		{name: "bzpopmin", route: routeBlocking, plan: planFirst(fsm.BZPopCommand, "MIN")},
		{name: "bzpopmax", route: routeBlocking, plan: planFirst(fsm.BZPopCommand, "MAX")},
		{name: "bzmpop", route: routeBlocking, plan: planMPop("ZMPOP", true), timeoutFirst: true},
		{name: "wait", route: routeWait},
		{name: "migrate", route: routeLeader, run: cmdMigrate},
	}
}

// commands is the table, built once at start-up and only read afterwards.
// (Built in init: COMMAND, one of its handlers, reads it.)
var (
	commands  map[string]*command
	statSpecs []*cmdtab.Spec
	statIndex map[*cmdtab.Spec]int
)

func init() {
	commands = buildCommands()
	statSpecs = buildStatSpecs()
	statIndex = make(map[*cmdtab.Spec]int, len(statSpecs))
	for i, s := range statSpecs {
		statIndex[s] = i
	}
}

func buildCommands() map[string]*command {
	t := map[string]*command{}
	for _, c := range fsm.Commands() {
		t[c.Name] = &command{Spec: c.Spec, route: routeData, data: c, hidden: fsm.Internal(c.Name),
			xread: c.Name == "xread" || c.Name == "xreadgroup"}
	}
	for _, d := range localCommands() {
		spec := d.own
		if spec == nil {
			spec = cmdtab.Lookup(d.name)
		}
		if spec == nil {
			panic("resp: command " + d.name + " is not in the reference table")
		}
		if t[d.name] != nil {
			panic("resp: command " + d.name + " declared twice")
		}
		r := d.route
		if r == routeData {
			r = routeLocal // declared here: never the state machine's
		}
		t[d.name] = &command{Spec: spec, route: r, local: d.run, plan: d.plan,
			hidden: d.hidden, quits: d.quits, immediate: d.immediate, rejectAborts: d.rejectAborts,
			startsTx: d.startsTx, endsTx: d.endsTx, changesDB: d.changesDB, unpaused: d.unpaused,
			timeoutFirst: d.timeoutFirst}
	}
	return t
}

// dataFor is the state machine's command that runs argv: for a container,
// the subcommand when it has a handler of its own, whose flags are the ones
// that count (XGROUP CREATE is a write, XGROUP HELP is not).
func (c *command) dataFor(argv [][]byte) *fsm.Command {
	if len(c.Subs) == 0 || c.data == nil {
		return c.data
	}
	if d, _, errv := fsm.Resolve(argv); errv.Kind != fsm.KindError {
		return d
	}
	return c.data
}

// lookupCommand finds a command by name, case-insensitively.
func lookupCommand(name []byte) *command {
	if len(name) > 64 {
		return nil
	}
	return commands[lowerName(name)]
}

// resolve finds the command argv names and checks it as Redis does before
// running anything: unknown command, unknown subcommand, wrong number of
// arguments. spec is the subcommand's facts for a container. On failure
// errv is Redis's error, and cmd (and spec, for an arity error) say what
// was refused, if the name was known.
func resolve(argv [][]byte) (cmd *command, spec *cmdtab.Spec, errv fsm.Value) {
	cmd = lookupCommand(argv[0])
	if cmd == nil {
		return nil, nil, fsm.ErrUnknownCommand(argv)
	}
	spec, text := cmdtab.Sub(cmd.Spec, argv)
	if text != "" {
		return cmd, spec, fsm.Err(text)
	}
	return cmd, spec, fsm.Value{}
}

// visibleCommands lists the commands COMMAND shows, sorted by name.
func visibleCommands() []*command {
	var out []*command
	for _, c := range commands {
		if !c.hidden {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// statSpecs lists every command and subcommand that gets its own counters
// (INFO commandstats names "config|get" apart from "config|set", as Redis 7
// does), sorted by name.
func buildStatSpecs() []*cmdtab.Spec {
	var out []*cmdtab.Spec
	for _, c := range commands {
		out = append(out, c.Spec)
		for _, s := range c.Subs {
			out = append(out, s)
		}
	}
	sortSpecs(out)
	return out
}

// untimed: a command that waits by design (blocking pops, WAIT) counts its
// calls but not its time, as Redis leaves the blocked time out.
func untimed(s *cmdtab.Spec) bool {
	if s.Has(cmdtab.Blocking) {
		return true
	}
	c := commands[s.Name]
	return c != nil && c.route == routeWait
}

// noSlowlog: commands never recorded in the slow log: their arguments may
// hold secrets, or they wait by design.
func noSlowlog(s *cmdtab.Spec) bool {
	return s.Has(cmdtab.SkipSlowlog) || cmdtab.Secret(s) || untimed(s) ||
		(s.Parent != nil && cmdtab.Secret(s.Parent))
}

// nodeValue turns a reference reply into a reply value, types included.
func nodeValue(n cmdtab.Node) fsm.Value {
	switch n.Type {
	case '+':
		return fsm.Simple(n.Str)
	case '-':
		return fsm.Err(n.Str)
	case ':':
		return fsm.Int(n.Int)
	case '$':
		return fsm.BulkString(n.Str)
	case ',':
		return fsm.Value{Kind: fsm.KindDouble, Str: []byte(n.Str)}
	case '_':
		return fsm.Null
	}
	arr := make([]fsm.Value, len(n.Elem))
	for i, e := range n.Elem {
		arr[i] = nodeValue(e)
	}
	switch n.Type {
	case '%':
		return fsm.Value{Kind: fsm.KindMap, Arr: arr}
	case '~':
		return fsm.Value{Kind: fsm.KindSet, Arr: arr}
	}
	return fsm.Array(arr)
}

// lowerName is name in lower case; "" when it is too long to be a command.
func lowerName(b []byte) string {
	var buf [64]byte
	if len(b) > len(buf) {
		return ""
	}
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	return string(buf[:len(b)])
}

func sortSpecs(specs []*cmdtab.Spec) {
	sort.Slice(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name })
}
