package cmdtab

import (
	"bytes"
	"strings"
)

// reference is the embedded table, parsed once at start-up and only read
// afterwards.
var reference = MustLoadReference()

// Lookup returns the reference facts of the command called name (lower
// case; "config|get" for a subcommand), or nil if Redis 7.0 has none.
func Lookup(name string) *Spec {
	base, sub, ok := strings.Cut(name, "|")
	s := reference[base]
	if !ok || s == nil {
		return s
	}
	return s.Subs[sub]
}

// Sub resolves a container's subcommand the way Redis's lookupCommand and
// arity check do: for a container given a subcommand it returns the
// subcommand's spec, for anything else s itself; then it checks arity.
// On failure err is Redis's error text (and spec, for a wrong argument
// count, the command that was given it).
func Sub(s *Spec, argv [][]byte) (spec *Spec, err string) {
	spec = s
	if len(s.Subs) > 0 && len(argv) > 1 {
		spec = s.Subs[lower(argv[1])]
		if spec == nil {
			return nil, UnknownSubcommand(s, argv[1])
		}
	}
	if !spec.CheckArity(len(argv)) {
		return spec, ArityError(spec.Name)
	}
	return spec, ""
}

// ArityError is Redis's reply to a wrong argument count.
func ArityError(fullName string) string {
	return "ERR wrong number of arguments for '" + fullName + "' command"
}

// UnknownSubcommand is Redis's reply to a subcommand a container does not
// have (at most 128 bytes of it are quoted, cut at a NUL, on one line).
func UnknownSubcommand(s *Spec, sub []byte) string {
	if i := bytes.IndexByte(sub, 0); i >= 0 {
		sub = sub[:i]
	}
	if len(sub) > 128 {
		sub = sub[:128]
	}
	text := strings.NewReplacer("\r", " ", "\n", " ").Replace(string(sub))
	return "ERR unknown subcommand '" + text + "'. Try " + strings.ToUpper(s.Name) + " HELP."
}

// All lists the reference's top-level commands.
func All() []*Spec {
	out := make([]*Spec, 0, len(reference))
	for _, s := range reference {
		out = append(out, s)
	}
	return out
}

func lower(b []byte) string {
	if len(b) > 64 {
		return ""
	}
	return strings.ToLower(string(b))
}
