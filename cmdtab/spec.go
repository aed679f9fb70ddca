// Package cmdtab is the one command table's reference half: what Redis
// 7.0.15 says every command is (arity, flags, ACL categories, key
// specifications, subcommands, documentation), captured from a real
// redis-server into reference.resp by scripts/gen-commands.sh. The layers
// that run commands (fsm, resp) declare each command they implement once,
// by name and handler; everything a client can learn about a command
// (COMMAND, ACL CAT, INFO commandstats), and every rule that depends on its
// flags (routing, MULTI, the slow log, OOM, scripts), is derived from the
// Spec found here.
package cmdtab

import (
	_ "embed"
	"fmt"
	"strings"
)

// Flag is one of Redis's command flags.
type Flag uint32

// Redis 7.0's command flags, as COMMAND INFO names them.
const (
	Write Flag = 1 << iota
	ReadOnly
	DenyOOM
	Module
	Admin
	PubSub
	NoScript
	Blocking
	Loading
	Stale
	SkipMonitor
	SkipSlowlog
	Asking
	Fast
	NoAuth
	MayReplicate
	Sentinel
	OnlySentinel
	NoMandatoryKeys
	Protected
	ModuleNoCluster
	NoAsyncLoading
	NoMulti
	MovableKeys
	AllowBusy
)

var flagNames = map[string]Flag{
	"write": Write, "readonly": ReadOnly, "denyoom": DenyOOM, "module": Module,
	"admin": Admin, "pubsub": PubSub, "noscript": NoScript, "blocking": Blocking,
	"loading": Loading, "stale": Stale, "skip_monitor": SkipMonitor,
	"skip_slowlog": SkipSlowlog, "asking": Asking, "fast": Fast, "no_auth": NoAuth,
	"may_replicate": MayReplicate, "sentinel": Sentinel, "only_sentinel": OnlySentinel,
	"no_mandatory_keys": NoMandatoryKeys, "protected": Protected,
	"module_no_cluster": ModuleNoCluster, "no_async_loading": NoAsyncLoading,
	"no_multi": NoMulti, "movablekeys": MovableKeys, "allow_busy": AllowBusy,
}

// Categories lists Redis 7.0's ACL categories, in ACL CAT's order.
var Categories = []string{
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
	"bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
	"blocking", "dangerous", "connection", "transaction", "scripting",
}

// Cat is a set of ACL categories, bit i standing for Categories[i].
type Cat uint32

// CatBit returns the bit of the named category (without '@'), 0 if unknown.
func CatBit(name string) Cat {
	for i, c := range Categories {
		if c == name {
			return 1 << i
		}
	}
	return 0
}

// Spec is what Redis says a command is.
type Spec struct {
	Name              string // lower case; "config|get" for a subcommand
	Arity             int    // n exact, -n at least n (the name counts)
	Flags             Flag
	ACL               Cat
	First, Last, Step int
	KeySpecs          []KeySpec
	// Subs are a container's subcommands by their own name ("get").
	Subs   map[string]*Spec
	Parent *Spec
	info   Node // the reference COMMAND INFO entry
	docs   Node // the reference COMMAND DOCS entry (a map), if any
}

// Has reports whether every flag in f is set.
func (s *Spec) Has(f Flag) bool { return s.Flags&f == f }

// CheckArity reports whether argc arguments (the name, and for a subcommand
// the container's name too, included) suit the command.
func (s *Spec) CheckArity(argc int) bool {
	if s.Arity >= 0 {
		return argc == s.Arity
	}
	return argc >= -s.Arity
}

// Info is the COMMAND INFO entry, exactly as the reference server gives it.
func (s *Spec) Info() Node { return s.info }

// Docs is the COMMAND DOCS entry (a map), exactly as the reference gives it.
func (s *Spec) Docs() Node { return s.docs }

// FullName is the name as Redis shows it in errors and statistics.
func (s *Spec) FullName() string { return s.Name }

//go:embed reference.resp
var referenceData []byte

// Reference is the parsed reference table: every Redis 7.0.15 command by
// lower-case name (subcommands are reached through Subs). Build it once
// with LoadReference; it is read-only afterwards.
type Reference map[string]*Spec

// LoadReference parses the embedded reference tables.
func LoadReference() (Reference, error) {
	nodes, err := parseAll(referenceData)
	if err != nil {
		return nil, fmt.Errorf("cmdtab: reference: %w", err)
	}
	if len(nodes) != 2 || nodes[0].Type != '*' || nodes[1].Type != '%' {
		return nil, fmt.Errorf("cmdtab: reference: want COMMAND INFO and COMMAND DOCS, got %d values", len(nodes))
	}
	ref := Reference{}
	for _, e := range nodes[0].Elem {
		s, err := specFromInfo(e, nil)
		if err != nil {
			return nil, err
		}
		ref[s.Name] = s
	}
	docs := nodes[1]
	for i := 0; i+1 < len(docs.Elem); i += 2 {
		s := ref[docs.Elem[i].Str]
		if s == nil {
			continue
		}
		s.docs = docs.Elem[i+1]
		if subs, ok := s.docs.Get("subcommands"); ok {
			for j := 0; j+1 < len(subs.Elem); j += 2 {
				name := subs.Elem[j].Str
				if sub := s.Subs[strings.TrimPrefix(name, s.Name+"|")]; sub != nil {
					sub.docs = subs.Elem[j+1]
				}
			}
		}
	}
	return ref, nil
}

// MustLoadReference is LoadReference for package initialisation: the
// embedded file is part of the build, so failing to parse it is a bug.
func MustLoadReference() Reference {
	ref, err := LoadReference()
	if err != nil {
		panic(err)
	}
	return ref
}

func specFromInfo(n Node, parent *Spec) (*Spec, error) {
	if n.Type != '*' || len(n.Elem) < 10 {
		return nil, fmt.Errorf("cmdtab: reference: malformed COMMAND INFO entry")
	}
	e := n.Elem
	s := &Spec{
		Name: e[0].Str, Arity: int(e[1].Int),
		First: int(e[3].Int), Last: int(e[4].Int), Step: int(e[5].Int),
		Parent: parent, info: n,
	}
	for _, f := range e[2].Elem {
		bit, ok := flagNames[f.Str]
		if !ok {
			return nil, fmt.Errorf("cmdtab: reference: %s: unknown flag %q", s.Name, f.Str)
		}
		s.Flags |= bit
	}
	for _, c := range e[6].Elem {
		bit := CatBit(strings.TrimPrefix(c.Str, "@"))
		if bit == 0 {
			return nil, fmt.Errorf("cmdtab: reference: %s: unknown ACL category %q", s.Name, c.Str)
		}
		s.ACL |= bit
	}
	for _, ks := range e[8].Elem {
		k, err := keySpecFrom(ks)
		if err != nil {
			return nil, fmt.Errorf("cmdtab: reference: %s: %w", s.Name, err)
		}
		s.KeySpecs = append(s.KeySpecs, k)
	}
	if len(e[9].Elem) > 0 {
		s.Subs = map[string]*Spec{}
		for _, sub := range e[9].Elem {
			ss, err := specFromInfo(sub, s)
			if err != nil {
				return nil, err
			}
			s.Subs[strings.TrimPrefix(ss.Name, s.Name+"|")] = ss
		}
	}
	return s, nil
}
