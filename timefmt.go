package loam

import "time"

// AppendTime appends t in TimeLayout (UTC, milliseconds). It is the hot path
// of rendering records, so it writes the digits itself; years outside
// 0..9999 fall back to time's own formatting.
func AppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, TimeLayout)
	}
	hour, min, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	return append(b,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-',
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+min/10), byte('0'+min%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.',
		byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// ParseTime parses a time stored in TimeLayout, quickly; any other RFC 3339
// form is parsed by the time package.
func ParseTime(s string) (time.Time, error) {
	if len(s) == len(TimeLayout) && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' &&
		s[19] == '.' && s[23] == 'Z' {
		var v [7]int
		ok := true
		num := func(i, n int) int {
			x := 0
			for j := i; j < i+n; j++ {
				c := s[j]
				if c < '0' || c > '9' {
					ok = false
					return 0
				}
				x = x*10 + int(c-'0')
			}
			return x
		}
		v[0], v[1], v[2] = num(0, 4), num(5, 2), num(8, 2)
		v[3], v[4], v[5], v[6] = num(11, 2), num(14, 2), num(17, 2), num(20, 3)
		if ok && v[1] >= 1 && v[1] <= 12 && v[2] >= 1 && v[2] <= 31 && v[3] < 24 && v[4] < 60 && v[5] < 60 {
			t := time.Date(v[0], time.Month(v[1]), v[2], v[3], v[4], v[5], v[6]*1e6, time.UTC)
			if t.Day() == v[2] { // not normalised from an impossible date such as 02-31
				return t, nil
			}
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err
}
