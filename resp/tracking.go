package resp

import (
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm"
)

// Client-side caching (CLIENT TRACKING), as Redis 7.0's tracking.c. Each
// node keeps its own table of which of its clients read which keys (a
// follower records the reads it forwards), and invalidates from the writes
// it applies: every node applies every write, so a client tracking through
// a follower is told as one on the leader is. Invalidations are pushed to
// RESP3 clients, or to the connection a RESP2 client redirects them to
// (subscribed to __redis__:invalidate). Keys are named without their
// database, as in Redis.

const trackingChannel = "__redis__:invalidate"

// Tracking flags of a connection.
const (
	trackOn uint16 = 1 << iota
	trackBcast
	trackOptin
	trackOptout
	trackCaching // CLIENT CACHING given for the next command
	trackNoloop
	trackBrokenRedir
)

// trackState is a connection's tracking mode. The reader goroutine changes
// it; invalidations read it under the table's lock.
type trackState struct {
	flags    uint16
	redirect int64
	prefixes []string // BCAST
	// written counts the keys this connection wrote whose invalidation has
	// not been seen yet (NOLOOP).
	written map[string]int
	// cachingSet: CLIENT CACHING was the command just run; the flag it
	// set holds for the next command only.
	cachingSet bool
}

// tracker is a node's tracking table.
type tracker struct {
	mu    sync.Mutex
	keys  map[string]map[int64]struct{} // key -> ids of clients that read it
	bcast map[int64]*conn               // clients in BCAST mode
	srv   *Server
}

func newTracker(s *Server) *tracker {
	return &tracker{keys: map[string]map[int64]struct{}{}, bcast: map[int64]*conn{}, srv: s}
}

// remember records the keys a tracking client's read command names.
func (c *conn) trackRead(spec *cmdtab.Spec, argv [][]byte) {
	t := &c.track
	if t.flags&trackOn == 0 || t.flags&trackBcast != 0 || !spec.Has(cmdtab.ReadOnly) || spec.Has(cmdtab.PubSub) {
		return
	}
	caching := t.flags&trackCaching != 0
	if (t.flags&trackOptin != 0 && !caching) || (t.flags&trackOptout != 0 && caching) {
		return
	}
	keys, ok := cmdtab.GetKeys(spec, argv)
	if !ok || len(keys) == 0 {
		return
	}
	tr := c.srv.tracking
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, k := range keys {
		key := string(argv[k.Pos])
		ids := tr.keys[key]
		if ids == nil {
			ids = map[int64]struct{}{}
			tr.keys[key] = ids
		}
		ids[c.id] = struct{}{}
	}
}

// trackWrite notes the keys a write names, for NOLOOP.
func (c *conn) trackWrite(spec *cmdtab.Spec, argv [][]byte) {
	if c.track.flags&(trackOn|trackNoloop) != trackOn|trackNoloop {
		return
	}
	keys, _ := cmdtab.GetKeys(spec, argv)
	if len(keys) == 0 {
		return
	}
	tr := c.srv.tracking
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if c.track.written == nil {
		c.track.written = map[string]int{}
	}
	for _, k := range keys {
		c.track.written[string(argv[k.Pos])]++
	}
}

// afterCommand drops CLIENT CACHING once the command after it is done.
func (c *conn) afterCommand() {
	if c.track.cachingSet {
		c.track.cachingSet = false
		return
	}
	if c.track.flags&trackCaching != 0 {
		c.srv.tracking.mu.Lock()
		c.track.flags &^= trackCaching
		c.srv.tracking.mu.Unlock()
	}
}

// invalidate is called after every applied entry with the keys it wrote:
// each client that read one (and each BCAST client whose prefix matches)
// is told, once; a flushed or swapped database invalidates everything.
func (tr *tracker) invalidate(keys []fsm.DBKey) {
	tr.mu.Lock()
	if len(tr.keys) == 0 && len(tr.bcast) == 0 {
		tr.mu.Unlock()
		return
	}
	type msg struct {
		flush bool
		keys  []string
	}
	out := map[int64]*msg{}
	add := func(id int64, key string, flush bool) {
		m := out[id]
		if m == nil {
			m = &msg{}
			out[id] = m
		}
		if flush {
			m.flush = true
		} else {
			m.keys = append(m.keys, key)
		}
	}
	conns := tr.srv.connsByID()
	for _, k := range keys {
		if k.Key == fsm.AllKeys {
			for key := range tr.keys {
				delete(tr.keys, key)
			}
			for _, c := range conns {
				if c.track.flags&trackOn != 0 {
					add(c.id, "", true)
				}
			}
			continue
		}
		for id := range tr.keys[k.Key] {
			if c := conns[id]; c != nil && !c.loopsBack(k.Key) {
				add(id, k.Key, false)
			}
		}
		delete(tr.keys, k.Key)
		for id, c := range tr.bcast {
			if c.matchesPrefix(k.Key) && !c.loopsBack(k.Key) {
				add(id, k.Key, false)
			}
		}
	}
	tr.mu.Unlock()
	for id, m := range out {
		c := conns[id]
		if c == nil {
			continue
		}
		if m.flush {
			c.sendInvalidation(conns, nil, true)
			continue
		}
		if c.track.flags&trackBcast != 0 {
			c.sendInvalidation(conns, m.keys, false) // one message, as Redis's broadcast
			continue
		}
		for _, k := range m.keys {
			c.sendInvalidation(conns, []string{k}, false)
		}
	}
}

