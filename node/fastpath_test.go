package node

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestFastCodec_RoundTrip(t *testing.T) {
	at := time.Unix(1700000000, 123456789)
	req := &raft.AppendEntriesRequest{
		RPCHeader:    raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("n1"), Addr: []byte("127.0.0.1:7381")},
		Term:         7,
		Leader:       []byte("127.0.0.1:7381"),
		PrevLogEntry: 41, PrevLogTerm: 6, LeaderCommitIndex: 40,
		Entries: []*raft.Log{
			{Index: 42, Term: 7, Type: raft.LogCommand, Data: sealedSet("k", "v"), AppendedAt: at},
			{Index: 43, Term: 7, Type: raft.LogNoop},
			{Index: 44, Term: 7, Type: raft.LogConfiguration, Data: bytes.Repeat([]byte("c"), 300<<10), Extensions: []byte("x"),
				AppendedAt: time.Unix(-5, 0)},
		},
	}
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	if err := writeAppendRequest(w, req); err != nil || w.Flush() != nil {
		t.Fatal(err)
	}
	got, err := readAppendRequest(bufio.NewReader(bytes.NewReader(buf.Bytes())))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range got.Entries {
		want := req.Entries[i]
		if !l.AppendedAt.Equal(want.AppendedAt) {
			t.Errorf("entry %d appended at %v, want %v", i, l.AppendedAt, want.AppendedAt)
		}
		l.AppendedAt = want.AppendedAt // monotonic readings differ
	}
	if !reflect.DeepEqual(got, req) {
		t.Fatalf("request round trip:\n got %+v\nwant %+v", got, req)
	}
	// Every truncation of the frame is an error, never a panic or a short
	// request taken for whole.
	for cut := 0; cut < buf.Len(); cut += max(1, buf.Len()/500) {
		if _, err := readAppendRequest(bufio.NewReader(bytes.NewReader(buf.Bytes()[:cut]))); err == nil {
			t.Fatalf("a frame cut at %d of %d bytes decoded", cut, buf.Len())
		}
	}

	resp := &raft.AppendEntriesResponse{RPCHeader: raft.RPCHeader{ID: []byte("n2")}, Term: 7, LastLog: 44, Success: true}
	buf.Reset()
	w.Reset(&buf)
	if err := writeAppendResponse(w, resp, nil); err != nil {
		t.Fatal(err)
	}
	if err := writeAppendResponse(w, nil, errors.New("unexpected command")); err != nil || w.Flush() != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(&buf)
	var gotResp raft.AppendEntriesResponse
	if err := readAppendResponse(r, &gotResp); err != nil || !reflect.DeepEqual(&gotResp, resp) {
		t.Fatalf("response round trip: %+v, %v", gotResp, err)
	}
	var remote *remoteError
	if err := readAppendResponse(r, &gotResp); !errors.As(err, &remote) || err.Error() != "unexpected command" {
		t.Fatalf("error response: %v", err)
	}
}

// A declared size past the bounds is refused before anything is allocated.
func TestFastCodec_HostileSizes(t *testing.T) {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	e := fastWriter{w: w}
	e.header(raft.RPCHeader{})
	e.uvarint(1) // term
	e.bytes(nil) // leader
	e.uvarint(1) // prev index
	e.uvarint(1) // prev term
	e.uvarint(1) // commit index
	e.uvarint(maxFastEntries + 1)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := readAppendRequest(bufio.NewReader(&buf)); !errors.Is(err, errFastFrame) {
		t.Fatalf("%d entries declared: %v", maxFastEntries+1, err)
	}
	buf.Reset()
	e.header(raft.RPCHeader{})
	e.uvarint(1)
	e.uvarint(maxFastBytes + 1) // the leader field's length
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := readAppendRequest(bufio.NewReader(&buf)); !errors.Is(err, errFastFrame) {
		t.Fatalf("%d bytes declared: %v", maxFastBytes+1, err)
	}
}

