package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/server"
)

// slowlogCluster starts one node whose slow log records commands slower than
// slowerThan µs and keeps maxLen entries, and returns a client of it.
func slowlogCluster(t *testing.T, slowerThan int64, maxLen int) *respClient {
	t.Helper()
	nodes := startCluster(t, 1, withConfig(func(c *server.Config) {
		c.SlowlogLogSlowerThan = slowerThan
		c.SlowlogMaxLen = maxLen
	}))
	return mustClient(t, leader(t, nodes).ClientAddr())
}

// TestSlowlog_EntriesAsRedis records every command (threshold 0) and checks
// SLOWLOG GET's entries field by field: id, Unix time, microseconds, the
// arguments truncated as Redis truncates them (32 arguments, 128 bytes per
// argument), the client's address and name; newest first, at most
// slowlog-max-len of them.
func TestSlowlog_EntriesAsRedis(t *testing.T) {
	c := slowlogCluster(t, 0, 4)
	c.MustReply(t, okReply(), "CLIENT", "SETNAME", "tester")
	c.MustReply(t, okReply(), "SLOWLOG", "RESET")
	c.MustReply(t, intReply(1), "SLOWLOG", "LEN") // the RESET itself, as in Redis
	before := time.Now().Unix()
	c.MustReply(t, okReply(), "SET", "k", "v")
	rpush := []string{"RPUSH", "list"}
	for i := range 38 {
		rpush = append(rpush, fmt.Sprintf("e%02d", i))
	}
	c.MustReply(t, intReply(38), rpush...)
	big := strings.Repeat("x", 200)
	c.MustReply(t, okReply(), "SET", "big", big)
	if r := c.MustDo(t, "NOSUCH", "a"); !r.ErrPrefix("ERR unknown command") { // never logged: not a command
		t.Fatalf("NOSUCH: %s", r)
	}
	if r := c.MustDo(t, "HELLO", "2", "SETNAME", "tester"); r.IsErr() { // never logged: HELLO may carry AUTH
		t.Fatalf("HELLO: %s", r)
	}

	got := c.MustDo(t, "SLOWLOG", "GET")
	if got.Kind != '*' || len(got.Arr) != 4 {
		t.Fatalf("SLOWLOG GET: want 4 entries (slowlog-max-len), got %s", got)
	}
	wantArgs := [][]string{
		{"SET", "big", strings.Repeat("x", 128) + "... (72 more bytes)"},
		append(append([]string{}, rpush[:31]...), "... (9 more arguments)"),
		{"SET", "k", "v"},
		{"SLOWLOG", "LEN"}, // the oldest of the five since RESET is gone
	}
	addr := c.Conn().LocalAddr().String()
	for i, e := range got.Arr {
		if e.Kind != '*' || len(e.Arr) != 6 {
			t.Fatalf("entry %d: want 6 fields, got %s", i, e)
		}
		id, ts, us, args, eaddr, name := e.Arr[0], e.Arr[1], e.Arr[2], e.Arr[3], e.Arr[4], e.Arr[5]
		if i > 0 && id.Int != got.Arr[i-1].Arr[0].Int-1 {
			t.Errorf("entry %d: id %d does not follow %d (newest first)", i, id.Int, got.Arr[i-1].Arr[0].Int)
		}
		if ts.Kind != ':' || ts.Int < before-1 || ts.Int > time.Now().Unix()+1 {
			t.Errorf("entry %d: timestamp %s is not the Unix time now", i, ts)
		}
		if us.Kind != ':' || us.Int < 0 || us.Int > 10_000_000 {
			t.Errorf("entry %d: duration %s µs", i, us)
		}
		var gotArgs []string
		for _, a := range args.Arr {
			gotArgs = append(gotArgs, a.Str)
		}
		if strings.Join(gotArgs, "|") != strings.Join(wantArgs[i], "|") {
			t.Errorf("entry %d: arguments\n got %q\nwant %q", i, gotArgs, wantArgs[i])
		}
		if eaddr.Str != addr || name.Str != "tester" {
			t.Errorf("entry %d: client %q name %q, want %q %q", i, eaddr.Str, name.Str, addr, "tester")
		}
	}
	// Writes are timed through their commit: more than nothing.
	if us := got.Arr[2].Arr[2].Int; us <= 0 {
		t.Errorf("SET took %d µs through Raft, want > 0", us)
	}

	c.MustReply(t, intReply(4), "SLOWLOG", "LEN")
	if r := c.MustDo(t, "SLOWLOG", "GET", "1"); len(r.Arr) != 1 {
		t.Errorf("SLOWLOG GET 1: %s", r)
	}
	if r := c.MustDo(t, "SLOWLOG", "GET", "0"); r.Kind != '*' || len(r.Arr) != 0 {
		t.Errorf("SLOWLOG GET 0: %s", r)
	}
	if r := c.MustDo(t, "SLOWLOG", "GET", "-1"); len(r.Arr) != 4 {
		t.Errorf("SLOWLOG GET -1: %d entries, want all 4", len(r.Arr))
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"SLOWLOG", "GET", "-2"}, "ERR count should be greater than or equal to -1"},
		{[]string{"SLOWLOG", "GET", "x"}, "ERR value is not an integer or out of range"},
		{[]string{"SLOWLOG", "GET", "1", "2"}, "ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP."},
		{[]string{"SLOWLOG", "LEN", "x"}, "ERR wrong number of arguments for 'slowlog|len' command"},
		{[]string{"SLOWLOG", "FOO"}, "ERR unknown subcommand 'FOO'. Try SLOWLOG HELP."},
		{[]string{"SLOWLOG"}, "ERR wrong number of arguments for 'slowlog' command"},
	} {
		c.MustReply(t, errReply(tc.want), tc.args...)
	}
	help := c.MustDo(t, "SLOWLOG", "HELP")
	if len(help.Arr) != 12 || !strings.HasPrefix(help.Arr[0].Str, "SLOWLOG <subcommand>") {
		t.Errorf("SLOWLOG HELP: %s", help)
	}
	c.MustReply(t, okReply(), "SLOWLOG", "RESET")
	c.MustReply(t, intReply(1), "SLOWLOG", "LEN")
	// IDs keep counting across RESET, as in Redis.
	if r := c.MustDo(t, "SLOWLOG", "GET"); len(r.Arr) < 1 || r.Arr[0].Arr[0].Int <= got.Arr[0].Arr[0].Int {
		t.Errorf("after RESET: %s (last id before it %d)", r, got.Arr[0].Arr[0].Int)
	}
	c.MustReply(t, reply{Kind: '*', Arr: []reply{
		bulkReply("slowlog-log-slower-than"), bulkReply("0"), bulkReply("slowlog-max-len"), bulkReply("4"),
	}}, "CONFIG", "GET", "slowlog-*")
}

