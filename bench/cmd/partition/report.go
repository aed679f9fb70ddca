package main

import (
	"fmt"
	"net"
	"strings"

	"github.com/understudy/understudy/bench"
	"github.com/understudy/understudy/bench/driver"
)

// total is one (system, client kind) over every round.
type total struct {
	label, kind                       string
	writers                           int
	acked, during, byIso, lost, errs  int64
	lostByIso, lostAfterHeal          int64
	verified                          bool
	gaps                              []string // per round: worst writer
	notRecovered, writerRounds, tried int
	samples                           map[string]int64
	order                             []string
}

func seconds(ms bench.Ms) string { return fmt.Sprintf("%.2f s", float64(ms)/1000) }

// nsOf names the namespace of a node address.
func nsOf(c config, addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	for _, n := range c.netns {
		if n.IP == host {
			return n.Name
		}
	}
	return addr
}

func totals(c config, rounds []driver.PartitionRound) []*total {
	var out []*total
	find := func(label, kind string) *total {
		for _, t := range out {
			if t.label == label && t.kind == kind {
				return t
			}
		}
		t := &total{label: label, kind: kind, verified: true, samples: map[string]int64{}}
		out = append(out, t)
		return t
	}
	// Fixed order: systems as configured, direct clients first.
	for _, s := range c.systems {
		for _, k := range []string{driver.KindDirect, driver.KindFailover} {
			find(s.Label, k)
		}
	}
	for _, r := range rounds {
		for _, sr := range r.Systems {
			for _, pc := range sr.Clients {
				t := find(sr.Label, pc.Kind)
				t.tried++
				t.writers = pc.Writers
				t.acked += pc.Acked
				t.during += pc.AckedDuring
				t.byIso += pc.AckedByIsolated
				t.lost += pc.Lost
				t.lostByIso += pc.LostByIsolated
				t.lostAfterHeal += pc.LostAfterHeal
				t.errs += pc.Errors
				t.verified = t.verified && pc.Verified
				t.notRecovered += pc.NotRecovered
				t.writerRounds += pc.Writers
				var g string
				switch {
				case len(pc.Gaps) == 0:
					g = fmt.Sprintf("never wrote again (%d of %d)", pc.NotRecovered, pc.Writers)
				case pc.NotRecovered > 0:
					g = fmt.Sprintf("%s (%d of %d never wrote again)", seconds(pc.Gaps[len(pc.Gaps)-1]), pc.NotRecovered, pc.Writers)
				default:
					g = seconds(pc.Gaps[len(pc.Gaps)-1])
				}
				t.gaps = append(t.gaps, g)
				for _, e := range pc.ErrorSamples {
					if _, ok := t.samples[e.Text]; !ok {
						t.order = append(t.order, e.Text)
					}
					t.samples[e.Text] += e.Count
				}
			}
		}
	}
	return out
}

func lostText(t *total) string {
	if t.tried == 0 {
		return "-"
	}
	s := fmt.Sprint(t.lost)
	if !t.verified {
		s += " (read-back failed)"
	}
	return s
}

