package resp

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/understudy/understudy/fsm"
)

// MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw]
// [AUTH2 user pw] [KEYS key ...], as Redis 7.0's migrateCommand: the node
// connects to the target, sends AUTH, SELECT and one RESTORE per key (TTL
// relative, REPLACE if asked), reads the replies, and unless COPY deletes
// the keys the target acknowledged.
//
// It is the leader's (routeLeader): a node-local side effect, connecting
// out, on the node that holds the data. A follower forwards it like a
// write (its relay waits for the timeout). The leader reads every key's
// DUMP, expiry and version in one linearizable read
// (fsm.MigrateReadCommand), and deletes through the log
// (fsm.MigrateDelCommand), skipping any key written in between (Redis, single
// threaded, cannot see one; here the key stays, changed, on both sides).
// Unlike Redis it keeps no socket cache (so SELECT is always sent) and
// does not retry a failed connection.

// migrateArgs is MIGRATE's parsed arguments.
type migrateArgs struct {
	addr           string
	db             int64
	timeout        time.Duration
	copy, replace  bool
	user, password []byte
	auth           bool
	keys           [][]byte
}

// parseMigrate checks MIGRATE's arguments in Redis's order.
func parseMigrate(argv [][]byte) (migrateArgs, fsm.Value) {
	a := migrateArgs{keys: argv[3:4]}
	for j := 6; j < len(argv); j++ {
		more := len(argv) - 1 - j
		switch {
		case eqFoldASCII(argv[j], "copy"):
			a.copy = true
		case eqFoldASCII(argv[j], "replace"):
			a.replace = true
		case eqFoldASCII(argv[j], "auth"):
			if more < 1 {
				return a, fsm.Err("ERR syntax error")
			}
			j++
			a.auth, a.user, a.password = true, nil, argv[j]
		case eqFoldASCII(argv[j], "auth2"):
			if more < 2 {
				return a, fsm.Err("ERR syntax error")
			}
			a.auth, a.user, a.password = true, argv[j+1], argv[j+2]
			j += 2
		case eqFoldASCII(argv[j], "keys"):
			if len(argv[3]) != 0 {
				return a, fsm.Err("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string")
			}
			a.keys = argv[j+1:]
			j = len(argv)
		default:
			return a, fsm.Err("ERR syntax error")
		}
	}
	timeout, ok := parseLong(argv[5])
	if !ok {
		return a, fsm.Err("ERR value is not an integer or out of range")
	}
	if a.db, ok = parseLong(argv[4]); !ok {
		return a, fsm.Err("ERR value is not an integer or out of range")
	}
	if timeout <= 0 {
		timeout = 1000
	}
	a.timeout = time.Duration(min(timeout, int64(24*time.Hour/time.Millisecond))) * time.Millisecond
	a.addr = net.JoinHostPort(string(argv[1]), string(argv[2]))
	return a, fsm.Value{}
}

