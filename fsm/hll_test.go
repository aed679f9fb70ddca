package fsm_test

import (
	"strings"
	"testing"
)

// Expected replies are Redis 7.0.15's (TestTablesAgainstRedis).

func TestHLLCommands(t *testing.T) { runCases(t, hllCases()) }

const errNotHLL = "-WRONGTYPE Key is not a valid HyperLogLog string value."

func hllCases() []tc {
	abc := lines("PFADD h a b c")
	empty := `"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff"`
	return []tc{
		{name: "pfadd and pfcount", steps: []step{{"PFADD h a b c", ":1"}, {"PFADD h a", ":0"}, {"PFADD h d", ":1"},
			{"PFCOUNT h", ":4"}, {"PFCOUNT nosuch", ":0"}, {"TYPE h", "+string"}, {"OBJECT ENCODING h", `"raw"`}}},
		{name: "pfadd bytes equal redis", setup: abc, steps: []step{
			{"GET h", "\"HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x80`\\xf3\\x80P\\xb1\\x84K\\xfb\\x80BZ\""},
			{"STRLEN h", ":27"}}},
		{name: "pfadd without elements creates", steps: []step{{"PFADD h", ":1"}, {"PFADD h", ":0"}, {"GET h", empty},
			{"PFCOUNT h", ":0"}}},
		{name: "pfcount several keys", setup: lines("PFADD h a b c", "PFADD i c d e f"), steps: []step{
			{"PFCOUNT h i", ":6"}, {"PFCOUNT h nosuch i h", ":6"}, {"PFCOUNT nosuch other", ":0"}}},
		{name: "pfmerge", setup: lines("PFADD h a b c", "PFADD i c d e f"), steps: []step{
			{"PFMERGE d h i", "+OK"}, {"PFCOUNT d", ":6"}, {"PFMERGE d", "+OK"}, {"PFCOUNT d", ":6"},
			{"PFMERGE e", "+OK"}, {"GET e", empty}, {"PFMERGE h nosuch", "+OK"}, {"PFCOUNT h", ":3"},
			{"OBJECT ENCODING e", `"raw"`}}},
		{name: "pfmerge bytes equal redis", setup: lines("PFADD h a b c", "PFADD i c d e f"), steps: []step{
			{"PFMERGE d i h", "+OK"}, {"GETRANGE d 16 -1", `"Fm\x80V\f\x80Dv\x80P\xb1\x84I\x8c\x80Bm\x80BZ"`}}},
		{name: "pfmerge into an existing key keeps its ttl", setup: lines("PFADD h a", "EXPIRE h 100", "PFADD i b"), steps: []step{
			{"PFMERGE h i", "+OK"}, {"TTL h", ":100"}, {"PFCOUNT h", ":2"}}},
		{name: "hll wrong types", setup: lines("SET s foo", "RPUSH l a", "PFADD h a"), steps: []step{
			{"PFADD s a", errNotHLL}, {"PFCOUNT s", errNotHLL}, {"PFADD l a", errWrongType}, {"PFCOUNT l", errWrongType},
			{"PFCOUNT h s", errNotHLL}, {"PFCOUNT h l", errWrongType}, {"PFMERGE h s", errNotHLL},
			{"PFMERGE d h l", errWrongType}, {"EXISTS d", ":0"}, {"PFMERGE s h", errNotHLL},
			{`SET t "HYLL\x00"`, "+OK"}, {"PFADD t a", errNotHLL},
			{`SET t "HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"`, "+OK"}, {"PFCOUNT t", errNotHLL}}},
		{name: "hll corrupt sparse", setup: lines(`SET h "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xfe"`), steps: []step{
			{"PFCOUNT h", "-INVALIDOBJ Corrupted HLL object detected"}, {"PFCOUNT h h", "-INVALIDOBJ Corrupted HLL object detected"},
			{"PFMERGE d h", "-INVALIDOBJ Corrupted HLL object detected"}, {"PFDEBUG TODENSE h", "-INVALIDOBJ Corrupted HLL object detected"}, {"PFDEBUG DECODE h", `"Z:16383"`},
			{"PFADD h a", ":1"}, {"PFDEBUG DECODE h", `"Z:12711 v:2,1 Z:3671"`}}},
		{name: "pfadd on a hand-made hll", setup: lines(`SET h "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff"`), steps: []step{
			{"OBJECT ENCODING h", `"embstr"`}, {"PFADD h", ":0"}, {"OBJECT ENCODING h", `"raw"`}, {"PFADD h x", ":1"},
			{"PFCOUNT h", ":1"}}},
		{name: "pfcount uses a cached count", setup: lines(`SET h "HYLL\x01\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x7f\xff"`), steps: []step{
			{"PFCOUNT h", ":5"}, {"PFADD h", ":0"}, {"PFCOUNT h", ":5"}, {"PFADD h a", ":1"}, {"PFCOUNT h", ":1"}}},

		// Promotion to dense, by size or by a register over 32.
		{name: "pfadd promotes to dense", setup: lines("PFADD h " + strings.Join(manyElements(2000), " ")), steps: []step{
			{"PFDEBUG ENCODING h", "+dense"}, {"STRLEN h", ":12304"}, {"PFCOUNT h", ":2003"}}},
		{name: "pfdebug", setup: abc, steps: []step{{"PFDEBUG ENCODING h", "+sparse"},
			{"PFDEBUG DECODE h", `"Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603"`},
			{"PFDEBUG foo h", "-ERR Unknown PFDEBUG subcommand 'foo'"}, {"PFDEBUG foo nosuch", "-ERR The specified key does not exist"},
			{"PFDEBUG TODENSE h", ":1"}, {"PFDEBUG TODENSE h", ":0"}, {"PFDEBUG ENCODING h", "+dense"},
			{"PFDEBUG DECODE h", "-ERR HLL encoding is not sparse"}, {"STRLEN h", ":12304"},
			{"GETRANGE h 0 15", `"HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80"`}, {"PFCOUNT h", ":3"}}},
		{name: "pfdebug wrong types", setup: lines("SET s x", "RPUSH l a"), steps: []step{
			{"PFDEBUG ENCODING s", errNotHLL}, {"PFDEBUG GETREG l", errWrongType}}},
		{name: "pfselftest", steps: []step{{"PFSELFTEST", "+OK"}}},
	}
}

// manyElements is n distinct elements.
func manyElements(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "e" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('0'+i/26%10)) + string(rune('0'+i/260))
	}
	return out
}
