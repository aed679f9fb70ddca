package resp

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll reads commands until an error, copying each argv because the
// reader reuses its memory.
func readAll(r *Reader) ([][]string, error) {
	var out [][]string
	for {
		argv, err := r.ReadCommand()
		if err != nil {
			return out, err
		}
		var cmd []string
		for _, a := range argv {
			cmd = append(cmd, string(a))
		}
		out = append(out, cmd)
	}
}

func TestReadCommandProtocolErrors(t *testing.T) {
	long := strings.Repeat("a", 70<<10)
	tests := []struct {
		name string
		in   string
		lim  Limits
		want string
	}{
		{"mbulk not a number", "*abc\r\n", Limits{}, "invalid multibulk length"},
		{"mbulk leading zero", "*01\r\n", Limits{}, "invalid multibulk length"},
		{"mbulk plus sign", "*+1\r\n", Limits{}, "invalid multibulk length"},
		{"mbulk minus zero", "*-0\r\n", Limits{}, "invalid multibulk length"},
		{"mbulk empty", "*\r\n", Limits{}, "invalid multibulk length"},
		{"mbulk out of range", "*20000000\r\n", Limits{}, "invalid multibulk length"},
		{"mbulk over custom limit", "*3\r\n", Limits{MaxArgs: 2}, "invalid multibulk length"},
		{"mbulk overflow", "*99999999999999999999\r\n", Limits{}, "invalid multibulk length"},
		{"bulk not a number", "*1\r\n$abc\r\n", Limits{}, "invalid bulk length"},
		{"bulk negative", "*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$-10\r\n", Limits{}, "invalid bulk length"},
		{"bulk empty", "*1\r\n$\r\n", Limits{}, "invalid bulk length"},
		{"bulk too big", "*1\r\n$536870913\r\n", Limits{}, "invalid bulk length"},
		{"bulk over custom limit", "*1\r\n$6\r\nabcdef\r\n", Limits{MaxBulkLen: 5}, "invalid bulk length"},
		{"expected dollar", "*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", Limits{}, "expected '$', got 'f'"},
		{"expected dollar got CR", "*1\r\n\r\n", Limits{}, "expected '$', got ' '"},
		{"expected dollar got LF", "*1\r\n\n\r\n", Limits{}, "expected '$', got ' '"},
		{"too big inline", long, Limits{}, "too big inline request"},
		{"too big inline with newline", long + "\r\n", Limits{}, "too big inline request"},
		{"too big inline custom", "PING PING\r\n", Limits{MaxInlineLen: 4}, "too big inline request"},
		{"too big mbulk count", "*" + long, Limits{}, "too big mbulk count string"},
		{"too big bulk count", "*1\r\n$" + long, Limits{}, "too big bulk count string"},
		{"unbalanced double", "set \"a b\r\n", Limits{}, "unbalanced quotes in request"},
		{"unbalanced single", "set 'a b\r\n", Limits{}, "unbalanced quotes in request"},
		{"text after closing double", "set \"a\"b\r\n", Limits{}, "unbalanced quotes in request"},
		{"text after closing single", "set 'a'b\r\n", Limits{}, "unbalanced quotes in request"},
		{"trailing backslash", "set \"a\\\r\n", Limits{}, "unbalanced quotes in request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAll(NewReader(strings.NewReader(tt.in), tt.lim))
			var pe *ProtocolError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want ProtocolError %q", err, tt.want)
			}
			if pe.Msg != tt.want || err.Error() != "Protocol error: "+tt.want {
				t.Fatalf("err = %q, want %q", err.Error(), "Protocol error: "+tt.want)
			}
		})
	}
}

