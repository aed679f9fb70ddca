package resp

import (
	"fmt"
	"strings"
	"time"

	"github.com/understudy/understudy/fsm"
)

// Redis Cluster discovery: the cluster is one shard holding all 16384 slots,
// its master the leader, its replicas the followers. With followers in
// redirect mode (MOVED) or forward mode, cluster-mode clients work unchanged.

const numSlots = 16384

type shardNode struct {
	id, host string
	port     int
	leader   bool
	self     bool
}

func (s *Server) shardNodes() []shardNode {
	ms, err := s.node.Members()
	if err != nil {
		return nil
	}
	var out []shardNode
	for _, m := range ms {
		if m.ClientAddr == "" {
			continue
		}
		h, p := splitHostPort(m.ClientAddr)
		n := shardNode{id: runID(m.ID), host: h, port: p, leader: m.Leader, self: m.ID == s.node.ID()}
		if n.leader {
			out = append([]shardNode{n}, out...)
		} else {
			out = append(out, n)
		}
	}
	if len(out) > 0 && !out[0].leader {
		return nil // no leader known: no master to describe
	}
	return out
}

func cmdCluster(c *conn, argv [][]byte) fsm.Value {
	s := c.srv
	nodes := s.shardNodes()
	switch strings.ToLower(string(argv[1])) {
	case "slots":
		if len(nodes) == 0 {
			return fsm.Array([]fsm.Value{})
		}
		row := []fsm.Value{fsm.Int(0), fsm.Int(numSlots - 1)}
		for _, n := range nodes {
			row = append(row, fsm.Array([]fsm.Value{fsm.BulkString(n.host), fsm.Int(int64(n.port)), fsm.BulkString(n.id)}))
		}
		return fsm.Array([]fsm.Value{fsm.Array(row)})
	case "shards":
		if len(nodes) == 0 {
			return fsm.Array([]fsm.Value{})
		}
		var list []fsm.Value
		for _, n := range nodes {
			role := "replica"
			if n.leader {
				role = "master"
			}
			list = append(list, fsm.Value{Kind: fsm.KindMap, Arr: []fsm.Value{
				fsm.BulkString("id"), fsm.BulkString(n.id),
				fsm.BulkString("port"), fsm.Int(int64(n.port)),
				fsm.BulkString("ip"), fsm.BulkString(n.host),
				fsm.BulkString("endpoint"), fsm.BulkString(n.host),
				fsm.BulkString("role"), fsm.BulkString(role),
				fsm.BulkString("replication-offset"), fsm.Int(int64(s.node.Raft().AppliedIndex())),
				fsm.BulkString("health"), fsm.BulkString("online"),
			}})
		}
		return fsm.Array([]fsm.Value{{Kind: fsm.KindMap, Arr: []fsm.Value{
			fsm.BulkString("slots"), fsm.Array([]fsm.Value{fsm.Int(0), fsm.Int(numSlots - 1)}),
			fsm.BulkString("nodes"), fsm.Array(list),
		}}})
	case "nodes":
		var sb strings.Builder
		epoch := s.node.Raft().CurrentTerm()
		master := "-"
		if len(nodes) > 0 {
			master = nodes[0].id
		}
		for _, n := range nodes {
			flags, of, slots := "slave", master, ""
			if n.leader {
				flags, of, slots = "master", "-", fmt.Sprintf(" 0-%d", numSlots-1)
			}
			if n.self {
				flags = "myself," + flags
			}
			fmt.Fprintf(&sb, "%s %s:%d@%d %s %s 0 %d %d connected%s\n", n.id, n.host, n.port, n.port+10000, flags, of,
				time.Now().UnixMilli(), epoch, slots)
		}
		return fsm.Value{Kind: fsm.KindVerbatim, Str: []byte(sb.String())}
	case "info":
		state := "ok"
		if len(nodes) == 0 {
			state = "fail"
		}
		info := fmt.Sprintf("cluster_enabled:1\r\ncluster_state:%s\r\ncluster_slots_assigned:%d\r\ncluster_slots_ok:%d\r\n"+
			"cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:%d\r\ncluster_size:1\r\n"+
			"cluster_current_epoch:%d\r\ncluster_my_epoch:%d\r\n",
			state, numSlots, numSlots, len(nodes), s.node.Raft().CurrentTerm(), s.node.Raft().CurrentTerm())
		return fsm.Value{Kind: fsm.KindVerbatim, Str: []byte(info)}
	case "myid":
		return fsm.BulkString(runID(s.node.ID()))
	case "keyslot":
		if len(argv) != 3 {
			return fsm.ErrArity("cluster|keyslot")
		}
		return fsm.Int(int64(keySlot(argv[2])))
	}
	return fsm.Err("ERR unknown subcommand '" + string(argv[1]) + "'. Try CLUSTER HELP.")
}

// keySlot is Redis Cluster's CRC16 slot, honouring {hash tags}.
func keySlot(key []byte) int {
	if i := indexByte(key, '{'); i >= 0 {
		if j := indexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key) % numSlots)
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// crc16 is CRC16-CCITT (XModem), the one Redis Cluster uses.
func crc16(b []byte) uint16 {
	var crc uint16
	for _, x := range b {
		crc ^= uint16(x) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

func cmdReadonly(c *conn, _ [][]byte) fsm.Value {
	c.readonly.Store(true)
	return fsm.OK
}

func cmdReadwrite(c *conn, _ [][]byte) fsm.Value {
	c.readonly.Store(false)
	return fsm.OK
}
