package rdb

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestDecodeErrors(t *testing.T) {
	good := withFooter(cat([]byte{typeString}, rawStr("abc")), Version)
	badCRC := append([]byte(nil), good...)
	badCRC[len(badCRC)-1] ^= 1
	cases := []struct {
		name    string
		payload []byte
		want    error
	}{
		{"too short for a footer", good[:9], ErrChecksum},
		{"newer RDB version", withFooter(cat([]byte{typeString}, rawStr("abc")), Version+1), ErrChecksum},
		{"CRC mismatch", badCRC, ErrChecksum},
		{"no body", withFooter(nil, Version), ErrBadFormat},
		{"unknown type", withFooter([]byte{8, 0}, Version), ErrBadFormat},
		{"set listpack is Redis 7.2's", withFooter(cat([]byte{20}, rawStr(string(mustListpack("a")))), Version), ErrBadFormat},
		{"stream cut short", withFooter([]byte{typeStreamListpacks2, 0}, Version), ErrBadFormat},
		{"stream node key not 16 bytes", withFooter(cat([]byte{typeStreamListpacks2, 1}, rawStr("12345678")), Version), ErrBadFormat},
		{"stream with an empty listpack", withFooter(cat([]byte{typeStreamListpacks2, 1}, rawStr("0123456789abcdef"),
			rawStr(string(mustListpack()))), Version), ErrBadFormat},
		{"module", withFooter([]byte{typeModule2, 1}, Version), ErrUnsupported},
		{"string longer than the payload", withFooter([]byte{typeString, 0x80, 0xFF, 0, 0, 0}, Version), ErrBadFormat},
		{"LZF claiming more than it can hold", withFooter([]byte{typeString, 0xC3, 2, 0x80, 0x10, 0, 0, 0, 0, 'a'}, Version), ErrBadFormat},
		{"empty list", withFooter([]byte{typeList, 0}, Version), ErrBadFormat},
		{"duplicate set member", withFooter(cat([]byte{typeSet, 2}, rawStr("a"), rawStr("a")), Version), ErrBadFormat},
		{"duplicate hash field", withFooter(cat([]byte{typeHashListpack}, rawStr(string(mustListpack("f", "1", "f", "2")))), Version), ErrBadFormat},
		{"odd hash listpack", withFooter(cat([]byte{typeHashListpack}, rawStr(string(mustListpack("f", "1", "g")))), Version), ErrBadFormat},
		{"NaN score", withFooter(cat([]byte{typeZSet2, 1}, rawStr("m"), f64(math.NaN())), Version), ErrBadFormat},
		{"NaN score in a listpack", withFooter(cat([]byte{typeZSetListpack}, rawStr(string(mustListpack("m", "nan")))), Version), ErrBadFormat},
		{"unsorted intset", withFooter(cat([]byte{typeSetIntset}, rawStr("\x02\x00\x00\x00\x02\x00\x00\x00\x05\x00\x03\x00")), Version), ErrBadFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v, err := Decode(c.payload, DefaultLimits())
			if !errors.Is(err, c.want) {
				t.Fatalf("Decode = %v, %v; want %v", describe(v), err, c.want)
			}
			if c.want == ErrUnsupported && !errors.Is(err, ErrBadFormat) {
				t.Fatalf("%v does not answer as ErrBadFormat", err)
			}
		})
	}
	if ErrChecksum.Error() != "ERR DUMP payload version or checksum are wrong" || ErrBadFormat.Error() != "ERR Bad data format" {
		t.Fatalf("error texts are not Redis's: %q, %q", ErrChecksum, ErrBadFormat)
	}
}

