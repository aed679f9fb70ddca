package fsm

import (
	"strings"

	"github.com/understudy/understudy/fsm/script"
)

// FUNCTION and FCALL. Libraries are replicated state (scripting.go): FUNCTION
// LOAD, DELETE, FLUSH and RESTORE are log entries, applied on every node,
// where the library's code runs once with the load-time API under the
// instruction budget; FUNCTION LIST and DUMP are reads. FUNCTION KILL and
// STATS are answered by the node that receives them (the RESP layer); the
// declarations here serve them inside MULTI, where nothing else can run.

var functionHelp = []string{
	"FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"LOAD [REPLACE] <FUNCTION CODE>",
	"    Create a new library with the given library name and code.",
	"DELETE <LIBRARY NAME>",
	"    Delete the given library.",
	"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
	"    Return general information on all the libraries:",
	"    * Library name",
	"    * The engine used to run the Library",
	"    * Library description",
	"    * Functions list",
	"    * Library code (if WITHCODE is given)",
	"    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
	"STATS",
	"    Return information about the current function running:",
	"    * Function name",
	"    * Command used to run the function",
	"    * Duration in MS that the function is running",
	"    If no function is running, return nil",
	"    In addition, returns a list of available engines.",
	"KILL",
	"    Kill the current running function.",
	"FLUSH [ASYNC|SYNC]",
	"    Delete all the libraries.",
	"    When called without the optional mode argument, the behavior is determined by the",
	"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
	"    * ASYNC: Asynchronously flush the libraries.",
	"    * SYNC: Synchronously flush the libraries.",
	"DUMP",
	"    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
	"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
	"    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
	"    control how to handle existing libraries (default APPEND):",
	"    * FLUSH: delete all existing libraries.",
	"    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
	"    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
	"      libraries with the new libraries (notice that even on this option there is a chance of failure",
	"      in case of functions name collision with another library).",
	"HELP",
	"    Prints this help.",
}

func functionCommands() []decl {
	return []decl{
		{name: "fcall", run: cmdFCall, since: Level2, log: true, readable: true},
		{name: "fcall_ro", run: cmdFCallRO, since: Level2},
		{name: "function|load", run: cmdFunctionLoad, since: Level2},
		{name: "function|delete", since: Level2, run: func(c *ctx, argv [][]byte) Value {
			if !c.f.scr.funcs.Delete(string(argv[2])) {
				return Err("ERR Library not found")
			}
			return OK
		}},
		{name: "function|flush", since: Level2, run: func(c *ctx, argv [][]byte) Value {
			if len(argv) > 3 || len(argv) == 3 && !eqFold(argv[2], "sync") && !eqFold(argv[2], "async") {
				return Err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
			}
			c.f.scr.funcs.Flush()
			return OK
		}},
		{name: "function|list", run: cmdFunctionList, since: Level2},
		{name: "function|dump", run: cmdFunctionDump, since: Level2},
		{name: "function|restore", run: cmdFunctionRestore, since: Level2},
		{name: "function|stats", since: Level2, run: func(c *ctx, _ [][]byte) Value {
			libs, fns := c.f.scr.funcs.Len()
			return FunctionStats(Null, libs, fns)
		}},
		{name: "function|kill", since: Level2, run: func(*ctx, [][]byte) Value { return Err(ErrNotBusy) }},
		{name: "function|help", since: Level2, run: func(*ctx, [][]byte) Value { return SimpleLines(functionHelp) }},
	}
}

// FunctionStats is FUNCTION STATS's reply: the running script (Null, or
// its name, command and duration) and the Lua engine's counts.
func FunctionStats(running Value, libraries, functions int) Value {
	lua := Value{Kind: KindMap, Arr: []Value{BulkString("libraries_count"), Int(int64(libraries)),
		BulkString("functions_count"), Int(int64(functions))}}
	return Value{Kind: KindMap, Arr: []Value{BulkString("running_script"), running,
		BulkString("engines"), {Kind: KindMap, Arr: []Value{BulkString("LUA"), lua}}}}
}

func cmdFCall(c *ctx, argv [][]byte) Value   { return c.fcall(argv, false) }
func cmdFCallRO(c *ctx, argv [][]byte) Value { return c.fcall(argv, true) }

