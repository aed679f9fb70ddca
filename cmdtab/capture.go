package cmdtab

import (
	"bufio"
	"fmt"
	"io"
	"sort"
)

// Capture asks a running reference server (redis-server 7.0.15) on rw for
// COMMAND INFO and COMMAND DOCS of every command, and writes them to w in
// the form Reference reads: the INFO entries as one RESP3 array, then the
// DOCS map, both sorted by name at every level so the file is stable.
// scripts/gen-commands.sh runs it (through cmdtab/gen) to make reference.resp.
func Capture(w io.Writer, rw io.ReadWriter) error {
	r := bufio.NewReader(rw)
	ask := func(args ...string) (Node, error) {
		req := []byte(fmt.Sprintf("*%d\r\n", len(args)))
		for _, a := range args {
			req = append(req, fmt.Sprintf("$%d\r\n%s\r\n", len(a), a)...)
		}
		if _, err := rw.Write(req); err != nil {
			return Node{}, err
		}
		n, err := readNode(r)
		if err == nil && n.Type == '-' {
			err = fmt.Errorf("%s", n.Str)
		}
		return n, err
	}
	if _, err := ask("HELLO", "3"); err != nil {
		return fmt.Errorf("HELLO 3: %w", err)
	}
	info, err := ask("COMMAND", "INFO")
	if err != nil {
		return fmt.Errorf("COMMAND INFO: %w", err)
	}
	docs, err := ask("COMMAND", "DOCS")
	if err != nil {
		return fmt.Errorf("COMMAND DOCS: %w", err)
	}
	sortInfo(&info)
	sortDocs(&docs)
	out := appendNode(nil, info)
	out = appendNode(out, docs)
	_, err = w.Write(out)
	return err
}

func sortInfo(n *Node) {
	sort.Slice(n.Elem, func(i, j int) bool { return n.Elem[i].Elem[0].Str < n.Elem[j].Elem[0].Str })
	for i := range n.Elem {
		if e := &n.Elem[i]; len(e.Elem) > 9 {
			sortInfo(&e.Elem[9])
		}
	}
}

// sortDocs sorts a map node by key, and every "subcommands" map inside.
func sortDocs(n *Node) {
	if n.Type != '%' {
		return
	}
	type kv struct{ k, v Node }
	pairs := make([]kv, 0, n.Len())
	for i := 0; i+1 < len(n.Elem); i += 2 {
		pairs = append(pairs, kv{n.Elem[i], n.Elem[i+1]})
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].k.Str < pairs[j].k.Str })
	for i, p := range pairs {
		n.Elem[2*i], n.Elem[2*i+1] = p.k, p.v
		doc := &n.Elem[2*i+1]
		for j := 0; j+1 < len(doc.Elem); j += 2 {
			if doc.Elem[j].Str == "subcommands" {
				sortDocs(&doc.Elem[j+1])
			}
		}
	}
}