func markdown(c config, rounds []driver.PartitionRound, runErr error) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	ts := totals(c, rounds)

	p("# Partition: acknowledged writes when the old primary is cut off\n\n")
	p("Started %s, %s mode, %d of %d rounds done.\n\n", c.started, c.mode, len(rounds), c.rounds)
	if c.command != "" {
		p("Command: `%s`\n\n", c.command)
	}
	if c.host != "" {
		p("Host: %s\n\n", c.host)
	}
	if runErr != nil {
		p("**The experiment ended early:** %s\n\n", runErr)
	}

	p("## Result\n\n")
	bySystem := map[string][2]int64{} // lost, acked
	for _, t := range ts {
		v := bySystem[t.label]
		bySystem[t.label] = [2]int64{v[0] + t.lost, v[1] + t.acked}
	}
	for _, s := range c.systems {
		v := bySystem[s.Label]
		p("- **%s**: %d of %d acknowledged writes lost.\n", s.Label, v[0], v[1])
	}
	p("\n")

	p("## Acknowledged writes across the cut (all rounds)\n\n")
	p("- *acked during the cut*: acknowledged between the cut and the heal; in brackets, those acknowledged on a connection to the isolated old primary/leader.\n")
	p("- *lost*: acknowledged, but missing or different when read back from the leader after the heal; then how many of them the old primary/leader acknowledged during the cut, and after the heal (before it was demoted).\n")
	p("- *unavailable*: per round, the longest a writer went between two acknowledgements across the cut (the worst writer); a writer that never wrote again after every system had converged is counted apart.\n\n")
	p("| system | client | writers | acked writes | acked during the cut (by the isolated old leader) | lost acknowledged writes | lost: acked by the old leader during the cut / after the heal | unavailable, worst writer per round | errors |\n")
	p("|---|---|--:|--:|--:|--:|--:|---|--:|\n")
	for _, t := range ts {
		p("| %s | %s | %d | %d | %d (%d) | %s | %d / %d | %s | %d |\n", t.label, t.kind, t.writers, t.acked, t.during, t.byIso,
			lostText(t), t.lostByIso-t.lostAfterHeal, t.lostAfterHeal, strings.Join(t.gaps, ", "), t.errs)
	}

	p("\n## Per round\n\n")
	p("Times are from the cut unless marked. *New leader after*: until every node (Sentinel) on the majority side names one new leader. *Isolated side stopped claiming after*: until the isolated node (Sentinel) stopped naming the old leader to clients. *Old leader acked until*: the last write acknowledged on a connection to the old leader that was acknowledged during the cut or lost.\n\n")
	p("| round | cut off | cut lasted | system | leader before -> after | new leader after | isolated side stopped claiming after | old leader acked until | converged after heal | lost (direct / FailoverClient) |\n")
	p("|--:|---|--:|---|---|--:|--:|--:|--:|---|\n")
	for _, r := range rounds {
		for _, sr := range r.Systems {
			elected, step, last := "not seen", "still claiming at the heal", "none"
			if sr.Elected > 0 {
				elected = seconds(sr.Elected)
			}
			if sr.StepDown > 0 {
				step = seconds(sr.StepDown)
			}
			var lost []string
			var during, after bench.Ms
			for _, pc := range sr.Clients {
				lost = append(lost, fmt.Sprint(pc.Lost))
				during = max(during, pc.LastIsolatedAck)
				after = max(after, pc.LastLostAck)
			}
			switch {
			case after > 0:
				last = "heal + " + seconds(after)
			case during > 0:
				last = seconds(during)
			}
			conv := seconds(sr.Converged)
			if !sr.ConvergedOK {
				conv = "no (" + conv + ")"
			}
			next := nsOf(c, sr.NewLeader)
			if sr.NewLeader == "" {
				next = "?"
			}
			p("| %d | %s | %s | %s | %s -> %s | %s | %s | %s | %s | %s |\n", r.Round, r.Isolated, seconds(r.Cut), sr.Label,
				nsOf(c, sr.OldLeader), next, elected, step, last, conv, strings.Join(lost, " / "))
		}
	}

	var notes []string
	for _, r := range rounds {
		if r.Notes != "" {
			notes = append(notes, fmt.Sprintf("round %d: %s", r.Round, r.Notes))
		}
		for _, sr := range r.Systems {
			if sr.Notes != "" {
				notes = append(notes, fmt.Sprintf("round %d, %s: %s", r.Round, sr.Label, sr.Notes))
			}
		}
	}
	if len(notes) > 0 {
		p("\nNotes:\n\n")
		for _, n := range notes {
			p("- %s\n", n)
		}
	}

	p("\n## Setup\n\n")
	var names []string
	for _, n := range c.netns {
		names = append(names, fmt.Sprintf("%s (%s)", n.Name, n.IP))
	}
	p("- Three network namespaces, %s, each with a veth into one bridge in the root namespace; every client runs in the root namespace.\n", strings.Join(names, ", "))
	p("- The cut: blackhole routes inside the isolated namespace to the other two, and in each of them to the isolated one. The root namespace still reaches all three (checked each round, as is the cut itself).\n")
	p("- Namespace *i* runs Understudy node n*i* (defaults: leader lease 250 ms, heartbeat timeout 300 ms), a redis-server (appendonly yes, appendfsync always; the primary starts in the first namespace, the others `replicaof` it) and a Sentinel (%s), which watches the Redis servers of every variant.\n", c.sentinelConf)
	for _, s := range c.systems {
		if s.Name == "minrep" {
			p("- The min-replicas variant is a second primary with two replicas on other ports, configured with %s.\n", c.minrepConf)
		}
	}
	p("- Each round: every system's leader is moved into the namespace of the Redis master (`understudy transfer-leadership`; for the other Redis variant, SENTINEL FAILOVER with the other replica's priority set to 0 until done); per system %d writers stay connected to that leader's address and %d are go-redis FailoverClients (the Sentinels, resp. the three Understudy nodes, as sentinels), each writing fresh keys (value = key) at up to %d/s with a 2 s timeout; after %v of load the namespace is cut off for %v (longer, up to 20 s, while a majority side has not named a new leader), then healed; once every system has converged (Redis: the Sentinels agree, every other server is a replica with master_link_status:up; Understudy: one leader followed by both others at its applied index) the writers stop and every acknowledged key is read back from the leader.\n",
		c.writers, c.writers, c.rate, c.settle, c.hold)
	p("- Only a reply of OK counts as an acknowledgement: errors (`UNCERTAIN ...`, `TRYAGAIN ...`, `READONLY ...`, `NOREPLICAS ...`, timeouts, EOF) do not.\n")

	p("\n## Errors seen (verbatim)\n\n")
	seen := false
	for _, t := range ts {
		for _, txt := range t.order {
			p("- %s, %s: %dx `%s`\n", t.label, t.kind, t.samples[txt], strings.ReplaceAll(txt, "`", "'"))
			seen = true
		}
	}
	if !seen {
		p("None.\n")
	}
	return b.String()
}
