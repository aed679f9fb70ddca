package resp

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/understudy/understudy/fsm"
)

func TestAppendValue(t *testing.T) {
	bulk := fsm.BulkString
	nested := fsm.Array([]fsm.Value{fsm.Int(1), fsm.Null, fsm.Array([]fsm.Value{bulk("x")})})
	m := fsm.Value{Kind: fsm.KindMap, Arr: []fsm.Value{bulk("a"), fsm.Int(1), bulk("b"), fsm.Double(2.5)}}
	tests := []struct {
		name         string
		v            fsm.Value
		resp2, resp3 string
	}{
		{"simple", fsm.OK, "+OK\r\n", "+OK\r\n"},
		{"simple CRLF", fsm.Simple("a\r\nb"), "+a  b\r\n", "+a  b\r\n"},
		{"error", fsm.Err("ERR bad"), "-ERR bad\r\n", "-ERR bad\r\n"},
		{"error CRLF", fsm.Err("ERR a\rb\nc"), "-ERR a b c\r\n", "-ERR a b c\r\n"},
		{"int", fsm.Int(-12345), ":-12345\r\n", ":-12345\r\n"},
		{"bulk", bulk("he\r\nllo"), "$7\r\nhe\r\nllo\r\n", "$7\r\nhe\r\nllo\r\n"},
		{"empty bulk", fsm.Bulk(nil), "$0\r\n\r\n", "$0\r\n\r\n"},
		{"null", fsm.Null, "$-1\r\n", "_\r\n"},
		{"null array", fsm.NullArray, "*-1\r\n", "_\r\n"},
		{"empty array", fsm.Array(nil), "*0\r\n", "*0\r\n"},
		{"nested array", nested, "*3\r\n:1\r\n$-1\r\n*1\r\n$1\r\nx\r\n", "*3\r\n:1\r\n_\r\n*1\r\n$1\r\nx\r\n"},
		{"map", m,
			"*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n$3\r\n2.5\r\n",
			"%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n,2.5\r\n"},
		{"odd map", fsm.Value{Kind: fsm.KindMap, Arr: []fsm.Value{fsm.One, fsm.Zero, fsm.One}},
			"*2\r\n:1\r\n:0\r\n", "%1\r\n:1\r\n:0\r\n"},
		{"set", fsm.Value{Kind: fsm.KindSet, Arr: []fsm.Value{bulk("a"), bulk("b")}},
			"*2\r\n$1\r\na\r\n$1\r\nb\r\n", "~2\r\n$1\r\na\r\n$1\r\nb\r\n"},
		{"double", fsm.Double(-1.5), "$4\r\n-1.5\r\n", ",-1.5\r\n"},
		{"double inf", fsm.Double(math.Inf(1)), "$3\r\ninf\r\n", ",inf\r\n"},
		{"verbatim", fsm.Value{Kind: fsm.KindVerbatim, Str: []byte("Some string")},
			"$11\r\nSome string\r\n", "=15\r\ntxt:Some string\r\n"},
		{"push", fsm.Value{Kind: fsm.KindPush, Arr: []fsm.Value{bulk("message"), bulk("ch"), bulk("hi")}},
			"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"},
		{"pairs", fsm.Pairs([]fsm.Value{bulk("a"), fsm.Double(1), bulk("b"), fsm.Double(2.5)}),
			"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n",
			"*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"},
		{"empty pairs", fsm.Pairs(nil), "*0\r\n", "*0\r\n"},
		{"odd pairs", fsm.Pairs([]fsm.Value{bulk("f"), bulk("v"), bulk("x")}),
			"*2\r\n$1\r\nf\r\n$1\r\nv\r\n", "*1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n"},
		{"pairs inside EXEC", fsm.Array([]fsm.Value{fsm.Pairs([]fsm.Value{bulk("f"), bulk("v")}), fsm.OK}),
			"*2\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n+OK\r\n", "*2\r\n*1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n+OK\r\n"},
		{"unknown kind", fsm.Value{Kind: 200}, "-ERR internal error: unknown reply kind\r\n", "-ERR internal error: unknown reply kind\r\n"},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			proto int
			want  string
		}{{2, tt.resp2}, {3, tt.resp3}} {
			if got := string(AppendValue([]byte("pre"), tt.v, c.proto)); got != "pre"+c.want {
				t.Errorf("%s RESP%d: got %q, want %q", tt.name, c.proto, got, "pre"+c.want)
			}
			// Every encoding must frame as exactly one reply.
			r := NewReader(strings.NewReader(c.want), Limits{})
			if raw, err := r.ReadReply(); err != nil || string(raw) != c.want || r.Buffered() != 0 {
				t.Errorf("%s RESP%d: ReadReply = %q, %v", tt.name, c.proto, raw, err)
			}
		}
	}
}

func TestWriter(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	if w.Proto() != 2 {
		t.Fatalf("default proto %d", w.Proto())
	}
	if err := w.WriteValue(fsm.Null); err != nil {
		t.Fatal(err)
	}
	w.SetProto(3)
	if w.Proto() != 3 {
		t.Fatalf("proto %d after SetProto(3)", w.Proto())
	}
	_ = w.WriteValue(fsm.Null)
	_ = w.WriteRaw([]byte("+relayed\r\n"))
	if w.Buffered() != len("$-1\r\n_\r\n+relayed\r\n") || out.Len() != 0 {
		t.Fatalf("Buffered %d, written %d before Flush", w.Buffered(), out.Len())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "$-1\r\n_\r\n+relayed\r\n" {
		t.Fatalf("got %q", got)
	}
	w.SetProto(1)
	if w.Proto() != 2 {
		t.Fatalf("proto %d after SetProto(1)", w.Proto())
	}
}

// The writer's bypass for big payloads and its periodic scratch flushes must
// produce the same bytes as AppendValue.
func TestWriterLargeValues(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 100_000)
	elems := make([]fsm.Value, 5000)
	for i := range elems {
		elems[i] = fsm.BulkString("element")
	}
	elems[10] = fsm.Bulk(big)
	elems[11] = fsm.Value{Kind: fsm.KindVerbatim, Str: big}
	v := fsm.Value{Kind: fsm.KindMap, Arr: elems}
	for _, proto := range []int{2, 3} {
		var out bytes.Buffer
		w := NewWriter(&out)
		w.SetProto(proto)
		if err := w.WriteValue(v); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if want := AppendValue(nil, v, proto); !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("RESP%d: writer output (%d bytes) differs from AppendValue (%d bytes)", proto, out.Len(), len(want))
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriterError(t *testing.T) {
	w := NewWriter(failWriter{})
	if err := w.WriteValue(fsm.Bulk(make([]byte, 40_000))); err == nil {
		t.Fatal("WriteValue of a value larger than the buffer succeeded on a broken writer")
	}
	if err := w.Flush(); err == nil {
		t.Fatal("Flush succeeded on a broken writer")
	}
}

func BenchmarkWriteValue(b *testing.B) {
	v := fsm.Array([]fsm.Value{
		fsm.BulkString("key:000123"), fsm.BulkString(strings.Repeat("v", 64)),
		fsm.Int(42), fsm.Null, fsm.OK,
	})
	for _, proto := range []int{2, 3} {
		b.Run("RESP"+string(rune('0'+proto)), func(b *testing.B) {
			w := NewWriter(io.Discard)
			w.SetProto(proto)
			b.ReportAllocs()
			for b.Loop() {
				if err := w.WriteValue(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
