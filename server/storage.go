package server

// watchStorage ends the process's serving when the node's log store has
// failed a write (disk full, an I/O error: node/diskguard.go). The node is
// fenced already; Err delivers the error, which names the file, so the
// binary exits non-zero with it instead of limping on.
func (s *Server) watchStorage() {
	select {
	case <-s.stop:
	case <-s.Node.Failed():
		err := s.Node.Failure()
		s.log.Error("stopping: the node's storage failed", "err", err)
		select {
		case s.errc <- err:
		case <-s.stop:
		}
	}
}
