package fsm

import (
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/understudy/understudy/conftab"
)

// The replicated configuration: the CONFIG parameters that change how data
// behaves (encoding thresholds, notify-keyspace-events, maxmemory and its
// policy, proto-max-bulk-len, script limits ...). CONFIG SET of one of them
// is an internal entry, "config-set name value ...", applied on every node
// at the same point of the log, so every node agrees; it is in the
// snapshot, so it survives restarts, failovers and snapshot installs.
// Node-local parameters (timeout, maxclients, slowlog-*) live in the RESP
// layer.
//
// Each parameter is declared once in confParams: how its value is applied
// to the typed field the commands read. What values it takes, its default
// and its aliases are Redis's (package conftab). A value equal to the
// default is not stored, so states that read the same hash the same.

// conf is the replicated configuration in force, with typed copies of the
// values the commands read.
type conf struct {
	set    map[string]string // parameters set away from their default, by canonical name
	notify notifyFlags
	// Encoding thresholds (object.go).
	hashMaxEntries, hashMaxValue int64
	setMaxIntset                 int64
	zsetMaxEntries, zsetMaxValue int64
	listMaxSize                  int64 // list-max-listpack-size: > 0 entries, < 0 -1..-5 = 4..64 KiB
	listCompressDepth            int64
	streamNodeMaxBytes           int64
	streamNodeMaxEntries         int64
	hllSparseMaxBytes            int64
	// Memory and eviction (evict.go).
	maxmemory    int64
	policy       evictPolicy
	samples      int64
	tenacity     int64
	lfuLogFactor int64
	lfuDecayTime int64
	// Limits.
	protoMaxBulkLen int64
	busyReply       int64 // busy-reply-threshold (lua-time-limit), ms
	// Script budgets (scripting.go): Understudy's own parameters.
	luaInstructions int64 // lua-instruction-limit
	luaMemory       int64 // lua-memory-limit, bytes
	sanitizeDump    string
	// enc are the encoding thresholds as collections read them (object.go),
	// rebuilt whenever one changes: a collection may keep the old ones.
	enc *encLimits
}

func newConf() conf {
	c := conf{set: map[string]string{}}
	for name, apply := range confParams {
		p := conftab.Lookup(name)
		v, _ := p.Parse(p.Default)
		if err := apply(&c, v); err != nil {
			panic(fmt.Sprintf("fsm: default of %s: %v", name, err))
		}
	}
	c.buildEnc()
	return c
}

func (c *conf) buildEnc() {
	clamp := func(v int64) int {
		if v > 1<<31 {
			return 1 << 31
		}
		return int(v)
	}
	c.enc = &encLimits{hashEntries: clamp(c.hashMaxEntries), hashValue: clamp(c.hashMaxValue),
		setIntset: clamp(c.setMaxIntset), zsetEntries: clamp(c.zsetMaxEntries), zsetValue: clamp(c.zsetMaxValue)}
}

func (c conf) clone() conf {
	c.set = maps.Clone(c.set)
	return c
}

// confApply checks v (as conftab.Param.Parse returned it) beyond what its
// kind allows and sets the typed copy; the error is Redis's reason text.
type confApply func(c *conf, v string) error

func intField(field func(c *conf) *int64) confApply {
	return func(c *conf, v string) error {
		*field(c) = conftab.Int(v)
		return nil
	}
}

// errBadEventClass is Redis's reason text, capitals and all.
var errBadEventClass = reasonError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")

// reasonError is a CONFIG SET reason as Redis words it.
type reasonError string

func (e reasonError) Error() string { return string(e) }

// confParams declares every replicated parameter, by its canonical name.
var confParams = map[string]confApply{
	"notify-keyspace-events": func(c *conf, v string) error {
		f, ok := parseNotifyFlags(v)
		if !ok {
			return errBadEventClass
		}
		c.notify = f
		return nil
	},
	"hash-max-listpack-entries": intField(func(c *conf) *int64 { return &c.hashMaxEntries }),
	"hash-max-listpack-value":   intField(func(c *conf) *int64 { return &c.hashMaxValue }),
	"set-max-intset-entries":    intField(func(c *conf) *int64 { return &c.setMaxIntset }),
	"zset-max-listpack-entries": intField(func(c *conf) *int64 { return &c.zsetMaxEntries }),
	"zset-max-listpack-value":   intField(func(c *conf) *int64 { return &c.zsetMaxValue }),
	"list-max-listpack-size":    intField(func(c *conf) *int64 { return &c.listMaxSize }),
	"list-compress-depth":       intField(func(c *conf) *int64 { return &c.listCompressDepth }),
	"stream-node-max-bytes":     intField(func(c *conf) *int64 { return &c.streamNodeMaxBytes }),
	"stream-node-max-entries":   intField(func(c *conf) *int64 { return &c.streamNodeMaxEntries }),
	"hll-sparse-max-bytes":      intField(func(c *conf) *int64 { return &c.hllSparseMaxBytes }),
	"maxmemory":                 intField(func(c *conf) *int64 { return &c.maxmemory }),
	"maxmemory-policy": func(c *conf, v string) error {
		c.policy = policyByName[v]
		return nil
	},
	"maxmemory-samples":           intField(func(c *conf) *int64 { return &c.samples }),
	"maxmemory-eviction-tenacity": intField(func(c *conf) *int64 { return &c.tenacity }),
	"lfu-log-factor":              intField(func(c *conf) *int64 { return &c.lfuLogFactor }),
	"lfu-decay-time":              intField(func(c *conf) *int64 { return &c.lfuDecayTime }),
	"proto-max-bulk-len":          intField(func(c *conf) *int64 { return &c.protoMaxBulkLen }),
	"busy-reply-threshold":        intField(func(c *conf) *int64 { return &c.busyReply }),
	"lua-instruction-limit":       intField(func(c *conf) *int64 { return &c.luaInstructions }),
	"lua-memory-limit":            intField(func(c *conf) *int64 { return &c.luaMemory }),
	"sanitize-dump-payload": func(c *conf, v string) error {
		c.sanitizeDump = v
		return nil
	},
}

