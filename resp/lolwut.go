package resp

import (
	"strconv"
	"strings"

	"github.com/understudy/understudy/fsm"
)

// cmdLolwut answers LOLWUT [VERSION v] as Redis 7 does for its own version:
// the version line. Redis 7 draws art only for VERSION 5 and 6, at random
// (Schotter, a skyscraper landscape); here those get the version line too
// (docs/compat.md).
func cmdLolwut(_ *conn, argv [][]byte) fsm.Value {
	if len(argv) >= 3 && strings.EqualFold(string(argv[1]), "version") {
		if _, err := strconv.ParseInt(string(argv[2]), 10, 64); err != nil {
			return fsm.Err("ERR value is not an integer or out of range")
		}
	}
	return fsm.Value{Kind: fsm.KindVerbatim, Str: []byte("Redis ver. " + redisVersion + "\n")}
}
