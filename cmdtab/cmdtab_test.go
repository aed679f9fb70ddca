package cmdtab

import (
	"strings"
	"testing"
)

func argv(s string) [][]byte {
	var out [][]byte
	for _, f := range strings.Fields(s) {
		out = append(out, []byte(f))
	}
	return out
}

// TestReference: the embedded reference is Redis 7.0.15's whole table.
func TestReference(t *testing.T) {
	if n := len(All()); n != 240 {
		t.Errorf("reference has %d commands, Redis 7.0.15 has 240", n)
	}
	set := Lookup("set")
	if set == nil || set.Arity != -3 || !set.Has(Write|DenyOOM) || set.ACL&CatBit("string") == 0 {
		t.Fatalf("set: %+v", set)
	}
	if s := Lookup("config|get"); s == nil || s.Parent != Lookup("config") || s.Arity != -3 {
		t.Errorf("config|get: %+v", s)
	}
	if d, ok := Lookup("get").Docs().Get("summary"); !ok || d.Str == "" {
		t.Error("get has no docs summary")
	}
	if Lookup("nosuch") != nil || Lookup("config|nosuch") != nil {
		t.Error("Lookup found a command Redis does not have")
	}
}

// TestSub: unknown subcommands and arity errors, with Redis's texts.
func TestSub(t *testing.T) {
	cfg := Lookup("config")
	for _, c := range []struct{ args, spec, err string }{
		{"config get x", "config|get", ""},
		{"CONFIG GET", "config|get", "ERR wrong number of arguments for 'config|get' command"},
		{"config", "config", "ERR wrong number of arguments for 'config' command"},
		{"config nope", "", "ERR unknown subcommand 'nope'. Try CONFIG HELP."},
	} {
		spec, err := Sub(cfg, argv(c.args))
		name := ""
		if spec != nil {
			name = spec.Name
		}
		if name != c.spec || err != c.err {
			t.Errorf("Sub(%q) = %q, %q; want %q, %q", c.args, name, err, c.spec, c.err)
		}
	}
}

// TestKeys: key positions from each kind of key specification.
func TestKeys(t *testing.T) {
	for _, c := range []struct {
		args string
		want []int
		ok   bool
	}{
		{"get k", []int{1}, true},
		{"mset a 1 b 2", []int{1, 3}, true},
		{"del a b c", []int{1, 2, 3}, true},
		{"zunionstore d 2 a b", []int{1, 3, 4}, true},
		{"zunionstore d x a", nil, false},
		{"eval s 0", nil, true},
		{"eval s 2 a b c", []int{3, 4}, true},
		{"blpop a b 0", []int{1, 2}, true},
		{"sort k limit 0 1 store d", []int{1, 6}, true},
		{"migrate h p \"\" 0 5 keys a b", []int{7, 8}, true},
		{"migrate h p k 0 5 keys a b", nil, false},
		{"migrate h p k 0 5", []int{3}, true},
		{"xread count 1 streams a b 0 0", []int{4, 5}, true},
	} {
		a := argv(c.args)
		if len(a) > 3 && string(a[3]) == `""` {
			a[3] = []byte{} // MIGRATE's empty key
		}
		got, ok := GetKeys(Lookup(string(a[0])), a)
		var pos []int
		for _, k := range got {
			pos = append(pos, k.Pos)
		}
		if ok != c.ok || (ok && !equal(pos, c.want)) {
			t.Errorf("GetKeys(%q) = %v, %v; want %v, %v", c.args, pos, ok, c.want, c.ok)
		}
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
