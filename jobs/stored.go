package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // schedules name IANA zones: the binary carries them

	"loam"
	"loam/expr"
)

// Stored schedules are declared through the HTTP API (or these methods)
// and kept in the database, so every scheduler sharing it runs them, at
// most ScheduleRefresh after they change. Their kind is a built-in one.

// DefaultGrace is how late a tick may be enqueued before it counts as
// missed, when a schedule sets no grace.
const DefaultGrace = time.Minute

// scheduleSchema gives the filter language the fields of stored schedules.
type scheduleSchema struct{}

// ScheduleFields are the fields of stored schedules that list filters
// name, as the JSON API writes them.
var ScheduleFields = map[string]expr.Field{
	"name":        {Kind: expr.KindText},
	"spec":        {Kind: expr.KindText},
	"kind":        {Kind: expr.KindText},
	"timezone":    {Kind: expr.KindText},
	"missed":      {Kind: expr.KindText},
	"queue":       {Kind: expr.KindText},
	"priority":    {Kind: expr.KindNumber, Integer: true},
	"maxAttempts": {Kind: expr.KindNumber, Integer: true},
	"paused":      {Kind: expr.KindBool},
	"tags":        {Kind: expr.KindText, Multiple: true},
	"lastTick":    {Kind: expr.KindDate},
	"created":     {Kind: expr.KindDate},
	"updated":     {Kind: expr.KindDate},
}

// ScheduleSortFields are the fields stored schedules sort by; name breaks
// ties.
var ScheduleSortFields = []string{"name", "spec", "kind", "queue", "priority", "paused", "lastTick", "created", "updated"}

func (scheduleSchema) Field(collection, name string) (expr.Field, bool) {
	f, ok := ScheduleFields[name]
	return f, ok && collection == "_schedules"
}

// scheduleRecord is a stored schedule as the filter evaluator reads it.
type scheduleRecord struct{ s *loam.Schedule }

func (r scheduleRecord) Get(field string) any {
	s := r.s
	switch field {
	case "name":
		return s.Name
	case "spec":
		return s.Spec
	case "kind":
		return s.Kind
	case "timezone":
		return s.Timezone
	case "missed":
		return s.Missed
	case "queue":
		return s.Queue
	case "priority":
		return int64(s.Priority)
	case "maxAttempts":
		return int64(s.MaxAttempts)
	case "paused":
		return s.Paused
	case "tags":
		return s.Tags
	case "lastTick":
		return s.LastTick
	case "created":
		return s.Created
	case "updated":
		return s.Updated
	}
	return nil
}

// noData is the evaluator's Data for records without relations.
type noData struct{}

func (noData) Record(string, string) expr.Record                      { return nil }
func (noData) Referencing(string, string, string, bool) []expr.Record { return nil }
func (noData) All(string) []expr.Record                               { return nil }

// ScheduleList is a page of stored schedules (as loam.RecordList is of
// records).
type ScheduleList struct {
	Items      []*loam.Schedule
	Page       int
	PerPage    int
	TotalItems int64
	NextCursor string
}

// ListSchedules returns a page of the stored schedules, with the list
// parameters of records over ScheduleFields and ScheduleSortFields. The
// schedules are few: they are read whole and filtered here, with the
// filter language's own evaluator.
func (c *Client) ListSchedules(ctx context.Context, q loam.ListQuery) (*ScheduleList, error) {
	where, err := c.checkFilter(q.Filter, scheduleSchema{}, "_schedules")
	if err != nil {
		return nil, err
	}
	var keys []loam.SortKey
	for _, k := range q.Sort {
		if !slices.Contains(ScheduleSortFields, k.Field) {
			return nil, loam.Errorf(loam.CodeInvalidSort, "schedules sort by %s, not by %q", strings.Join(ScheduleSortFields, ", "), k.Field)
		}
		keys = append(keys, loam.SortKey{Field: k.Field, Desc: k.Desc})
	}
	var after *loam.Cursor
	if q.Cursor != "" {
		if after, err = decodeCursor(q.Cursor, keys, func(f string) expr.Kind { return ScheduleFields[f].Kind }); err != nil {
			return nil, err
		}
	}
	all, err := c.app.Store().ListSchedules(ctx)
	if err != nil {
		return nil, err
	}
	var items []*loam.Schedule
	for _, s := range all {
		if where == nil || expr.Eval(where, scheduleRecord{s}, noData{}) {
			items = append(items, s)
		}
	}
	compare := func(a, b *loam.Schedule) int {
		for _, k := range keys {
			n := compareValues(scheduleRecord{a}.Get(k.Field), scheduleRecord{b}.Get(k.Field))
			if k.Desc {
				n = -n
			}
			if n != 0 {
				return n
			}
		}
		return strings.Compare(a.Name, b.Name)
	}
	slices.SortStableFunc(items, compare)
	perPage := max(q.PerPage, 1)
	if q.PerPage <= 0 {
		perPage = 30
	}
	page := max(q.Page, 1)
	out := &ScheduleList{Page: page, PerPage: perPage, TotalItems: int64(len(items))}
	start := (page - 1) * perPage
	if after != nil {
		out.Page = -1
		pos := &loam.Schedule{Name: after.ID}
		vals := map[string]any{}
		for i, k := range keys {
			vals[k.Field] = after.Values[i]
		}
		start = len(items)
		for i, s := range items {
			if compareAt(s, pos, keys, vals) > 0 {
				start = i
				break
			}
		}
	}
	if q.SkipTotal {
		out.TotalItems = -1
	}
	start = min(start, len(items))
	end := min(start+perPage, len(items))
	out.Items = items[start:end]
	if end-start == perPage {
		last := items[end-1]
		cur := &loam.Cursor{ID: last.Name, Values: make([]any, len(keys))}
		for i, k := range keys {
			cur.Values[i] = scheduleRecord{last}.Get(k.Field)
		}
		out.NextCursor = encodeCursor(keys, cur)
	}
	return out, nil
}

