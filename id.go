package loam

import (
	"crypto/rand"
	"strconv"
	"time"
)

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// IDLength is the length of record and collection ids.
const IDLength = 15

// NewID returns a 15-character id of [a-z0-9]: 8 characters of the time in
// milliseconds (base 36, so ids sort by creation time) and 7 random ones.
func NewID() string { return newIDAt(time.Now()) }

func newIDAt(t time.Time) string {
	var b [IDLength]byte
	ts := strconv.FormatInt(t.UnixMilli(), 36)
	for len(ts) < 8 {
		ts = "0" + ts
	}
	copy(b[:8], ts[len(ts)-8:])
	var r [7]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails
	for i, v := range r {
		b[8+i] = idAlphabet[int(v)%len(idAlphabet)]
	}
	return string(b[:])
}

// ValidID reports whether s has the id format: 15 characters of [a-z0-9].
func ValidID(s string) bool {
	if len(s) != IDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