// fcall is FCALL function numkeys key... arg... (and FCALL_RO).
func (c *ctx) fcall(argv [][]byte, ro bool) Value {
	if c.f.eng == nil {
		return errNoEngine
	}
	fn, ok := c.f.scr.funcs.Function(string(argv[1]))
	if !ok {
		return Err("ERR Function not found")
	}
	keys, args, errv := scriptKeys(argv[2:], Err("ERR Bad number of keys provided"))
	if errv.Kind == KindError {
		return errv
	}
	return c.runScript(scriptCall{name: fn.Name, flags: fn.Flags, ro: ro, argv: argv},
		func(opt script.RunOptions) script.Reply { return c.f.eng.FCall(fn, keys, args, opt) })
}

// cmdFunctionLoad is FUNCTION LOAD [REPLACE] code.
func cmdFunctionLoad(c *ctx, argv [][]byte) Value {
	if c.f.eng == nil {
		return errNoEngine
	}
	replace := false
	i := 2
	for ; i < len(argv)-1; i++ {
		if !eqFold(argv[i], "replace") {
			return Err("ERR Unknown option given: " + errText(argv[i]))
		}
		replace = true
	}
	h := &scriptHost{f: c.f, readOnly: true}
	name, err := c.f.scr.funcs.Load(c.f.eng, []byte(string(argv[i])), replace, script.RunOptions{Host: h,
		Limits: script.Limits{Instructions: c.f.conf.luaInstructions, Memory: c.f.conf.luaMemory}})
	if err != nil {
		return Err(err.Error())
	}
	return BulkString(name)
}

// cmdFunctionList is FUNCTION LIST [WITHCODE] [LIBRARYNAME pattern].
func cmdFunctionList(c *ctx, argv [][]byte) Value {
	withCode := false
	var pattern []byte
	for i := 2; i < len(argv); i++ {
		switch {
		case !withCode && eqFold(argv[i], "withcode"):
			withCode = true
		case pattern == nil && eqFold(argv[i], "libraryname"):
			if i >= len(argv)-1 {
				return Err("ERR library name argument was not given")
			}
			i++
			pattern = argv[i]
		default:
			return Err("ERR Unknown argument " + errText(argv[i]))
		}
	}
	out := []Value{}
	for _, lib := range c.f.scr.funcs.Libraries() {
		if pattern != nil && !GlobMatchFold(pattern, []byte(lib.Name)) {
			continue
		}
		fns := make([]Value, len(lib.Functions))
		for i, fn := range lib.Functions {
			desc := Null
			if fn.HasDesc {
				desc = BulkString(fn.Description)
			}
			flags := []Value{}
			for _, name := range fn.Flags.Names() {
				flags = append(flags, Simple(name))
			}
			fns[i] = Value{Kind: KindMap, Arr: []Value{BulkString("name"), BulkString(fn.Name),
				BulkString("description"), desc, BulkString("flags"), {Kind: KindSet, Arr: flags}}}
		}
		m := []Value{BulkString("library_name"), BulkString(lib.Name), BulkString("engine"), BulkString("LUA"),
			BulkString("functions"), Array(fns)}
		if withCode {
			m = append(m, BulkString("library_code"), Bulk(lib.Code))
		}
		out = append(out, Value{Kind: KindMap, Arr: m})
	}
	return Array(out)
}

// cmdFunctionRestore is FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]: all
// the payload's libraries or none.
func cmdFunctionRestore(c *ctx, argv [][]byte) Value {
	if c.f.eng == nil {
		return errNoEngine
	}
	policy := "append"
	if len(argv) > 4 {
		return errSyntax
	}
	if len(argv) == 4 {
		policy = strings.ToLower(string(argv[3]))
		if policy != "flush" && policy != "append" && policy != "replace" {
			return Err("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
		}
	}
	codes, ok := decodeFunctionDump(argv[2])
	if !ok {
		return Err("ERR DUMP payload version or checksum are wrong")
	}
	next := c.f.scr.funcs.Clone()
	if policy == "flush" {
		next.Flush()
	}
	h := &scriptHost{f: c.f, readOnly: true}
	opt := script.RunOptions{Host: h, Limits: script.Limits{Instructions: c.f.conf.luaInstructions, Memory: c.f.conf.luaMemory}}
	for _, code := range codes {
		if name, err := script.LibraryName(code); err == nil && policy == "append" {
			if _, exists := next.Library(name); exists {
				return Err("ERR Library " + name + " already exists")
			}
		}
		if _, err := next.Load(c.f.eng, code, policy == "replace", opt); err != nil {
			return Err(err.Error())
		}
	}
	c.f.scr.funcs = next
	return OK
}
