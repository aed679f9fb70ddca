package respclient

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadReply_AllKinds(t *testing.T) {
	in := "+OK\r\n-TRYAGAIN no leader\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n+OK\r\n$0\r\n\r\n*-1\r\n"
	rd := bufio.NewReader(strings.NewReader(in))
	want := []string{"OK", "-TRYAGAIN no leader", "42", "hello", "(nil)", "[OK ]", "(nil)"}
	for i, w := range want {
		r, err := ReadReply(rd)
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if r.String() != w {
			t.Errorf("reply %d = %q, want %q", i, r.String(), w)
		}
	}
	if _, err := ReadReply(rd); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last reply: %v", err)
	}
}

func TestReadReply_Malformed(t *testing.T) {
	for _, in := range []string{"?x\r\n", ":x\r\n", "$3\r\nab", "+OK\n"} {
		if _, err := ReadReply(bufio.NewReader(strings.NewReader(in))); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestAppendCommand(t *testing.T) {
	got := string(AppendCommand(nil, []string{"SET", "k", ""}))
	if want := "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		r    Reply
		err  error
		want Outcome
	}{
		{Reply{Kind: Simple, Str: "OK"}, nil, OK},
		{Reply{Kind: Bulk, Nil: true}, nil, OK},
		{Reply{Kind: Error, Str: "TRYAGAIN not leader"}, nil, Failed},
		{Reply{Kind: Error, Str: "MOVED 0 n1:6381"}, nil, Failed},
		{Reply{Kind: Error, Str: "UNCERTAIN outcome unknown, the write may or may not have been applied: x"}, nil, Unknown},
		{Reply{}, &DialError{errors.New("connection refused")}, Failed},
		{Reply{}, errors.New("read reply: i/o timeout"), Unknown},
		{Reply{}, io.EOF, Unknown},
	}
	for _, c := range cases {
		if got := Classify(c.r, c.err); got != c.want {
			t.Errorf("Classify(%v, %v) = %s, want %s", c.r, c.err, got, c.want)
		}
	}
	if !IsUnknownCommand(Reply{Kind: Error, Str: "ERR unknown command 'WATCH', with args beginning with: 'k'"}) {
		t.Error("unknown command not recognized")
	}
	if got := ErrorClass(Reply{Kind: Error, Str: "TRYAGAIN no leader"}, nil); got != "TRYAGAIN" {
		t.Errorf("ErrorClass = %q", got)
	}
}
