package cmdtab

import (
	"bytes"
	"fmt"
	"strconv"
)

// KeyFlag is one of a key specification's flags.
type KeyFlag uint16

// Key specification flags, as COMMAND INFO names them.
const (
	KeyRO KeyFlag = 1 << iota
	KeyRW
	KeyOW
	KeyRM
	KeyAccess
	KeyUpdate
	KeyInsert
	KeyDelete
	KeyNotKey
	KeyIncomplete
	KeyVariableFlags
)

var keyFlagNames = map[string]KeyFlag{
	"RO": KeyRO, "RW": KeyRW, "OW": KeyOW, "RM": KeyRM, "access": KeyAccess,
	"update": KeyUpdate, "insert": KeyInsert, "delete": KeyDelete,
	"not_key": KeyNotKey, "incomplete": KeyIncomplete, "variable_flags": KeyVariableFlags,
}

// KeySpec is one Redis 7 key specification: where the search for keys
// begins (an index, or the argument after a keyword) and how keys are found
// from there (a range, or a count argument).
type KeySpec struct {
	Flags KeyFlag
	// Begin search: Index > 0, or Keyword with StartFrom (negative: from the end).
	Index     int
	Keyword   string
	StartFrom int
	// Find keys: a range (LastKey relative to the first, negative from the
	// end; KeyStep; Limit) or a count (KeyNumIdx, FirstKey, KeyStep).
	Range     bool
	LastKey   int
	KeyStep   int
	Limit     int
	KeyNum    bool
	KeyNumIdx int
	FirstKey  int
	// Unknown is set when either half is "unknown": the keys cannot be
	// found from the spec alone (SORT's STORE, MIGRATE's KEYS).
	Unknown bool
}

func keySpecFrom(n Node) (KeySpec, error) {
	var k KeySpec
	if fl, ok := n.Get("flags"); ok {
		for _, f := range fl.Elem {
			bit, ok := keyFlagNames[f.Str]
			if !ok {
				return k, fmt.Errorf("unknown key spec flag %q", f.Str)
			}
			k.Flags |= bit
		}
	}
	bs, _ := n.Get("begin_search")
	typ, _ := bs.Get("type")
	spec, _ := bs.Get("spec")
	switch typ.Str {
	case "index":
		v, _ := spec.Get("index")
		k.Index = int(v.Int)
	case "keyword":
		v, _ := spec.Get("keyword")
		k.Keyword = v.Str
		v, _ = spec.Get("startfrom")
		k.StartFrom = int(v.Int)
	default:
		k.Unknown = true
	}
	fk, _ := n.Get("find_keys")
	typ, _ = fk.Get("type")
	spec, _ = fk.Get("spec")
	get := func(name string) int { v, _ := spec.Get(name); return int(v.Int) }
	switch typ.Str {
	case "range":
		k.Range, k.LastKey, k.KeyStep, k.Limit = true, get("lastkey"), get("keystep"), get("limit")
	case "keynum":
		k.KeyNum, k.KeyNumIdx, k.FirstKey, k.KeyStep = true, get("keynumidx"), get("firstkey"), get("keystep")
	default:
		k.Unknown = true
	}
	return k, nil
}

// KeyPos is one key found in a command's arguments.
type KeyPos struct {
	Pos   int // index into argv
	Flags KeyFlag
}

// Keys finds the key arguments of argv (argv[0] is the command name; for a
// subcommand argv[1] its name) the way Redis's getKeysUsingKeySpecs does.
// ok is false when a specification cannot be applied to these arguments
// (a count that is not a number, keys past the end): Redis's "Invalid
// arguments" case. Specifications marked not_key are skipped, and unknown
// ones (which only a command-specific function can resolve) too.
func (s *Spec) Keys(argv [][]byte) (keys []KeyPos, ok bool) {
	argc := len(argv)
	for _, ks := range s.KeySpecs {
		if ks.Flags&KeyNotKey != 0 || ks.Unknown {
			continue
		}
		first := 0
		switch {
		case ks.Index > 0:
			first = ks.Index
		case ks.Keyword != "":
			start, end := ks.StartFrom, argc-1
			if ks.StartFrom <= 0 {
				start, end = argc+ks.StartFrom, 1
			}
			for i := start; i != end; {
				if i >= argc || i < 1 {
					break
				}
				if bytes.EqualFold(argv[i], []byte(ks.Keyword)) {
					first = i + 1
					break
				}
				if start <= end {
					i++
				} else {
					i--
				}
			}
			if first == 0 {
				continue // keyword absent: no keys from this spec
			}
		}
		var last, step int
		switch {
		case ks.Range:
			step = ks.KeyStep
			switch {
			case ks.LastKey >= 0:
				last = first + ks.LastKey
			case ks.Limit == 0:
				last = argc + ks.LastKey
			default:
				last = first + ((argc-first)/ks.Limit + ks.LastKey)
			}
		case ks.KeyNum:
			step = ks.KeyStep
			if first+ks.KeyNumIdx >= argc {
				return nil, false
			}
			n, err := strconv.ParseInt(string(argv[first+ks.KeyNumIdx]), 10, 64)
			if err != nil || n < 0 || n > int64(argc) {
				return nil, false
			}
			first += ks.FirstKey
			last = first + int(n) - 1
		}
		if last >= argc || last < first || first >= argc {
			if ks.KeyNum && last == first-1 {
				continue // zero keys
			}
			return nil, false
		}
		if step <= 0 {
			step = 1
		}
		for i := first; i <= last; i += step {
			keys = append(keys, KeyPos{Pos: i, Flags: ks.Flags})
		}
	}
	return keys, true
}

// KeyFlagNames lists the names of the flags in f, in COMMAND's order.
func KeyFlagNames(f KeyFlag) []string {
	order := []struct {
		f    KeyFlag
		name string
	}{{KeyRO, "RO"}, {KeyRW, "RW"}, {KeyOW, "OW"}, {KeyRM, "RM"}, {KeyAccess, "access"},
		{KeyUpdate, "update"}, {KeyInsert, "insert"}, {KeyDelete, "delete"}, {KeyNotKey, "not_key"},
		{KeyIncomplete, "incomplete"}, {KeyVariableFlags, "variable_flags"}}
	var out []string
	for _, o := range order {
		if f&o.f != 0 {
			out = append(out, o.name)
		}
	}
	return out
}

// HasKeys reports whether the command takes key arguments (Redis's
// doesCommandHaveKeys): a key specification that is not not_key, or a
// command-specific key finder.
func HasKeys(s *Spec) bool {
	if keyFinder(s) != nil {
		return true
	}
	for _, k := range s.KeySpecs {
		if k.Flags&KeyNotKey == 0 {
			return true
		}
	}
	return false
}

// GetKeys finds the key arguments of argv as COMMAND GETKEYS does: from the
// key specifications, or, for the commands whose keys the specifications
// cannot locate (SORT's STORE, MIGRATE's KEYS, GEORADIUS's STORE, XREAD's
// STREAMS, SET's flags), with Redis's command-specific finder.
func GetKeys(s *Spec, argv [][]byte) ([]KeyPos, bool) {
	if f := keyFinder(s); f != nil {
		return f(argv)
	}
	return s.Keys(argv)
}
