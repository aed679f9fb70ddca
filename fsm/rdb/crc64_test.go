package rdb

import "testing"

func TestCRC64Jones(t *testing.T) {
	// The check value in Redis's crc64.c test.
	if got := crc64Jones([]byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("crc64(123456789) = %#x, want 0xe9c6d914c4b8d9ca", got)
	}
	if got := crc64Jones(nil); got != 0 {
		t.Fatalf("crc64(empty) = %#x, want 0", got)
	}
}
