package resp

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/fsm"
)

// SLOWLOG, as in Redis 7: commands that took at least
// slowlog-log-slower-than microseconds (negative: none; 0: all) are kept,
// newest first, up to slowlog-max-len entries. Time runs from the command's
// dispatch to its reply being ready (cmdstats.go), so on this server a
// write's time includes its Raft commit and a forwarded command's the trip
// to the leader: that is what a client waited.

// Redis's limits on what one entry keeps of a command.
const (
	slowlogMaxArgc   = 32
	slowlogMaxString = 128
)

type slowEntry struct {
	id   int64
	at   time.Time
	dur  time.Duration
	argv [][]byte
	addr string
	name string
}

// slowlog is one server's slow log. Its settings change with CONFIG SET
// (atomics, read on every command); the entries need the lock.
type slowlog struct {
	slowerThan atomic.Int64 // a time.Duration; negative: disabled
	maxLen     atomic.Int64

	mu      sync.Mutex
	nextID  int64
	entries []slowEntry // oldest first
}

func newSlowlog(slowerThanMicros int64, maxLen int) *slowlog {
	l := &slowlog{}
	l.set(slowerThanMicros, int64(maxLen))
	return l
}

// set applies slowlog-log-slower-than (µs) and slowlog-max-len.
func (l *slowlog) set(slowerThanMicros, maxLen int64) {
	d := time.Duration(slowerThanMicros) * time.Microsecond
	if slowerThanMicros < 0 {
		d = -1
	}
	l.slowerThan.Store(int64(d))
	l.maxLen.Store(max(maxLen, 0))
	l.mu.Lock()
	if n := int(l.maxLen.Load()); len(l.entries) > n {
		l.entries = append(l.entries[:0], l.entries[len(l.entries)-n:]...)
	}
	l.mu.Unlock()
}

// enabled reports whether commands need their arguments kept for the log.
func (l *slowlog) enabled() bool { return l.slowerThan.Load() >= 0 && l.maxLen.Load() > 0 }

// maybeAdd records a command that took d, if that is slow enough; args
// were packed by packArgs at dispatch.
func (l *slowlog) maybeAdd(c *conn, args []byte, d time.Duration) {
	if !l.enabled() || d < time.Duration(l.slowerThan.Load()) {
		return
	}
	e := slowEntry{at: time.Now(), dur: d, argv: unpackArgs(args), addr: c.nc.RemoteAddr().String()}
	if p := c.name.Load(); p != nil {
		e.name = *p
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e.id = l.nextID
	l.nextID++
	if maxLen := int(l.maxLen.Load()); maxLen > 0 && len(l.entries) >= maxLen {
		n := copy(l.entries, l.entries[len(l.entries)-maxLen+1:])
		l.entries = l.entries[:n]
	}
	l.entries = append(l.entries, e)
}

func (l *slowlog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// newest returns up to n entries, newest first (n < 0: all).
func (l *slowlog) newest(n int) []slowEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n < 0 || n > len(l.entries) {
		n = len(l.entries)
	}
	out := make([]slowEntry, n)
	for i := range out {
		out[i] = l.entries[len(l.entries)-1-i]
	}
	return out
}

// reset empties the log; ids keep counting, as in Redis.
func (l *slowlog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = nil
}

// packArgs appends to buf what the slow log keeps of argv, in one buffer
// (the reader reuses argv's memory): the argument count, then for each kept
// argument its full length and at most slowlogMaxString of its bytes.
func packArgs(buf []byte, argv [][]byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(argv)))
	keep := len(argv)
	if keep > slowlogMaxArgc {
		keep = slowlogMaxArgc - 1 // the last slot says how many more
	}
	for _, a := range argv[:keep] {
		buf = binary.AppendUvarint(buf, uint64(len(a)))
		buf = append(buf, a[:min(len(a), slowlogMaxString)]...)
	}
	return buf
}

// unpackArgs turns packArgs's buffer into the argument vector SLOWLOG GET
// shows, truncated as Redis does.
func unpackArgs(b []byte) [][]byte {
	next := func() int {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0 // cannot happen: packArgs wrote it
		}
		b = b[n:]
		return int(v)
	}
	argc := next()
	keep := argc
	if keep > slowlogMaxArgc {
		keep = slowlogMaxArgc - 1
	}
	out := make([][]byte, 0, min(argc, slowlogMaxArgc))
	for range keep {
		full := next()
		n := min(full, slowlogMaxString, len(b))
		arg := append([]byte(nil), b[:n]...)
		b = b[n:]
		if full > slowlogMaxString {
			arg = fmt.Appendf(arg, "... (%d more bytes)", full-slowlogMaxString)
		}
		out = append(out, arg)
	}
	if argc > keep {
		out = append(out, fmt.Appendf(nil, "... (%d more arguments)", argc-keep))
	}
	return out
}

var slowlogHelp = []string{
	"SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"GET [<count>]",
	"    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
	"    Entries are made of:",
	"    id, timestamp, time in microseconds, arguments array, client IP and port,",
	"    client name",
	"LEN",
	"    Return the length of the slowlog.",
	"RESET",
	"    Reset the slowlog.",
	"HELP",
	"    Prints this help.",
}

// cmdSlowlog answers SLOWLOG GET [count] | LEN | RESET | HELP.
func cmdSlowlog(c *conn, argv [][]byte) fsm.Value {
	l := c.srv.slowlog
	sub := strings.ToLower(string(argv[1]))
	switch sub {
	case "get":
		if len(argv) > 3 {
			return fsm.Err("ERR unknown subcommand or wrong number of arguments for '" + oneLine(string(argv[1])) + "'. Try SLOWLOG HELP.")
		}
		count := 10
		if len(argv) == 3 {
			n, err := strconv.ParseInt(string(argv[2]), 10, 64)
			if err != nil {
				return fsm.Err("ERR value is not an integer or out of range")
			}
			if n < -1 {
				return fsm.Err("ERR count should be greater than or equal to -1")
			}
			count = int(min(n, l.maxLen.Load()+1))
		}
		entries := l.newest(count)
		out := make([]fsm.Value, len(entries))
		for i, e := range entries {
			args := make([]fsm.Value, len(e.argv))
			for j, a := range e.argv {
				args[j] = fsm.Bulk(a)
			}
			out[i] = fsm.Array([]fsm.Value{
				fsm.Int(e.id),
				fsm.Int(e.at.Unix()),
				fsm.Int(e.dur.Microseconds()),
				fsm.Array(args),
				fsm.BulkString(e.addr),
				fsm.BulkString(e.name),
			})
		}
		return fsm.Array(out)
	case "len", "reset", "help":
		if len(argv) != 2 {
			return fsm.ErrArity("slowlog|" + sub)
		}
		switch sub {
		case "len":
			return fsm.Int(int64(l.len()))
		case "reset":
			l.reset()
			return fsm.OK
		}
		return fsm.SimpleLines(slowlogHelp)
	}
	return fsm.Err("ERR unknown subcommand '" + oneLine(string(argv[1])) + "'. Try SLOWLOG HELP.")
}
