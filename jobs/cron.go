package jobs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Spec is when a schedule ticks. ParseSpec makes one.
type Spec interface {
	// Next returns the first tick after t; the zero time if there is none
	// within a search horizon of years (never for a parsed spec).
	Next(t time.Time) time.Time
}

// every ticks at the multiples of d since the Unix epoch, so every
// instance computes the same ticks whenever it started.
type every struct{ d time.Duration }

func (e every) Next(t time.Time) time.Time {
	d := e.d.Milliseconds()
	ms := t.UnixMilli()
	k := ms / d
	if ms < 0 && ms%d != 0 {
		k-- // floor for times before the epoch
	}
	return time.UnixMilli((k + 1) * d).UTC()
}

// cron is a five-field cron expression in a time zone.
type cron struct {
	minute, hour, dom, month, dow uint64 // bit i set: value i matches
	domStar, dowStar              bool   // the field was "*" (or "*/n"): Vixie's day rule
	hourStar                      bool   // the hour field was "*": see Next
	loc                           *time.Location
}

// names are the shorthands of common expressions.
var names = map[string]string{
	"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
	"@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}

var (
	monthNames = map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
		"sep": 9, "oct": 10, "nov": 11, "dec": 12}
	dayNames = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
)

// ParseSpec parses a schedule: five cron fields (minute hour day-of-month
// month day-of-week, each *, a value, a range a-b, any of those with /step,
// or a comma-separated list; months and days also by their English
// three-letter names; day of week 0-7, both 0 and 7 Sunday), a name
// (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly), or
// "@every D" with a Go duration of at least one second, whole milliseconds.
//
// Cron ticks are wall-clock minutes in loc (nil: UTC). When both day
// fields are restricted, a day matching either runs (as in Vixie cron).
// Across daylight-saving changes: a time the clocks skip runs at the
// instant they jump; a time they repeat runs once, at its first
// occurrence, unless the hour field is "*", whose schedules run on every
// minute that passes. "@every" ticks at the multiples of D since the Unix
// epoch, whatever the zone. An expression no date can meet (such as
// "0 0 30 2 *") is an error.
func ParseSpec(spec string, loc *time.Location) (Spec, error) {
	if loc == nil {
		loc = time.UTC
	}
	s := strings.TrimSpace(spec)
	if rest, ok := strings.CutPrefix(s, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("schedule %q: %w", spec, err)
		}
		if d < time.Second || d%time.Millisecond != 0 {
			return nil, fmt.Errorf("schedule %q: @every needs at least 1s, in whole milliseconds", spec)
		}
		return every{d}, nil
	}
	if strings.HasPrefix(s, "@") {
		expr, ok := names[strings.ToLower(s)]
		if !ok {
			return nil, fmt.Errorf("schedule %q: unknown name", spec)
		}
		s = expr
	}
	fields := strings.Fields(s)
	if len(fields) != 5 {
		return nil, fmt.Errorf("schedule %q: want 5 fields (minute hour day month weekday), got %d", spec, len(fields))
	}
	c := &cron{loc: loc}
	var err error
	parse := func(i int, lo, hi int, names map[string]int) (uint64, bool) {
		if err != nil {
			return 0, false
		}
		var bits uint64
		var star bool
		bits, star, err = parseField(fields[i], lo, hi, names)
		if err != nil {
			err = fmt.Errorf("schedule %q: field %d (%s): %w", spec, i+1, [...]string{"minute", "hour", "day of month", "month", "day of week"}[i], err)
		}
		return bits, star
	}
	c.minute, _ = parse(0, 0, 59, nil)
	c.hour, c.hourStar = parse(1, 0, 23, nil)
	c.dom, c.domStar = parse(2, 1, 31, nil)
	c.month, _ = parse(3, 1, 12, monthNames)
	c.dow, c.dowStar = parse(4, 0, 7, dayNames)
	if err != nil {
		return nil, err
	}
	if c.dow&(1<<7) != 0 {
		c.dow |= 1 // 7 is Sunday too
	}
	c.hourStar = c.hourStar && fields[1] == "*"
	if !c.possible() {
		return nil, fmt.Errorf("schedule %q: no date has that day of that month", spec)
	}
	return c, nil
}

// parseField parses one field into a bit set of [lo, hi]; star reports a
// field that starts with "*".
func parseField(f string, lo, hi int, names map[string]int) (bits uint64, star bool, err error) {
	if f == "" {
		return 0, false, fmt.Errorf("empty")
	}
	for _, item := range strings.Split(f, ",") {
		rng, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			if step, err = strconv.Atoi(stepText); err != nil || step < 1 || step > hi {
				return 0, false, fmt.Errorf("bad step %q", stepText)
			}
		}
		var from, to int
		switch {
		case rng == "*":
			from, to, star = lo, hi, true
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			if from, err = value(a, lo, hi, names); err != nil {
				return 0, false, err
			}
			if to, err = value(b, lo, hi, names); err != nil {
				return 0, false, err
			}
			if from > to {
				return 0, false, fmt.Errorf("range %q runs backwards", rng)
			}
		default:
			if from, err = value(rng, lo, hi, names); err != nil {
				return 0, false, err
			}
			to = from
			if hasStep {
				to = hi // a/n: from a to the end, as most crons read it
			}
		}
		for v := from; v <= to; v += step {
			bits |= 1 << v
		}
	}
	return bits, star, nil
}

