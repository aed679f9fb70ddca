// Package conftab holds Redis 7.0.15's configuration parameters as facts:
// every name CONFIG GET * lists, its default, whether CONFIG SET may change
// it, the kind of value it takes with its bounds or allowed values, and
// which names are aliases of one another. The facts are captured from a
// real redis-server by scripts/gen-config.sh into reference.tsv; nothing
// here is written by hand but the rules Redis applies to each kind of value
// (config.c's numeric, bool and enum parsers) and their error texts.
package conftab

import (
	_ "embed"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

//go:embed reference.tsv
var referenceTSV string

// Access says whether CONFIG SET may change a parameter.
type Access uint8

const (
	// Mutable parameters may be set at run time.
	Mutable Access = iota
	// Immutable ones only at start-up: "can't set immutable config".
	Immutable
	// Protected ones only with enable-protected-configs (never, here).
	Protected
)

// Kind is the kind of value a parameter takes.
type Kind uint8

const (
	KindUnknown Kind = iota // an immutable parameter: never parsed
	KindBool                // yes / no
	KindInt                 // a signed integer within bounds
	KindMemory              // bytes, with k/kb/m/mb/g/gb units
	KindPercent             // memory, or a percentage "N%"
	KindEnum                // one of Values
	KindFlags               // several of Values, space separated
	KindString              // anything
	KindSpecial             // parsed by its own rules (save, bind, ...)
)

// Param is one parameter. Aliases (hash-max-ziplist-entries) have their
// own Param whose Canonical names the parameter they stand for.
type Param struct {
	Name, Canonical string
	Access          Access
	Kind            Kind
	// Default is Redis's default ("" where Redis's depends on its
	// environment: dir, port, bind).
	Default string
	// Min and Max bound KindInt, KindMemory and KindPercent values.
	Min, Max int64
	// Values are the allowed words of KindEnum and KindFlags, in Redis's order.
	Values []string
}

// table is the embedded reference, parsed once at start-up, only read after.
type table struct {
	byName map[string]*Param
	all    []*Param
}

var ref = mustLoad(referenceTSV)

func mustLoad(src string) *table {
	t, err := load(src)
	if err != nil {
		panic("conftab: reference.tsv: " + err.Error())
	}
	return t
}

var kinds = map[string]Kind{"-": KindUnknown, "bool": KindBool, "int": KindInt, "memory": KindMemory,
	"percent": KindPercent, "enum": KindEnum, "flags": KindFlags, "string": KindString, "special": KindSpecial}

func load(src string) (*table, error) {
	t := &table{byName: map[string]*Param{}}
	for i, line := range strings.Split(src, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 6 {
			return nil, fmt.Errorf("line %d: %d fields, want 6", i+1, len(f))
		}
		p := &Param{Name: f[0], Canonical: f[1], Default: f[4]}
		if p.Default == `""` || p.Default == "-" {
			p.Default = ""
		}
		switch f[2] {
		case "mutable":
		case "immutable":
			p.Access = Immutable
		case "protected":
			p.Access = Protected
		default:
			return nil, fmt.Errorf("line %d: access %q", i+1, f[2])
		}
		k, ok := kinds[f[3]]
		if !ok {
			return nil, fmt.Errorf("line %d: kind %q", i+1, f[3])
		}
		p.Kind = k
		switch k {
		case KindEnum, KindFlags:
			p.Values = strings.Split(f[5], ",")
		case KindInt, KindMemory, KindPercent:
			lo, hi, ok := strings.Cut(f[5], "..")
			var err1, err2 error
			p.Min, err1 = strconv.ParseInt(lo, 10, 64)
			p.Max, err2 = strconv.ParseInt(hi, 10, 64)
			if hi == "18446744073709551615" {
				p.Max, err2 = 1<<63-1, nil // Redis's unsigned memory settings: no bound that matters
			}
			if !ok || err1 != nil || err2 != nil {
				return nil, fmt.Errorf("line %d: bounds %q", i+1, f[5])
			}
		}
		t.byName[p.Name] = p
		t.all = append(t.all, p)
	}
	for _, p := range t.all {
		if t.byName[p.Canonical] == nil {
			return nil, fmt.Errorf("%s: alias of unknown %s", p.Name, p.Canonical)
		}
	}
	sort.Slice(t.all, func(i, j int) bool { return t.all[i].Name < t.all[j].Name })
	return t, nil
}

// Lookup returns the parameter called name (case-insensitive), or nil.
func Lookup(name string) *Param { return ref.byName[strings.ToLower(name)] }

// All lists every parameter, aliases included, sorted by name.
func All() []*Param { return ref.all }

// Names of the parameter p and its aliases: every name that reads and
// sets the same value.
func Names(canonical string) []string {
	var out []string
	for _, p := range ref.all {
		if p.Canonical == canonical {
			out = append(out, p.Name)
		}
	}
	return out
}

// IsAlias reports whether p stands for another parameter.
func (p *Param) IsAlias() bool { return p.Name != p.Canonical }

// Parse checks v as CONFIG SET does for p's kind and returns the value as
// CONFIG GET shows it afterwards; errText is Redis's reason ("argument must
// be 'yes' or 'no'"). A KindSpecial or KindString value is returned as is:
// its own rules are its owner's.
func (p *Param) Parse(v string) (canon string, errText string) {
	switch p.Kind {
	case KindBool:
		switch strings.ToLower(v) {
		case "yes":
			return "yes", ""
		case "no":
			return "no", ""
		}
		return "", "argument must be 'yes' or 'no'"
	case KindEnum:
		for _, w := range p.Values {
			if strings.EqualFold(v, w) {
				return w, ""
			}
		}
		return "", p.enumError()
	case KindFlags:
		return p.parseFlags(v)
	case KindInt, KindMemory, KindPercent:
		n, pct, errText := p.parseNumber(v)
		if errText != "" {
			return "", errText
		}
		if pct {
			return strconv.FormatInt(n, 10) + "%", ""
		}
		return strconv.FormatInt(n, 10), ""
	}
	return v, ""
}

// Int reads a number Parse accepted (a percentage without its '%').
func Int(canon string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSuffix(canon, "%"), 10, 64)
	return n
}

