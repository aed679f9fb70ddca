package rdb

import "math"

// How Redis 7.0 cuts a list into quicklist nodes (quicklist.c), so Encode
// writes the nodes redis-server holds for a list built by pushing its
// elements at the tail (RPUSH), and Decode can tell the encoding Redis 7.2
// gives a loaded list.

const (
	sizeSafetyLimit      = 8192    // SIZE_SAFETY_LIMIT
	sizeEstimateOverhead = 8       // SIZE_ESTIMATE_OVERHEAD
	packedThreshold      = 1 << 30 // elements this big get a plain node
	fillMax              = 1<<15 - 1
	fillMin              = -5
)

// qlNode is one quicklist node: elements [start, start+count) of the list,
// and the bytes of its listpack (or of its element, for a plain node).
type qlNode struct {
	plain        bool
	start, count int
	size         int
}

// optimizationLevel is quicklist.c's optimization_level[i]: 4, 8, 16, 32
// or 64 KiB for fill -1 to -5.
func optimizationLevel(i int) int { return 4096 << i }

// clampFill is quicklistSetFill's range for list-max-listpack-size.
func clampFill(fill int64) int { return int(min(max(fill, fillMin), fillMax)) }

// quicklistNodes is the nodes quicklistPushTail makes of elems, one at a
// time, with list-max-listpack-size fill.
func quicklistNodes(elems []string, fill64 int64) []qlNode {
	fill := clampFill(fill64)
	var nodes []qlNode
	for i, e := range elems {
		if len(e) >= packedThreshold {
			nodes = append(nodes, qlNode{plain: true, start: i, count: 1, size: len(e)})
			continue
		}
		if n := len(nodes); n > 0 && allowInsert(nodes[n-1], fill, len(e)) {
			nodes[n-1].count++
			nodes[n-1].size += ListpackEntrySize(e)
			continue
		}
		nodes = append(nodes, qlNode{start: i, count: 1, size: ListpackEmptySize + ListpackEntrySize(e)})
	}
	return nodes
}

// allowInsert is _quicklistNodeAllowInsert for an element of sz bytes.
func allowInsert(n qlNode, fill, sz int) bool {
	if n.plain || sz >= packedThreshold {
		return false
	}
	newSize := n.size + sz + sizeEstimateOverhead
	if fill < 0 {
		return newSize <= optimizationLevel(-fill-1)
	}
	return newSize <= sizeSafetyLimit && n.count < fill
}

// listEncoding is the encoding Redis 7.2 gives a loaded list
// (listTypeTryConvertQuicklist): a listpack if it is one packed node
// within quicklistNodeLimit, else a quicklist.
func listEncoding(nodes []qlNode, lim Limits) Encoding {
	if len(nodes) != 1 || nodes[0].plain {
		return EncQuicklist
	}
	fill := clampFill(lim.ListMaxListpackSize)
	sizeLimit, countLimit := math.MaxInt, math.MaxInt
	if fill >= 0 {
		countLimit = max(fill, 1)
	} else {
		sizeLimit = optimizationLevel(-fill - 1)
	}
	if nodes[0].size > sizeLimit || nodes[0].count > countLimit {
		return EncQuicklist
	}
	return EncListpack
}
