package fsm

// LCS, after Redis 7.0's lcsCommand: the longest common subsequence of two
// strings by the textbook dynamic programme, walked back from the end to
// give the string, its length, or the matching ranges (IDX).

func lcsCommands() []decl {
	return []decl{{name: "lcs", run: cmdLCS, since: Level2}}
}

// maxLCSCells bounds the table LCS builds ((len(a)+1)·(len(b)+1) cells of 4
// bytes): Redis allocates it whatever its size and answers an error only if
// the allocation fails; here every node would build it inside MULTI, so a
// table past 256 MiB gets that error at once.
const maxLCSCells = 1 << 26

// cmdLCS is LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN].
func cmdLCS(c *ctx, argv [][]byte) Value {
	var strs [2]string
	for i, k := range argv[1:3] {
		it, ok := c.get(k)
		if !ok {
			continue
		}
		s, isStr := it.val.(string)
		if !isStr {
			return Err("ERR The specified keys must contain string values")
		}
		strs[i] = s
	}
	var getLen, getIdx, withMatchLen bool
	var minMatchLen int64
	for j := 3; j < len(argv); j++ {
		switch {
		case eqFold(argv[j], "idx"):
			getIdx = true
		case eqFold(argv[j], "len"):
			getLen = true
		case eqFold(argv[j], "withmatchlen"):
			withMatchLen = true
		case eqFold(argv[j], "minmatchlen") && j+1 < len(argv):
			n, ok := parseInt(argv[j+1])
			if !ok {
				return errNotInt
			}
			minMatchLen = max(n, 0)
			j++
		default:
			return errSyntax
		}
	}
	if getIdx && getLen {
		return Err("ERR If you want both the length and indexes, please just use IDX.")
	}
	a, b := strs[0], strs[1]
	alen, blen := len(a), len(b)
	if (alen+1)*(blen+1) > maxLCSCells {
		return Err("ERR Insufficient memory, failed allocating transient memory for LCS")
	}
	w := blen + 1
	dp := make([]uint32, (alen+1)*w) // dp[i*w+j]: LCS length of a[:i], b[:j]
	for i := 1; i <= alen; i++ {
		for j := 1; j <= blen; j++ {
			switch {
			case a[i-1] == b[j-1]:
				dp[i*w+j] = dp[(i-1)*w+j-1] + 1
			case dp[(i-1)*w+j] > dp[i*w+j-1]:
				dp[i*w+j] = dp[(i-1)*w+j]
			default:
				dp[i*w+j] = dp[i*w+j-1]
			}
		}
	}
	total := int(dp[alen*w+blen])
	if getLen {
		return Int(int64(total))
	}
	// Walk back from the end, collecting the string and, for IDX, the
	// ranges of contiguous matches (emitted last first, as Redis does).
	result := make([]byte, total)
	idx := total
	var matches []Value
	aStart, aEnd, bStart, bEnd := alen, 0, 0, 0 // aStart == alen: no range open
	for i, j := alen, blen; i > 0 && j > 0; {
		emit := false
		if a[i-1] == b[j-1] {
			result[idx-1] = a[i-1]
			if aStart == alen {
				aStart, aEnd, bStart, bEnd = i-1, i-1, j-1, j-1
			} else if aStart == i && bStart == j {
				aStart--
				bStart--
			} else {
				emit = true
			}
			if aStart == 0 || bStart == 0 {
				emit = true
			}
			idx--
			i--
			j--
		} else {
			if dp[(i-1)*w+j] > dp[i*w+j-1] {
				i--
			} else {
				j--
			}
			if aStart != alen {
				emit = true
			}
		}
		if emit {
			matchLen := aEnd - aStart + 1
			if getIdx && (minMatchLen == 0 || int64(matchLen) >= minMatchLen) {
				m := []Value{
					Array([]Value{Int(int64(aStart)), Int(int64(aEnd))}),
					Array([]Value{Int(int64(bStart)), Int(int64(bEnd))}),
				}
				if withMatchLen {
					m = append(m, Int(int64(matchLen)))
				}
				matches = append(matches, Array(m))
			}
			aStart = alen
		}
	}
	if !getIdx {
		return Bulk(result)
	}
	if matches == nil {
		matches = []Value{}
	}
	return Value{Kind: KindMap, Arr: []Value{BulkString("matches"), Array(matches), BulkString("len"), Int(int64(total))}}
}