// parseLong is Redis's string2ll: no sign but '-', no leading zeros.
func parseLong(b []byte) (int64, bool) {
	if len(b) == 0 || b[0] == '+' || (len(b) > 1 && b[0] == '0') || (len(b) > 1 && b[0] == '-' && b[1] == '0') {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

func eqFoldASCII(b []byte, s string) bool { return bytes.EqualFold(b, []byte(s)) }

// migrateBlock is how long a follower's relay waits for a MIGRATE: the
// connection, the writes and each reply may each take the timeout.
func migrateBlock(argv [][]byte) time.Duration {
	if len(argv) < 6 {
		return 0
	}
	a, errv := parseMigrate(argv)
	if errv.Kind == fsm.KindError {
		return 0
	}
	return a.timeout * time.Duration(4+len(a.keys))
}

// cmdMigrate runs MIGRATE on the leader.
func cmdMigrate(c *conn, argv [][]byte) fsm.Value {
	a, errv := parseMigrate(argv)
	if errv.Kind == fsm.KindError {
		return errv
	}
	n := c.srv.node
	read := append([][]byte{[]byte(fsm.MigrateReadCommand)}, a.keys...)
	f := n.ReadDB(c.db, read)
	<-f.Done()
	v, err := f.Result()
	if err != nil {
		return c.srv.errorReply(err, false)
	}
	if v.Kind != fsm.KindArray || len(v.Arr) != len(a.keys) {
		return v // an error reply (the cluster level, a value it cannot DUMP)
	}
	type found struct{ key, ver []byte }
	var keys []found
	var cmd bytes.Buffer
	if a.auth {
		if a.user != nil {
			appendCommand(&cmd, []byte("AUTH"), a.user, a.password)
		} else {
			appendCommand(&cmd, []byte("AUTH"), a.password)
		}
	}
	appendCommand(&cmd, []byte("SELECT"), []byte(strconv.FormatInt(a.db, 10)))
	now := time.Now().UnixMilli()
	present := 0
	for i, r := range v.Arr {
		if r.Kind != fsm.KindArray || len(r.Arr) != 3 {
			continue
		}
		present++
		ttl := int64(0)
		if exp := r.Arr[1].Int; exp != -1 {
			// As Redis: a key that expired since it was read is left out.
			if ttl = exp - now; ttl < 0 {
				continue
			} else if ttl < 1 {
				ttl = 1
			}
		}
		restore := [][]byte{[]byte("RESTORE"), a.keys[i], []byte(strconv.FormatInt(ttl, 10)), r.Arr[0].Str}
		if a.replace {
			restore = append(restore, []byte("REPLACE"))
		}
		appendCommand(&cmd, restore...)
		keys = append(keys, found{a.keys[i], r.Arr[2].Str})
	}
	if present == 0 {
		return fsm.Simple("NOKEY")
	}
	nc, err := net.DialTimeout("tcp", a.addr, a.timeout)
	if err != nil {
		// Redis connects without blocking and waits for the socket to be
		// writable: a refused connection shows only when it writes.
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return fsm.Err("IOERR error or timeout connecting to the client")
		}
		return fsm.Err("IOERR error or timeout writing to target instance")
	}
	defer nc.Close()
	_ = nc.SetWriteDeadline(time.Now().Add(a.timeout))
	if _, err := nc.Write(cmd.Bytes()); err != nil {
		return fsm.Err("IOERR error or timeout writing to target instance")
	}
	br := bufio.NewReader(nc)
	readLine := func() ([]byte, error) {
		_ = nc.SetReadDeadline(time.Now().Add(a.timeout))
		line, err := br.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		return bytes.TrimRight(line, "\r\n"), nil
	}
	var authReply, selectReply []byte
	if a.auth {
		if authReply, err = readLine(); err != nil {
			return fsm.Err("IOERR error or timeout reading to target instance")
		}
		authReply = bytes.Clone(authReply)
	}
	if selectReply, err = readLine(); err != nil {
		return fsm.Err("IOERR error or timeout reading to target instance")
	}
	selectReply = bytes.Clone(selectReply)
	var targetErr []byte
	var del [][]byte
	socketErr := false
	for _, k := range keys {
		line, err := readLine()
		if err != nil {
			socketErr = true
			break
		}
		switch {
		case a.auth && len(authReply) > 0 && authReply[0] == '-':
			line = authReply
		case len(selectReply) > 0 && selectReply[0] == '-':
			line = selectReply
		}
		if len(line) > 0 && line[0] == '-' {
			if targetErr == nil {
				targetErr = bytes.Clone(line[1:])
			}
			continue
		}
		if !a.copy {
			del = append(del, k.key, k.ver)
		}
	}
	if len(del) > 0 {
		w := n.WriteCmd(fsm.Cmd{Op: fsm.OpClient, DB: c.db, Argv: append([][]byte{[]byte(fsm.MigrateDelCommand)}, del...)})
		<-w.Done()
		if _, err := w.Result(); err != nil {
			return c.srv.errorReply(err, true)
		}
	}
	switch {
	case targetErr != nil:
		return fsm.Err("ERR Target instance replied with error: " + string(targetErr))
	case socketErr:
		return fsm.Err("IOERR error or timeout reading to target instance")
	}
	return fsm.OK
}

// appendCommand writes argv as a RESP array of bulk strings.
func appendCommand(b *bytes.Buffer, argv ...[]byte) {
	b.WriteByte('*')
	b.WriteString(strconv.Itoa(len(argv)))
	b.WriteString("\r\n")
	for _, a := range argv {
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(len(a)))
		b.WriteString("\r\n")
		b.Write(a)
		b.WriteString("\r\n")
	}
}

// errMigrateInMulti answers MIGRATE queued in a transaction, which is one
// log entry here: it cannot connect out in the middle of one.
var errMigrateInMulti = fsm.Err("ERR MIGRATE inside MULTI is not supported: a transaction is one log entry")
