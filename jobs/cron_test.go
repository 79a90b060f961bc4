package jobs

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // America/New_York and friends, whatever the machine has
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestSpecNext(t *testing.T) {
	t.Parallel()
	ny := mustLoad(t, "America/New_York")
	lh := mustLoad(t, "Australia/Lord_Howe") // half-hour daylight saving
	for _, tc := range []struct {
		spec  string
		loc   *time.Location
		after string
		want  []string // the next ticks, in order
	}{
		{"* * * * *", nil, "2026-11-25T10:00:00Z", []string{"2026-11-25T10:01:00Z", "2026-11-25T10:02:00Z"}},
		{"* * * * *", nil, "2026-11-25T10:00:59.999Z", []string{"2026-11-25T10:01:00Z"}},
		{"*/15 9-10 * * *", nil, "2026-11-25T10:50:00Z", []string{"2026-11-26T09:00:00Z", "2026-11-26T09:15:00Z"}},
		{"0 12 * * mon-fri", nil, "2026-11-27T13:00:00Z", []string{"2026-11-30T12:00:00Z"}}, // Friday 13:00 -> Monday
		{"0 0 1 jan,jul *", nil, "2026-02-01T00:00:00Z", []string{"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"}},
		{"0 0 29 2 *", nil, "2097-01-01T00:00:00Z", []string{"2104-02-29T00:00:00Z"}}, // 2100 is not a leap year
		// Both day fields restricted: either matches (the 13th, or a Friday).
		{"0 0 13 * 5", nil, "2026-11-01T00:00:00Z", []string{"2026-11-06T00:00:00Z", "2026-11-13T00:00:00Z", "2026-11-20T00:00:00Z"}},
		// One restricted: it alone counts.
		{"0 0 * * 7", nil, "2026-11-25T00:00:00Z", []string{"2026-11-29T00:00:00Z"}},
		{"5/20 * * * *", nil, "2026-11-25T10:00:00Z", []string{"2026-11-25T10:05:00Z", "2026-11-25T10:25:00Z", "2026-11-25T10:45:00Z", "2026-11-25T11:05:00Z"}},
		{"@hourly", nil, "2026-11-25T10:00:00Z", []string{"2026-11-25T11:00:00Z"}},
		{"@daily", ny, "2026-11-25T10:00:00Z", []string{"2026-11-26T05:00:00Z"}},
		{"@weekly", nil, "2026-11-25T10:00:00Z", []string{"2026-11-29T00:00:00Z"}},
		{"@monthly", nil, "2026-11-25T10:00:00Z", []string{"2026-12-01T00:00:00Z"}},
		{"@yearly", nil, "2026-11-25T10:00:00Z", []string{"2027-01-01T00:00:00Z"}},
		// @every: multiples of the period since the Unix epoch, in any zone.
		{"@every 30s", ny, "2026-11-25T10:00:10Z", []string{"2026-11-25T10:00:30Z", "2026-11-25T10:01:00Z"}},
		{"@every 7m", nil, "1970-01-01T00:06:59Z", []string{"1970-01-01T00:07:00Z", "1970-01-01T00:14:00Z"}},
		{"@every 1h30m", nil, "2026-11-25T10:00:00Z", []string{"2026-11-25T10:30:00Z", "2026-11-25T12:00:00Z"}},
		// New York springs forward on 8 March 2026: 02:00 EST becomes 03:00 EDT.
		// 02:30 does not exist that day: it runs when the clocks jump.
		{"30 2 * * *", ny, "2026-03-07T12:00:00Z", []string{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
		{"0,30 * * * *", ny, "2026-03-08T06:00:00Z", []string{"2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"}},
		// New York falls back on 1 November 2026: 02:00 EDT becomes 01:00 EST.
		// A fixed 01:30 runs once, at its first occurrence.
		{"30 1 * * *", ny, "2026-10-31T12:00:00Z", []string{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
		// Hour "*": every minute that passes runs, so the repeated hour runs twice.
		{"0,30 * * * *", ny, "2026-11-01T04:45:00Z", []string{"2026-11-01T05:00:00Z", "2026-11-01T05:30:00Z",
			"2026-11-01T06:00:00Z", "2026-11-01T06:30:00Z", "2026-11-01T07:00:00Z"}},
		// Lord Howe springs forward by half an hour (02:00 -> 02:30) on 4 October 2026.
		{"15 2 * * *", lh, "2026-10-03T12:00:00Z", []string{"2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"}},
	} {
		spec, err := ParseSpec(tc.spec, tc.loc)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", tc.spec, err)
			continue
		}
		at := utc(tc.after)
		for i, w := range tc.want {
			at = spec.Next(at)
			if !at.Equal(utc(w)) {
				t.Errorf("%q in %v after %s: tick %d = %v, want %s", tc.spec, tc.loc, tc.after, i+1, at, w)
				break
			}
		}
	}
}

func TestParseSpecErrors(t *testing.T) {
	t.Parallel()
	for _, spec := range []string{
		"", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * 32 * *", "* * * 13 *",
		"* * * * 8", "5-1 * * * *", "*/0 * * * *", "*/x * * * *", "a * * * *", "1,,2 * * * *", "-1 * * * *",
		"01 * * * *", "+1 * * * *", "0 0 30 2 *", "0 0 31 4,6,9,11 *", "@often", "@every", "@every 10ms",
		"@every -5s", "@every 1.5ms", "@every soon", "* * * foo *",
	} {
		if _, err := ParseSpec(spec, nil); err == nil {
			t.Errorf("ParseSpec(%q) accepted it", spec)
		}
	}
}

// matchesWall is the oracle: does the UTC minute meet the cron's fields?
func matchesWall(c *cron, at time.Time) bool {
	return c.minute&(1<<at.Minute()) != 0 && c.hour&(1<<at.Hour()) != 0 && c.month&(1<<int(at.Month())) != 0 &&
		c.dayMatches(at.Day(), int(at.Weekday()))
}

// FuzzParseSpec: parsing never panics; in UTC, Next is the first matching
// minute after t, as a minute-by-minute walk finds it.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"* * * * *", "*/5 1-3 * * mon", "0 0 13 * 5", "59 23 31 12 *", "@every 90s",
		"@weekly", "1,2,3-9/2 */4 1-31/7 jan-dec/3 0-7", "0 0 29 2 *", "30 2 * * *"} {
		f.Add(s, int64(1764064800)) // 2025-11-25T10:00:00Z
	}
	f.Fuzz(func(t *testing.T, s string, unix int64) {
		spec, err := ParseSpec(s, nil)
		if err != nil {
			return
		}
		after := time.Unix(unix%(200*365*86400), 0).UTC() // within 1770..2170
		next := spec.Next(after)
		if next.IsZero() || !next.After(after) {
			t.Fatalf("%q: Next(%v) = %v", s, after, next)
		}
		c, ok := spec.(*cron)
		if !ok {
			if e := spec.(every); next.UnixMilli()%e.d.Milliseconds() != 0 || next.Sub(after) > e.d {
				t.Fatalf("%q: Next(%v) = %v, not the next multiple of %v", s, after, next, e.d)
			}
			return
		}
		if next.Second() != 0 || next.Nanosecond() != 0 || !matchesWall(c, next) {
			t.Fatalf("%q: Next(%v) = %v does not match", s, after, next)
		}
		// No earlier minute matches (walked for up to two days).
		limit := next
		if l := after.Add(48 * time.Hour); l.Before(limit) {
			limit = l
		}
		for m := after.Truncate(time.Minute).Add(time.Minute); m.Before(limit); m = m.Add(time.Minute) {
			if matchesWall(c, m) {
				t.Fatalf("%q: Next(%v) = %v, but %v matches", s, after, next, m)
			}
		}
	})
}

// TestEveryAlignsInstances: two instances starting at different times
// compute the same ticks.
func TestEveryAlignsInstances(t *testing.T) {
	t.Parallel()
	spec, err := ParseSpec("@every 10s", nil)
	if err != nil {
		t.Fatal(err)
	}
	a := spec.Next(utc("2026-11-25T10:00:03Z"))
	b := spec.Next(utc("2026-11-25T10:00:07Z"))
	if !a.Equal(b) || !strings.HasSuffix(a.Format(time.RFC3339), ":10Z") {
		t.Fatalf("instances disagree: %v and %v", a, b)
	}
}
