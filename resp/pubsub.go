package resp

import (
	"sort"
	"strings"
	"sync"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm"
)

// Subscriptions are node-local: each node keeps its own subscribers, and
// PUBSUB CHANNELS/NUMSUB/NUMPAT describe them. PUBLISH goes through the Raft
// log (a follower forwards it), and every node delivers each committed
// message to its own subscribers (deliver), so a subscriber on any node
// receives everything, in log order. Every node also publishes Sentinel's
// +switch-master on itself when leadership moves.
//
// Shard channels (SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH, PUBSUB SHARDCHANNELS
// and SHARDNUMSUB) are a namespace of their own, as in Redis 7.0: the
// cluster is one shard, so every node delivers every SPUBLISH committed
// through the log to its own shard subscribers, with "smessage"; patterns
// never match them. A connection's SUBSCRIBE replies count its channels and
// patterns, SSUBSCRIBE's its shard channels.

// maxPendingPushes bounds the messages queued for one subscriber; a
// subscriber that falls that far behind is disconnected, like Redis's
// client-output-buffer-limit for pubsub.
const maxPendingPushes = 4096

type hub struct {
	mu       sync.RWMutex
	channels map[string]map[*conn]struct{}
	patterns map[string]map[*conn]struct{}
	shards   map[string]map[*conn]struct{} // shard channels
}

func newHub() *hub {
	return &hub{channels: map[string]map[*conn]struct{}{}, patterns: map[string]map[*conn]struct{}{},
		shards: map[string]map[*conn]struct{}{}}
}

func (h *hub) add(m map[string]map[*conn]struct{}, name string, c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := m[name]
	if set == nil {
		set = map[*conn]struct{}{}
		m[name] = set
	}
	if _, ok := set[c]; ok {
		return false
	}
	set[c] = struct{}{}
	return true
}

func (h *hub) remove(m map[string]map[*conn]struct{}, name string, c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := m[name]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(m, name)
		}
	}
}

// publish delivers to channel and pattern subscribers; it returns how many got it.
func (h *hub) publish(channel, msg []byte) int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var n int64
	for c := range h.channels[string(channel)] {
		c.pushAsync(fsm.Value{Kind: fsm.KindPush, Arr: []fsm.Value{fsm.BulkString("message"), fsm.Bulk(channel), fsm.Bulk(msg)}})
		n++
	}
	for pat, set := range h.patterns {
		if !matchGlob(pat, channel) {
			continue
		}
		for c := range set {
			c.pushAsync(fsm.Value{Kind: fsm.KindPush, Arr: []fsm.Value{fsm.BulkString("pmessage"), fsm.BulkString(pat), fsm.Bulk(channel), fsm.Bulk(msg)}})
			n++
		}
	}
	return n
}

// spublish delivers to shard channel subscribers; it returns how many got it.
func (h *hub) spublish(channel, msg []byte) int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var n int64
	for c := range h.shards[string(channel)] {
		c.pushAsync(fsm.Value{Kind: fsm.KindPush, Arr: []fsm.Value{fsm.BulkString("smessage"), fsm.Bulk(channel), fsm.Bulk(msg)}})
		n++
	}
	return n
}

// channelList lists the channels of m (channels or shards) with a
// subscriber that match pattern (nil: all), sorted.
func (h *hub) channelList(m map[string]map[*conn]struct{}, pattern []byte) []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var out []string
	for ch := range m {
		if pattern == nil || matchGlob(string(pattern), []byte(ch)) {
			out = append(out, ch)
		}
	}
	sort.Strings(out)
	return out
}

func (h *hub) numSub(m map[string]map[*conn]struct{}, ch string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(m[ch])
}

// numShardChannels counts the shard channels with a subscriber (INFO
// pubsubshard_channels).
func (h *hub) numShardChannels() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.shards)
}

// numChannels counts the channels with a subscriber (INFO pubsub_channels).
func (h *hub) numChannels() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.channels)
}

func (h *hub) numPat() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.patterns)
}

// subState is a connection's subscriptions; only its reader goroutine touches it.
type subState struct {
	channels map[string]struct{}
	patterns map[string]struct{}
	shards   map[string]struct{}
}

