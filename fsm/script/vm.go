package script

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// VM is one sandboxed Lua state, set up as Redis 7.0 sets up its scripting
// state. An Engine keeps a pool of them; one VM runs one script at a time.
type VM struct {
	L       *lua.LState
	globals *lua.LTable
	env     lua.LValue // L.Env as built, restored after each run

	// Per run.
	host       Host
	run        *budget
	budget     budget // reused by every run; run points to it while running
	resp       int
	rand       lrand48
	ids        map[lua.LValue]uint32
	nextID     uint32
	cjson      cjsonConfig
	funcs      map[string]*Function // while a library's code runs
	onRegister func(*Function, *lua.LFunction)

	errHandler     *lua.LFunction
	loadErrHandler *lua.LFunction
	cjsonNull      *lua.LUserData
	loadAPI        *lua.LTable // what a library's code sees while it loads: redis, restricted
	libEnv         *lua.LTable // environment of library code: loadAPI while loading, then the globals
	loading        bool
	quiet          bool // re-running a library before an FCALL: no redis.log

	readonly map[*lua.LTable]bool
	pristine []tableImage
	roMeta   *lua.LTable // metatable of protected tables that had none
	dirty    bool        // a run stored into a protected table: restore it
}

// Messages Redis raises from its protected tables.
const (
	msgReadonly    = "Attempt to modify a readonly table"
	msgNonexistent = "Script attempted to access nonexistent global variable '%s'"
)

func newVM() *VM {
	L := lua.NewState(lua.Options{
		SkipOpenLibs:        true,
		CallStackSize:       maxCallDepth,
		RegistrySize:        1024,
		RegistryMaxSize:     maxStackSlots,
		MinimizeStackMemory: true,
	})
	vm := &VM{L: L, ids: map[lua.LValue]uint32{}, readonly: map[*lua.LTable]bool{}}
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{"", lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
		{lua.CoroutineLibName, lua.OpenCoroutine},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	g := normalizeGlobals(L)
	vm.globals = g
	vm.env = L.Env
	for _, name := range []string{"dofile", "loadfile", "print", "_printregs", "module", "require",
		"getfenv", "setfenv", "newproxy", "_GOPHER_LUA_VERSION"} {
		g.RawSetString(name, lua.LNil)
	}
	set := func(t *lua.LTable, name string, fn lua.LGFunction) { t.RawSetString(name, L.NewFunction(fn)) }
	set(g, "tostring", vm.baseTostring)
	set(g, "pcall", vm.basePcall)
	set(g, "rawset", vm.baseRawset)
	set(g, "setmetatable", vm.baseSetmetatable)
	set(g, "collectgarbage", vm.baseCollectgarbage)
	set(g, "gcinfo", vm.baseGcinfo)
	set(g, "unpack", vm.baseUnpack)
	str := g.RawGetString("string").(*lua.LTable)
	set(str, "format", vm.strFormat)
	set(str, "rep", vm.strRep)
	for _, name := range []string{"upper", "lower", "reverse", "char"} {
		set(str, name, vm.chargeResult(str.RawGetString(name).(*lua.LFunction).GFunction))
	}
	str.RawSetString("__index", lua.LNil)
	set(str, "gmatch", vm.costly(vm.strGmatch))
	set(str, "gfind", vm.costly(vm.strGmatch))
	for _, name := range []string{"find", "match", "byte", "len", "sub"} {
		set(str, name, vm.costly(str.RawGetString(name).(*lua.LFunction).GFunction))
	}
	set(str, "gsub", vm.costly(vm.strGsub))
	tbl := g.RawGetString("table").(*lua.LTable)
	set(tbl, "concat", vm.tableConcat)
	set(tbl, "foreach", tableForeach)
	set(tbl, "foreachi", tableForeachi)
	set(tbl, "setn", func(L *lua.LState) int { L.RaiseError("'setn' is obsolete"); return 0 })
	for _, name := range []string{"insert", "remove", "sort"} {
		set(tbl, name, vm.guardFirst(tbl.RawGetString(name).(*lua.LFunction).GFunction))
	}
	co := g.RawGetString("coroutine").(*lua.LTable)
	set(co, "create", vm.coCreate(co.RawGetString("create").(*lua.LFunction).GFunction))
	set(co, "wrap", vm.coWrap(co.RawGetString("wrap").(*lua.LFunction).GFunction))
	math := g.RawGetString("math").(*lua.LTable)
	set(math, "random", vm.mathRandom)
	set(math, "randomseed", vm.mathRandomseed)
	math.RawSetString("huge", lua.LNumber(mathInf))
	set(g, "tonumber", baseTonumber)
	set(g, "error", baseError)

	vm.openLibraries()
	g.RawSetString("redis", vm.redisTable())
	vm.errHandler = L.NewFunction(vm.errorHandler)
	vm.loadErrHandler = L.NewFunction(vm.loadErrorHandler)
	g.RawSetString("__redis__err__handler", vm.errHandler)
	vm.loadAPI = L.NewTable()
	loadRedis := vm.redisLoadTable()
	rmt := L.NewTable()
	set(rmt, "__index", nonexistentGlobal)
	loadRedis.Metatable = rmt
	vm.loadAPI.RawSetString("redis", loadRedis)
	vm.libEnv = L.NewTable()

	// Globals: reading a missing one and creating one are errors.
	gmt := L.NewTable()
	set(gmt, "__index", nonexistentGlobal)
	set(gmt, "__newindex", readonlyTable)
	g.Metatable = gmt
	lmt := L.NewTable()
	set(lmt, "__index", vm.libIndex)
	set(lmt, "__newindex", readonlyTable)
	vm.libEnv.Metatable = lmt
	vm.protect(g)
	vm.protect(vm.loadAPI)
	vm.protect(vm.libEnv)
	if smt, ok := L.GetMetatable(lua.LString("")).(*lua.LTable); ok {
		vm.protect(smt)
	}
	return vm
}

// libIndex resolves a global of library code: while the library loads only
// the restricted redis table exists (as in Redis 7.0), afterwards its
// functions see the same globals as EVAL scripts (KEYS and ARGV excepted).
func (vm *VM) libIndex(L *lua.LState) int {
	k := L.Get(2)
	src := vm.globals
	if vm.loading {
		src = vm.loadAPI
	}
	if s, ok := k.(lua.LString); !ok || (s != "KEYS" && s != "ARGV") {
		if v := src.RawGet(k); v != lua.LNil {
			L.Push(v)
			return 1
		}
	}
	return nonexistentGlobal(L)
}

func nonexistentGlobal(L *lua.LState) int {
	k := L.Get(2)
	name := ""
	switch v := k.(type) {
	case lua.LString:
		name = string(v)
	case lua.LNumber:
		name = formatNumber(float64(v))
	default:
		L.RaiseError("Second argument to luaProtectedTableError must be a string or number")
	}
	L.RaiseError(msgNonexistent, name)
	return 0
}

func readonlyTable(L *lua.LState) int {
	L.RaiseError(msgReadonly)
	return 0
}

// raiseBare raises msg as Redis's C functions do from a C frame: without a
// "user_script:N:" location.
func raiseBare(L *lua.LState, msg string) {
	L.Error(lua.LString(msg), 0)
}

// chunkSource strips the shebang line of a script but keeps its newline, so
// line numbers in errors match the text the user sent.
func chunkSource(body string) string {
	if strings.HasPrefix(body, "#!") {
		if i := strings.IndexByte(body, '\n'); i >= 0 {
			return body[i:]
		}
		return ""
	}
	return body
}
