package rdb

import "hash/crc64"

// jonesTable is the table of Redis's CRC64 (crc64.c): the Jones polynomial
// 0xad93d23594c935a9, reflected, no initial or final inversion.
var jonesTable = crc64.MakeTable(0x95ac9329ac4bc9b5)

// crc64Jones is Redis's crc64(0, p, len). Go's crc64 inverts the CRC before
// and after, so starting from ^0 and inverting the result cancels both.
func crc64Jones(p []byte) uint64 {
	return ^crc64.Update(^uint64(0), jonesTable, p)
}
