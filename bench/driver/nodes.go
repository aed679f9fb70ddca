package driver

import (
	"fmt"
	"strings"
)

// Node is one server process: its name (as in the script's state dir), the
// address clients use, and for Understudy its admin address.
type Node struct {
	Name  string
	Addr  string
	Admin string
}

// ParseNodes reads "name=addr[@admin],name=addr[@admin],...". Empty input
// gives no nodes.
func ParseNodes(s string) ([]Node, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []Node
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		name, rest, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || name == "" || rest == "" {
			return nil, fmt.Errorf("node %q: want name=addr[@admin]", part)
		}
		if seen[name] {
			return nil, fmt.Errorf("node %q listed twice", name)
		}
		seen[name] = true
		addr, admin, _ := strings.Cut(rest, "@")
		if addr == "" {
			return nil, fmt.Errorf("node %q: empty address", part)
		}
		out = append(out, Node{Name: name, Addr: addr, Admin: admin})
	}
	return out, nil
}

// Addrs lists the nodes' client addresses.
func Addrs(ns []Node) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Addr
	}
	return out
}

// ByAddr finds the node with client address addr.
func ByAddr(ns []Node, addr string) (Node, bool) {
	for _, n := range ns {
		if n.Addr == addr || strings.TrimPrefix(n.Addr, "http://") == addr {
			return n, true
		}
	}
	return Node{}, false
}
