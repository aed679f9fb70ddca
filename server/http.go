package server

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// startHTTP serves the operational HTTP endpoints on cfg.MetricsAddr:
// /metrics (Prometheus, metrics.go), /livez (the process answers), /readyz (the node is in a cluster with a
// leader and has applied what it knows to be committed) and /debug/pprof.
func (s *Server) startHTTP(addr string) error {
	mux := http.NewServeMux()
	mux.HandleFunc("/livez", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		st := s.Node.Status()
		switch {
		case !st.HasLeader:
			http.Error(w, "not ready: no leader", http.StatusServiceUnavailable)
		case st.AppliedIndex < st.CommitIndex:
			http.Error(w, fmt.Sprintf("not ready: applied %d of %d", st.AppliedIndex, st.CommitIndex), http.StatusServiceUnavailable)
		default:
			fmt.Fprintf(w, "ready: %s, leader %s\n", st.State, st.Leader.ID)
		}
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
