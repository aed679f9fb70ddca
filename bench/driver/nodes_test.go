package driver

import (
	"strings"
	"testing"
)

func TestParseNodes(t *testing.T) {
	ns, err := ParseNodes("n1=127.0.0.1:1@127.0.0.1:2, n2=127.0.0.1:3")
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 2 || ns[0] != (Node{"n1", "127.0.0.1:1", "127.0.0.1:2"}) || ns[1] != (Node{"n2", "127.0.0.1:3", ""}) {
		t.Fatalf("got %+v", ns)
	}
	if n, ok := ByAddr(ns, "127.0.0.1:3"); !ok || n.Name != "n2" {
		t.Fatalf("ByAddr: %+v %v", n, ok)
	}
	if ns, err := ParseNodes(" "); err != nil || ns != nil {
		t.Fatalf("empty: %v %v", ns, err)
	}
	for _, bad := range []string{"n1", "=a", "n1=", "n1=a,n1=b", "n1=@x"} {
		if _, err := ParseNodes(bad); err == nil {
			t.Errorf("ParseNodes(%q) accepted", bad)
		}
	}
}

func TestParseStatus(t *testing.T) {
	txt := "Name:\tredis-server\nVmPeak:\t  99999 kB\nVmRSS:\t   12345 kB\nRssAnon:\t    1000 kB\nRssFile:\t 11345 kB\n"
	m, err := ParseStatus(strings.NewReader(txt))
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS != 12345*1024 || m.Anon != 1000*1024 {
		t.Fatalf("got %+v", m)
	}
	if _, err := ParseStatus(strings.NewReader("Name:\tx\n")); err == nil {
		t.Fatal("accepted a status without VmRSS")
	}
}