// IsReplicatedConfig reports whether CONFIG SET name (or an alias of it)
// goes through the log.
func IsReplicatedConfig(name string) bool {
	p := conftab.Lookup(name)
	if p == nil {
		return false
	}
	_, ok := confParams[p.Canonical]
	return ok
}

// ReplicatedConfigNames lists the replicated parameters by canonical name, sorted.
func ReplicatedConfigNames() []string {
	out := make([]string, 0, len(confParams))
	for n := range confParams {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ConfigGet returns a replicated parameter's value (by any of its names) as
// CONFIG GET shows it.
func (f *FSM) ConfigGet(name string) (string, bool) {
	p := conftab.Lookup(name)
	if p == nil || confParams[p.Canonical] == nil {
		return "", false
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.conf.get(p.Canonical), true
}

func (c conf) get(canonical string) string {
	if canonical == "notify-keyspace-events" {
		return c.notify.String()
	}
	if v, set := c.set[canonical]; set {
		return v
	}
	p := conftab.Lookup(canonical)
	v, _ := p.Parse(p.Default)
	return v
}

// CheckConfig validates name value pairs as CONFIG SET would, without
// applying them: the RESP layer refuses a bad value before proposing it.
// The error is Redis's whole reply text.
func CheckConfig(pairs []string) error {
	c := newConf()
	return c.setPairs(pairs)
}

// ConfigShown is what ConfigGet shows after name is set to value (which
// CheckConfig accepted).
func ConfigShown(name, value string) string {
	c := newConf()
	if c.setPairs([]string{name, value}) != nil {
		return ""
	}
	return c.get(conftab.Lookup(name).Canonical)
}

// setPairs applies name value pairs, all or none (Redis's CONFIG SET is
// atomic); the error names the parameter, in Redis's words. Aliases are
// applied to the parameter they stand for.
func (c *conf) setPairs(pairs []string) error {
	next := c.clone()
	for i := 0; i+1 < len(pairs); i += 2 {
		p := conftab.Lookup(pairs[i])
		if p == nil || confParams[p.Canonical] == nil {
			return fmt.Errorf("ERR Unknown option or number of arguments for CONFIG SET - '%s'", pairs[i])
		}
		name := p.Canonical
		v, reason := p.Parse(pairs[i+1])
		if reason == "" {
			if err := confParams[name](&next, v); err != nil {
				reason = err.Error()
			}
		}
		if reason != "" {
			return fmt.Errorf("ERR CONFIG SET failed (possibly related to argument '%s') - %s", strings.ToLower(pairs[i]), reason)
		}
		if name == "notify-keyspace-events" {
			v = pairs[i+1] // as given: CONFIG GET's form can lose a flag ("An" shows "A")
		}
		def, _ := conftab.Lookup(name).Parse(conftab.Lookup(name).Default)
		if v == def {
			delete(next.set, name)
		} else {
			next.set[name] = v
		}
	}
	next.buildEnc()
	*c = next
	return nil
}

// cmdConfigSet is the internal "config-set name value ..." entry.
func cmdConfigSet(c *ctx, argv [][]byte) Value {
	if len(argv) < 3 || len(argv)%2 != 1 {
		return Err("ERR bad config-set command")
	}
	pairs := make([]string, len(argv)-1)
	for i, a := range argv[1:] {
		pairs[i] = string(a)
	}
	if err := c.f.conf.setPairs(pairs); err != nil {
		return Err(err.Error())
	}
	return OK
}

// restoreConf rebuilds the configuration from stored pairs (a snapshot).
func restoreConf(pairs []string) (conf, error) {
	c := newConf()
	if err := c.setPairs(pairs); err != nil {
		return conf{}, err
	}
	return c, nil
}

// pairs lists the parameters set away from their default, sorted by name.
func (c conf) pairs() []string {
	names := make([]string, 0, len(c.set))
	for n := range c.set {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]string, 0, 2*len(names))
	for _, n := range names {
		out = append(out, n, c.set[n])
	}
	return out
}