// count is what SUBSCRIBE and friends report: channels and patterns.
func (s *subState) count() int { return len(s.channels) + len(s.patterns) }

// any: subscribed to anything, shard channels included (subscribe mode).
func (s *subState) any() bool { return s.count()+len(s.shards) > 0 }

// pushAsync queues an out-of-band message for the writer; a subscriber too
// slow to keep up is disconnected rather than allowed to grow memory.
func (c *conn) pushAsync(v fsm.Value) {
	if !c.reservePush(v) { // the pub/sub output buffer limit (output.go)
		return
	}
	c.pushMu.Lock()
	full := len(c.pushes) >= maxPendingPushes
	if !full {
		c.pushes = append(c.pushes, v)
	}
	c.pushMu.Unlock()
	if full {
		c.pushWritten(v) // release what reservePush counted
		c.cutForLimit("too many pub/sub messages pending", "pending", maxPendingPushes)
		return
	}
	select {
	case c.pushReady <- struct{}{}:
	default: // the writer is already due to look
	}
}

func subReply(kind, name string, count int) fsm.Value {
	return fsm.Value{Kind: fsm.KindPush, Arr: []fsm.Value{fsm.BulkString(kind), fsm.BulkString(name), fsm.Int(int64(count))}}
}

// subscribeCmd handles SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBEs.
func (c *conn) subscribeCmd(name string, argv [][]byte) {
	vals := c.subscribeValues(name, argv)
	// The writer may send these before dispatch returns (where mirror runs
	// for every command): a client that has read its confirmation must
	// find the subscription in CLIENT LIST.
	c.mirror()
	for _, v := range vals {
		c.push(&slot{val: v})
	}
}

// subscribeValues changes the subscriptions and returns the replies, one per
// channel (inside MULTI they become elements of EXEC's reply).
func (c *conn) subscribeValues(name string, argv [][]byte) []fsm.Value {
	var out []fsm.Value
	h := c.srv.hub
	if c.subs.channels == nil {
		c.subs = subState{channels: map[string]struct{}{}, patterns: map[string]struct{}{}, shards: map[string]struct{}{}}
	}
	count := c.subs.count
	if name == "ssubscribe" || name == "sunsubscribe" {
		count = func() int { return len(c.subs.shards) }
	}
	switch name {
	case "subscribe", "psubscribe", "ssubscribe":
		if len(argv) < 2 {
			return []fsm.Value{fsm.ErrArity(name)}
		}
		m, mine := h.channels, c.subs.channels
		switch name {
		case "psubscribe":
			m, mine = h.patterns, c.subs.patterns
		case "ssubscribe":
			m, mine = h.shards, c.subs.shards
		}
		for _, a := range argv[1:] {
			ch := string(a)
			mine[ch] = struct{}{}
			h.add(m, ch, c)
			out = append(out, subReply(name, ch, count()))
		}
	case "unsubscribe", "punsubscribe", "sunsubscribe":
		m, mine := h.channels, c.subs.channels
		switch name {
		case "punsubscribe":
			m, mine = h.patterns, c.subs.patterns
		case "sunsubscribe":
			m, mine = h.shards, c.subs.shards
		}
		names := make([]string, 0, len(argv))
		for _, a := range argv[1:] {
			names = append(names, string(a))
		}
		if len(names) == 0 {
			for ch := range mine {
				names = append(names, ch)
			}
			sort.Strings(names)
		}
		if len(names) == 0 {
			return []fsm.Value{{Kind: fsm.KindPush, Arr: []fsm.Value{fsm.BulkString(name), fsm.Null, fsm.Int(int64(count()))}}}
		}
		for _, ch := range names {
			delete(mine, ch)
			h.remove(m, ch, c)
			out = append(out, subReply(name, ch, count()))
		}
	}
	return out
}

