package script

// The differential tests' redis-server (internal/redisserver): started by
// TestMain, stopped by PID at the end.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/internal/redisserver"
)

var (
	redisAddr string // "" when there is no redis-server
	redisErr  error
)

func TestMain(m *testing.M) {
	srv, err := redisserver.ForMain("script")
	if redisErr = err; srv != nil {
		redisAddr = srv.Addr
	}
	code := m.Run()
	srv.Stop()
	os.Exit(code)
}

// needRedis skips a differential test when there is no redis-server, or
// fails it under CI=true (or UNDERSTUDY_REQUIRE_REDIS_SERVER=1).
func needRedis(t *testing.T) { t.Helper(); redisserver.Need(t, redisErr) }

// respConn is a minimal RESP2/RESP3 client that keeps every reply's type.
type respConn struct {
	nc net.Conn
	br *bufio.Reader
}

func dialRESP(addr string, proto int) (*respConn, error) {
	nc, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	c := &respConn{nc: nc, br: bufio.NewReader(nc)}
	if proto == 3 {
		if r, err := c.do("HELLO", "3"); err != nil || r.IsError() {
			nc.Close()
			return nil, fmt.Errorf("HELLO 3: %v %s", err, r.Str)
		}
	} else if _, err := c.do("PING"); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func (c *respConn) close() { c.nc.Close() }

func (c *respConn) do(args ...string) (Reply, error) {
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	return c.doBytes(argv)
}

func (c *respConn) doBytes(argv [][]byte) (Reply, error) {
	_ = c.nc.SetDeadline(time.Now().Add(10 * time.Second))
	var b []byte
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(argv)), 10)
	b = append(b, '\r', '\n')
	for _, a := range argv {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	if _, err := c.nc.Write(b); err != nil {
		return Reply{}, err
	}
	return readReply(c.br)
}

func readReply(br *bufio.Reader) (Reply, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return Reply{}, err
	}
	if len(line) < 3 {
		return Reply{}, fmt.Errorf("short line %q", line)
	}
	t, rest := line[0], line[1:len(line)-2]
	n, _ := strconv.ParseInt(rest, 10, 64)
	switch t {
	case '+':
		return Reply{Kind: KindSimple, Str: []byte(rest)}, nil
	case '-':
		return Reply{Kind: KindError, Str: []byte(rest)}, nil
	case ':':
		return Reply{Kind: KindInt, Int: n}, nil
	case '_':
		return Reply{Kind: KindNull}, nil
	case '#':
		return Reply{Kind: KindBool, Int: boolInt(rest == "t")}, nil
	case ',':
		return Reply{Kind: KindDouble, Str: []byte(rest)}, nil
	case '(':
		return Reply{Kind: KindBigNumber, Str: []byte(rest)}, nil
	case '$', '=':
		if n < 0 {
			return Reply{Kind: KindNull}, nil
		}
		buf := make([]byte, n+2)
		if _, err := ioReadFull(br, buf); err != nil {
			return Reply{}, err
		}
		if t == '=' {
			return Reply{Kind: KindVerbatim, Str: buf[4:n]}, nil
		}
		return Reply{Kind: KindBulk, Str: buf[:n]}, nil
	case '*', '~', '%', '>':
		if n < 0 {
			return Reply{Kind: KindNullArray}, nil
		}
		kind := map[byte]Kind{'*': KindArray, '~': KindSet, '%': KindMap, '>': KindPush}[t]
		if t == '%' {
			n *= 2
		}
		arr := make([]Reply, n)
		for i := range arr {
			if arr[i], err = readReply(br); err != nil {
				return Reply{}, err
			}
		}
		return Reply{Kind: kind, Arr: arr}, nil
	}
	return Reply{}, fmt.Errorf("unknown reply type %q", line)
}

func ioReadFull(br *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := br.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// String renders a reply for test failures.
func (r Reply) String() string {
	switch r.Kind {
	case KindSimple:
		return "+" + string(r.Str)
	case KindError:
		return "-" + string(r.Str)
	case KindInt:
		return ":" + strconv.FormatInt(r.Int, 10)
	case KindBool:
		return "#" + strconv.FormatInt(r.Int, 10)
	case KindNull:
		return "(null)"
	case KindNullArray:
		return "(null array)"
	case KindDouble:
		return "," + string(r.Str)
	case KindBigNumber:
		return "(" + string(r.Str)
	case KindVerbatim:
		return "=" + strconv.Quote(string(r.Str))
	case KindBulk:
		return strconv.Quote(string(r.Str))
	}
	parts := make([]string, len(r.Arr))
	for i, e := range r.Arr {
		parts[i] = e.String()
	}
	open := map[Kind]string{KindArray: "[", KindMap: "%{", KindSet: "~{", KindPush: ">[", KindPairs: "pairs["}[r.Kind]
	return open + strings.Join(parts, " ") + "]"
}
