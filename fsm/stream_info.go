package fsm

import "bytes"

// XINFO STREAM, GROUPS, CONSUMERS and HELP, with Redis 7.0's fields.

var xinfoHelp = []string{
	"XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"CONSUMERS <key> <groupname>",
	"    Show consumers of <groupname>.",
	"GROUPS <key>",
	"    Show the stream consumer groups.",
	"STREAM <key> [FULL [COUNT <count>]",
	"    Show information about the stream.",
	"HELP",
	"    Prints this help.",
}

func cmdXInfoHelp(*ctx, [][]byte) Value { return SimpleLines(xinfoHelp) }

// xinfoStream looks up XINFO's key: "no such key" when missing.
func (c *ctx) xinfoStream(key []byte) (*streamObj, Value) {
	_, s, ok, errv := c.getStream(key)
	if errv.Kind == KindError {
		return nil, errv
	}
	if !ok {
		return nil, errNoSuchKey
	}
	return s, Value{}
}

// XINFO STREAM key [FULL [COUNT n]]
func cmdXInfoStream(c *ctx, argv [][]byte) Value {
	s, errv := c.xinfoStream(argv[2])
	if errv.Kind == KindError {
		return errv
	}
	opts := argv[3:]
	full, count := len(opts) > 0, int64(10)
	if full {
		if len(opts) != 1 && len(opts) != 3 || !eqFold(opts[0], "full") {
			return errSubSyntax(argv)
		}
		if len(opts) == 3 {
			if !eqFold(opts[1], "count") {
				return errSubSyntax(argv)
			}
			n, ok := parseInt(opts[2])
			if !ok {
				return errNotInt
			}
			if count = n; n < 0 {
				count = 10
			}
		}
	}
	out := []Value{
		BulkString("length"), Int(int64(s.length)),
		BulkString("radix-tree-keys"), Int(int64(s.nodes.Len())),
		BulkString("radix-tree-nodes"), Int(int64(s.raxNodes())),
		BulkString("last-generated-id"), s.lastID.bulk(),
		BulkString("max-deleted-entry-id"), s.maxDeleted.bulk(),
		BulkString("entries-added"), Int(int64(s.entriesAdded)),
		BulkString("recorded-first-entry-id"), s.firstID.bulk(),
	}
	if !full {
		edge := func(last bool) Value {
			if v := s.rangeValues(minStreamID, maxStreamID, 1, last); len(v) > 0 {
				return v[0]
			}
			return Null
		}
		out = append(out, BulkString("groups"), Int(int64(s.groupCount())),
			BulkString("first-entry"), edge(false), BulkString("last-entry"), edge(true))
		return Value{Kind: KindMap, Arr: out}
	}
	groups := []Value{}
	if s.groups != nil {
		s.groups.Scan(func(g *streamGroup) bool {
			groups = append(groups, s.groupFull(g, count))
			return true
		})
	}
	out = append(out, BulkString("entries"), Array(s.rangeValues(minStreamID, maxStreamID, count, false)),
		BulkString("groups"), Array(groups))
	return Value{Kind: KindMap, Arr: out}
}

// groupFull is one group of XINFO STREAM FULL.
func (s *streamObj) groupFull(g *streamGroup, count int64) Value {
	pending := []Value{}
	g.pel.Scan(func(n nack) bool {
		if count != 0 && int64(len(pending)) >= count {
			return false
		}
		pending = append(pending, Array([]Value{n.id.bulk(), BulkString(n.consumer), Int(n.time), Int(n.count)}))
		return true
	})
	consumers := []Value{}
	g.consumers.Scan(func(sc *streamConsumer) bool {
		own := []Value{}
		sc.pel.Scan(func(id streamID) bool {
			if count != 0 && int64(len(own)) >= count {
				return false
			}
			n, _ := g.pel.Get(nack{id: id})
			own = append(own, Array([]Value{id.bulk(), Int(n.time), Int(n.count)}))
			return true
		})
		consumers = append(consumers, Value{Kind: KindMap, Arr: []Value{
			BulkString("name"), BulkString(sc.name),
			BulkString("seen-time"), Int(sc.seen),
			BulkString("pel-count"), Int(int64(sc.pel.Len())),
			BulkString("pending"), Array(own),
		}})
		return true
	})
	return Value{Kind: KindMap, Arr: []Value{
		BulkString("name"), BulkString(g.name),
		BulkString("last-delivered-id"), g.lastID.bulk(),
		BulkString("entries-read"), entriesReadValue(g),
		BulkString("lag"), s.lag(g),
		BulkString("pel-count"), Int(int64(g.pel.Len())),
		BulkString("pending"), Array(pending),
		BulkString("consumers"), Array(consumers),
	}}
}

