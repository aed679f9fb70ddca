package resp

import (
	"strconv"
	"sync"
	"time"

	"github.com/understudy/understudy/conftab"
	"github.com/understudy/understudy/fsm"
)

// ACL LOG: the node's record of refused authentications and commands, as
// each Redis instance keeps its own: the newest first, at most
// acllog-max-len (node-local CONFIG) entries, and a refusal like one logged
// less than a minute before (same reason, context, object and user) counted
// in that entry rather than added.

const aclLogGroupWindow = time.Minute // Redis's ACL_LOG_GROUPING_MAX_TIME_DELTA

type aclLogEntry struct {
	count                             int64
	reason, context, object, username string
	updated                           time.Time // age-seconds counts from the last refusal
	clientInfo                        string
}

type aclLog struct {
	mu      sync.Mutex
	entries []*aclLogEntry // newest first
}

// logACL records a refusal: reason is "auth", "command" or "channel".
func (c *conn) logACL(reason, object, username string) {
	context := "toplevel"
	if c.tx.active {
		context = "multi"
	}
	l := &c.srv.acllog
	now := time.Now()
	info := c.infoLine()
	maxLen := 128
	if p := conftab.Lookup("acllog-max-len"); p != nil {
		c.srv.conf.mu.Lock()
		if n, err := strconv.Atoi(c.srv.conf.vals[p.Name]); err == nil {
			maxLen = n
		}
		c.srv.conf.mu.Unlock()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, e := range l.entries {
		if e.reason == reason && e.context == context && e.object == object && e.username == username &&
			now.Sub(e.updated) < aclLogGroupWindow {
			e.count++
			e.updated, e.clientInfo = now, info
			copy(l.entries[1:i+1], l.entries[:i]) // it becomes the newest
			l.entries[0] = e
			return
		}
	}
	l.entries = append([]*aclLogEntry{{count: 1, reason: reason, context: context, object: object, username: username,
		updated: now, clientInfo: info}}, l.entries...)
	if len(l.entries) > maxLen {
		l.entries = l.entries[:max(maxLen, 0)]
	}
}

// aclLogCmd is ACL LOG [count | RESET].
func (s *Server) aclLogCmd(argv [][]byte) fsm.Value {
	l := &s.acllog
	count := int64(10)
	switch {
	case len(argv) > 3:
		return fsm.Err("ERR unknown subcommand or wrong number of arguments for '" + oneLine(string(argv[1])) + "'. Try ACL HELP.")
	case len(argv) == 3 && equalFold(argv[2], "reset"):
		l.mu.Lock()
		l.entries = nil
		l.mu.Unlock()
		return fsm.OK
	case len(argv) == 3:
		n, err := strconv.ParseInt(string(argv[2]), 10, 64)
		if err != nil {
			return fsm.Err("ERR value is not an integer or out of range")
		}
		count = max(n, 0)
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []fsm.Value{}
	for i, e := range l.entries {
		if int64(i) >= count {
			break
		}
		age := strconv.FormatFloat(now.Sub(e.updated).Seconds(), 'g', 17, 64)
		out = append(out, fsm.Value{Kind: fsm.KindMap, Arr: []fsm.Value{
			fsm.BulkString("count"), fsm.Int(e.count),
			fsm.BulkString("reason"), fsm.BulkString(e.reason),
			fsm.BulkString("context"), fsm.BulkString(e.context),
			fsm.BulkString("object"), fsm.BulkString(e.object),
			fsm.BulkString("username"), fsm.BulkString(e.username),
			fsm.BulkString("age-seconds"), {Kind: fsm.KindDouble, Str: []byte(age)},
			fsm.BulkString("client-info"), fsm.BulkString(e.clientInfo),
		}})
	}
	return fsm.Array(out)
}

func equalFold(b []byte, s string) bool { return lowerName(b) == s }
