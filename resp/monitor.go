package resp

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm"
)

// MONITOR streams every command this node receives (from its clients and
// from followers' relays) to the connections that asked, as Redis does for
// one instance: "<unix time>.<µs> [<db> <client addr>] "arg" ...", at the
// moment the command is dispatched (queued commands of a transaction when
// they are queued), leaving out what Redis leaves out (admin commands,
// skip_monitor ones, refused ones) and Understudy's internal commands;
// arguments that may hold a password are "(redacted)".

// monitors is the set of MONITOR connections.
type monitors struct {
	n     atomic.Int32 // len(conns): every command checks it, without the lock
	mu    sync.RWMutex
	conns map[*conn]struct{}
}

func (m *monitors) add(c *conn) {
	m.mu.Lock()
	if m.conns == nil {
		m.conns = map[*conn]struct{}{}
	}
	m.conns[c] = struct{}{}
	m.n.Store(int32(len(m.conns)))
	m.mu.Unlock()
}

func (m *monitors) remove(c *conn) {
	m.mu.Lock()
	delete(m.conns, c)
	m.n.Store(int32(len(m.conns)))
	m.mu.Unlock()
}

func (m *monitors) any() bool { return m.n.Load() > 0 }

func cmdMonitor(c *conn, _ [][]byte) fsm.Value {
	if c.tx.active || c.fwdTx {
		return fsm.Err("ERR MONITOR isn't allowed for DENY BLOCKING client")
	}
	if c.monitoring {
		return fsm.OK
	}
	c.monitoring = true
	c.srv.monitors.add(c)
	return fsm.OK
}

// feedMonitors shows a dispatched command to every monitor.
func (c *conn) feedMonitors(cmd *command, spec *cmdtab.Spec, argv [][]byte) {
	m := &c.srv.monitors
	if !m.any() || cmd.hidden || spec.Has(cmdtab.Admin) || spec.Has(cmdtab.SkipMonitor) || cmd.Has(cmdtab.Admin) {
		return
	}
	db := c.db
	if cmd.changesDB && len(argv) == 2 { // SELECT: the database it moves to, as Redis shows it
		if n, err := strconv.Atoi(string(argv[1])); err == nil && n >= 0 && n < c.srv.node.FSM().Databases() {
			db = n
		}
	}
	now := time.Now()
	line := strconv.AppendInt(nil, now.Unix(), 10)
	line = append(line, '.')
	us := strconv.AppendInt(nil, int64(now.Nanosecond()/1000), 10)
	for range 6 - len(us) {
		line = append(line, '0')
	}
	line = append(line, us...)
	line = append(line, " ["...)
	line = strconv.AppendInt(line, int64(db), 10)
	line = append(line, ' ')
	line = append(line, c.nc.RemoteAddr().String()...)
	line = append(line, ']')
	secret := cmdtab.Secret(spec) || (spec.Parent != nil && cmdtab.Secret(spec.Parent))
	for i, a := range argv {
		line = append(line, ' ')
		if secret && i > 0 {
			line = append(line, `"(redacted)"`...)
			continue
		}
		line = appendRepr(line, a)
	}
	v := fsm.Simple(string(line))
	m.mu.RLock()
	defer m.mu.RUnlock()
	for mc := range m.conns {
		mc.pushAsync(v)
	}
}

// appendRepr quotes a as Redis's sdscatrepr does.
func appendRepr(b, a []byte) []byte {
	b = append(b, '"')
	for _, ch := range a {
		switch ch {
		case '\\', '"':
			b = append(b, '\\', ch)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if ch >= 0x20 && ch < 0x7f {
				b = append(b, ch)
			} else {
				b = append(b, '\\', 'x', "0123456789abcdef"[ch>>4], "0123456789abcdef"[ch&15])
			}
		}
	}
	return append(b, '"')
}
