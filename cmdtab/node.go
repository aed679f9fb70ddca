package cmdtab

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Node is one RESP3 reply as the reference server sent it: its type byte
// ('+' simple, '-' error, ':' integer, '$' bulk, '*' array, '%' map, '~' set,
// ',' double, '_' null) and its payload. The reference tables are kept in
// this form so that COMMAND INFO and COMMAND DOCS can be answered exactly
// as Redis answers them, types included.
type Node struct {
	Type byte
	Str  string // simple, error, bulk, double
	Int  int64  // integer
	Elem []Node // array, set; map as key, value, key, value...
}

// Len is the number of elements of an aggregate (pairs for a map).
func (n Node) Len() int {
	if n.Type == '%' {
		return len(n.Elem) / 2
	}
	return len(n.Elem)
}

// Get returns the value under key in a map node.
func (n Node) Get(key string) (Node, bool) {
	if n.Type != '%' {
		return Node{}, false
	}
	for i := 0; i+1 < len(n.Elem); i += 2 {
		if n.Elem[i].Str == key {
			return n.Elem[i+1], true
		}
	}
	return Node{}, false
}

// readNode parses one RESP3 value.
func readNode(r *bufio.Reader) (Node, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return Node{}, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return Node{}, fmt.Errorf("malformed line %q", line)
	}
	t, body := line[0], line[1:len(line)-2]
	switch t {
	case '+', '-', ',':
		return Node{Type: t, Str: body}, nil
	case '_':
		return Node{Type: t}, nil
	case ':':
		v, err := strconv.ParseInt(body, 10, 64)
		return Node{Type: t, Int: v}, err
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return Node{}, fmt.Errorf("bad bulk length %q", body)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return Node{}, err
		}
		return Node{Type: t, Str: string(buf[:n])}, nil
	case '*', '~', '%':
		n, err := strconv.Atoi(body)
		if err != nil || n < 0 {
			return Node{}, fmt.Errorf("bad aggregate length %q", body)
		}
		if t == '%' {
			n *= 2
		}
		out := Node{Type: t, Elem: make([]Node, n)}
		for i := range out.Elem {
			if out.Elem[i], err = readNode(r); err != nil {
				return Node{}, err
			}
		}
		return out, nil
	}
	return Node{}, fmt.Errorf("unknown RESP3 type %q", t)
}

// appendNode writes n in RESP3.
func appendNode(dst []byte, n Node) []byte {
	switch n.Type {
	case '+', '-', ',':
		dst = append(dst, n.Type)
		dst = append(dst, n.Str...)
	case '_':
		dst = append(dst, '_')
	case ':':
		dst = append(dst, ':')
		dst = strconv.AppendInt(dst, n.Int, 10)
	case '$':
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(n.Str)), 10)
		dst = append(dst, "\r\n"...)
		dst = append(dst, n.Str...)
	case '*', '~', '%':
		dst = append(dst, n.Type)
		dst = strconv.AppendInt(dst, int64(n.Len()), 10)
		dst = append(dst, "\r\n"...)
		for _, e := range n.Elem {
			dst = appendNode(dst, e)
		}
		return dst
	}
	return append(dst, "\r\n"...)
}

// parseAll reads every value in b.
func parseAll(b []byte) ([]Node, error) {
	r := bufio.NewReader(bytes.NewReader(b))
	var out []Node
	for {
		if _, err := r.Peek(1); errors.Is(err, io.EOF) {
			return out, nil
		}
		n, err := readNode(r)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
}