// value parses a number or a name within [lo, hi].
func value(s string, lo, hi int, names map[string]int) (int, error) {
	if v, ok := names[strings.ToLower(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi || s != strconv.Itoa(v) {
		return 0, fmt.Errorf("%q is not a value from %d to %d", s, lo, hi)
	}
	return v, nil
}

// monthDays is the most days each month can have.
var monthDays = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// possible reports whether some date meets the day and month fields.
func (c *cron) possible() bool {
	if c.domStar || !c.dowStar {
		return true // every month has every weekday
	}
	for m := 1; m <= 12; m++ {
		if c.month&(1<<m) == 0 {
			continue
		}
		for d := 1; d <= monthDays[m]; d++ {
			if c.dom&(1<<d) != 0 {
				return true
			}
		}
	}
	return false
}

// dayMatches applies Vixie cron's rule: with both day fields restricted,
// either may match; otherwise the restricted one must.
func (c *cron) dayMatches(day, weekday int) bool {
	d, w := c.dom&(1<<day) != 0, c.dow&(1<<weekday) != 0
	if c.domStar || c.dowStar {
		return d && w
	}
	return d || w
}

// horizon bounds the search: a date every spec meets (29 February with
// any weekday) comes within 8 years.
const horizon = 9 * 366

// Next walks the calendar in the spec's zone, day by day and then through
// the matching hours and minutes of a day, and turns each matching wall
// time into the instants it names there.
func (c *cron) Next(t time.Time) time.Time {
	local := t.In(c.loc)
	y, mo, d := local.Date()
	day := time.Date(y, mo, d, 0, 0, 0, 0, time.UTC) // the wall date, as a UTC date
	for range horizon {
		yy, mm, dd := day.Date()
		if c.month&(1<<int(mm)) == 0 {
			day = time.Date(yy, mm+1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if c.dayMatches(dd, int(day.Weekday())) {
			if at := c.nextOnDay(day, t); !at.IsZero() {
				return at
			}
		}
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}
}

// nextOnDay returns the first tick after t on the wall date day. Walls
// go up through the day, but in a repeated hour their instants do not:
// the earliest instant wins, and the walk stops once no later wall can
// give an earlier one.
func (c *cron) nextOnDay(day, t time.Time) time.Time {
	var best time.Time
	for h := 0; h < 24; h++ {
		if c.hour&(1<<h) == 0 {
			continue
		}
		for m := 0; m < 60; m++ {
			if c.minute&(1<<m) == 0 {
				continue
			}
			wall := day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
			ats, earliest := c.instants(wall)
			if !best.IsZero() && earliest.After(best) {
				return best
			}
			for _, at := range ats {
				if at.After(t) && (best.IsZero() || at.Before(best)) {
					best = at
				}
			}
		}
	}
	return best
}

// instants returns the instants at which the clocks of the zone show the
// wall time (given as a UTC time), earliest first: one; two in a repeated
// hour (only the first unless the hour field is "*"); or, in a skipped
// hour, the instant the clocks jump. earliest bounds the instants of this
// wall and of every later one from below.
func (c *cron) instants(wall time.Time) (ats []time.Time, earliest time.Time) {
	// Whichever of the zone's offsets around the wall time applies, the
	// instant is wall - offset.
	_, off1 := wall.Add(-26 * time.Hour).In(c.loc).Zone()
	_, off2 := wall.Add(26 * time.Hour).In(c.loc).Zone()
	a1 := wall.Add(-time.Duration(off1) * time.Second)
	a2 := wall.Add(-time.Duration(off2) * time.Second)
	if a2.Before(a1) {
		a1, a2 = a2, a1
	}
	earliest = a1
	ok1, ok2 := sameWall(a1.In(c.loc), wall), sameWall(a2.In(c.loc), wall) && !a2.Equal(a1)
	switch {
	case ok1 && ok2:
		if c.hourStar {
			return []time.Time{a1.UTC(), a2.UTC()}, earliest
		}
		return []time.Time{a1.UTC()}, earliest
	case ok1:
		return []time.Time{a1.UTC()}, earliest
	case ok2:
		return []time.Time{a2.UTC()}, earliest
	}
	// Skipped: the earlier reading still falls in the zone in force before
	// the clocks jump, which ends when they do.
	_, end := a1.In(c.loc).ZoneBounds()
	if end.IsZero() || !end.After(a1) {
		return nil, earliest
	}
	return []time.Time{end.UTC()}, earliest
}

// sameWall reports whether local shows wall's date and clock (to the minute).
func sameWall(local, wall time.Time) bool {
	y1, m1, d1 := local.Date()
	y2, m2, d2 := wall.Date()
	return y1 == y2 && m1 == m2 && d1 == d2 && local.Hour() == wall.Hour() && local.Minute() == wall.Minute()
}
