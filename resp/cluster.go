package resp

import (
	"fmt"
	"strings"

	"github.com/understudy/understudy/fsm"
)

// Redis Cluster discovery: the cluster is one shard holding all 16384 slots,
// its master the leader, its replicas the followers. With followers in
// redirect mode (MOVED) or forward mode, cluster-mode clients work unchanged.

const numSlots = 16384

func cmdCluster(c *conn, argv [][]byte) fsm.Value {
	s := c.srv
	// Health and offsets as this node knows them (replicas.go).
	nodes := s.memberViews()
	switch strings.ToLower(string(argv[1])) {
	case "slots":
		if len(nodes) == 0 {
			return fsm.Array([]fsm.Value{})
		}
		row := []fsm.Value{fsm.Int(0), fsm.Int(numSlots - 1)}
		for _, n := range nodes {
			if !n.leader && !n.up {
				continue // as Redis leaves out failed replicas
			}
			row = append(row, fsm.Array([]fsm.Value{fsm.BulkString(n.host), fsm.Int(int64(n.port)), fsm.BulkString(runID(n.id))}))
		}
		return fsm.Array([]fsm.Value{fsm.Array(row)})
	case "shards":
		if len(nodes) == 0 {
			return fsm.Array([]fsm.Value{})
		}
		var list []fsm.Value
		for _, n := range nodes {
			role, health := "replica", "online"
			if n.leader {
				role = "master"
			}
			if !n.up {
				health = "failed"
			}
			list = append(list, fsm.Value{Kind: fsm.KindMap, Arr: []fsm.Value{
				fsm.BulkString("id"), fsm.BulkString(runID(n.id)),
				fsm.BulkString("port"), fsm.Int(int64(n.port)),
				fsm.BulkString("ip"), fsm.BulkString(n.host),
				fsm.BulkString("endpoint"), fsm.BulkString(n.host),
				fsm.BulkString("role"), fsm.BulkString(role),
				fsm.BulkString("replication-offset"), fsm.Int(int64(n.offset)),
				fsm.BulkString("health"), fsm.BulkString(health),
			}})
		}
		return fsm.Array([]fsm.Value{{Kind: fsm.KindMap, Arr: []fsm.Value{
			fsm.BulkString("slots"), fsm.Array([]fsm.Value{fsm.Int(0), fsm.Int(numSlots - 1)}),
			fsm.BulkString("nodes"), fsm.Array(list),
		}}})
	case "nodes":
		var sb strings.Builder
		epoch := s.node.Term()
		master := "-"
		if len(nodes) > 0 {
			master = runID(nodes[0].id)
		}
		for _, n := range nodes {
			flags, of, slots, link := "slave", master, "", "connected"
			if n.leader {
				flags, of, slots = "master", "-", fmt.Sprintf(" 0-%d", numSlots-1)
			}
			if n.self {
				flags = "myself," + flags
			}
			if !n.up {
				flags, link = flags+",fail", "disconnected"
			}
			pong := int64(0)
			if !n.lastOK.IsZero() {
				pong = n.lastOK.UnixMilli()
			}
			fmt.Fprintf(&sb, "%s %s:%d@%d %s %s 0 %d %d %s%s\n", runID(n.id), n.host, n.port, n.port+10000, flags, of,
				pong, epoch, link, slots)
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
			state, numSlots, numSlots, len(nodes), s.node.Term(), s.node.Term())
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

// cmdAsking answers ASKING as a Redis Cluster node does. The one shard never
// migrates slots, so no ASK redirection precedes it and it changes nothing.
func cmdAsking(*conn, [][]byte) fsm.Value { return fsm.OK }

func cmdReadwrite(c *conn, _ [][]byte) fsm.Value {
	c.readonly.Store(false)
	return fsm.OK
}
