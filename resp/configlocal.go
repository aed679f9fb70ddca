package resp

import (
	"strconv"
	"strings"

	"github.com/understudy/understudy/conftab"
)

// checkLocal checks a node-local parameter's value as Redis's CONFIG SET
// does and returns it as CONFIG GET will show it; reason is Redis's text.
func (s *Server) checkLocal(p *conftab.Param, v string) (canon, reason string) {
	if check := localCheck[p.Canonical]; check != nil {
		return check(s, v)
	}
	return p.Parse(v)
}

// localCheck holds the parameters with rules of their own (Redis's special
// configs) and those that cannot change here.
var localCheck = map[string]func(s *Server, v string) (string, string){
	"save":                              checkSave,
	"client-output-buffer-limit":        checkOutputLimit,
	"latency-tracking-info-percentiles": checkPercentiles,
	"oom-score-adj-values":              checkOOMScores,
	"bind": func(s *Server, v string) (string, string) {
		if host, _ := splitHostPort(s.ln.Addr().String()); v == host {
			return v, ""
		}
		return "", "Failed to bind to specified addresses."
	},
	"port": func(s *Server, v string) (string, string) {
		_, port := splitHostPort(s.ln.Addr().String())
		if v == strconv.Itoa(port) {
			return v, ""
		}
		if _, reason := conftab.Lookup("port").Parse(v); reason != "" {
			return "", reason
		}
		return "", "Unable to listen on this port: the client address is fixed at start-up here (--client-addr)"
	},
	"requirepass": func(*Server, string) (string, string) {
		return "", "users are fixed at start-up here (--requirepass, --aclfile)"
	},
}

// checkSave is Redis's "save" rule: pairs of seconds and changes, integers
// >= 0 ("" for none). Nothing is saved here: every write is in the Raft log.
func checkSave(_ *Server, v string) (string, string) {
	f := strings.Fields(v)
	if len(f)%2 != 0 {
		return "", "Invalid save parameters"
	}
	for _, x := range f {
		if n, err := strconv.ParseInt(x, 10, 64); err != nil || n < 0 {
			return "", "Invalid save parameters"
		}
	}
	return strings.Join(f, " "), ""
}

// checkOutputLimit is Redis's client-output-buffer-limit rule: groups of
// "class hard soft seconds", each changing its class; shown in full, with
// replica as "slave". Only the pubsub class acts here (limits.go).
func checkOutputLimit(s *Server, v string) (string, string) {
	f := strings.Fields(v)
	if len(f)%4 != 0 || len(f) == 0 {
		return "", "Wrong number of arguments in buffer limit configuration."
	}
	s.conf.mu.Lock()
	cur := strings.Fields(s.conf.vals["client-output-buffer-limit"])
	s.conf.mu.Unlock()
	classes := map[string][]string{}
	for i := 0; i+3 < len(cur); i += 4 {
		classes[cur[i]] = cur[i+1 : i+4]
	}
	for i := 0; i < len(f); i += 4 {
		class := strings.ToLower(f[i])
		switch class {
		case "normal", "pubsub", "slave":
		case "replica":
			class = "slave"
		default:
			return "", "Invalid client class specified in buffer limit configuration."
		}
		hard, ok1 := conftab.MemToInt(f[i+1])
		soft, ok2 := conftab.MemToInt(f[i+2])
		secs, err := strconv.ParseInt(f[i+3], 10, 64)
		if !ok1 || !ok2 || err != nil || secs < 0 {
			return "", "Error in hard, soft or soft_seconds setting in buffer limit configuration."
		}
		classes[class] = []string{strconv.FormatInt(hard, 10), strconv.FormatInt(soft, 10), strconv.FormatInt(secs, 10)}
	}
	var out []string
	for _, class := range []string{"normal", "slave", "pubsub"} {
		out = append(out, class)
		out = append(out, classes[class]...)
	}
	return strings.Join(out, " "), ""
}

func checkPercentiles(_ *Server, v string) (string, string) {
	var out []string
	for _, x := range strings.Fields(v) {
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return "", "Invalid latency-tracking-info-percentiles parameters"
		}
		if f < 0 || f > 100 {
			return "", "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
		}
		out = append(out, strconv.FormatFloat(f, 'f', -1, 64))
	}
	return strings.Join(out, " "), ""
}

func checkOOMScores(_ *Server, v string) (string, string) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return "", "wrong number of arguments"
	}
	for _, x := range f {
		if n, err := strconv.ParseInt(x, 10, 64); err != nil || n < -2000 || n > 2000 {
			return "", "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
		}
	}
	return strings.Join(f, " "), ""
}

// resetStats is CONFIG RESETSTAT: INFO's counters start again from zero
// (commandstats, errorstats, stats), as in Redis; the Prometheus counters,
// which must only grow, do not.
func (s *Server) resetStats() {
	st := &s.stats
	for _, a := range []interface{ Store(int64) }{&st.connsTotal, &st.commands, &st.forwarded, &st.redirected,
		&st.rejected, &st.protoErrors, &st.uncertain, &st.readsServed, &st.writesServed,
		&s.lim.rejectedConns, &s.lim.outputDisconnects} {
		a.Store(0)
	}
	s.evictedBase.Store(s.node.FSM().EvictedKeys())
	s.expiredBase.Store(s.node.FSM().ExpiredCount())
	s.cmdstats.reset()
}