// txSubscribeValues is subscribeValues inside MULTI, where Redis 7.0
// refuses SSUBSCRIBE (a transaction denies blocking, and SSUBSCRIBE checks
// that where SUBSCRIBE does not).
func (c *conn) txSubscribeValues(name string, argv [][]byte) []fsm.Value {
	if name == "ssubscribe" {
		return []fsm.Value{fsm.Err("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")}
	}
	return c.subscribeValues(name, argv)
}

// unsubscribeAll runs when the connection closes.
func (c *conn) unsubscribeAll() {
	for ch := range c.subs.channels {
		c.srv.hub.remove(c.srv.hub.channels, ch, c)
	}
	for p := range c.subs.patterns {
		c.srv.hub.remove(c.srv.hub.patterns, p, c)
	}
	for ch := range c.subs.shards {
		c.srv.hub.remove(c.srv.hub.shards, ch, c)
	}
}

// subscribed reports, from any goroutine, whether the connection has a
// subscription of any kind (Redis's CLIENT_PUBSUB flag).
func (c *conn) subscribed() bool { return c.nSub.Load()+c.nPSub.Load()+c.nSSub.Load() > 0 }

// inSubscribeMode: a RESP2 connection with subscriptions may only manage
// them, PING and QUIT, as in Redis.
func (c *conn) inSubscribeMode() bool { return c.subs.any() && c.proto.Load() == 2 }

// pingInSubscribe answers PING as Redis does in RESP2 subscribe mode.
func pingInSubscribe(argv [][]byte) fsm.Value {
	msg := fsm.BulkString("")
	if len(argv) > 1 {
		msg = fsm.Bulk(argv[1])
	}
	return fsm.Array([]fsm.Value{fsm.BulkString("pong"), msg})
}

// deliver is the FSM's publish hook: every node hands each message
// committed through the log to its own subscribers.
func (h *hub) deliver(msgs []fsm.Message) {
	for _, m := range msgs {
		if m.Shard {
			h.spublish([]byte(m.Channel), []byte(m.Payload))
			continue
		}
		h.publish([]byte(m.Channel), []byte(m.Payload))
	}
}

// shardPublish tells SPUBLISH from PUBLISH by Redis's facts: its channel
// has a key specification (not_key, there for the channel's slot).
func shardPublish(s *cmdtab.Spec) bool { return len(s.KeySpecs) > 0 }

// receivers counts this node's subscribers for what the publishing command
// (PUBLISH or SPUBLISH) sent to channel, patterns included for PUBLISH.
func (h *hub) receivers(s *cmdtab.Spec, channel string) int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if shardPublish(s) {
		return int64(len(h.shards[channel]))
	}
	n := int64(len(h.channels[channel]))
	for pat, set := range h.patterns {
		if matchGlob(pat, []byte(channel)) {
			n += int64(len(set))
		}
	}
	return n
}

func (c *conn) pubsubCmd(argv [][]byte) fsm.Value {
	if len(argv) < 2 {
		return fsm.ErrArity("pubsub")
	}
	h := c.srv.hub
	switch strings.ToLower(string(argv[1])) {
	case "channels", "shardchannels":
		var pat []byte
		if len(argv) > 2 {
			pat = argv[2]
		}
		var out []fsm.Value
		m := h.channels
		if strings.EqualFold(string(argv[1]), "shardchannels") {
			m = h.shards
		}
		for _, ch := range h.channelList(m, pat) {
			out = append(out, fsm.BulkString(ch))
		}
		if out == nil {
			out = []fsm.Value{}
		}
		return fsm.Array(out)
	case "numsub", "shardnumsub":
		m := h.channels
		if strings.EqualFold(string(argv[1]), "shardnumsub") {
			m = h.shards
		}
		out := make([]fsm.Value, 0, 2*(len(argv)-2))
		for _, ch := range argv[2:] {
			out = append(out, fsm.Bulk(ch), fsm.Int(int64(h.numSub(m, string(ch)))))
		}
		return fsm.Array(out)
	case "numpat":
		return fsm.Int(int64(h.numPat()))
	}
	return fsm.Err("ERR unknown subcommand '" + string(argv[1]) + "'. Try PUBSUB HELP.")
}

func matchGlob(pat string, s []byte) bool { return fsm.GlobMatch([]byte(pat), s) }