// loopsBack reports whether a NOLOOP client wrote key itself (the table's
// lock is held).
func (c *conn) loopsBack(key string) bool {
	if c.track.flags&trackNoloop == 0 || c.track.written[key] == 0 {
		return false
	}
	if c.track.written[key]--; c.track.written[key] == 0 {
		delete(c.track.written, key)
	}
	return true
}

func (c *conn) matchesPrefix(key string) bool {
	if len(c.track.prefixes) == 0 {
		return true
	}
	for _, p := range c.track.prefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// sendInvalidation delivers one invalidation message: to the client itself
// in RESP3, or to its redirect target (RESP3, or RESP2 in subscribe mode as
// a __redis__:invalidate message); a vanished target is reported to the
// client, as Redis does.
func (c *conn) sendInvalidation(conns map[int64]*conn, keys []string, flush bool) {
	var payload fsm.Value
	if flush {
		payload = fsm.Null
	} else {
		arr := make([]fsm.Value, len(keys))
		for i, k := range keys {
			arr[i] = fsm.BulkString(k)
		}
		payload = fsm.Array(arr)
	}
	target := c
	redirected := false
	if id := c.track.redirect; id != 0 {
		t := conns[id]
		if t == nil {
			c.srv.tracking.mu.Lock()
			c.track.flags |= trackBrokenRedir
			c.srv.tracking.mu.Unlock()
			if c.proto.Load() > 2 {
				c.pushAsync(fsm.Value{Kind: fsm.KindPush, Arr: []fsm.Value{fsm.BulkString("tracking-redir-broken"), fsm.Int(id)}})
			}
			return
		}
		target, redirected = t, true
	}
	switch {
	case target.proto.Load() > 2:
		target.pushAsync(fsm.Value{Kind: fsm.KindPush, Arr: []fsm.Value{fsm.BulkString("invalidate"), payload}})
	case redirected && target.subscribed():
		target.pushAsync(fsm.Value{Kind: fsm.KindPush, Arr: []fsm.Value{fsm.BulkString("message"), fsm.BulkString(trackingChannel), payload}})
	}
}

// forget drops a closed connection from the table.
func (tr *tracker) forget(c *conn) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	delete(tr.bcast, c.id)
	// Key entries naming c are dropped lazily, when the key is written.
}

// clientTracking is CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p]...
// [OPTIN] [OPTOUT] [NOLOOP], with Redis 7.0's checks and texts.
func clientTracking(c *conn, argv [][]byte) fsm.Value {
	var redir int64
	var opts uint16
	var prefixes []string
	for j := 3; j < len(argv); j++ {
		more := len(argv) - 1 - j
		switch a := strings.ToLower(string(argv[j])); {
		case a == "redirect" && more > 0:
			j++
			if redir != 0 {
				return fsm.Err("ERR A client can only redirect to a single other client")
			}
			id, err := strconv.ParseInt(string(argv[j]), 10, 64)
			if err != nil {
				return fsm.Err("ERR value is not an integer or out of range")
			}
			if c.srv.connsByID()[id] == nil {
				return fsm.Err("ERR The client ID you want redirect to does not exist")
			}
			redir = id
		case a == "bcast":
			opts |= trackBcast
		case a == "optin":
			opts |= trackOptin
		case a == "optout":
			opts |= trackOptout
		case a == "noloop":
			opts |= trackNoloop
		case a == "prefix" && more > 0:
			j++
			prefixes = append(prefixes, string(argv[j]))
		default:
			return fsm.Err("ERR syntax error")
		}
	}
	tr := c.srv.tracking
	switch strings.ToLower(string(argv[2])) {
	case "on":
		cur := c.track.flags
		switch {
		case opts&trackBcast == 0 && len(prefixes) > 0:
			return fsm.Err("ERR PREFIX option requires BCAST mode to be enabled")
		case cur&trackOn != 0 && (cur&trackBcast != 0) != (opts&trackBcast != 0):
			return fsm.Err("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")
		case opts&trackBcast != 0 && opts&(trackOptin|trackOptout) != 0:
			return fsm.Err("ERR OPTIN and OPTOUT are not compatible with BCAST")
		case opts&trackOptin != 0 && opts&trackOptout != 0:
			return fsm.Err("ERR You can't specify both OPTIN mode and OPTOUT mode")
		case (opts&trackOptin != 0 && cur&trackOptout != 0) || (opts&trackOptout != 0 && cur&trackOptin != 0):
			return fsm.Err("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.")
		}
		if opts&trackBcast != 0 {
			if errv := prefixCollision(c.track.prefixes, prefixes); errv.Kind == fsm.KindError {
				return errv
			}
		}
		tr.mu.Lock()
		c.track.flags = trackOn | opts
		c.track.redirect = redir
		c.track.prefixes = append(c.track.prefixes, prefixes...)
		if opts&trackBcast != 0 {
			tr.bcast[c.id] = c
		}
		tr.mu.Unlock()
	case "off":
		tr.mu.Lock()
		c.track = trackState{}
		delete(tr.bcast, c.id)
		tr.mu.Unlock()
	default:
		return fsm.Err("ERR syntax error")
	}
	return fsm.OK
}

