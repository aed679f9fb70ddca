package resp

import (
	"crypto/sha1"
	"encoding/hex"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/understudy/understudy/fsm"
)

// Every node answers the Redis Sentinel discovery commands for the cluster's
// name, so Sentinel-aware clients given the nodes' addresses as sentinels
// find the leader (the "master") by themselves and follow failovers: nodes
// publish +switch-master when leadership moves, and a node that loses
// leadership closes its client connections, as a demoted Redis master does.

// runID gives a node a stable 40-hex-digit id, the shape Redis uses.
func runID(id string) string {
	sum := sha1.Sum([]byte("understudy:" + id))
	return hex.EncodeToString(sum[:])
}

func fieldMap(kv ...string) fsm.Value {
	out := make([]fsm.Value, len(kv))
	for i, s := range kv {
		out[i] = fsm.BulkString(s)
	}
	return fsm.Value{Kind: fsm.KindMap, Arr: out}
}

func (s *Server) masterInfo() (fsm.Value, bool) {
	li, ok := s.node.Leader()
	if !ok || li.ClientAddr == "" {
		return fsm.Value{}, false
	}
	h, p := splitHostPort(li.ClientAddr)
	// As a Sentinel counts every replica it knows, down ones included
	// (SENTINEL replicas flags those s_down).
	reps, others := 0, 0
	for _, v := range s.memberViews() {
		if !v.leader {
			reps++
		}
		if !v.self {
			others++
		}
	}
	ping := strconv.FormatInt(sinceMs(s.node.LastContact()), 10)
	if s.node.IsLeader() {
		ping = "0"
	}
	return fieldMap(
		"name", s.cfg.SentinelName, "ip", h, "port", strconv.Itoa(p), "runid", runID(li.ID),
		"flags", "master", "link-pending-commands", "0", "link-refcount", "1",
		"last-ping-sent", "0", "last-ok-ping-reply", ping, "last-ping-reply", ping,
		"down-after-milliseconds", strconv.FormatInt(s.downAfter().Milliseconds(), 10),
		"info-refresh", "0", "role-reported", "master", "role-reported-time", "0",
		"config-epoch", strconv.FormatUint(s.node.Term(), 10),
		"num-slaves", strconv.Itoa(reps), "num-other-sentinels", strconv.Itoa(others),
		"quorum", strconv.Itoa(others/2+1), "failover-timeout", "1000", "parallel-syncs", "1",
	), true
}

// peerMaps describes the replicas (role "slave") or the other nodes as
// sentinels (role "sentinel"), with their health as this node knows it: a
// member that is down is flagged s_down and disconnected, as Sentinel flags
// an unreachable instance, and clients (go-redis among them) skip it.
func (s *Server) peerMaps(role string) []fsm.Value {
	views := s.memberViews()
	out := []fsm.Value{}
	if len(views) == 0 {
		return out
	}
	lh, lp := views[0].host, views[0].port
	for _, v := range views {
		if v.leader && role == "slave" {
			continue
		}
		if role == "sentinel" && v.self {
			continue // SENTINEL sentinels lists the others
		}
		addr := net.JoinHostPort(v.host, strconv.Itoa(v.port))
		okReply, reply := strconv.FormatInt(sinceMs(v.lastOK), 10), strconv.FormatInt(sinceMs(v.lastAnswer), 10)
		if role == "sentinel" {
			flags := "sentinel"
			if !v.up {
				flags = "s_down,sentinel,disconnected"
			}
			out = append(out, fieldMap("name", runID(v.id), "ip", v.host, "port", strconv.Itoa(v.port), "runid", runID(v.id),
				"flags", flags, "link-pending-commands", "0", "link-refcount", "1",
				"last-ping-sent", "0", "last-ok-ping-reply", okReply, "last-ping-reply", reply,
				"last-hello-message", okReply, "voted-leader", "?", "voted-leader-epoch", "0"))
			continue
		}
		flags, link, down := "slave", "ok", "0"
		if !v.up {
			flags, link = "s_down,slave,disconnected", "err"
			if !v.lastOK.IsZero() {
				down = strconv.FormatInt(sinceMs(v.lastOK), 10)
			}
		}
		out = append(out, fieldMap("name", addr, "ip", v.host, "port", strconv.Itoa(v.port), "runid", runID(v.id),
			"flags", flags, "link-pending-commands", "0", "link-refcount", "1",
			"last-ping-sent", "0", "last-ok-ping-reply", okReply, "last-ping-reply", reply,
			"down-after-milliseconds", strconv.FormatInt(s.downAfter().Milliseconds(), 10),
			"role-reported", "slave", "master-link-down-time", down, "master-link-status", link,
			"master-host", lh, "master-port", strconv.Itoa(lp), "slave-priority", "100",
			"slave-repl-offset", strconv.FormatUint(v.offset, 10), "replica-announced", "1"))
	}
	return out
}

