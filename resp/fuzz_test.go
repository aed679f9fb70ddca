package resp

import (
	"bytes"
	"slices"
	"testing"
)

// Small limits let the fuzzer reach the size checks with short inputs;
// MaxArgs still exceeds what a 256-byte inline line can split into, so any
// parsed command can be re-encoded as a multibulk within the limits.
var fuzzLimits = Limits{MaxBulkLen: 1 << 12, MaxArgs: 256, MaxInlineLen: 256}

func FuzzReadCommand(f *testing.F) {
	for _, s := range []string{
		"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
		"set \"a b\" 'c d' \"\\x41\\n\"\r\n",
		"\r\n*0\r\nPING\r\n*-1\r\n",
		"*1\r\nfoo\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), fuzzLimits)
		for range 100 {
			argv, err := r.ReadCommand()
			if err != nil {
				return
			}
			want := make([][]byte, len(argv))
			for i, a := range argv {
				want[i] = bytes.Clone(a)
			}
			enc := AppendCommand(nil, argv)
			got, err := NewReader(bytes.NewReader(enc), fuzzLimits).ReadCommand()
			if err != nil {
				t.Fatalf("re-encoded %q: %v", enc, err)
			}
			if !slices.EqualFunc(got, want, bytes.Equal) {
				t.Fatalf("round trip: got %q, want %q", got, want)
			}
		}
	})
}

func FuzzReadReply(f *testing.F) {
	for _, s := range []string{
		"+OK\r\n$-1\r\n*-1\r\n",
		"*2\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n:7\r\n",
		"%1\r\n~1\r\n,1.5\r\n>1\r\n=5\r\ntxt:a\r\n",
		"(123\r\n#f\r\n_\r\n!3\r\nERR\r\n-ERR x\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), fuzzLimits)
		for range 100 {
			raw, err := r.ReadReply()
			if err != nil {
				return
			}
			// A reply read once must read again as exactly itself.
			r2 := NewReader(bytes.NewReader(raw), fuzzLimits)
			again, err := r2.ReadReply()
			if err != nil || !bytes.Equal(again, raw) || r2.Buffered() != 0 {
				t.Fatalf("re-read of %q: %q, %v", raw, again, err)
			}
		}
	})
}
