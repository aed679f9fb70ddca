package compat

// ACL LOG against redis-server: a refused AUTH, logged once and then
// counted, through leader and follower in RESP2 and RESP3 (each node keeps
// its own log, as each Redis instance does).

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCompat_ACLLog(t *testing.T) {
	needRedis(t)
	cl := shared(t)
	l := cl.SettledLeader(t)
	ctx := ctxT(t, 30*time.Second)
	for _, proto := range []int{2, 3} {
		for name, addr := range map[string]string{"redis-server": redisAddr, "leader": l.ClientAddr(), "follower": cl.Followers(l)[0].ClientAddr()} {
			c := newClient(t, addr, proto)
			if err := c.Do(ctx, "ACL", "LOG", "RESET").Err(); err != nil {
				t.Fatalf("%s: ACL LOG RESET: %v", name, err)
			}
			for range 2 {
				if err := c.Do(ctx, "AUTH", "acllog-nobody", "x").Err(); err == nil || !strings.HasPrefix(err.Error(), "WRONGPASS") {
					t.Fatalf("%s: AUTH of an unknown user: %v", name, err)
				}
			}
			v, err := c.Do(ctx, "ACL", "LOG").Slice()
			if err != nil || len(v) != 1 {
				t.Fatalf("%s RESP%d: ACL LOG: %v %v", name, proto, v, err)
			}
			e := asMap(t, v[0])
			got := []string{}
			for _, k := range []string{"count", "reason", "context", "object", "username"} {
				got = append(got, k+"="+stringOf(e[k]))
			}
			if strings.Join(got, " ") != "count=2 reason=auth context=toplevel object=AUTH username=acllog-nobody" || len(e) != 7 ||
				!strings.HasPrefix(stringOf(e["client-info"]), "id=") || e["age-seconds"] == nil {
				t.Errorf("%s RESP%d: ACL LOG entry %v", name, proto, e)
			}
			if v, err := c.Do(ctx, "ACL", "LOG", "0").Slice(); err != nil || len(v) != 0 {
				t.Errorf("%s: ACL LOG 0: %v %v", name, v, err)
			}
		}
	}
}

func stringOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return ""
}
