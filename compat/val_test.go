package compat

// One reply tree for both kinds of client: the raw RESP client, which keeps
// every RESP2/RESP3 type as the server sent it, and go-redis, whose Do result
// loses some (status and bulk strings are both Go strings, sets and pushes
// are slices, maps are Go maps). Replies are compared by their rendering.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

type kind uint8

const (
	kStatus kind = iota // +OK (raw only; go-redis gives kStr)
	kErr                // -ERR ... / !blob error
	kInt                // :1
	kStr                // $3 foo
	kNil                // RESP2 $-1, RESP3 _ (go-redis: any nil)
	kNilArr             // RESP2 *-1 (raw only)
	kArr                // *N
	kMap                // %N; elems alternate key, value
	kSet                // ~N (raw only)
	kPush               // >N (raw only)
	kDouble             // ,1.5 (raw: s is the text; go-redis: s is %g of the float64)
	kBool               // #t / #f
	kVerb               // =N txt:...
	kBig                // (123...
)

type val struct {
	k     kind
	s     string
	i     int64
	elems []val
}

var kindTag = map[kind]string{kSet: "~", kPush: ">", kMap: "%", kArr: ""}

// String renders v unambiguously on one line: "quoted" bulk strings, +status,
// -errors, (integer) n, (double) x, (nil), [arrays], ~[sets], >[pushes] and
// %{maps}.
func (v val) String() string {
	switch v.k {
	case kStatus:
		return "+" + v.s
	case kErr:
		return "-" + v.s
	case kInt:
		return "(integer) " + strconv.FormatInt(v.i, 10)
	case kStr:
		return strconv.Quote(v.s)
	case kNil:
		return "(nil)"
	case kNilArr:
		return "(nil array)"
	case kDouble:
		return "(double) " + v.s
	case kBool:
		return "(bool) " + v.s
	case kVerb:
		return "(verbatim) " + strconv.Quote(v.s)
	case kBig:
		return "(big) " + v.s
	case kMap:
		parts := make([]string, 0, len(v.elems)/2)
		for i := 0; i+1 < len(v.elems); i += 2 {
			parts = append(parts, v.elems[i].String()+": "+v.elems[i+1].String())
		}
		return "%{" + strings.Join(parts, ", ") + "}"
	}
	parts := make([]string, len(v.elems))
	for i, e := range v.elems {
		parts[i] = e.String()
	}
	return kindTag[v.k] + "[" + strings.Join(parts, ", ") + "]"
}

func (v val) aggregate() bool { return v.k == kArr || v.k == kSet || v.k == kPush || v.k == kMap }

// fromGoRedis converts what go-redis's Do returned. Go maps have no order,
// so map entries are sorted by key.
func fromGoRedis(x any, err error) val {
	if err != nil {
		if errors.Is(err, redis.Nil) {
			return val{k: kNil}
		}
		return val{k: kErr, s: err.Error()}
	}
	switch x := x.(type) {
	case nil:
		return val{k: kNil}
	case string:
		return val{k: kStr, s: x}
	case int64:
		return val{k: kInt, i: x}
	case float64:
		return val{k: kDouble, s: strconv.FormatFloat(x, 'g', -1, 64)}
	case bool:
		return val{k: kBool, s: strconv.FormatBool(x)}
	case *big.Int:
		return val{k: kBig, s: x.String()}
	case []any:
		out := val{k: kArr, elems: make([]val, len(x))}
		for i, e := range x {
			out.elems[i] = fromGoRedis(e, nil)
		}
		return out
	case map[any]any:
		type kv struct{ k, v val }
		kvs := make([]kv, 0, len(x))
		for k, e := range x {
			kvs = append(kvs, kv{fromGoRedis(k, nil), fromGoRedis(e, nil)})
		}
		sort.Slice(kvs, func(i, j int) bool { return kvs[i].k.String() < kvs[j].k.String() })
		out := val{k: kMap}
		for _, p := range kvs {
			out.elems = append(out.elems, p.k, p.v)
		}
		return out
	case error: // an error inside an aggregate (EXEC)
		return val{k: kErr, s: x.Error()}
	}
	return val{k: kErr, s: fmt.Sprintf("compat: unexpected go-redis value %T %v", x, x)}
}