// compareAt compares s with the cursor position (its sort values and
// name), in the order of keys.
func compareAt(s, pos *loam.Schedule, keys []loam.SortKey, vals map[string]any) int {
	for _, k := range keys {
		n := compareValues(scheduleRecord{s}.Get(k.Field), vals[k.Field])
		if k.Desc {
			n = -n
		}
		if n != 0 {
			return n
		}
	}
	return strings.Compare(s.Name, pos.Name)
}

// compareValues orders two values of one sortable field.
func compareValues(a, b any) int {
	switch x := a.(type) {
	case string:
		y, _ := b.(string)
		return strings.Compare(x, y)
	case int64:
		y, _ := b.(int64)
		return cmp.Compare(x, y)
	case bool:
		y, _ := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case time.Time:
		y, _ := b.(time.Time)
		return x.Compare(y)
	}
	return 0
}

// GetSchedule returns a stored schedule, or an error wrapping
// loam.ErrNotFound.
func (c *Client) GetSchedule(ctx context.Context, name string) (*loam.Schedule, error) {
	return c.app.Store().GetSchedule(ctx, name)
}

// CreateSchedule checks a schedule (see CheckSchedule) and stores it,
// starting now: it has missed nothing. A name taken by another schedule,
// stored or declared in Go, is loam.ErrConflict.
func (c *Client) CreateSchedule(ctx context.Context, s *loam.Schedule) (*loam.Schedule, error) {
	now := c.now()
	s.Created, s.Updated, s.LastTick = now, now, now.Add(-time.Millisecond)
	if err := c.CheckSchedule(s); err != nil {
		return nil, err
	}
	c.mu.RLock()
	_, declared := c.schedules[s.Name]
	c.mu.RUnlock()
	if declared {
		return nil, loam.Errorf(loam.CodeConflict, "a schedule named %q is declared in Go", s.Name)
	}
	if err := c.app.Store().CreateSchedule(ctx, s); err != nil {
		return nil, err
	}
	signal(c.schedulesChanged)
	return s, nil
}

// UpdateSchedule checks a stored schedule's new definition and stores it;
// its handled time and creation stay. A missing one is loam.ErrNotFound.
func (c *Client) UpdateSchedule(ctx context.Context, s *loam.Schedule) (*loam.Schedule, error) {
	s.Updated = c.now()
	if err := c.CheckSchedule(s); err != nil {
		return nil, err
	}
	if err := c.app.Store().UpdateSchedule(ctx, s); err != nil {
		return nil, err
	}
	signal(c.schedulesChanged)
	return c.app.Store().GetSchedule(ctx, s.Name)
}

// DeleteSchedule deletes a stored schedule; the jobs of its past ticks
// stay. A missing one is loam.ErrNotFound.
func (c *Client) DeleteSchedule(ctx context.Context, name string) error {
	if err := c.app.Store().DeleteSchedule(ctx, name); err != nil {
		return err
	}
	signal(c.schedulesChanged)
	return nil
}

