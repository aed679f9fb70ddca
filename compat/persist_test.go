package compat

// SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE and MEMORY STATS / DOCTOR against
// redis-server: the parts the differential script cannot compare (work that
// ends in the background, replies that hold measurements).

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// infoField is one field of INFO section on c.
func infoField(t *testing.T, c *redis.Client, section, field string) string {
	t.Helper()
	s, err := c.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatalf("INFO %s: %v", section, err)
	}
	for _, l := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO %s has no %s", section, field)
	return ""
}

func TestCompat_PersistenceCommands(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	l := cl.SettledLeader(t)
	ctx := ctxT(t, 60*time.Second)
	for _, proto := range []int{2, 3} {
		for name, addr := range map[string]string{"redis-server": redisAddr, "leader": l.ClientAddr(), "follower": cl.Followers(l)[0].ClientAddr()} {
			t.Run(name+"/RESP"+strconv.Itoa(proto), func(t *testing.T) {
				c := newClient(t, addr, proto)
				// Wait for anything still running from an earlier subtest.
				waitFor(t, 20*time.Second, func() bool { return infoField(t, c, "persistence", "rdb_bgsave_in_progress") == "0" },
					"a background save never ends")
				before, err := c.LastSave(ctx).Result()
				if err != nil || before <= 0 {
					t.Fatalf("LASTSAVE: %d %v", before, err)
				}
				saves, _ := strconv.Atoi(infoField(t, c, "persistence", "rdb_saves"))
				if err := c.Set(ctx, "persist:"+name, "v", 0).Err(); err != nil {
					t.Fatal(err)
				}
				if v, err := c.BgSave(ctx).Result(); v != "Background saving started" || err != nil {
					t.Fatalf("BGSAVE: %q %v", v, err)
				}
				// A save finishes: rdb_saves grows, LASTSAVE does not go back.
				waitFor(t, 20*time.Second, func() bool {
					n, _ := strconv.Atoi(infoField(t, c, "persistence", "rdb_saves"))
					return n > saves && infoField(t, c, "persistence", "rdb_bgsave_in_progress") == "0"
				}, "BGSAVE never finished")
				if st := infoField(t, c, "persistence", "rdb_last_bgsave_status"); st != "ok" {
					t.Errorf("rdb_last_bgsave_status %s", st)
				}
				after, err := c.LastSave(ctx).Result()
				if err != nil || after < before || after < time.Now().Add(-time.Minute).Unix() {
					t.Errorf("LASTSAVE after BGSAVE: %d %v (before %d)", after, err, before)
				}
				if v, err := c.Do(ctx, "BGREWRITEAOF").Text(); err != nil || !strings.HasPrefix(v, "Background append only file rewriting ") {
					t.Errorf("BGREWRITEAOF: %q %v", v, err)
				}
				waitFor(t, 20*time.Second, func() bool {
					return infoField(t, c, "persistence", "rdb_bgsave_in_progress") == "0" &&
						infoField(t, c, "persistence", "aof_rewrite_in_progress") == "0"
				}, "BGREWRITEAOF never finished")
				if v, err := c.Save(ctx).Result(); v != "OK" || err != nil {
					t.Errorf("SAVE: %q %v", v, err)
				}
			})
		}
	}
}

func TestCompat_MemoryStatsAndDoctor(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	l := cl.SettledLeader(t)
	ctx := ctxT(t, 30*time.Second)
	keysOf := func(t *testing.T, addr string, proto int) []string {
		t.Helper()
		c := newClient(t, addr, proto)
		if err := c.Set(ctx, "memstats:k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		v, err := c.Do(ctx, "MEMORY", "STATS").Result()
		if err != nil {
			t.Fatalf("MEMORY STATS: %v", err)
		}
		var all, keys []string
		switch m := v.(type) {
		case map[any]any: // RESP3: go-redis loses the order; compare as sets
			for k := range m {
				all = append(all, k.(string))
			}
			slices.Sort(all)
		case []any:
			for i := 0; i+1 < len(m); i += 2 {
				all = append(all, m[i].(string))
			}
		default:
			t.Fatalf("MEMORY STATS: %T %v", v, v)
		}
		// One db.<n> per non-empty database: which ones depends on what
		// other tests left behind; db.0 holds the key just set.
		for _, k := range all {
			if !strings.HasPrefix(k, "db.") || k == "db.0" {
				keys = append(keys, k)
			}
		}
		doc, err := c.Do(ctx, "MEMORY", "DOCTOR").Text()
		if err != nil || !strings.HasPrefix(doc, "Hi Sam, ") {
			t.Errorf("MEMORY DOCTOR: %q %v", doc, err)
		}
		return keys
	}
	for _, proto := range []int{2, 3} {
		want := strings.Join(keysOf(t, redisAddr, proto), " ")
		for _, n := range []*cnode{l, cl.Followers(l)[0]} {
			if got := strings.Join(keysOf(t, n.ClientAddr(), proto), " "); got != want {
				t.Errorf("RESP%d %s: MEMORY STATS fields\n got %s\nwant %s", proto, n.ID, got, want)
			}
		}
	}
}
