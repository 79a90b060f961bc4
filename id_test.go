package loam

import (
	"strconv"
	"testing"
	"time"
)

func TestNewIDIsValidAndIncreasing(t *testing.T) {
	prev := ""
	for i := 0; i < 20000; i++ { // many share a millisecond
		id := NewID()
		if !ValidID(id) {
			t.Fatalf("NewID() = %q, not a valid id", id)
		}
		if id <= prev {
			t.Fatalf("id %d = %q, not after %q", i, id, prev)
		}
		prev = id
	}
}

func TestNewIDEncodesTime(t *testing.T) {
	before := time.Now().UnixMilli()
	id := NewID()
	after := time.Now().UnixMilli()
	ms, err := strconv.ParseInt(id[:8], 36, 64)
	if err != nil {
		t.Fatal(err)
	}
	// The time part may run ahead of the clock only by what increments
	// within a millisecond carried; never behind it.
	if ms < before-1 || ms > after {
		t.Fatalf("id %q encodes %d ms, want between %d and %d", id, ms, before, after)
	}
}

func TestValidID(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"abcdefghij12345", true},
		{"ABCDEFGHIJ12345", false},
		{"abcdefghij1234", false},
		{"abcdefghij123456", false},
		{"abcdefghij1234-", false},
		{"", false},
	} {
		if got := ValidID(tc.id); got != tc.ok {
			t.Errorf("ValidID(%q) = %v, want %v", tc.id, got, tc.ok)
		}
	}
}