func entriesReadValue(g *streamGroup) Value {
	if g.entriesRead == invalidEntriesRead {
		return Null
	}
	return Int(g.entriesRead)
}

// XINFO GROUPS key
func cmdXInfoGroups(c *ctx, argv [][]byte) Value {
	s, errv := c.xinfoStream(argv[2])
	if errv.Kind == KindError {
		return errv
	}
	out := []Value{}
	if s.groups != nil {
		s.groups.Scan(func(g *streamGroup) bool {
			out = append(out, Value{Kind: KindMap, Arr: []Value{
				BulkString("name"), BulkString(g.name),
				BulkString("consumers"), Int(int64(g.consumers.Len())),
				BulkString("pending"), Int(int64(g.pel.Len())),
				BulkString("last-delivered-id"), g.lastID.bulk(),
				BulkString("entries-read"), entriesReadValue(g),
				BulkString("lag"), s.lag(g),
			}})
			return true
		})
	}
	return Array(out)
}

// XINFO CONSUMERS key group: idle is measured in replicated time.
func cmdXInfoConsumers(c *ctx, argv [][]byte) Value {
	s, errv := c.xinfoStream(argv[2])
	if errv.Kind == KindError {
		return errv
	}
	g := s.group(argv[3])
	if g == nil {
		return errNoGroupFor(argv[3], argv[2])
	}
	out := []Value{}
	g.consumers.Scan(func(sc *streamConsumer) bool {
		out = append(out, Value{Kind: KindMap, Arr: []Value{
			BulkString("name"), BulkString(sc.name),
			BulkString("pending"), Int(int64(sc.pel.Len())),
			BulkString("idle"), Int(max(c.now-sc.seen, 0)),
		}})
		return true
	})
	return Array(out)
}

// raxNodes is the number of nodes of Redis's radix tree over the nodes'
// keys (XINFO STREAM's radix-tree-nodes): a compressed trie in which each
// run of single-child bytes is one node, a key's end is an empty leaf, and
// an empty tree is its root alone. Redis's insertions and deletions keep
// the tree in this shape.
func (s *streamObj) raxNodes() int {
	keys := make([][]byte, 0, s.nodes.Len())
	s.nodes.Scan(func(n *streamNode) bool {
		k := n.master.key()
		keys = append(keys, k[:])
		return true
	})
	if len(keys) == 0 {
		return 1
	}
	return raxCount(keys, 0)
}

// raxCount counts the nodes under the node at depth d of sorted keys that
// share their first d bytes.
func raxCount(keys [][]byte, d int) int {
	if d == len(keys[0]) {
		return 1 // the leaf where the key ends
	}
	first, last := keys[0], keys[len(keys)-1]
	common := d
	for common < len(first) && first[common] == last[common] {
		common++
	}
	if common > d {
		return 1 + raxCount(keys, common) // one (compressed) node for the run
	}
	n := 1
	for len(keys) > 0 {
		j := 1
		for j < len(keys) && bytes.Equal(keys[j][:d+1], keys[0][:d+1]) {
			j++
		}
		n += raxCount(keys[:j], d+1)
		keys = keys[j:]
	}
	return n
}
