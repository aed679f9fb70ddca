package server

import "github.com/understudy/understudy/rpc"

// Test-only access for the server_test package.

// SetReportLevel makes the node report format level l instead of this
// build's (a member on an older build).
func (c *Config) SetReportLevel(l uint32) { c.reportLevel = l }

// ValidateLimits is validateLimits.
func (c *Config) ValidateLimits() error { return c.validateLimits() }

// ConfigForTest is the configuration the server runs with.
func (s *Server) ConfigForTest() Config { return s.cfg }

// PeersForTest is the server's view of its peers.
func (s *Server) PeersForTest() *rpc.Peers { return s.peers }
