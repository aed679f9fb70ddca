package script

import (
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Version is the Redis version scripts see in redis.REDIS_VERSION.
const (
	Version    = "7.0.15"
	VersionNum = 0x07000f
)

// Log levels of redis.log, as Redis numbers them.
const (
	LogDebug   = 0
	LogVerbose = 1
	LogNotice  = 2
	LogWarning = 3
)

func (vm *VM) redisTable() *lua.LTable {
	L := vm.L
	t := L.NewTable()
	fns := map[string]lua.LGFunction{
		"call":               func(L *lua.LState) int { return vm.redisCall(L, true) },
		"pcall":              func(L *lua.LState) int { return vm.redisCall(L, false) },
		"log":                vm.redisLog,
		"setresp":            vm.redisSetresp,
		"sha1hex":            redisSha1hex,
		"error_reply":        redisErrorReply,
		"status_reply":       redisStatusReply,
		"set_repl":           redisSetRepl,
		"acl_check_cmd":      vm.redisACLCheck,
		"breakpoint":         func(L *lua.LState) int { L.Push(lua.LFalse); return 1 },
		"debug":              func(L *lua.LState) int { return 0 },
		"replicate_commands": func(L *lua.LState) int { L.Push(lua.LTrue); return 1 },
	}
	for _, name := range sortedKeys(fns) {
		t.RawSetString(name, L.NewFunction(fns[name]))
	}
	vm.setLogLevels(t)
	for _, kv := range []struct {
		k string
		v int
	}{{"REPL_NONE", 0}, {"REPL_AOF", 1}, {"REPL_SLAVE", 2}, {"REPL_REPLICA", 2}, {"REPL_ALL", 3}} {
		t.RawSetString(kv.k, lua.LNumber(kv.v))
	}
	return t
}

// redisLoadTable is the redis table FUNCTION LOAD's code sees: only
// register_function, log and the version.
func (vm *VM) redisLoadTable() *lua.LTable {
	L := vm.L
	t := L.NewTable()
	t.RawSetString("register_function", L.NewFunction(vm.registerFunction))
	t.RawSetString("log", L.NewFunction(vm.redisLog))
	vm.setLogLevels(t)
	return t
}

func (vm *VM) setLogLevels(t *lua.LTable) {
	t.RawSetString("LOG_DEBUG", lua.LNumber(LogDebug))
	t.RawSetString("LOG_VERBOSE", lua.LNumber(LogVerbose))
	t.RawSetString("LOG_NOTICE", lua.LNumber(LogNotice))
	t.RawSetString("LOG_WARNING", lua.LNumber(LogWarning))
	t.RawSetString("REDIS_VERSION", lua.LString(Version))
	t.RawSetString("REDIS_VERSION_NUM", lua.LNumber(VersionNum))
}

// errorTable is Redis's luaPushErrorBuff: "-CODE msg" keeps its code, a
// message without a leading '-' gets "ERR", trailing CR/LF are trimmed.
func errorTable(L *lua.LState, s string) *lua.LTable {
	code, msg := "ERR", s
	if strings.HasPrefix(s, "-") {
		if sp := strings.IndexByte(s, ' '); sp >= 0 {
			code, msg = s[1:sp], s[sp+1:]
		} else {
			msg = s[1:]
		}
	}
	msg = strings.Trim(msg, "\r\n")
	t := L.NewTable()
	t.RawSetString("err", lua.LString(code+" "+msg))
	return t
}

// raiseTable raises t as the error object, as luaError does.
func raiseTable(L *lua.LState, t *lua.LTable) { L.Error(t, 0) }

// redisCall is luaRedisGenericCommand: redis.call raises errors, redis.pcall
// returns them as {err=...} tables.
func (vm *VM) redisCall(L *lua.LState, raise bool) int {
	argv, msg := vm.argv(L, true)
	if msg != "" {
		t := errorTable(L, msg)
		if raise {
			raiseTable(L, t)
		}
		L.Push(t)
		return 1
	}
	if vm.host == nil {
		raiseTable(L, errorTable(L, "redis.call/pcall can only be called inside a script invocation"))
	}
	r := vm.host.Call(argv)
	if r.Kind == KindError {
		t := errorTable(L, "-"+string(r.Str))
		t.RawSetString("ignore_error_stats_update", lua.LTrue)
		if raise {
			raiseTable(L, t)
		}
		L.Push(t)
		return 1
	}
	L.Push(vm.toLua(L, r))
	return 1
}

// argv is luaArgsToRedisArgv: strings as they are, numbers as "%.17g".
func (vm *VM) argv(L *lua.LState, charge bool) ([][]byte, string) {
	n := L.GetTop()
	if n == 0 {
		return nil, "Please specify at least one argument for this redis lib call"
	}
	argv := make([][]byte, n)
	var size int64
	for i := 1; i <= n; i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			argv[i-1] = []byte(v)
		case lua.LNumber:
			argv[i-1] = []byte(formatArgNumber(float64(v)))
		default:
			return nil, "Lua redis lib command arguments must be strings or integers"
		}
		size += int64(len(argv[i-1])) + slotBytes
	}
	if charge {
		_ = vm.charge(L, size)
	}
	return argv, ""
}

