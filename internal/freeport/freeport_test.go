package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestAddrsAreDistinctListenableAndBelowEphemeralRange(t *testing.T) {
	addrs, err := Addrs(50)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range addrs {
		if seen[a] {
			t.Fatalf("%s handed out twice", a)
		}
		seen[a] = true
		_, ps, err := net.SplitHostPort(a)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := strconv.Atoi(ps)
		if p < Low || p >= High {
			t.Fatalf("%s outside [%d, %d)", a, Low, High)
		}
	}
	ln, err := net.Listen("tcp", addrs[0])
	if err != nil {
		t.Fatalf("listen on a handed-out address: %v", err)
	}
	ln.Close()
}
