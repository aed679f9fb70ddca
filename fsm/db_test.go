package fsm_test

import (
	"testing"

	"github.com/understudy/understudy/fsm"
)

// dbCases: databases are separate keyspaces; MOVE, COPY ... DB and SWAPDB
// cross them with Redis 7.0's replies.
func dbCases() []tc {
	return []tc{
		{name: "databases are separate", steps: []step{
			{"SET k zero", "+OK"}, {"SELECT 3", "+OK"}, {"GET k", "(nil)"}, {"SET k three", "+OK"},
			{"DBSIZE", ":1"}, {"SELECT 0", "+OK"}, {"GET k", `"zero"`}, {"SELECT 16", "-ERR DB index is out of range"},
			{"SELECT -1", "-ERR DB index is out of range"}}},
		{name: "move", setup: lines("SET k v", "PEXPIRE k 100000"), steps: []step{
			{"MOVE k 2", ":1"}, {"EXISTS k", ":0"}, {"MOVE k 2", ":0"}, {"SELECT 2", "+OK"}, {"GET k", `"v"`},
			{"PTTL k", ":100000"}, {"MOVE k 2", "-ERR source and destination objects are the same"},
			{"MOVE k 16", "-ERR DB index is out of range"}, {"MOVE k x", "-ERR value is not an integer or out of range"},
			{"SET o x", "+OK"}, {"SELECT 0", "+OK"}, {"SET o y", "+OK"}, {"MOVE o 2", ":0"}, {"GET o", `"y"`}}},
		{name: "move a collection", setup: lines("RPUSH l a b c"), steps: []step{
			{"MOVE l 1", ":1"}, {"SELECT 1", "+OK"}, {"RPUSH l d", ":4"}, {"LRANGE l 0 -1", `["a" "b" "c" "d"]`}}},
		{name: "copy", setup: lines("HSET h a 1 b 2", "PEXPIRE h 50000"), steps: []step{
			{"COPY h h2", ":1"}, {"HSET h2 c 3", ":1"}, {"HLEN h", ":2"}, {"PTTL h2", ":50000"},
			{"COPY h h2", ":0"}, {"COPY h h2 REPLACE", ":1"}, {"HLEN h2", ":2"},
			{"COPY h h", "-ERR source and destination objects are the same"},
			{"COPY h h DB 4", ":1"}, {"COPY nope x", ":0"}, {"COPY h x DB 99", "-ERR DB index is out of range"},
			{"COPY h x DB y", "-ERR value is not an integer or out of range"}, {"COPY h x FOO", "-ERR syntax error"},
			{"COPY h x DB", "-ERR syntax error"}, {"SELECT 4", "+OK"}, {"HGETALL h", `%["a" "1" "b" "2"]`},
			{"OBJECT ENCODING h", `"listpack"`}}},
		{name: "swapdb", setup: lines("SET a 0", "SELECT 1", "SET b 1", "SET c 1"), steps: []step{
			{"SWAPDB 0 1", "+OK"}, {"DBSIZE", ":1"}, {"GET a", `"0"`}, {"SELECT 0", "+OK"}, {"GET b", `"1"`},
			{"SWAPDB 0 0", "+OK"}, {"DBSIZE", ":2"}, {"SWAPDB 0 16", "-ERR DB index is out of range"},
			{"SWAPDB x 1", "-ERR invalid first DB index"}, {"SWAPDB 1 x", "-ERR invalid second DB index"},
			{"SWAPDB 0 5", "+OK"}, {"DBSIZE", ":0"}}},
		{name: "flushdb and flushall", setup: lines("SET a 0", "SELECT 1", "SET a 1"), steps: []step{
			{"FLUSHDB", "+OK"}, {"DBSIZE", ":0"}, {"SELECT 0", "+OK"}, {"DBSIZE", ":1"}, {"SELECT 1", "+OK"},
			{"SET a 1", "+OK"}, {"FLUSHALL", "+OK"}, {"DBSIZE", ":0"}, {"SELECT 0", "+OK"}, {"DBSIZE", ":0"}}},
	}
}

func TestDatabases(t *testing.T) { runCases(t, dbCases()) }

// TestLevel1HasOneDatabase: before the cluster reaches level 2 there is
// database 0 only, and the commands that name databases are refused.
func TestLevel1HasOneDatabase(t *testing.T) {
	h := newLevel1Harness()
	if got := h.f.Databases(); got != 1 {
		t.Fatalf("Databases() = %d at level 1", got)
	}
	if got := h.run(t, "SELECT 1"); got != "-ERR DB index is out of range" {
		t.Errorf("SELECT 1 at level 1: %s", got)
	}
	h.run(t, "SET k v")
	if got := h.run(t, "MOVE k 0"); got[0] != '-' || !contains(got, "needs cluster version 2") {
		t.Errorf("MOVE at level 1: %s", got)
	}
	h.internal(t, "level", "2", "16")
	if got := h.run(t, "MOVE k 1"); got != ":1" {
		t.Errorf("MOVE after the level rose: %s", got)
	}
	// The level never goes down, and the databases stay as first fixed.
	h.internal(t, "level", "1", "4")
	h.internal(t, "level", "2", "4")
	if h.f.Level() != fsm.Level2 || h.f.Databases() != 16 {
		t.Errorf("level %d, %d databases", h.f.Level(), h.f.Databases())
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