func TestReadCommandInline(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"set \"a b\" 'c d' \"\\x41\\n\"\r\n", []string{"set", "a b", "c d", "A\n"}},
		{"PING\n", []string{"PING"}},
		{"  \t get   key  \r\n", []string{"get", "key"}},
		{`"\n\r\t\b\a\z\\\""` + "\r\n", []string{"\n\r\t\b\a" + `z\"`}},
		{`"\x4" "\xZZ" "\xff\x00"` + "\r\n", []string{"x4", "xZZ", "\xff\x00"}},
		{`'it\'s' 'a\nb' 'x"y'` + "\r\n", []string{"it's", `a\nb`, `x"y`}},
		{`ab"cd ef" x'y z'` + "\r\n", []string{"abcd ef", "xy z"}},
		{`set k ""` + "\r\n", []string{"set", "k", ""}},
		{"a\vb c\fd\r\n", []string{"a\vb", "c\fd"}},
		{"a\rb\r\n", []string{"a", "b"}},
		{"set a\x00b c\r\n", []string{"set", "a"}},
		{"\"a\"\t'b'\r\n", []string{"a", "b"}},
	}
	for _, tt := range tests {
		got, err := readAll(NewReader(strings.NewReader(tt.in), Limits{}))
		if err != io.EOF {
			t.Errorf("%q: err = %v", tt.in, err)
			continue
		}
		if len(got) != 1 || !slices.Equal(got[0], tt.want) {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestReadCommandPipelined(t *testing.T) {
	in := "\r\n\n   \r\n" + // empty inline lines are skipped
		"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n" +
		"*0\r\n*-1\r\n*-10\r\n" + // non-positive counts are skipped
		"PING\r\n" +
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\r\nb\x00\r\n" +
		"*1\r\n$0\r\n\r\n" +
		"*1\r\n$3\r\nfooXY" // Redis does not check the bytes after bulk data
	want := [][]string{{"GET", "k"}, {"PING"}, {"SET", "k", "a\r\nb\x00"}, {""}, {"foo"}}
	for _, name := range []string{"whole", "one byte"} {
		var src io.Reader = strings.NewReader(in)
		if name == "one byte" {
			src = iotest.OneByteReader(src)
		}
		r := NewReader(src, Limits{})
		got, err := readAll(r)
		if err != io.EOF {
			t.Fatalf("%s: err = %v, want io.EOF", name, err)
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("%s: got %q, want %q", name, got, want)
		}
	}

	r := NewReader(strings.NewReader("PING\r\nPING\r\n"), Limits{})
	if _, err := r.ReadCommand(); err != nil || r.Buffered() != len("PING\r\n") {
		t.Fatalf("after first: err %v, Buffered %d", err, r.Buffered())
	}
	if _, err := r.ReadCommand(); err != nil || r.Buffered() != 0 {
		t.Fatalf("after second: err %v, Buffered %d", err, r.Buffered())
	}
}

func TestReadCommandEOF(t *testing.T) {
	for _, in := range []string{"*2\r\n$3\r\nGET\r\n", "*2\r\n$3\r\nGE", "*2", "*2\r", "PIN", "*1\r\n$3\r\nfoo\r"} {
		_, err := readAll(NewReader(strings.NewReader(in), Limits{}))
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%q: err = %v, want io.ErrUnexpectedEOF", in, err)
		}
	}
	boom := errors.New("boom")
	_, err := NewReader(iotest.ErrReader(boom), Limits{}).ReadCommand()
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want %v", err, boom)
	}
	_, err = NewReader(io.MultiReader(strings.NewReader("*1\r\n$3\r\nf"), iotest.ErrReader(boom)), Limits{}).ReadCommand()
	if !errors.Is(err, boom) {
		t.Errorf("mid-command err = %v, want %v", err, boom)
	}
}

func TestReadCommandArgsDoNotAlias(t *testing.T) {
	r := NewReader(strings.NewReader("*2\r\n$1\r\na\r\n$1\r\nb\r\n"), Limits{})
	argv, err := r.ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	_ = append(argv[0], 'X')
	if string(argv[1]) != "b" {
		t.Fatalf("append to argv[0] clobbered argv[1]: %q", argv[1])
	}
}

func TestHugeDeclaredBulkIsNotPreallocated(t *testing.T) {
	in := "*1\r\n$500000000\r\nabc"
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := NewReader(strings.NewReader(in), Limits{}).ReadCommand()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("allocated %d bytes for a 3-byte bulk", n)
	}
}