func cmdSentinel(c *conn, argv [][]byte) fsm.Value {
	s := c.srv
	sub := strings.ToLower(string(argv[1]))
	named := func() (fsm.Value, bool) {
		if len(argv) != 3 {
			return fsm.ErrArity("sentinel|" + sub), false
		}
		if string(argv[2]) != s.cfg.SentinelName {
			return fsm.Err("ERR No such master with that name"), false
		}
		return fsm.Value{}, true
	}
	switch sub {
	case "get-master-addr-by-name":
		if v, ok := named(); !ok {
			if v.Str != nil && strings.HasPrefix(string(v.Str), "ERR No such") {
				return fsm.NullArray
			}
			return v
		}
		li, ok := s.node.Leader()
		if !ok || li.ClientAddr == "" {
			return fsm.NullArray
		}
		h, p := splitHostPort(li.ClientAddr)
		return fsm.Array([]fsm.Value{fsm.BulkString(h), fsm.BulkString(strconv.Itoa(p))})
	case "masters":
		if m, ok := s.masterInfo(); ok {
			return fsm.Array([]fsm.Value{m})
		}
		return fsm.Array([]fsm.Value{})
	case "master":
		if v, ok := named(); !ok {
			return v
		}
		if m, ok := s.masterInfo(); ok {
			return m
		}
		return fsm.Err("ERR No such master with that name")
	case "replicas", "slaves":
		if v, ok := named(); !ok {
			return v
		}
		return fsm.Array(s.peerMaps("slave"))
	case "sentinels":
		if v, ok := named(); !ok {
			return v
		}
		return fsm.Array(s.peerMaps("sentinel"))
	case "is-master-down-by-addr":
		if len(argv) != 6 {
			return fsm.ErrArity("sentinel|is-master-down-by-addr")
		}
		down := int64(1)
		if li, ok := s.node.Leader(); ok {
			h, p := splitHostPort(li.ClientAddr)
			if h == string(argv[2]) && strconv.Itoa(p) == string(argv[3]) {
				down = 0
			}
		}
		return fsm.Array([]fsm.Value{fsm.Int(down), fsm.BulkString("*"), fsm.Int(0)})
	case "myid":
		return fsm.BulkString(runID(s.node.ID()))
	case "ckquorum":
		if v, ok := named(); !ok {
			return v
		}
		if _, ok := s.node.Leader(); ok {
			return fsm.Simple("OK the cluster has a leader: a majority of nodes is reachable")
		}
		return fsm.Err("NOQUORUM no leader: a majority of nodes is not reachable")
	}
	return fsm.Err("ERR Unknown sentinel subcommand '" + string(argv[1]) + "'")
}

// watchLeader publishes +switch-master on this node when the leader's client
// address changes, and closes client connections when this node stops leading.
func (s *Server) watchLeader() {
	s.node.OnLeadershipChange(func(isLeader bool) {
		if !isLeader {
			s.blockers.leadershipLost()
			n := s.CloseClients()
			s.log.Info("lost leadership: closed client connections", "clients", n)
		}
	})
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var last string
	for {
		select {
		case <-s.shutdown:
			return
		case <-t.C:
		}
		li, ok := s.node.Leader()
		if !ok || li.ClientAddr == "" || li.ClientAddr == last {
			continue
		}
		if last != "" {
			oh, op := splitHostPort(last)
			nh, np := splitHostPort(li.ClientAddr)
			msg := s.cfg.SentinelName + " " + oh + " " + strconv.Itoa(op) + " " + nh + " " + strconv.Itoa(np)
			s.hub.publish([]byte("+switch-master"), []byte(msg))
			s.pool.abandon(li.PeerClientAddr) // the pool dials peer addresses
			s.log.Info("leader changed", "from", last, "to", li.ClientAddr)
		}
		last = li.ClientAddr
	}
}
