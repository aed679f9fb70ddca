// Package compat holds Understudy's Redis compatibility suite, and nothing
// else: every file but this one is a test.
//
// The suite starts an in-process three-node cluster (in-memory Raft
// transport) and, when redis-server is on PATH, a scratch Redis on a free
// 127.0.0.1 port. It then checks, through github.com/redis/go-redis/v9 in
// RESP2 and RESP3 and through a raw RESP client that keeps every reply type:
//
//   - the differential script (testdata/script.txt): every supported command
//     and its edge cases, sent to Redis and to Understudy's leader and a
//     follower, replies compared after only the normalisation each step
//     names, with the accepted differences in two explicit allow-lists
//     (Redis 7.0 versus 7.2, and Understudy's deliberate deviations);
//   - the command table against Redis's COMMAND INFO, and that
//     docs/compat.md names every supported command;
//   - the scripting section (testdata/lua.txt) the same way, redis-py's
//     Lock, a Redlock unlock and a rate limiter through a follower across a
//     leader kill, and read-only scripts on a READONLY follower;
//   - RESP3 reply types, pub/sub, blocking list commands (woken, timed out,
//     interrupted by a leadership transfer), the cluster client in forward
//     and redirect mode, WAIT, and the Sentinel discovery commands.
//
// Without redis-server the differential tests skip, unless
// UNDERSTUDY_REQUIRE_REDIS_SERVER=1 makes them fail. Set
// UNDERSTUDY_COMPAT_LOG=1 to see the nodes' logs.
package compat