func TestReadCommandLargeBulk(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 300_000)
	in := AppendCommand(nil, [][]byte{[]byte("SET"), []byte("k"), big})
	in = AppendCommand(in, [][]byte{[]byte("GET"), []byte("k")})
	r := NewReader(iotest.HalfReader(bytes.NewReader(in)), Limits{})
	argv, err := r.ReadCommand()
	if err != nil || len(argv) != 3 || !bytes.Equal(argv[2], big) {
		t.Fatalf("err %v, argc %d", err, len(argv))
	}
	argv, err = r.ReadCommand()
	if err != nil || len(argv) != 2 || string(argv[0]) != "GET" {
		t.Fatalf("after big: %q, %v", argv, err)
	}
}

func TestAppendCommandRoundTrip(t *testing.T) {
	cmds := [][][]byte{
		{[]byte("SET"), []byte("key"), []byte("va\r\nlue\x00")},
		{[]byte("PING")},
		{[]byte(""), []byte("*3"), []byte("$-1")},
	}
	var in []byte
	for _, c := range cmds {
		in = AppendCommand(in, c)
	}
	if got := string(AppendCommand(nil, cmds[1])); got != "*1\r\n$4\r\nPING\r\n" {
		t.Fatalf("AppendCommand = %q", got)
	}
	r := NewReader(bytes.NewReader(in), Limits{})
	for _, want := range cmds {
		got, err := r.ReadCommand()
		if err != nil || !slices.EqualFunc(got, want, bytes.Equal) {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	if _, err := r.ReadCommand(); err != io.EOF {
		t.Fatalf("err = %v, want io.EOF", err)
	}
}

func TestReadReply(t *testing.T) {
	replies := []string{
		"+OK\r\n",
		"-ERR unknown command 'x'\r\n",
		":-42\r\n",
		"$5\r\nhe\r\nl\r\n",
		"$0\r\n\r\n",
		"$-1\r\n",
		"*-1\r\n",
		"*0\r\n",
		"*3\r\n:1\r\n$1\r\na\r\n*2\r\n+x\r\n$-1\r\n",
		"_\r\n",
		",3.14\r\n",
		"#t\r\n",
		"(3492890328409238509324850943850943825024385\r\n",
		"!21\r\nSYNTAX invalid syntax\r\n",
		"=15\r\ntxt:Some string\r\n",
		"%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n~2\r\n:1\r\n_\r\n",
		"~3\r\n+a\r\n+b\r\n%0\r\n",
		">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
		"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2039123\r\n:9543892\r\n",
		"*2\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n:7\r\n",
		"*1\r\n*1\r\n*1\r\n*1\r\n%1\r\n_\r\n*-1\r\n",
	}
	in := strings.Join(replies, "")
	for _, name := range []string{"whole", "one byte"} {
		var src io.Reader = strings.NewReader(in)
		if name == "one byte" {
			src = iotest.OneByteReader(src)
		}
		r := NewReader(src, Limits{})
		for _, want := range replies {
			got, err := r.ReadReply()
			if err != nil || string(got) != want {
				t.Fatalf("%s: got %q, %v; want %q", name, got, err, want)
			}
		}
		if _, err := r.ReadReply(); err != io.EOF {
			t.Fatalf("%s: err = %v, want io.EOF", name, err)
		}
	}
}

func TestReadReplyReturnsCopy(t *testing.T) {
	r := NewReader(strings.NewReader("+a\r\n+b\r\n"), Limits{})
	a, _ := r.ReadReply()
	if _, err := r.ReadReply(); err != nil || string(a) != "+a\r\n" {
		t.Fatalf("first reply changed to %q (%v)", a, err)
	}
}

func TestReadReplyErrors(t *testing.T) {
	for _, in := range []string{
		"?x\r\n", "\r\n", "+OK\n", "$3\r\nabcd\r\n", "$-2\r\n", "$x\r\n",
		"*-2\r\n", "%-1\r\n", "~x\r\n", "=-1\r\n", "*99999999999\r\n",
		"$536870913\r\n",
	} {
		_, err := NewReader(strings.NewReader(in), Limits{}).ReadReply()
		var pe *ProtocolError
		if !errors.As(err, &pe) {
			t.Errorf("%q: err = %v, want ProtocolError", in, err)
		}
	}
	for _, in := range []string{"+OK", "*2\r\n:1\r\n", "$3\r\nab", "|1\r\n+a\r\n+b\r\n"} {
		_, err := NewReader(strings.NewReader(in), Limits{}).ReadReply()
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%q: err = %v, want io.ErrUnexpectedEOF", in, err)
		}
	}
}

func TestParseInt(t *testing.T) {
	ok := map[string]int64{"0": 0, "1": 1, "-1": -1, "9223372036854775807": 1<<63 - 1, "-9223372036854775808": -1 << 63}
	for s, want := range ok {
		if got, valid := parseInt([]byte(s)); !valid || got != want {
			t.Errorf("parseInt(%q) = %d, %v", s, got, valid)
		}
	}
	for _, s := range []string{"", "-", "-0", "00", "01", "+1", " 1", "1 ", "1a", "9223372036854775808", "-9223372036854775809", "18446744073709551616", "99999999999999999999"} {
		if _, valid := parseInt([]byte(s)); valid {
			t.Errorf("parseInt(%q) accepted", s)
		}
	}
}

// cycle replays one buffer forever, standing in for a busy connection.
type cycle struct {
	data []byte
	off  int
}

func (c *cycle) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k := copy(p[n:], c.data[c.off:])
		n += k
		c.off = (c.off + k) % len(c.data)
	}
	return n, nil
}

