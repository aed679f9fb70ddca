package rdb

import (
	"strconv"
	"strings"
	"testing"
)

// BenchmarkCodec measures Encode and Decode of values of each kind, side
// by side, in payload bytes per second:
//
//	go test -run '^$' -bench Codec ./fsm/rdb/
func BenchmarkCodec(b *testing.B) {
	text := strings.Repeat("the leader appends the entry to its log and replicates it; ", 60)
	n := func(k int, f func(i int) string) []string {
		out := make([]string, k)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	fields := func(k int, enc Encoding) *Hash {
		h := &Hash{Encoding: enc}
		for i := range k {
			h.Fields = append(h.Fields, HashField{"field:" + strconv.Itoa(i), "value-" + strconv.Itoa(i*7)})
		}
		return h
	}
	entries := func(k int, enc Encoding) *ZSet {
		z := &ZSet{Encoding: enc}
		for i := range k {
			z.Entries = append(z.Entries, ZEntry{"member:" + strconv.Itoa(i), float64(i) / 4})
		}
		return z
	}
	values := []struct {
		name string
		v    Value
	}{
		{"string-3KB-text", String(text)},
		{"list-10000-quicklist", &List{Elements: n(10000, func(i int) string { return "item-" + strconv.Itoa(i) }), Encoding: EncQuicklist}},
		{"set-500-intset", &Set{Members: n(500, func(i int) string { return strconv.Itoa(i * 3) }), Encoding: EncIntset}},
		{"set-1000-hashtable", &Set{Members: n(1000, func(i int) string { return "m" + strconv.Itoa(i) }), Encoding: EncHashtable}},
		{"hash-100-listpack", fields(100, EncListpack)},
		{"hash-1000-hashtable", fields(1000, EncHashtable)},
		{"zset-100-listpack", entries(100, EncListpack)},
		{"zset-1000-skiplist", entries(1000, EncSkiplist)},
	}
	lim := DefaultLimits()
	for _, c := range values {
		p, err := Encode(c.v, lim)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("encode/"+c.name, func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if _, err := Encode(c.v, lim); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("decode/"+c.name, func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if _, err := Decode(p, lim); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLZF measures the compressor (reusing its table, as one Encode
// does) and the decompressor on 3.6 KB of text, side by side.
func BenchmarkLZF(b *testing.B) {
	in := []byte(strings.Repeat("the leader appends the entry to its log and replicates it; ", 60))
	tab, scratch := &lzfTable{}, []byte(nil)
	c := append([]byte(nil), lzfCompress(in, len(in)-4, tab, nil)...)
	b.Run("compress", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			scratch = lzfCompress(in, len(in)-4, tab, scratch)
		}
	})
	b.Run("decompress", func(b *testing.B) {
		out := make([]byte, len(in))
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if lzfDecompress(c, out) != len(in) {
				b.Fatal("decompress failed")
			}
		}
	})
}
