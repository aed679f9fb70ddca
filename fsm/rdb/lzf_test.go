package rdb

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestLZFKnownOutput(t *testing.T) {
	// redis-server 7.0.15: SET k aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; DUMP k.
	in := []byte(strings.Repeat("a", 30))
	got := lzfCompress(in, len(in)-4, nil, nil)
	if want := "016161e011000161 61"; hex.EncodeToString(got) != strings.ReplaceAll(want, " ", "") {
		t.Fatalf("lzfCompress(a*30) = %x, want %s", got, want)
	}
}

func TestLZFRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tab := &lzfTable{} // reused, as an Encode reuses it
	for i := range 400 {
		n := rng.IntN(3000)
		if i%10 == 0 {
			n = rng.IntN(70000)
		}
		in := make([]byte, n)
		alphabet := 1 + rng.IntN(255)
		for j := range in {
			if j > 8 && rng.IntN(4) == 0 { // repeats make back references
				in[j] = in[j-1-rng.IntN(min(j-1, 8000))]
			} else {
				in[j] = byte(rng.IntN(alphabet))
			}
		}
		c := lzfCompress(in, n+n/16+64, tab, nil)
		if n == 0 {
			if c != nil {
				t.Fatalf("compressing nothing gave %x", c)
			}
			continue
		}
		out := make([]byte, n)
		if got := lzfDecompress(c, out); got != n || !bytes.Equal(out, in) {
			t.Fatalf("case %d (%d bytes): decompressed %d bytes, equal %v", i, n, got, bytes.Equal(out, in))
		}
		// Too small an output buffer is refused, never overrun.
		if small := lzfCompress(in, len(c)-1, tab, nil); small != nil {
			t.Fatalf("case %d: compressed into %d bytes with only %d allowed", i, len(small), len(c)-1)
		}
		if got := lzfDecompress(c, out[:n-1]); got != 0 {
			t.Fatalf("case %d: decompressing into a short buffer gave %d", i, got)
		}
	}
}
