package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// startHTTP serves the operational HTTP endpoints on cfg.MetricsAddr:
// /metrics (Prometheus, metrics.go), /livez (the process answers), /readyz
// (ready: see ready) and /debug/pprof.
func (s *Server) startHTTP(addr string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if msg, ok := s.ready(r.Context()); !ok {
			http.Error(w, "not ready: "+msg, http.StatusServiceUnavailable)
			return
		}
		st := s.Node.Status()
		fmt.Fprintf(w, "ready: %s, leader %s, applied %d\n", st.State, st.Leader.ID, st.AppliedIndex)
	})
	mux.Handle("/metrics", s.metrics.handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen metrics %s: %w", addr, err)
	}
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errc <- fmt.Errorf("metrics serve: %w", err)
		}
	}()
	return nil
}

// readyWait bounds how long /readyz waits for a follower to apply up to the
// leader's commit index before calling it behind.
const readyWait = time.Second

// ready reports whether the node is in a cluster with a leader and has caught
// up: a leader once it has applied an entry of its own term (it may serve
// reads), a follower once it has applied everything the leader had committed
// when asked (read-index style, so a follower that lags far behind is not
// ready even though its own commit index trails as far). If not, it says why.
func (s *Server) ready(ctx context.Context) (string, bool) {
	if s.stopping.Load() {
		return "shutting down", false
	}
	st := s.Node.Status()
	switch {
	case !st.HasLeader:
		return "no leader", false
	case st.Leader.Self && !st.ReadReady:
		return "leader has not yet applied an entry of its term", false
	case st.Leader.Self:
		return "", true
	}
	ctx, cancel := context.WithTimeout(ctx, 2*readyWait)
	defer cancel()
	commit, err := s.peers.LeaderCommitIndex(ctx)
	if err != nil {
		return fmt.Sprintf("cannot ask the leader how far it has committed: %v", err), false
	}
	deadline := time.Now().Add(readyWait)
	for {
		applied := s.Node.Status().AppliedIndex
		if applied >= commit {
			return "", true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Sprintf("applied %d of the leader's %d committed entries", applied, commit), false
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Millisecond):
		}
	}
}
