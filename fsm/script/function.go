package script

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Library is a loaded FUNCTION library. It is immutable.
type Library struct {
	Name      string
	Code      []byte
	Functions []*Function // sorted by name
	proto     *lua.FunctionProto
}

// Function is one function of a library.
type Function struct {
	Name        string
	Description string
	HasDesc     bool // Description was given (FUNCTION LIST shows nil otherwise)
	Flags       Flags
	Library     *Library
}

const msgBadName = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// parseLibraryHeader is functionExtractLibMetaData: "#!<engine> name=<lib>".
func parseLibraryHeader(code string) (engine, name string, err error) {
	if !strings.HasPrefix(code, "#!") {
		return "", "", compileErr("ERR Missing library metadata")
	}
	nl := strings.IndexByte(code, '\n')
	if nl < 0 {
		return "", "", compileErr("ERR Invalid library metadata")
	}
	parts := strings.Fields(code[:nl])
	if len(parts) == 0 {
		return "", "", compileErr("ERR Invalid library metadata")
	}
	engine = parts[0][2:]
	seen := false
	for _, p := range parts[1:] {
		if len(p) >= 5 && strings.EqualFold(p[:5], "name=") {
			if seen {
				return "", "", compileErr("ERR Invalid metadata value, name argument was given multiple times")
			}
			name, seen = p[5:], true
			continue
		}
		return "", "", compileErr("ERR Invalid metadata value given: %s", p)
	}
	if !seen {
		return "", "", compileErr("ERR Library name was not given")
	}
	return engine, name, nil
}

// LibraryName checks a FUNCTION LOAD payload's "#!lua name=<lib>" header
// as Redis does before anything else, and returns the library's name.
func LibraryName(code []byte) (string, error) {
	engine, name, err := parseLibraryHeader(string(code))
	if err != nil {
		return "", err
	}
	if !validName(name) {
		return "", compileErr("ERR %s", msgBadName)
	}
	if !strings.EqualFold(engine, "lua") {
		return "", compileErr("ERR Engine '%s' not found", engine)
	}
	return name, nil
}

// LoadLibrary compiles a FUNCTION LOAD payload and runs its code once with
// the restricted load-time API to learn its functions, with Redis 7.0's
// error texts. opt.Limits bounds that run (Redis stops it after 500 ms with
// "FUNCTION LOAD timeout"; here an instruction budget gives the same error)
// and opt.Host receives its redis.log lines (its Call is never used).
// Checks against other libraries are Functions.Load's.
func (e *Engine) LoadLibrary(code []byte, opt RunOptions) (lib *Library, err error) {
	name, err := LibraryName(code)
	if err != nil {
		return nil, err
	}
	proto, cerr := compileChunk(chunkSource(string(code)), "user_function")
	if cerr != nil {
		return nil, compileErr("ERR Error compiling function: %s", cerr)
	}
	lib = &Library{Name: name, Code: code, proto: proto}
	vm := e.get()
	healthy := false
	defer func() {
		if p := recover(); p != nil {
			slog.Error("script: Lua state failed loading a library; discarding it", "library", name, "panic", fmt.Sprint(p))
			lib, err = nil, compileErr("ERR Error registering functions: internal error")
		}
		vm.finish()
		if healthy {
			e.put(vm)
		}
	}()
	opt.Seed, opt.Interrupt = 0, nil
	vm.begin(opt)
	_, err = vm.instantiateWith(lib, func(f *Function) { lib.Functions = append(lib.Functions, f) })
	healthy = true
	if err != nil {
		return nil, err
	}
	if len(lib.Functions) == 0 {
		return nil, compileErr("ERR No functions registered")
	}
	sort.Slice(lib.Functions, func(i, j int) bool { return lib.Functions[i].Name < lib.Functions[j].Name })
	return lib, nil
}

// instantiate runs lib's code in vm and returns its callbacks by name.
func (vm *VM) instantiate(lib *Library) (map[string]*lua.LFunction, error) {
	return vm.instantiateWith(lib, nil)
}

func (vm *VM) instantiateWith(lib *Library, found func(*Function)) (map[string]*lua.LFunction, error) {
	L := vm.L
	vm.funcs = map[string]*Function{}
	callbacks := map[string]*lua.LFunction{}
	vm.onRegister = func(f *Function, cb *lua.LFunction) {
		f.Library = lib
		callbacks[f.Name] = cb
		if found != nil {
			found(f)
		}
	}
	defer func() { vm.onRegister = nil }()
	fn := L.NewFunctionFromProto(lib.proto)
	fn.Env = vm.libEnv
	L.Push(fn)
	vm.loading = true
	err := L.PCall(0, 0, vm.loadErrHandler)
	vm.loading = false
	if err != nil {
		msg := err.Error()
		if aerr, ok := err.(*lua.ApiError); ok {
			msg = lua.LVAsString(aerr.Object)
		}
		return nil, compileErr("ERR Error registering functions: %s", msg)
	}
	return callbacks, nil
}

