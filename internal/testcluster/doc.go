// Package testcluster is the one test harness of the repository: it starts
// clusters of real nodes (server.Start, on the in-memory Raft transport or
// over TCP with bolt stores), waits for a leader and for convergence, and
// speaks RESP to them with one small client. Every package's tests and the
// compat suite use it, so a fix to the harness lands once.
//
// Ports come from internal/freeport, the one port allocator.
//
// The RESP client is not go-redis on purpose: tests that check replies need
// every reply exactly as sent (errors included, no MOVED handling, no
// connection-setup commands, retries only when asked for and counted) from
// code that shares nothing with the server it checks (resp.Reader/Writer).
// Tests where a real client's behaviour is the point use go-redis,
// redis-cli or python3-redis.
package testcluster