// TestDecodeLimits checks that the encoding of a loaded value follows the
// thresholds it is given, as Redis's follows its CONFIG.
func TestDecodeLimits(t *testing.T) {
	decode := func(lim Limits, v Value) Value {
		t.Helper()
		p, err := Encode(v, DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(p, lim)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	def := DefaultLimits()
	smallHash := &Hash{Fields: []HashField{{"a", "1"}, {"b", "2"}, {"c", "3"}}, Encoding: EncListpack}
	if got := decode(def, smallHash); encodingOf(got) != EncListpack {
		t.Errorf("small hash loaded as %s", encodingOf(got))
	}
	lim := def
	lim.HashMaxListpackEntries = 2
	if got := decode(lim, smallHash); encodingOf(got) != EncHashtable || !sameContent(got, smallHash) {
		t.Errorf("3 fields over hash-max-listpack-entries 2: %s", describe(got))
	}
	strs := &Set{Members: []string{"x", "y"}, Encoding: EncListpack}
	lim = def
	lim.SetMaxListpackEntries = 0 // Redis 7.0: no listpack sets
	if got := decode(lim, strs); encodingOf(got) != EncHashtable {
		t.Errorf("set of strings with set-max-listpack-entries 0 loaded as %s", encodingOf(got))
	}
	lim = def
	lim.SetMaxListpackValue = 0
	if got := decode(lim, strs); encodingOf(got) != EncHashtable {
		t.Errorf("set of strings over set-max-listpack-value loaded as %s", encodingOf(got))
	}
	mixed := &Set{Members: []string{"3", "1", "x", "2"}, Encoding: EncListpack}
	if got := decode(def, mixed).(*Set); !reflect.DeepEqual(got.Members, []string{"1", "3", "x", "2"}) || got.Encoding != EncListpack {
		t.Errorf("intset turned listpack: %s, want the integers first in order, as the intset held them", describe(got))
	}
	lim = def
	lim.SetMaxIntsetEntries = 1
	if got := decode(lim, &Set{Members: []string{"1", "2"}, Encoding: EncIntset}); encodingOf(got) != EncHashtable {
		t.Errorf("intset over set-max-intset-entries loaded as %s", encodingOf(got))
	}
	z := &ZSet{Entries: []ZEntry{{"a", 1}, {"b", 2}}, Encoding: EncListpack}
	lim = def
	lim.ZsetMaxListpackEntries = 1
	if got := decode(lim, z); encodingOf(got) != EncSkiplist || !sameContent(got, z) {
		t.Errorf("sorted set over zset-max-listpack-entries: %s", describe(got))
	}
	z = &ZSet{Entries: []ZEntry{{"a", 1}, {"b", 2}}, Encoding: EncSkiplist}
	if got := decode(def, z); encodingOf(got) != EncListpack {
		t.Errorf("small skiplist loaded as %s, want a listpack as zsetConvert makes", encodingOf(got))
	}
	list := &List{Elements: []string{"a", "b", "c"}, Encoding: EncListpack}
	lim = def
	lim.ListMaxListpackSize = 2
	if got := decode(lim, list); encodingOf(got) != EncQuicklist {
		t.Errorf("3 elements over list-max-listpack-size 2 loaded as %s", encodingOf(got))
	}
	big := &List{Elements: []string{strings.Repeat("x", 5000)}, Encoding: EncListpack}
	lim.ListMaxListpackSize = -1 // 4 KiB
	if got := decode(lim, big); encodingOf(got) != EncQuicklist {
		t.Errorf("5000 bytes over 4 KiB loaded as %s", encodingOf(got))
	}
	if got := decode(def, big); encodingOf(got) != EncListpack {
		t.Errorf("5000 bytes under 8 KiB loaded as %s", encodingOf(got))
	}
}

func TestNegativeZeroScores(t *testing.T) {
	for _, enc := range []Encoding{EncListpack, EncSkiplist} {
		z := &ZSet{Entries: []ZEntry{{"a", math.Copysign(0, -1)}, {"b", 1}}, Encoding: enc}
		lim := DefaultLimits()
		lim.ZsetMaxListpackValue = 0 // keep a skiplist a skiplist
		p, err := Encode(z, lim)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(p, lim)
		if err != nil {
			t.Fatal(err)
		}
		if !sameValue(got, z) {
			t.Errorf("%s: -0 did not survive: %s", enc, describe(got))
		}
	}
}

func TestEncodeRefusesMalformedValues(t *testing.T) {
	for i, v := range []Value{
		nil,
		&List{Encoding: EncListpack},
		&List{Elements: []string{"a"}, Encoding: EncIntset},
		&Set{Members: []string{"1", "x"}, Encoding: EncIntset},
		&Set{Members: []string{"1", "1"}, Encoding: EncIntset},
		&Set{Encoding: EncHashtable},
		&Hash{Fields: []HashField{{"f", "v"}}, Encoding: EncQuicklist},
		&ZSet{Encoding: EncSkiplist},
	} {
		if p, err := Encode(v, DefaultLimits()); err == nil {
			t.Errorf("case %d: Encode(%s) = %x, want an error", i, describe(v), p)
		}
	}
}

func TestEncodeListpackSetAsPlainSet(t *testing.T) {
	p, err := Encode(&Set{Members: []string{"b", "a", "7"}, Encoding: EncListpack}, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if want := withFooter(cat([]byte{typeSet, 3}, rawStr("b"), rawStr("a"), []byte{0xC0, 7}), Version); string(p) != string(want) {
		t.Fatalf("Encode = %x, want %x", p, want)
	}
}

func TestParseStrictInt(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-1": true, "9223372036854775807": true, "-9223372036854775808": true,
		"9223372036854775808": false, "-9223372036854775809": false, "-0": false, "007": false,
		"+1": false, " 1": false, "1 ": false, "": false, "-": false, "18446744073709551616": false,
	} {
		v, ok := parseStrictInt(s)
		if ok != want || ok && strconv.FormatInt(v, 10) != s {
			t.Errorf("parseStrictInt(%q) = %d, %v", s, v, ok)
		}
	}
}