// ---------------------------------------------------------------------------
// Raw RESP client

// rawConn is one connection that sends commands and reads replies with
// their RESP2/RESP3 types intact. Every read has a deadline.
type rawConn struct {
	nc    net.Conn
	br    *bufio.Reader
	proto int
}

// mustDial is dialRaw for the duration of t: it fails t when the dial does,
// and closes the connection when t ends.
func mustDial(t testing.TB, addr string, proto int) *rawConn {
	t.Helper()
	c, err := dialRaw(addr, proto)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// dialRaw connects and, for proto 3, switches with HELLO 3.
func dialRaw(addr string, proto int) (*rawConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	c := &rawConn{nc: nc, br: bufio.NewReader(nc), proto: proto}
	if proto == 3 {
		v, err := c.do("HELLO", "3")
		if err != nil || v.k == kErr {
			nc.Close()
			return nil, fmt.Errorf("HELLO 3: %v %v", v, err)
		}
	}
	return c, nil
}

func (c *rawConn) Close() error { return c.nc.Close() }

func (c *rawConn) send(args ...string) error {
	var sb strings.Builder
	fmt.Fprintf(&sb, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&sb, "$%d\r\n%s\r\n", len(a), a)
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := io.WriteString(c.nc, sb.String())
	return err
}

// readWithin reads one reply (or pushed message) within timeout.
func (c *rawConn) readWithin(timeout time.Duration) (val, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(timeout))
	return readVal(c.br)
}

func (c *rawConn) read() (val, error) { return c.readWithin(10 * time.Second) }

func (c *rawConn) do(args ...string) (val, error) {
	if err := c.send(args...); err != nil {
		return val{}, err
	}
	return c.read()
}

// readVal parses one RESP2 or RESP3 value. Attributes (|) are skipped.
func readVal(br *bufio.Reader) (val, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return val{}, err
	}
	if len(line) < 3 || !strings.HasSuffix(line, "\r\n") {
		return val{}, fmt.Errorf("malformed reply line %q", line)
	}
	t, body := line[0], line[1:len(line)-2]
	count := func() (int, error) {
		n, err := strconv.Atoi(body)
		if err != nil {
			return 0, fmt.Errorf("bad length in %q", line)
		}
		return n, nil
	}
	readN := func(v val, n int) (val, error) {
		v.elems = make([]val, n)
		for i := range v.elems {
			if v.elems[i], err = readVal(br); err != nil {
				return val{}, err
			}
		}
		return v, nil
	}
	switch t {
	case '+':
		return val{k: kStatus, s: body}, nil
	case '-':
		return val{k: kErr, s: body}, nil
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return val{}, fmt.Errorf("bad integer %q", line)
		}
		return val{k: kInt, i: n}, nil
	case ',':
		return val{k: kDouble, s: body}, nil
	case '#':
		return val{k: kBool, s: map[string]string{"t": "true", "f": "false"}[body]}, nil
	case '(':
		return val{k: kBig, s: body}, nil
	case '_':
		return val{k: kNil}, nil
	case '$', '!', '=':
		n, err := count()
		if err != nil {
			return val{}, err
		}
		if n < 0 {
			return val{k: kNil}, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return val{}, err
		}
		s := string(buf[:n])
		switch t {
		case '!':
			return val{k: kErr, s: s}, nil
		case '=':
			return val{k: kVerb, s: s}, nil
		}
		return val{k: kStr, s: s}, nil
	case '*', '~', '>', '%', '|':
		n, err := count()
		if err != nil {
			return val{}, err
		}
		if n < 0 {
			return val{k: kNilArr}, nil
		}
		k := map[byte]kind{'*': kArr, '~': kSet, '>': kPush, '%': kMap, '|': kMap}[t]
		if t == '%' || t == '|' {
			n *= 2
		}
		v, err := readN(val{k: k}, n)
		if err != nil || t != '|' {
			return v, err
		}
		return readVal(br) // the attribute is dropped; its value follows
	}
	return val{}, fmt.Errorf("unknown reply type in %q", line)
}
