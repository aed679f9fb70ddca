package fsm_test

import (
	"strings"
	"testing"
)

// Expected replies are Redis 7.0.15's: TestTablesAgainstRedis replays these
// tables against a live redis-server.

func TestBitmapCommands(t *testing.T) { runCases(t, bitmapCases()) }

func bitmapCases() []tc {
	ab := lines("SET k ab")
	foobar := lines("SET k foobar")
	return []tc{
		// SETBIT and GETBIT
		{name: "setbit creates", steps: []step{{"SETBIT k 7 1", ":0"}, {"GET k", `"\x01"`}, {"SETBIT k 7 1", ":1"},
			{"SETBIT k 7 0", ":1"}, {"GET k", `"\x00"`}, {"STRLEN k", ":1"}}},
		{name: "setbit grows with zeros", setup: ab, steps: []step{{"SETBIT k 31 1", ":0"}, {"GET k", `"ab\x00\x01"`},
			{"SETBIT k 100 0", ":0"}, {"STRLEN k", ":13"}}},
		{name: "setbit clearing beyond the end grows", steps: []step{{"SETBIT k 20 0", ":0"}, {"GET k", `"\x00\x00\x00"`}}},
		{name: "setbit offset errors", steps: []step{
			{"SETBIT k -1 1", "-ERR bit offset is not an integer or out of range"},
			{"SETBIT k 4294967296 1", "-ERR bit offset is not an integer or out of range"},
			{"SETBIT k x 1", "-ERR bit offset is not an integer or out of range"},
			{"SETBIT k 1.5 1", "-ERR bit offset is not an integer or out of range"},
			{"SETBIT k 0 2", "-ERR bit is not an integer or out of range"},
			{"SETBIT k 0 -1", "-ERR bit is not an integer or out of range"},
			{"SETBIT k x 2", "-ERR bit offset is not an integer or out of range"},
			{"EXISTS k", ":0"}}},
		{name: "setbit wrongtype", setup: lines("RPUSH k a"), steps: []step{{"SETBIT k 0 1", errWrongType},
			{"SETBIT k -1 1", "-ERR bit offset is not an integer or out of range"}, {"GETBIT k 0", errWrongType}}},
		{name: "setbit keeps the ttl", setup: lines("SET k a EX 100"), steps: []step{{"SETBIT k 0 1", ":0"}, {"TTL k", ":100"}, {"GET k", `"\xe1"`}}},
		{name: "getbit", setup: ab, steps: []step{{"GETBIT k 1", ":1"}, {"GETBIT k 0", ":0"}, {"GETBIT k 15", ":0"},
			{"GETBIT k 14", ":1"}, {"GETBIT k 16", ":0"}, {"GETBIT k 999999", ":0"}, {"GETBIT missing 3", ":0"},
			{"GETBIT k -1", "-ERR bit offset is not an integer or out of range"},
			{"GETBIT missing 4294967296", "-ERR bit offset is not an integer or out of range"}}},

		// Bitmaps are strings.
		{name: "bitmaps mix with string commands", steps: []step{{"SETBIT k 1 1", ":0"}, {"SETBIT k 7 1", ":0"},
			{"GET k", `"A"`}, {"APPEND k BC", ":3"}, {"GETBIT k 9", ":1"}, {"SETRANGE k 4 Z", ":5"},
			{"GET k", `"ABC\x00Z"`}, {"GETRANGE k 1 2", `"BC"`}, {"BITCOUNT k", ":11"}, {"SETBIT k 39 0", ":0"},
			{"GET k", `"ABC\x00Z"`}, {"INCR k", "-ERR value is not an integer or out of range"}, {"TYPE k", "+string"}}},
		{name: "setbit on an integer string", setup: lines("SET k 1"), steps: []step{{"SETBIT k 6 0", ":0"},
			{"OBJECT ENCODING k", `"raw"`}, {"SETBIT k 6 1", ":0"}, {"GET k", `"3"`}, {"INCR k", ":4"},
			{"OBJECT ENCODING k", `"int"`}}},
		{name: "setbit result is raw", steps: []step{{"SETBIT k 0 1", ":0"}, {"OBJECT ENCODING k", `"raw"`}}},
		{name: "setbit that changes nothing still makes raw", setup: lines("SET k a"), steps: []step{
			{"OBJECT ENCODING k", `"embstr"`}, {"SETBIT k 0 0", ":0"}, {"OBJECT ENCODING k", `"raw"`}}},
		{name: "raw survives rename and copy", steps: []step{{"SETBIT k 0 1", ":0"}, {"RENAME k j", "+OK"},
			{"OBJECT ENCODING j", `"raw"`}, {"COPY j i", ":1"}, {"OBJECT ENCODING i", `"raw"`}, {"SET j x", "+OK"},
			{"OBJECT ENCODING j", `"embstr"`}}},
		{name: "append and setrange make raw", setup: lines("SET k a", "SET j b"), steps: []step{
			{"APPEND k b", ":2"}, {"OBJECT ENCODING k", `"raw"`}, {"SETRANGE j 0 c", ":1"}, {"OBJECT ENCODING j", `"raw"`},
			{"SETRANGE n 0 1", ":1"}, {"OBJECT ENCODING n", `"raw"`}, {"APPEND m 1", ":1"}, {"OBJECT ENCODING m", `"int"`}}},

		// BITCOUNT
		{name: "bitcount", setup: foobar, steps: []step{{"BITCOUNT k", ":26"}, {"BITCOUNT k 0 0", ":4"},
			{"BITCOUNT k 1 1", ":6"}, {"BITCOUNT k 1 -2", ":18"}, {"BITCOUNT k -2 -1", ":7"}, {"BITCOUNT k 3 1", ":0"},
			{"BITCOUNT k 0 100", ":26"}, {"BITCOUNT k -100 -50", ":4"}, {"BITCOUNT k 5 30 BIT", ":17"},
			{"BITCOUNT k 1 1 BYTE", ":6"}, {"BITCOUNT k 1 1 byte", ":6"}, {"BITCOUNT k -3 -1 BIT", ":1"}}},
		{name: "bitcount errors", setup: foobar, steps: []step{{"BITCOUNT k 1", errSyntax},
			{"BITCOUNT k 1 2 3", errSyntax}, {"BITCOUNT k 1 2 BYTES", errSyntax}, {"BITCOUNT k a 1", errNotInt},
			{"BITCOUNT k 1 2 BIT x", errSyntax}}},
		{name: "bitcount missing key ignores the range", steps: []step{{"BITCOUNT k", ":0"}, {"BITCOUNT k 1", ":0"},
			{"BITCOUNT k a b c", ":0"}}},
		{name: "bitcount wrongtype", setup: lines("SADD k a"), steps: []step{{"BITCOUNT k", errWrongType},
			{"BITCOUNT k 1", errWrongType}}},

		// BITPOS
		{name: "bitpos", setup: lines(`SET k "\xff\xf0\x00"`), steps: []step{{"BITPOS k 0", ":12"}, {"BITPOS k 1", ":0"},
			{"BITPOS k 1 2", ":-1"}, {"BITPOS k 0 2", ":16"}, {"BITPOS k 0 0 -1", ":12"}, {"BITPOS k 1 7 15 BIT", ":7"},
			{"BITPOS k 0 7 15 BIT", ":12"}, {"BITPOS k 1 1 1 BYTE", ":8"}, {"BITPOS k 1 -1", ":-1"}}},
		{name: "bitpos all ones", setup: lines(`SET k "\xff\xff"`), steps: []step{{"BITPOS k 0", ":16"},
			{"BITPOS k 0 0 -1", ":-1"}, {"BITPOS k 0 0", ":16"}, {"BITPOS k 0 0 1 BIT", ":-1"}}},
		{name: "bitpos missing key", steps: []step{{"BITPOS k 1", ":-1"}, {"BITPOS k 0", ":0"},
			{"BITPOS k 0 x y", ":0"}, {"BITPOS k 2", "-ERR The bit argument must be 1 or 0."}}},
		{name: "bitpos errors", setup: ab, steps: []step{{"BITPOS k 2", "-ERR The bit argument must be 1 or 0."},
			{"BITPOS k x", errNotInt}, {"BITPOS k 1 x", errNotInt},
			{"BITPOS k 1 0 x", errNotInt}, {"BITPOS k 1 0 1 BITS", errSyntax}, {"BITPOS k 1 0 1 BIT x", errSyntax}}},
		{name: "bitpos wrongtype", setup: lines("HSET k a 1"), steps: []step{{"BITPOS k 1", errWrongType},
			{"BITPOS k 3", "-ERR The bit argument must be 1 or 0."}}},

		// BITOP
		{name: "bitop", setup: lines("SET a foobar", "SET b abcdef", "SET c x"), steps: []step{
			{"BITOP AND d a b", ":6"}, {"GET d", `"` + "`bc`ab" + `"`}, {"BITOP OR d a b", ":6"}, {"GET d", `"goofev"`},
			{"BITOP XOR d a b", ":6"}, {"GET d", `"\a\r\f\x06\x04\x14"`}, {"BITOP NOT d c", ":1"}, {"GET d", `"\x87"`},
			{"BITOP and d a c", ":6"}, {"GET d", "\"`\\x00\\x00\\x00\\x00\\x00\""},
			{"BITOP or d c a", ":6"}, {"GET d", `"~oobar"`}, {"OBJECT ENCODING d", `"raw"`}}},
		{name: "bitop missing sources", setup: lines("SET a ab", "SET d x EX 100"), steps: []step{
			{"BITOP OR d a nosuch", ":2"}, {"TTL d", ":-1"}, {"BITOP AND d nosuch a", ":2"}, {"GET d", `"\x00\x00"`},
			{"BITOP OR d nosuch other", ":0"}, {"EXISTS d", ":0"}, {"BITOP NOT d nosuch", ":0"}}},
		{name: "bitop errors", setup: lines("SET a ab", "RPUSH l x"), steps: []step{
			{"BITOP NOT d a a", "-ERR BITOP NOT must be called with a single source key."},
			{"BITOP NAND d a", errSyntax}, {"BITOP AND d a l", errWrongType}, {"BITOP AND d l nosuch", errWrongType},
			{"EXISTS d", ":0"}, {"BITOP AND l a", ":2"}, {"TYPE l", "+string"}}},
		{name: "bitop empty string source", setup: lines(`SET a ""`, "SET d x"), steps: []step{
			{"BITOP OR d a", ":0"}, {"EXISTS d", ":0"}}},

		// BITFIELD
		{name: "bitfield set get incrby", steps: []step{{"BITFIELD k SET i8 0 100 GET i8 0", "[:0 :100]"},
			{"BITFIELD k INCRBY i8 0 100", "[:-56]"}, {"BITFIELD k GET u8 0 GET u4 0 GET i4 4", "[:200 :12 :-8]"},
			{"BITFIELD k SET u8 #1 255 GET u8 8", "[:0 :255]"}, {"GET k", `"\xc8\xff"`}, {"BITFIELD k", "[]"},
			{"OBJECT ENCODING k", `"raw"`}}},
		{name: "bitfield overflow", setup: lines("SET k x"), steps: []step{
			{"BITFIELD k OVERFLOW SAT INCRBY u2 100 5 INCRBY i8 0 -300", "[:3 :-128]"},
			{"BITFIELD k OVERFLOW FAIL INCRBY u2 100 1 INCRBY u2 100 -1", "[(nil) :2]"},
			{"BITFIELD k OVERFLOW WRAP INCRBY u2 100 3 OVERFLOW fail SET u2 100 9", "[:1 (nil)]"},
			{"BITFIELD k incrby i64 0 9223372036854775807 overflow sat incrby i64 0 9223372036854775807", "[:-1 :9223372036854775806]"},
			{"BITFIELD k GET u63 0 GET i64 0", "[:4611686018427387903 :9223372036854775806]"}}},
		{name: "bitfield overflow fail still creates the key", steps: []step{
			{"BITFIELD k OVERFLOW FAIL INCRBY u8 8 300", "[(nil)]"}, {"GET k", `"\x00\x00"`}}},
		{name: "bitfield overflow fail still grows the key", setup: lines("SET k hello"), steps: []step{
			{"BITFIELD k OVERFLOW FAIL SET u1 122 7", "[(nil)]"},
			{"GET k", `"hello\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"`}, {"BITFIELD k OVERFLOW FAIL SET u1 200 7", "[(nil)]"},
			{"STRLEN k", ":26"}}},
		{name: "bitfield errors", setup: ab, steps: []step{
			{"BITFIELD k GET u64 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."},
			{"BITFIELD k GET i65 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."},
			{"BITFIELD k GET x8 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."},
			{"BITFIELD k GET u8 -1", "-ERR bit offset is not an integer or out of range"},
			{"BITFIELD k GET u8 #-1", "-ERR bit offset is not an integer or out of range"},
			{"BITFIELD k SET u8 0 x", errNotInt}, {"BITFIELD k INCRBY u8 0", errSyntax}, {"BITFIELD k FOO", errSyntax},
			{"BITFIELD k OVERFLOW foo", "-ERR Invalid OVERFLOW type specified"}, {"BITFIELD k GET u8", errSyntax},
			{"GET k", `"ab"`}}},
		{name: "bitfield wrongtype after parsing", setup: lines("SADD k a"), steps: []step{
			{"BITFIELD k GET u8 0", errWrongType}, {"BITFIELD k SET u8 0 1", errWrongType},
			{"BITFIELD k GET u99 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."},
			{"BITFIELD_RO k GET u8 0", errWrongType}}},
		{name: "bitfield_ro", setup: ab, steps: []step{{"BITFIELD_RO k GET u8 0 GET i4 #3", "[:97 :2]"},
			{"BITFIELD_RO k SET u8 0 1", "-ERR BITFIELD_RO only supports the GET subcommand"},
			{"BITFIELD_RO k INCRBY u8 0 1 GET u99 0", "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."},
			{"BITFIELD_RO k OVERFLOW SAT GET u8 0", "[:97]"}, {"BITFIELD_RO missing GET u8 0", "[:0]"},
			{"BITFIELD_RO k", "[]"}, {"EXISTS missing", ":0"}}},
		{name: "bitfield get only does not create", steps: []step{{"BITFIELD k GET u8 0", "[:0]"}, {"EXISTS k", ":0"}}},
		{name: "bitfield big offset", steps: []step{{"BITFIELD k SET u8 " + strings.Repeat("9", 11) + " 1",
			"-ERR bit offset is not an integer or out of range"}, {"BITFIELD k GET u8 4294967288", "[:0]"}}},
	}
}
