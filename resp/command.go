package resp

import (
	"strings"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm"
)

// COMMAND and its subcommands, answered from the command table: the
// reference facts of every command this server implements, exactly as Redis
// 7.0 gives them.

var commandHelp = []string{
	"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"(no subcommand)",
	"    Return details about all Redis commands.",
	"COUNT",
	"    Return the total number of commands in this Redis server.",
	"LIST",
	"    Return a list of all commands in this Redis server.",
	"INFO [<command-name> ...]",
	"    Return details about multiple Redis commands.",
	"    If no command names are given, documentation details for all",
	"    commands are returned.",
	"DOCS [<command-name> ...]",
	"    Return documentation details about multiple Redis commands.",
	"    If no command names are given, documentation details for all",
	"    commands are returned.",
	"GETKEYS <full-command>",
	"    Return the keys from a full Redis command.",
	"GETKEYSANDFLAGS <full-command>",
	"    Return the keys and the access flags from a full Redis command.",
	"HELP",
	"    Prints this help.",
}

func cmdCommand(_ *conn, argv [][]byte) fsm.Value {
	if len(argv) == 1 {
		return commandInfos(nil)
	}
	switch lowerName(argv[1]) {
	case "count":
		return fsm.Int(int64(len(visibleCommands())))
	case "info":
		return commandInfos(argv[2:])
	case "docs":
		return commandDocs(argv[2:])
	case "list":
		return commandList(argv[2:])
	case "getkeys":
		return commandGetKeys(argv[2:], false)
	case "getkeysandflags":
		return commandGetKeys(argv[2:], true)
	case "help":
		return fsm.SimpleLines(commandHelp)
	}
	return fsm.Err(cmdtab.UnknownSubcommand(lookupCommand([]byte("command")).Spec, argv[1]))
}

// commandByName finds a visible command, or with "a|b" a subcommand.
func commandByName(name []byte) *cmdtab.Spec {
	base, sub, isSub := strings.Cut(strings.ToLower(string(name)), "|")
	c := commands[base]
	if c == nil || c.hidden {
		return nil
	}
	if !isSub {
		return c.Spec
	}
	return c.Subs[sub]
}

func commandInfos(names [][]byte) fsm.Value {
	if len(names) == 0 {
		cmds := visibleCommands()
		out := make([]fsm.Value, len(cmds))
		for i, c := range cmds {
			out[i] = nodeValue(c.Info())
		}
		return fsm.Array(out)
	}
	out := make([]fsm.Value, len(names))
	for i, n := range names {
		if s := commandByName(n); s != nil {
			out[i] = nodeValue(s.Info())
		} else {
			out[i] = fsm.Null
		}
	}
	return fsm.Array(out)
}

func commandDocs(names [][]byte) fsm.Value {
	var out []fsm.Value
	add := func(s *cmdtab.Spec) {
		d := s.Docs()
		if d.Type == 0 {
			d = cmdtab.Node{Type: '%'}
		}
		out = append(out, fsm.BulkString(s.Name), nodeValue(d))
	}
	if len(names) == 0 {
		for _, c := range visibleCommands() {
			add(c.Spec)
		}
	}
	for _, n := range names {
		if s := commandByName(n); s != nil {
			add(s)
		}
	}
	return fsm.Value{Kind: fsm.KindMap, Arr: out}
}

// commandList is COMMAND LIST [FILTERBY MODULE name | ACLCAT cat | PATTERN p].
func commandList(args [][]byte) fsm.Value {
	match := func(*cmdtab.Spec) bool { return true }
	switch {
	case len(args) == 0:
	case len(args) == 3 && strings.EqualFold(string(args[0]), "filterby"):
		arg := args[2]
		switch lowerName(args[1]) {
		case "module":
			match = func(*cmdtab.Spec) bool { return false } // no modules
		case "aclcat":
			bit := cmdtab.CatBit(strings.ToLower(string(arg)))
			match = func(s *cmdtab.Spec) bool { return bit != 0 && s.ACL&bit != 0 }
		case "pattern":
			match = func(s *cmdtab.Spec) bool { return fsm.GlobMatchFold(arg, []byte(s.Name)) }
		default:
			return fsm.Err("ERR syntax error")
		}
	default:
		return fsm.Err("ERR syntax error")
	}
	var out []fsm.Value
	for _, c := range visibleCommands() {
		if match(c.Spec) {
			out = append(out, fsm.BulkString(c.Name))
		}
		for _, s := range sortedSubs(c.Spec) {
			if match(s) {
				out = append(out, fsm.BulkString(s.Name))
			}
		}
	}
	if out == nil {
		out = []fsm.Value{}
	}
	return fsm.Array(out)
}

func sortedSubs(s *cmdtab.Spec) []*cmdtab.Spec {
	var out []*cmdtab.Spec
	for _, sub := range s.Subs {
		out = append(out, sub)
	}
	sortSpecs(out)
	return out
}

// commandGetKeys is COMMAND GETKEYS and GETKEYSANDFLAGS, with Redis's errors.
func commandGetKeys(argv [][]byte, withFlags bool) fsm.Value {
	if len(argv) == 0 {
		return fsm.Err(cmdtab.ArityError("command|getkeys"))
	}
	c := lookupCommand(argv[0])
	if c == nil || c.hidden {
		return fsm.Err("ERR Invalid command specified")
	}
	spec := c.Spec
	if spec.Container() && len(argv) > 1 {
		spec = c.Subs[lowerName(argv[1])]
		if spec == nil {
			return fsm.Err("ERR Invalid command specified")
		}
	}
	if !cmdtab.HasKeys(spec) {
		return fsm.Err("ERR The command has no key arguments")
	}
	if !spec.CheckArity(len(argv)) {
		return fsm.Err("ERR Invalid number of arguments specified for command")
	}
	keys, ok := cmdtab.GetKeys(spec, argv)
	if !ok || len(keys) == 0 {
		if spec.Has(cmdtab.NoMandatoryKeys) {
			return fsm.Array([]fsm.Value{})
		}
		return fsm.Err("ERR Invalid arguments specified for command")
	}
	out := make([]fsm.Value, len(keys))
	for i, k := range keys {
		key := fsm.Bulk(argv[k.Pos])
		if !withFlags {
			out[i] = key
			continue
		}
		out[i] = fsm.Array([]fsm.Value{key, fsm.Value{Kind: fsm.KindSet, Arr: keyFlagValues(k.Flags)}})
	}
	return fsm.Array(out)
}

func keyFlagValues(f cmdtab.KeyFlag) []fsm.Value {
	out := []fsm.Value{}
	for _, n := range cmdtab.KeyFlagNames(f) {
		out = append(out, fsm.Simple(n))
	}
	return out
}