func (p *Param) enumError() string {
	return "argument(s) must be one of the following: " + strings.Join(p.Values, ", ")
}

// parseFlags parses several enum words (shutdown-on-sigint): shown in the
// reference's order, "default" (no flag) only alone.
func (p *Param) parseFlags(v string) (string, string) {
	seen := map[string]bool{}
	for _, w := range strings.Fields(v) {
		ok := false
		for _, x := range p.Values {
			if strings.EqualFold(w, x) {
				seen[x], ok = true, true
			}
		}
		if !ok {
			return "", p.enumError()
		}
	}
	if len(seen) == 0 {
		return "", p.enumError()
	}
	if seen["save"] && seen["nosave"] {
		return "", "shutdown options SAVE and NOSAVE can't be used simultaneously"
	}
	var out []string
	for _, x := range p.Values[1:] { // Values[0] is "default": no flag
		if seen[x] {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return p.Values[0], ""
	}
	return strings.Join(out, " "), ""
}

// parseNumber is config.c's numericParseString and bounds check: a memory
// value (digits, then b, k, kb, m, mb, g or gb), a percentage where
// allowed, else a strict integer.
func (p *Param) parseNumber(v string) (n int64, pct bool, errText string) {
	ok := false
	switch p.Kind {
	case KindMemory, KindPercent:
		n, ok = MemToInt(v)
		if !ok && p.Kind == KindPercent && len(v) > 1 && v[len(v)-1] == '%' {
			if n, ok = strictInt(v[:len(v)-1]); ok && n >= 0 {
				if n > 100 {
					return 0, false, "percentage argument must be less or equal to 100"
				}
				return n, true, ""
			}
			ok = false
		}
	default:
		n, ok = strictInt(v)
	}
	if !ok {
		switch p.Kind {
		case KindMemory:
			return 0, false, "argument must be a memory value"
		case KindPercent:
			return 0, false, "argument must be a memory or percent value"
		}
		return 0, false, "argument couldn't be parsed into an integer"
	}
	if n < p.Min || n > p.Max {
		return 0, false, fmt.Sprintf("argument must be between %d and %d inclusive", p.Min, p.Max)
	}
	return n, false, ""
}

// strictInt is Redis's string2ll: an optional '-', no '+', no spaces, no
// leading zeros.
func strictInt(s string) (int64, bool) {
	if s == "" || s[0] == '+' || (len(s) > 1 && s[0] == '0') || (len(s) > 2 && s[0] == '-' && s[1] == '0') || s == "-0" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// MemToInt is Redis's memtoull: digits and an optional unit (b, k = 1000,
// kb = 1024, m, mb, g, gb; any case). Values past int64 are the largest.
func MemToInt(s string) (int64, bool) {
	lower := strings.ToLower(s)
	mul := uint64(1)
	digits := lower
	for _, u := range []struct {
		suffix string
		mul    uint64
	}{{"kb", 1024}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"b", 1}, {"k", 1000}, {"m", 1000 * 1000}, {"g", 1000 * 1000 * 1000}} {
		if strings.HasSuffix(lower, u.suffix) {
			digits, mul = lower[:len(lower)-len(u.suffix)], u.mul
			break
		}
	}
	if digits == "" {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 1<<63 - 1, true
	}
	if n > (1<<63-1)/mul {
		return 1<<63 - 1, true
	}
	return int64(n * mul), true
}
