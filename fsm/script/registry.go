package script

import (
	"maps"
	"sort"
	"strings"
)

// Functions is a node's FUNCTION libraries and the functions they register,
// with Redis 7.0's rules for loading, replacing and deleting. It is not safe
// for concurrent use; Clone gives an independent copy (for snapshots).
type Functions struct {
	libs map[string]*Library
	// funcs is keyed by the lower-cased name: Redis's function dictionary
	// compares names ignoring case (FCALL F1 calls f1, and a library cannot
	// register F1 while another has f1); library names keep their case.
	funcs map[string]*Function
}

// funcKey is a function's key in Functions.funcs.
func funcKey(name string) string { return strings.ToLower(name) }

// NewFunctions returns an empty set of libraries.
func NewFunctions() *Functions {
	return &Functions{libs: map[string]*Library{}, funcs: map[string]*Function{}}
}

// Load is FUNCTION LOAD [REPLACE]: it checks the header, refuses an
// existing library unless replace, compiles and runs the code with e (lim
// bounds that run), refuses function names another library has, and then
// installs the library, returning its name. Errors carry Redis's texts.
// opt bounds the load-time run and receives its redis.log lines.
func (f *Functions) Load(e *Engine, code []byte, replace bool, opt RunOptions) (string, error) {
	name, err := LibraryName(code)
	if err != nil {
		return "", err
	}
	old := f.libs[name]
	if old != nil && !replace {
		return "", compileErr("ERR Library '%s' already exists", name)
	}
	lib, err := e.LoadLibrary(code, opt)
	if err != nil {
		return "", err
	}
	for _, fn := range lib.Functions {
		if other, ok := f.funcs[funcKey(fn.Name)]; ok && other.Library != old {
			return "", compileErr("ERR Function %s already exists", fn.Name)
		}
	}
	f.install(lib)
	return name, nil
}

// install adds lib, replacing a library of the same name.
func (f *Functions) install(lib *Library) {
	f.Delete(lib.Name)
	f.libs[lib.Name] = lib
	for _, fn := range lib.Functions {
		f.funcs[funcKey(fn.Name)] = fn
	}
}

// Restore installs libraries already loaded (FUNCTION RESTORE, snapshot
// load) without running conflict checks: the caller has decided the policy.
func (f *Functions) Restore(lib *Library) { f.install(lib) }

// Delete is FUNCTION DELETE: false if there is no such library.
func (f *Functions) Delete(name string) bool {
	lib, ok := f.libs[name]
	if !ok {
		return false
	}
	for _, fn := range lib.Functions {
		delete(f.funcs, funcKey(fn.Name))
	}
	delete(f.libs, name)
	return true
}

// Flush is FUNCTION FLUSH.
func (f *Functions) Flush() {
	clear(f.libs)
	clear(f.funcs)
}

// Function returns the function FCALL names, whatever its case.
func (f *Functions) Function(name string) (*Function, bool) {
	fn, ok := f.funcs[funcKey(name)]
	return fn, ok
}

// Library returns a library by name.
func (f *Functions) Library(name string) (*Library, bool) {
	lib, ok := f.libs[name]
	return lib, ok
}

// Libraries lists the libraries sorted by name (FUNCTION LIST, DUMP and
// snapshots: the same order on every node).
func (f *Functions) Libraries() []*Library {
	out := make([]*Library, 0, len(f.libs))
	for _, lib := range f.libs {
		out = append(out, lib)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Len returns the number of libraries and of functions.
func (f *Functions) Len() (libraries, functions int) { return len(f.libs), len(f.funcs) }

// Clone returns an independent copy; libraries are immutable and shared.
func (f *Functions) Clone() *Functions {
	return &Functions{libs: maps.Clone(f.libs), funcs: maps.Clone(f.funcs)}
}