// A peer built without the fast path (plain NetworkTransport on its Raft
// port) closes the connection on the fast path's hello; AppendEntries then
// goes over NetworkTransport, and keeps working.
func TestFastPath_FallsBackToNetworkTransport(t *testing.T) {
	old, err := raft.NewTCPTransport("127.0.0.1:0", nil, 2, 5*time.Second, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	go func() {
		for rpc := range old.Consumer() {
			req := rpc.Command.(*raft.AppendEntriesRequest)
			rpc.Respond(&raft.AppendEntriesResponse{Term: req.Term, LastLog: 99, Success: true}, nil)
		}
	}()
	n := &Node{stop: make(chan struct{})}
	ln, err := newTCPStream("127.0.0.1:0", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ft := newFastTransport(ln, n, 5*time.Second, testLogger())
	defer ft.Close()
	for i := range 3 {
		var resp raft.AppendEntriesResponse
		req := &raft.AppendEntriesRequest{Term: 3, LeaderCommitIndex: uint64(i),
			Entries: []*raft.Log{{Index: 1, Term: 3, Type: raft.LogCommand, Data: []byte("x")}}}
		if err := ft.AppendEntries("old", old.LocalAddr(), req, &resp); err != nil {
			t.Fatalf("append %d to a NetworkTransport-only peer: %v", i, err)
		}
		if !resp.Success || resp.LastLog != 99 {
			t.Fatalf("response %+v", resp)
		}
	}
	if !ft.isLegacy(old.LocalAddr()) {
		t.Fatal("the peer without the fast path is not remembered as such")
	}
}

// A connection that is not the fast path's reaches NetworkTransport with
// its first byte intact, and the fast path and NetworkTransport share the
// port: a vote and appends to one node both arrive.
func TestFastPath_SharesThePortWithNetworkTransport(t *testing.T) {
	mk := func() (*fastTransport, *Node) {
		n := &Node{stop: make(chan struct{})}
		ln, err := newTCPStream("127.0.0.1:0", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		ft := newFastTransport(ln, n, 5*time.Second, testLogger())
		t.Cleanup(func() { _ = ft.Close() })
		return ft, n
	}
	a, _ := mk()
	b, _ := mk()
	beats := 0
	b.SetHeartbeatHandler(func(rpc raft.RPC) {
		beats++
		rpc.Respond(&raft.AppendEntriesResponse{Term: 5, Success: true}, nil)
	})
	go func() {
		for rpc := range b.Consumer() {
			switch req := rpc.Command.(type) {
			case *raft.RequestVoteRequest:
				rpc.Respond(&raft.RequestVoteResponse{Term: req.Term, Granted: true}, nil)
			case *raft.AppendEntriesRequest:
				rpc.Respond(&raft.AppendEntriesResponse{Term: req.Term, LastLog: req.Entries[len(req.Entries)-1].Index, Success: true}, nil)
			}
		}
	}()
	var vr raft.RequestVoteResponse
	if err := a.RequestVote("b", b.LocalAddr(), &raft.RequestVoteRequest{Term: 5}, &vr); err != nil || !vr.Granted {
		t.Fatalf("vote over NetworkTransport: %+v, %v", vr, err)
	}
	big := bytes.Repeat([]byte("z"), 20<<20)
	var ar raft.AppendEntriesResponse
	req := &raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{Addr: []byte("a")}, Term: 5, PrevLogEntry: 1, PrevLogTerm: 5, LeaderCommitIndex: 1,
		Entries: []*raft.Log{{Index: 2, Term: 5, Type: raft.LogCommand, Data: big}}}
	start := time.Now()
	if err := a.AppendEntries("b", b.LocalAddr(), req, &ar); err != nil || ar.LastLog != 2 {
		t.Fatalf("append over the fast path: %+v, %v", ar, err)
	}
	t.Logf("a 20 MiB entry over the fast path took %v", time.Since(start).Round(time.Millisecond))
	if err := a.AppendEntries("b", b.LocalAddr(), &raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{Addr: []byte("a")}, Term: 5}, &ar); err != nil || beats != 1 {
		t.Fatalf("heartbeat: %d handled, %v", beats, err)
	}
	if a.isLegacy(b.LocalAddr()) {
		t.Fatal("a peer with the fast path was taken for one without")
	}
	if !strings.Contains(string(b.LocalAddr()), "127.0.0.1") {
		t.Fatalf("local address %s", b.LocalAddr())
	}
}
