package loam

import (
	"crypto/rand"
	"strconv"
	"sync"
	"time"
)

// idAlphabet orders digits by byte value so that ids compare as their values do.
const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// IDLength is the length of record and collection ids.
const IDLength = 15

// NewID returns a 15-character id of [a-z0-9]: 8 characters of the time in
// milliseconds (base 36, so ids sort by creation time) and 7 random ones.
// Within one process ids are strictly increasing: an id made in the same
// millisecond as the last one (or while the clock stands behind it) is the
// last one plus one, so the default order is creation order.
func NewID() string {
	idMu.Lock()
	defer idMu.Unlock()
	ms := time.Now().UnixMilli()
	if ms > idLastMs {
		idLastMs = ms
		var r [7]byte
		_, _ = rand.Read(r[:]) // crypto/rand.Read never fails
		for i, v := range r {
			// Leave headroom so increments within a millisecond do not carry
			// into the time part: the first random digit stays below 'u'.
			n := int(v) % len(idAlphabet)
			if i == 0 {
				n %= 30
			}
			idLast[i] = byte(n)
		}
	} else {
		for i := len(idLast) - 1; i >= 0; i-- { // add one, base 36
			idLast[i]++
			if idLast[i] < byte(len(idAlphabet)) {
				break
			}
			idLast[i] = 0
		}
	}
	var b [IDLength]byte
	ts := strconv.FormatInt(idLastMs, 36)
	for len(ts) < 8 {
		ts = "0" + ts
	}
	copy(b[:8], ts[len(ts)-8:])
	for i, n := range idLast {
		b[8+i] = idAlphabet[n]
	}
	return string(b[:])
}

var (
	idMu     sync.Mutex
	idLastMs int64
	idLast   [7]byte // digit values, 0..35
)

// ValidID reports whether s has the id format: 15 characters of [a-z0-9].
func ValidID(s string) bool { return len(s) == IDLength && idChars(s) }

// idChars reports whether s holds only [a-z0-9].
func idChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
