package loam

import (
	"testing"
	"time"
)

func TestTimeRoundTrip(t *testing.T) {
	for _, tc := range []time.Time{
		time.Date(2026, 11, 25, 10, 15, 30, 123e6, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC),
		time.Date(2024, 2, 29, 12, 0, 0, 7e6, time.UTC),
		time.Date(2026, 6, 1, 5, 4, 3, 20e6, time.FixedZone("x", 3600)),
	} {
		got := string(AppendTime(nil, tc))
		if want := tc.UTC().Format(TimeLayout); got != want {
			t.Errorf("AppendTime(%v) = %q, want %q", tc, got, want)
		}
		back, err := ParseTime(got)
		if err != nil || !back.Equal(tc) || back.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %v in UTC", got, back, err, tc)
		}
	}
}

func TestParseTimeRefusesWhatTimeRefuses(t *testing.T) {
	for _, s := range []string{
		"2026-02-31T10:00:00.000Z", "2026-13-01T10:00:00.000Z", "2026-11-25T24:00:00.000Z",
		"2026-11-25T10:60:00.000Z", "2026-11-25T10:00:60.000Z", "2026-1a-25T10:00:00.000Z", "", "2026-11-25",
	} {
		_, fast := ParseTime(s)
		_, slow := time.Parse(time.RFC3339Nano, s)
		if (fast == nil) != (slow == nil) {
			t.Errorf("ParseTime(%q) error = %v, time.Parse error = %v", s, fast, slow)
		}
	}
	// Other RFC 3339 forms still parse, converted to UTC.
	got, err := ParseTime("2026-11-25T11:15:30+01:00")
	if err != nil || !got.Equal(time.Date(2026, 11, 25, 10, 15, 30, 0, time.UTC)) {
		t.Errorf("offset form: %v, %v", got, err)
	}
}

func FuzzParseTime(f *testing.F) {
	f.Add("2026-11-25T10:15:30.123Z")
	f.Add("2026-02-29T10:15:30.123Z")
	f.Add("0000-01-01T00:00:00.000Z")
	f.Fuzz(func(t *testing.T, s string) {
		fast, ferr := ParseTime(s)
		slow, serr := time.Parse(time.RFC3339Nano, s)
		if (ferr == nil) != (serr == nil) || (ferr == nil && !fast.Equal(slow)) {
			t.Fatalf("ParseTime(%q) = %v, %v; time.Parse = %v, %v", s, fast, ferr, slow, serr)
		}
	})
}
