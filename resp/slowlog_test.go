package resp

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestSlowlogArgs_TruncatedAsRedis checks what an entry keeps of a command:
// Redis keeps at most 32 arguments (the last saying how many more there
// were) and at most 128 bytes of each (then how many more bytes).
func TestSlowlogArgs_TruncatedAsRedis(t *testing.T) {
	many := func(n int) [][]byte {
		out := [][]byte{[]byte("RPUSH")}
		for i := 1; i < n; i++ {
			out = append(out, fmt.Appendf(nil, "%03d", i))
		}
		return out
	}
	long := bytes.Repeat([]byte("x"), 200)
	for _, tc := range []struct {
		name string
		argv [][]byte
		want []string
	}{
		{"short", [][]byte{[]byte("SET"), []byte("k"), {}}, []string{"SET", "k", ""}},
		{"binary", [][]byte{[]byte("SET"), {0, '\r', '\n', 0xff}}, []string{"SET", "\x00\r\n\xff"}},
		{"exactly 128 bytes", [][]byte{long[:128]}, []string{string(long[:128])}},
		{"long argument", [][]byte{[]byte("SET"), []byte("k"), long}, []string{"SET", "k", string(long[:128]) + "... (72 more bytes)"}},
		{"32 arguments", many(32), nil},
		{"35 arguments", many(35), append(strs(many(35)[:31]), "... (4 more arguments)")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == nil {
				want = strs(tc.argv)
			}
			var buf [48]byte
			got := strs(unpackArgs(packArgs(buf[:0], tc.argv)))
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
}

func strs(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

// TestSlowlog_KeepsNewestMaxLen checks the bound and the order: newest
// first, ids counting on across a reset.
func TestSlowlog_KeepsNewestMaxLen(t *testing.T) {
	l := newSlowlog(0, 3)
	c := &conn{nc: fakeAddrConn{}}
	for i := range 5 {
		l.maybeAdd(c, packArgs(nil, [][]byte{fmt.Appendf(nil, "cmd%d", i)}), time.Millisecond)
	}
	got := l.newest(-1)
	if len(got) != 3 || string(got[0].argv[0]) != "cmd4" || got[0].id != 4 || got[2].id != 2 {
		t.Fatalf("want cmd4..cmd2 (ids 4..2), got %+v", got)
	}
	if n := len(l.newest(1)); n != 1 {
		t.Errorf("newest(1): %d entries", n)
	}
	l.reset()
	l.maybeAdd(c, packArgs(nil, [][]byte{[]byte("after")}), time.Millisecond)
	if got := l.newest(10); len(got) != 1 || got[0].id != 5 {
		t.Errorf("after reset: %+v, want one entry with id 5", got)
	}
	off := newSlowlog(-1, 128)
	if off.enabled() {
		t.Error("a negative threshold must disable the log")
	}
	if newSlowlog(0, 0).enabled() {
		t.Error("max len 0 must disable the log")
	}
	slow := newSlowlog(1000, 10)
	slow.maybeAdd(c, packArgs(nil, [][]byte{[]byte("fast")}), 999*time.Microsecond)
	slow.maybeAdd(c, packArgs(nil, [][]byte{[]byte("slow")}), time.Millisecond)
	if got := slow.newest(-1); len(got) != 1 || string(got[0].argv[0]) != "slow" {
		t.Errorf("threshold 1000µs: %+v, want only the 1ms command", got)
	}
}

// fakeAddrConn is a connection that only knows its peer's address.
type fakeAddrConn struct{ net.Conn }

func (fakeAddrConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