// CheckSchedule fills in the defaults of a stored schedule (missed "skip",
// grace DefaultGrace, queue "default", zone UTC) and checks it: a validation_failed
// *loam.Error names every member at fault (name, spec, kind, timezone,
// missed, grace, queue, maxAttempts, timeout, tags, args.<member>). The
// kind must be a built-in one, and its arguments are checked as
// EnqueueJSON checks them.
func (c *Client) CheckSchedule(s *loam.Schedule) error {
	var fe loam.FieldErrors
	if !nameRE.MatchString(s.Name) {
		fe.Add("name", loam.FieldPattern, "must be 1 to 100 of A-Z a-z 0-9 _ . : -")
	}
	if s.Missed == "" {
		s.Missed = loam.ScheduleSkipMissed
	}
	if s.Grace == 0 {
		s.Grace = DefaultGrace
	}
	if s.Queue == "" {
		s.Queue = "default"
	}
	if s.Timezone == "" {
		s.Timezone = "UTC"
	}
	loc := time.UTC
	if s.Timezone != "UTC" {
		l, err := time.LoadLocation(s.Timezone)
		if err != nil || s.Timezone == "Local" {
			fe.Add("timezone", loam.FieldInvalid, "%q is not an IANA time zone", s.Timezone)
		} else {
			loc = l
		}
	}
	if _, err := ParseSpec(s.Spec, loc); err != nil {
		fe.Add("spec", loam.FieldInvalid, "%s", strings.TrimPrefix(err.Error(), "schedule "))
	}
	if s.Missed != loam.ScheduleSkipMissed && s.Missed != loam.ScheduleRunMissedOnce {
		fe.Add("missed", loam.FieldInvalidChoice, "must be skip or once")
	}
	if s.Grace < time.Second {
		fe.Add("grace", loam.FieldTooSmall, "must be at least 1 second")
	}
	if !nameRE.MatchString(s.Queue) {
		fe.Add("queue", loam.FieldPattern, "must be 1 to 100 of A-Z a-z 0-9 _ . : -")
	}
	if s.MaxAttempts < 0 {
		fe.Add("maxAttempts", loam.FieldTooSmall, "cannot be negative")
	}
	if s.Timeout < 0 {
		fe.Add("timeout", loam.FieldTooSmall, "cannot be negative")
	}
	if slices.Contains(s.Tags, "") {
		fe.Add("tags", loam.FieldInvalid, "a tag cannot be empty")
	}
	if args, err := c.CheckJSON(s.Kind, s.Args); err != nil {
		var e *loam.Error
		if !errors.As(err, &e) {
			return err
		}
		for k, v := range e.Fields {
			fe.Add(k, v.Code, "%s", v.Message)
		}
	} else {
		s.Args = args
	}
	return fe.Err(loam.CodeValidationFailed, "the schedule is not valid")
}

// storedSchedule turns a stored schedule into one the scheduler runs; ok
// is false when it cannot run (a bad spec or zone stored by an older
// version), which is logged.
func (c *Client) storedSchedule(s *loam.Schedule) (*schedule, bool) {
	loc := time.UTC
	if s.Timezone != "" {
		l, err := time.LoadLocation(s.Timezone)
		if err != nil {
			c.log.Error("a stored schedule has an unknown time zone; it does not run", "schedule", s.Name, "err", err)
			return nil, false
		}
		loc = l
	}
	spec, err := ParseSpec(s.Spec, loc)
	if err != nil {
		c.log.Error("a stored schedule has a bad spec; it does not run", "schedule", s.Name, "err", err)
		return nil, false
	}
	missed := SkipMissed
	if s.Missed == loam.ScheduleRunMissedOnce {
		missed = RunMissedOnce
	}
	grace := s.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	args := s.Args
	if len(args) == 0 {
		args = json.RawMessage("null")
	}
	return &schedule{name: s.Name, spec: spec, kind: s.Kind, args: args, stored: true, opts: ScheduleOpts{
		Location: loc, Missed: missed, Grace: grace,
		Job: Opts{Queue: s.Queue, Priority: s.Priority, MaxAttempts: s.MaxAttempts, Timeout: s.Timeout, Tags: s.Tags},
	}}, true
}

// NextTick is the first tick of a stored schedule after now (and after
// its handled time); zero when it is paused or cannot run.
func (c *Client) NextTick(s *loam.Schedule) time.Time {
	if s.Paused {
		return time.Time{}
	}
	loc := time.UTC
	if s.Timezone != "" {
		l, err := time.LoadLocation(s.Timezone)
		if err != nil {
			return time.Time{}
		}
		loc = l
	}
	spec, err := ParseSpec(s.Spec, loc)
	if err != nil {
		return time.Time{}
	}
	from := c.now()
	if s.LastTick.After(from) {
		from = s.LastTick
	}
	return spec.Next(from)
}
