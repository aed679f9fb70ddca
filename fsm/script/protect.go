package script

import (
	"sort"

	lua "github.com/yuin/gopher-lua"
)

// tableImage is a protected table's content as built, in iteration order,
// restored after each run (see restore).
type tableImage struct {
	t    *lua.LTable
	keys []lua.LValue
	vals []lua.LValue
}

// normalizeGlobals rebuilds the globals and the library tables with their
// keys inserted in sorted order. gopher-lua fills them from Go maps, whose
// order is random per process, and its tables iterate in insertion order:
// without this, pairs(string) would list names in a different order on each
// node, and a script could write that order into the keyspace.
func normalizeGlobals(L *lua.LState) *lua.LTable {
	old := L.G.Global
	done := map[*lua.LTable]*lua.LTable{}
	var rebuild func(src *lua.LTable) *lua.LTable
	rebuild = func(src *lua.LTable) *lua.LTable {
		if dst, ok := done[src]; ok {
			return dst
		}
		dst := L.NewTable()
		done[src] = dst
		var keys []string
		src.ForEach(func(k, _ lua.LValue) { keys = append(keys, lua.LVAsString(k)) })
		sort.Strings(keys)
		for _, k := range keys {
			v := src.RawGetString(k)
			switch x := v.(type) {
			case *lua.LTable:
				v = rebuild(x)
			case *lua.LFunction:
				if x.Env == old {
					x.Env = nil // set below, once the new globals exist
				}
			}
			dst.RawSetString(k, v)
		}
		return dst
	}
	g := rebuild(old)
	for _, t := range done {
		t.ForEach(func(_, v lua.LValue) {
			if fn, ok := v.(*lua.LFunction); ok && fn.Env == nil {
				fn.Env = g
			}
		})
	}
	if smt, ok := L.GetMetatable(lua.LString("")).(*lua.LTable); ok {
		if st, ok := smt.RawGetString("__index").(*lua.LTable); ok {
			smt.RawSetString("__index", rebuild(st))
		}
	}
	L.G.Global = g
	L.Env = g
	return g
}

// protect makes t and every table reachable from it (values and metatables)
// read-only as Redis 7.0 does: adding a key raises Redis's error through a
// __newindex metamethod (or the guarded rawset, setmetatable and table.*),
// and restore puts back any existing entry a run overwrote, so no run can
// leave state for the next one.
func (vm *VM) protect(t *lua.LTable) {
	if vm.readonly[t] {
		return
	}
	vm.readonly[t] = true
	img := tableImage{t: t}
	t.ForEach(func(k, v lua.LValue) {
		img.keys = append(img.keys, k)
		img.vals = append(img.vals, v)
	})
	vm.pristine = append(vm.pristine, img)
	for _, v := range img.vals {
		if sub, ok := v.(*lua.LTable); ok {
			vm.protect(sub)
		}
	}
	if mt, ok := t.Metatable.(*lua.LTable); ok {
		if mt.RawGetString("__newindex") == lua.LNil {
			mt.RawSetString("__newindex", vm.L.NewFunction(readonlyTable))
		}
		vm.protect(mt)
	} else if t.Metatable == lua.LNil || t.Metatable == nil {
		if vm.roMeta == nil {
			vm.roMeta = vm.L.NewTable()
			vm.roMeta.RawSetString("__newindex", vm.L.NewFunction(readonlyTable))
			vm.readonly[vm.roMeta] = true
			vm.pristine = append(vm.pristine, tableImage{t: vm.roMeta, keys: []lua.LValue{lua.LString("__newindex")},
				vals: []lua.LValue{vm.roMeta.RawGetString("__newindex")}})
			vm.roMeta.Metatable = vm.roMeta // a protected table like the others
		}
		t.Metatable = vm.roMeta
	}
}

// checkWritable raises Redis's error before a store into a protected
// table. A new key would reach __newindex anyway; an existing one would
// not (gopher-lua has no hook for it), and Redis's read-only tables refuse
// both. Called by the budget before SETTABLE and SETGLOBAL run.
func (vm *VM) checkWritable(L *lua.LState, t *lua.LTable) {
	if vm.readonly[t] {
		L.RaiseError(msgReadonly)
	}
}

// restore undoes whatever a run changed in the protected tables: entries it
// overwrote or removed (assignments to existing keys do not reach
// __newindex) and metatables; the key order is kept, so iteration stays the
// same from run to run.
func (vm *VM) restore() {
	vm.L.Env = vm.env.(*lua.LTable)
	if !vm.dirty {
		return
	}
	vm.dirty = false
	for i := range vm.pristine {
		img := &vm.pristine[i]
		for j, k := range img.keys {
			if img.t.RawGet(k) != img.vals[j] {
				img.t.RawSet(k, img.vals[j])
			}
		}
	}
}