// prefixCollision is Redis's checkPrefixCollisionsOrReply: no new prefix
// may be a prefix of an existing one or of another new one, or the reverse.
func prefixCollision(existing, added []string) fsm.Value {
	overlap := func(a, b string) bool { return strings.HasPrefix(a, b) || strings.HasPrefix(b, a) }
	for i, p := range added {
		for _, q := range existing {
			if overlap(q, p) {
				return fsm.Err("ERR Prefix '" + p + "' overlaps with an existing prefix '" + q + "'. Prefixes for a single client must not overlap.")
			}
		}
		for _, q := range added[i+1:] {
			if overlap(p, q) {
				return fsm.Err("ERR Prefix '" + p + "' overlaps with another provided prefix '" + q + "'. Prefixes for a single client must not overlap.")
			}
		}
	}
	return fsm.Value{}
}

// clientCaching is CLIENT CACHING YES|NO.
func clientCaching(c *conn, argv [][]byte) fsm.Value {
	f := c.track.flags
	if f&trackOn == 0 {
		return fsm.Err("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
	}
	switch strings.ToLower(string(argv[2])) {
	case "yes":
		if f&trackOptin == 0 {
			return fsm.Err("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
		}
	case "no":
		if f&trackOptout == 0 {
			return fsm.Err("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
		}
	default:
		return fsm.Err("ERR syntax error")
	}
	c.srv.tracking.mu.Lock()
	c.track.flags |= trackCaching
	c.srv.tracking.mu.Unlock()
	c.track.cachingSet = true
	return fsm.OK
}

// clientTrackingInfo is CLIENT TRACKINGINFO.
func clientTrackingInfo(c *conn) fsm.Value {
	c.srv.tracking.mu.Lock()
	t := c.track
	c.srv.tracking.mu.Unlock()
	flags := []fsm.Value{fsm.BulkString("off")}
	if t.flags&trackOn != 0 {
		flags[0] = fsm.BulkString("on")
	}
	for _, f := range []struct {
		bit  uint16
		name string
	}{{trackBcast, "bcast"}, {trackOptin, "optin"}, {trackOptout, "optout"}} {
		if t.flags&f.bit != 0 {
			flags = append(flags, fsm.BulkString(f.name))
			if f.bit != trackBcast && t.flags&trackCaching != 0 {
				flags = append(flags, fsm.BulkString("caching-"+map[uint16]string{trackOptin: "yes", trackOptout: "no"}[f.bit]))
			}
		}
	}
	if t.flags&trackNoloop != 0 {
		flags = append(flags, fsm.BulkString("noloop"))
	}
	if t.flags&trackBrokenRedir != 0 {
		flags = append(flags, fsm.BulkString("broken_redirect"))
	}
	redirect := int64(-1)
	if t.flags&trackOn != 0 {
		redirect = t.redirect
	}
	sorted := append([]string(nil), t.prefixes...)
	sort.Strings(sorted) // Redis keeps them in a radix tree
	prefixes := make([]fsm.Value, len(sorted))
	for i, p := range sorted {
		prefixes[i] = fsm.BulkString(p)
	}
	return fsm.Value{Kind: fsm.KindMap, Arr: []fsm.Value{
		fsm.BulkString("flags"), {Kind: fsm.KindSet, Arr: flags},
		fsm.BulkString("redirect"), fsm.Int(redirect),
		fsm.BulkString("prefixes"), fsm.Array(prefixes),
	}}
}