// formatArgNumber is C's "%.17g", which Redis uses for numbers passed to
// redis.call so that no precision is lost.
func formatArgNumber(f float64) string {
	if s, ok := nonFinite(f); ok {
		return s
	}
	return strconv.FormatFloat(f, 'g', 17, 64)
}

func (vm *VM) redisLog(L *lua.LState) int {
	n := L.GetTop()
	if n < 2 {
		raiseTable(L, errorTable(L, "redis.log() requires two arguments or more."))
	}
	lv, ok := luaToNumber(L.Get(1))
	if !ok {
		raiseTable(L, errorTable(L, "First argument must be a number (log level)."))
	}
	level := int(toCInt(lv))
	if level < LogDebug || level > LogWarning {
		raiseTable(L, errorTable(L, "Invalid debug level."))
	}
	var parts []string
	for i := 2; i <= n; i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			parts = append(parts, string(v))
		case lua.LNumber:
			parts = append(parts, formatNumber(float64(v)))
		}
	}
	if vm.host != nil && !vm.quiet {
		vm.host.Log(level, strings.Join(parts, " "))
	}
	return 0
}

func (vm *VM) redisSetresp(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseTable(L, errorTable(L, "redis.setresp() requires one argument."))
	}
	f, _ := luaToNumber(L.Get(1))
	resp := toCInt(f)
	if resp != 2 && resp != 3 {
		raiseTable(L, errorTable(L, "RESP version must be 2 or 3."))
	}
	vm.resp = int(resp)
	return 0
}

func redisSetRepl(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseTable(L, errorTable(L, "redis.set_repl() requires two arguments."))
	}
	f, _ := luaToNumber(L.Get(1))
	if toCInt(f)&^3 != 0 {
		raiseTable(L, errorTable(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."))
	}
	return 0 // every write is in the log entry; there is nothing to switch off
}

func redisSha1hex(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseTable(L, errorTable(L, "wrong number of arguments"))
	}
	var s string
	switch v := L.Get(1).(type) {
	case lua.LString:
		s = string(v)
	case lua.LNumber:
		s = formatNumber(float64(v))
	}
	L.Push(lua.LString(SHA1Hex([]byte(s))))
	return 1
}

// SHA1Hex is the lower-case hex SHA1 of b: a script's name in the cache.
func SHA1Hex(b []byte) string {
	h := sha1.Sum(b)
	return hex.EncodeToString(h[:])
}

func singleString(L *lua.LState) (string, bool) {
	if L.GetTop() != 1 {
		return "", false
	}
	s, ok := L.Get(1).(lua.LString)
	return string(s), ok
}

func redisErrorReply(L *lua.LState) int {
	s, ok := singleString(L)
	if !ok {
		L.Push(errorTable(L, "wrong number or type of arguments"))
		return 1
	}
	if !strings.HasPrefix(s, "-") {
		s = "-" + s
	}
	L.Push(errorTable(L, s))
	return 1
}

func redisStatusReply(L *lua.LState) int {
	s, ok := singleString(L)
	if !ok {
		L.Push(errorTable(L, "wrong number or type of arguments"))
		return 1
	}
	t := L.NewTable()
	t.RawSetString("ok", lua.LString(s))
	L.Push(t)
	return 1
}

// ACLChecker is implemented by hosts that enforce ACLs, for
// redis.acl_check_cmd. A host without it allows every command.
type ACLChecker interface {
	// CheckACL reports whether argv names a command (known) and whether the
	// script's user may run it (allowed).
	CheckACL(argv [][]byte) (known, allowed bool)
}

func (vm *VM) redisACLCheck(L *lua.LState) int {
	argv, msg := vm.argv(L, false)
	if msg != "" {
		raiseTable(L, errorTable(L, msg))
	}
	known, allowed := true, true
	if c, ok := vm.host.(ACLChecker); ok {
		known, allowed = c.CheckACL(argv)
	}
	if !known {
		raiseTable(L, errorTable(L, "Invalid command passed to redis.acl_check_cmd()"))
	}
	L.Push(lua.LBool(allowed))
	return 1
}

// luaToNumber is lua_tonumber: numbers, and strings that parse as numbers.
func luaToNumber(v lua.LValue) (float64, bool) {
	switch x := v.(type) {
	case lua.LNumber:
		return float64(x), true
	case lua.LString:
		return parseLuaNumber(string(x))
	}
	return 0, false
}

// Error texts a Host returns for the checks Redis's scriptCall makes before
// running a command from a script.
const (
	ErrUnknownCommand = "ERR Unknown Redis command called from script"
	ErrArity          = "ERR Wrong number of args calling Redis command from script"
	ErrNotFromScript  = "ERR This Redis command is not allowed from script"
	ErrWriteReadOnly  = "ERR Write commands are not allowed from read-only scripts."
)
