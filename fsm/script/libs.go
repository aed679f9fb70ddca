package script

import lua "github.com/yuin/gopher-lua"

// openLibraries registers the libraries Redis adds to Lua: bit, struct,
// cjson and cmsgpack, each a global table with its functions inserted in
// sorted order (see normalizeGlobals).
func (vm *VM) openLibraries() {
	L := vm.L
	vm.cjsonNull = L.NewUserData()
	reg := func(name string, fns map[string]lua.LGFunction, extra map[string]lua.LValue) {
		t := L.NewTable()
		keys := sortedKeys(fns)
		for k := range extra {
			keys = append(keys, k)
		}
		for _, k := range sortedUnique(keys) {
			if fn, ok := fns[k]; ok {
				t.RawSetString(k, L.NewFunction(fn))
			} else {
				t.RawSetString(k, extra[k])
			}
		}
		vm.globals.RawSetString(name, t)
	}
	reg("bit", bitFuncs(), nil)
	reg("struct", vm.structFuncs(), nil)
	reg("cmsgpack", vm.cmsgpackFuncs(), map[string]lua.LValue{
		"_NAME": lua.LString("cmsgpack"), "_VERSION": lua.LString("lua-cmsgpack 0.4.0"),
		"_COPYRIGHT":   lua.LString("Copyright (C) 2012, Salvatore Sanfilippo"),
		"_DESCRIPTION": lua.LString("MessagePack C implementation for Lua"),
	})
	reg("cjson", vm.cjsonFuncs(), map[string]lua.LValue{
		"null": vm.cjsonNull, "_NAME": lua.LString("cjson"), "_VERSION": lua.LString("2.1.0"),
	})
}

func sortedUnique(keys []string) []string {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return sortedKeys(m)
}