func BenchmarkReadCommand(b *testing.B) {
	cmd := AppendCommand(nil, [][]byte{[]byte("SET"), []byte("key:000123"), bytes.Repeat([]byte("v"), 64)})
	r := NewReader(&cycle{data: cmd}, Limits{})
	b.ReportAllocs()
	b.SetBytes(int64(len(cmd)))
	for b.Loop() {
		if _, err := r.ReadCommand(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadCommandInline(b *testing.B) {
	r := NewReader(&cycle{data: []byte("SET key:000123 \"some value\"\r\n")}, Limits{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.ReadCommand(); err != nil {
			b.Fatal(err)
		}
	}
}

// A request whose arguments exceed MaxRequest is refused once the running
// total passes it: the rest is read through without being kept (so the
// reader's buffer stays near the limit, not the request), and the stream
// stays framed for whoever reads on.
func TestReadCommandOverMaxRequestIsReadThroughAndRefused(t *testing.T) {
	const limit = 64 << 10
	var in bytes.Buffer
	big := strings.Repeat("v", 20<<10)
	args := []string{"MSET"}
	for i := range 40 { // 800 KiB in all
		args = append(args, "k"+string(rune('a'+i%26)), big)
	}
	in.Write(AppendCommand(nil, toArgv(args...)))
	in.Write(AppendCommand(nil, toArgv("SET", "small", "ok")))
	r := NewReader(&in, Limits{MaxRequest: limit})
	_, err := r.ReadCommand()
	var pe *ProtocolError
	if !errors.As(err, &pe) || !strings.Contains(pe.Error(), "max-entry-bytes") {
		t.Fatalf("err = %v, want a protocol error naming max-entry-bytes", err)
	}
	if cap(r.buf) > 2*limit {
		t.Fatalf("the reader kept %d bytes of a refused request (limit %d)", cap(r.buf), limit)
	}
	argv, err := r.ReadCommand()
	if err != nil || len(argv) != 3 || string(argv[1]) != "small" {
		t.Fatalf("next command after the refused one: %q, %v", argv, err)
	}
	// Exactly at the limit is accepted.
	in.Reset()
	in.Write(AppendCommand(nil, toArgv("SET", "k", strings.Repeat("x", limit-3*10-len("SET")-len("k")))))
	if argv, err := NewReader(&in, Limits{MaxRequest: limit}).ReadCommand(); err != nil || len(argv) != 3 {
		t.Fatalf("a request at the limit: %v", err)
	}
}

func toArgv(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, a := range s {
		out[i] = []byte(a)
	}
	return out
}