// loadErrorHandler turns a load-time error into its message: a table's err
// field, or "ERR " and the string.
func (vm *VM) loadErrorHandler(L *lua.LState) int {
	v := L.Get(1)
	switch {
	case vm.run != nil && vm.run.stop != running:
		L.Push(lua.LString("ERR FUNCTION LOAD timeout"))
	default:
		if t, ok := v.(*lua.LTable); ok {
			L.Push(t.RawGetString("err"))
		} else {
			L.Push(lua.LString("ERR " + vm.errString(L, v)))
		}
	}
	return 1
}

func raiseLoad(L *lua.LState, msg string) {
	raiseTable(L, errorTable(L, msg))
}

// registerFunction is redis.register_function at load time.
func (vm *VM) registerFunction(L *lua.LState) int {
	if vm.onRegister == nil {
		raiseLoad(L, "redis.register_function can only be called on FUNCTION LOAD command")
	}
	f := &Function{}
	var cb *lua.LFunction
	switch L.GetTop() {
	case 1:
		t, ok := L.Get(1).(*lua.LTable)
		if !ok {
			raiseLoad(L, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")
		}
		cb = vm.namedArgs(L, t, f)
	case 2:
		name, ok := luaStringOf(L.Get(1))
		if !ok {
			raiseLoad(L, "first argument to redis.register_function must be a string")
		}
		fn, ok := L.Get(2).(*lua.LFunction)
		if !ok {
			raiseLoad(L, "second argument to redis.register_function must be a function")
		}
		f.Name, cb = name, fn
	default:
		raiseLoad(L, "wrong number of arguments to redis.register_function")
	}
	if !validName(f.Name) {
		raiseLoad(L, msgBadName)
	}
	if vm.funcs[f.Name] != nil {
		raiseLoad(L, "Function already exists in the library")
	}
	vm.funcs[f.Name] = f
	vm.onRegister(f, cb)
	return 0
}

func (vm *VM) namedArgs(L *lua.LState, t *lua.LTable, f *Function) *lua.LFunction {
	var cb *lua.LFunction
	hasName := false
	t.ForEach(func(k, v lua.LValue) {
		key, ok := k.(lua.LString)
		if !ok {
			if _, num := k.(lua.LNumber); !num {
				raiseLoad(L, "named argument key given to redis.register_function is not a string")
			}
			raiseLoad(L, "unknown argument given to redis.register_function")
		}
		switch string(key) {
		case "function_name":
			s, ok := luaStringOf(v)
			if !ok {
				raiseLoad(L, "function_name argument given to redis.register_function must be a string")
			}
			f.Name, hasName = s, true
		case "description":
			s, ok := luaStringOf(v)
			if !ok {
				raiseLoad(L, "description argument given to redis.register_function must be a string")
			}
			f.Description, f.HasDesc = s, true
		case "callback":
			fn, ok := v.(*lua.LFunction)
			if !ok {
				raiseLoad(L, "callback argument given to redis.register_function must be a function")
			}
			cb = fn
		case "flags":
			ft, ok := v.(*lua.LTable)
			if !ok {
				raiseLoad(L, "flags argument to redis.register_function must be a table representing function flags")
			}
			for i := 1; ; i++ {
				e := ft.RawGetInt(i)
				if e == lua.LNil {
					break
				}
				s, ok := e.(lua.LString)
				fl, known := flagByName(string(s))
				if !ok || !known {
					raiseLoad(L, "unknown flag given")
				}
				f.Flags |= fl
			}
		default:
			raiseLoad(L, "unknown argument given to redis.register_function")
		}
	})
	if !hasName {
		raiseLoad(L, "redis.register_function must get a function name argument")
	}
	if cb == nil {
		raiseLoad(L, "redis.register_function must get a callback argument")
	}
	return cb
}

// luaStringOf is lua_isstring + lua_tostring: strings and numbers.
func luaStringOf(v lua.LValue) (string, bool) {
	switch x := v.(type) {
	case lua.LString:
		return string(x), true
	case lua.LNumber:
		return formatNumber(float64(x)), true
	}
	return "", false
}
