package server

import (
	"context"
	"time"
)

// delayShutdown keeps the node serving for Config.ShutdownDelay (or until
// ctx ends) once Shutdown has begun. /readyz already answers not ready, so
// Kubernetes withdraws the pod from its Services' endpoints while clients
// that still arrive (kube-proxy and DNS lag the endpoint change by a second
// or more) are served as usual: a follower forwards, a leader leads. Only
// then does Shutdown drain; without the delay those late clients would meet
// a closed port (rqlite#1132).
func (s *Server) delayShutdown(ctx context.Context) {
	d := s.cfg.ShutdownDelay
	if d <= 0 {
		return
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d+time.Second {
		// Leave at least a second of ctx for draining and the hand-over.
		d = max(0, time.Until(dl)-time.Second)
	}
	s.log.Info("not ready; serving on before draining", "delay", d)
	select {
	case <-time.After(d):
	case <-ctx.Done():
	case <-s.stop:
	}
}