// TestSlowlog_Threshold: fast commands stay out of the log under a high
// threshold, and a negative one turns it off.
func TestSlowlog_Threshold(t *testing.T) {
	for _, threshold := range []int64{5_000_000, -1} {
		t.Run(fmt.Sprint(threshold), func(t *testing.T) {
			c := slowlogCluster(t, threshold, 128)
			for i := range 20 {
				c.MustReply(t, okReply(), "SET", fmt.Sprint("k", i), "v")
				c.MustReply(t, bulkReply("v"), "GET", fmt.Sprint("k", i))
			}
			c.MustReply(t, intReply(0), "SLOWLOG", "LEN")
			c.MustReply(t, reply{Kind: '*', Arr: []reply{}}, "SLOWLOG", "GET")
		})
	}
}

// TestInfo_CommandstatsAndErrorstats checks INFO's per-command and
// per-error sections in Redis's format, and which INFO forms include them.
func TestInfo_CommandstatsAndErrorstats(t *testing.T) {
	c := slowlogCluster(t, 10000, 128)
	c.MustReply(t, okReply(), "SET", "k", "v")
	c.MustReply(t, okReply(), "SET", "k", "w")
	c.MustReply(t, errReply("ERR value is not an integer or out of range"), "INCR", "k")
	c.MustReply(t, errReply("WRONGTYPE Operation against a key holding the wrong kind of value"), "LPUSH", "k", "x")
	if r := c.MustDo(t, "NOSUCH"); !r.ErrPrefix("ERR unknown command") {
		t.Fatalf("NOSUCH: %s", r)
	}

	cmdstats := c.MustDo(t, "INFO", "commandstats").Str
	for _, want := range []string{
		"# Commandstats\r\n",
		"\r\ncmdstat_set:calls=2,usec=",
		"\r\ncmdstat_incr:calls=1,usec=",
		",rejected_calls=0,failed_calls=1\r\n",
	} {
		if !strings.Contains("\r\n"+cmdstats, want) {
			t.Errorf("INFO commandstats lacks %q:\n%s", want, cmdstats)
		}
	}
	if strings.Contains(cmdstats, "nosuch") {
		t.Errorf("INFO commandstats counts an unknown command:\n%s", cmdstats)
	}
	errstats := c.MustDo(t, "INFO", "errorstats").Str
	for _, want := range []string{"# Errorstats\r\n", "errorstat_ERR:count=2\r\n", "errorstat_WRONGTYPE:count=1\r\n"} {
		if !strings.Contains(errstats, want) {
			t.Errorf("INFO errorstats lacks %q:\n%s", want, errstats)
		}
	}
	def := c.MustDo(t, "INFO").Str
	if !strings.Contains(def, "# Errorstats") || strings.Contains(def, "# Commandstats") {
		t.Errorf("INFO (default) must have Errorstats and not Commandstats, as Redis:\n%s", def)
	}
	if !strings.Contains(def, "total_error_replies:3\r\n") {
		t.Errorf("INFO stats: want total_error_replies:3:\n%s", def)
	}
	if all := c.MustDo(t, "INFO", "all").Str; !strings.Contains(all, "# Commandstats") {
		t.Errorf("INFO all lacks Commandstats")
	}
}
