package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"loam"
	"loam/jobs"
)

// clock is a settable clock for Config.Now.
type clock struct{ ms atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}
func (c *clock) set(t time.Time)     { c.ms.Store(t.UnixMilli()) }
func (c *clock) now() time.Time      { return time.UnixMilli(c.ms.Load()).UTC() }
func (c *clock) add(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// TestStoredSchedules: a schedule stored through one client runs on every
// scheduler sharing the database, once per tick, from the moment it is
// stored; paused, it enqueues nothing; deleted, it stops.
func TestStoredSchedules(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		ctx := t.Context()
		t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		clk := newClock(t0)
		admin := newClient(t, db.app(t), jobs.Config{Now: clk.now})
		if err := admin.RegisterBuiltins(jobs.BuiltinConfig{OutboundHosts: []string{"hooks.example.com"}}); err != nil {
			t.Fatal(err)
		}
		// Three schedulers, made before the schedule exists; one has the
		// built-in kinds, as loam serve's, the others not.
		var schedulers []*jobs.Client
		var app *loam.App
		for i := range 3 {
			app = db.app(t)
			c := newClient(t, app, jobs.Config{Now: clk.now})
			if i == 0 {
				if err := c.RegisterBuiltins(jobs.BuiltinConfig{}); err != nil {
					t.Fatal(err)
				}
			}
			schedulers = append(schedulers, c)
		}
		run := func(at time.Time) {
			t.Helper()
			var wg sync.WaitGroup
			for _, c := range schedulers {
				wg.Go(func() { c.RunSchedules(ctx, at) })
			}
			wg.Wait()
		}
		sc, err := admin.CreateSchedule(ctx, &loam.Schedule{Name: "ping", Spec: "@every 1s", Kind: jobs.KindHTTP,
			Args: json.RawMessage(`{"url":"https://hooks.example.com/ping"}`), Queue: "hooks", Tags: []string{"beat"}})
		if err != nil {
			t.Fatal(err)
		}
		if sc.Grace != jobs.DefaultGrace || sc.Missed != loam.ScheduleSkipMissed || !sc.LastTick.Equal(t0.Add(-time.Millisecond)) {
			t.Errorf("created schedule %+v", sc)
		}
		const n = 5
		var want []string
		for i := 0; i <= n; i++ {
			tick := t0.Add(time.Duration(i) * time.Second)
			want = append(want, tickKey(jobs.KindHTTP, "ping", tick))
			if i > 0 {
				run(tick)
			}
		}
		slices.Sort(want)
		got, err := app.Store().ClaimJobs(ctx, loam.JobClaim{Worker: "test", Now: t0.Add(time.Hour), LeaseUntil: t0.Add(2 * time.Hour),
			Kinds: []string{jobs.KindHTTP}, Queues: []loam.QueueClaim{{Queue: "hooks", Max: 100}}})
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, j := range got {
			keys = append(keys, j.UniqueKey)
			if !slices.Equal(j.Tags, []string{"beat"}) || string(j.Args) == "" {
				t.Errorf("tick job %+v", j)
			}
		}
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Fatalf("3 schedulers over %d ticks enqueued:\n%v\nwant\n%v", n+1, keys, want)
		}
		// Paused: nothing, and the ticks it slept through are missed.
		sc.Paused = true
		if _, err := admin.UpdateSchedule(ctx, sc); err != nil {
			t.Fatal(err)
		}
		run(t0.Add(10 * time.Second))
		sc.Paused, sc.Spec = false, "@every 1m"
		if _, err := admin.UpdateSchedule(ctx, sc); err != nil {
			t.Fatal(err)
		}
		run(t0.Add(3 * time.Minute)) // the minute ticks at 1m and 2m are past the grace; 3m runs
		if err := admin.DeleteSchedule(ctx, "ping"); err != nil {
			t.Fatal(err)
		}
		run(t0.Add(4 * time.Minute))
		got, err = app.Store().ClaimJobs(ctx, loam.JobClaim{Worker: "test", Now: t0.Add(time.Hour), LeaseUntil: t0.Add(2 * time.Hour),
			Kinds: []string{jobs.KindHTTP}, Queues: []loam.QueueClaim{{Queue: "hooks", Max: 100}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].UniqueKey != tickKey(jobs.KindHTTP, "ping", t0.Add(3*time.Minute)) {
			t.Errorf("after pause, resume and delete: %d jobs %v, want the tick at 3m only", len(got), got)
		}
	})
}

// TestStoredScheduleLiveRefresh: a running scheduler picks up a schedule
// another process stores.
func TestStoredScheduleLiveRefresh(t *testing.T) {
	t.Parallel()
	db := newDatabase(t, "sqlite")
	scheduler := newClient(t, db.app(t), fast(jobs.Config{Roles: jobs.RoleScheduler, ScheduleRefresh: 20 * time.Millisecond}))
	start(t, scheduler)
	app := db.app(t)
	admin := newClient(t, app, jobs.Config{})
	if err := admin.RegisterBuiltins(jobs.BuiltinConfig{OutboundHosts: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateSchedule(t.Context(), &loam.Schedule{Name: "live", Spec: "@every 1s", Kind: jobs.KindHTTP,
		Args: json.RawMessage(`{"url":"https://x.example/"}`)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a tick of the stored schedule", func() bool {
		list, _, err := admin.List(t.Context(), loam.ListQuery{Filter: `uniqueKey ~ "schedule:live@"`, PerPage: 1})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.Items) == 1
	})
}

// TestCheckSchedule: a stored schedule's definition is checked whole.
func TestCheckSchedule(t *testing.T) {
	t.Parallel()
	c := builtinClient(t, startApp(t, openStore(t, "sqlite", newDatabase(t, "sqlite").url)), "hooks.example.com")
	k := jobs.Register(c, "own", func(context.Context, *jobs.Job[int]) error { return nil })
	if err := k.Schedule("declared", "@daily", 1); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateSchedule(t.Context(), &loam.Schedule{Name: "bad name!", Spec: "61 * * * *", Kind: "own",
		Timezone: "Mars/Olympus", Missed: "sometimes", Grace: time.Millisecond, Queue: "a queue", MaxAttempts: -1,
		Timeout: -time.Second, Tags: []string{""}})
	want := map[string]string{"name": loam.FieldPattern, "spec": loam.FieldInvalid, "kind": loam.FieldInvalidChoice,
		"timezone": loam.FieldInvalid, "missed": loam.FieldInvalidChoice, "grace": loam.FieldTooSmall, "queue": loam.FieldPattern,
		"maxAttempts": loam.FieldTooSmall, "timeout": loam.FieldTooSmall, "tags": loam.FieldInvalid}
	if got := fieldErrors(t, err); !mapsEqual(got, want) {
		t.Errorf("field errors %v, want %v", got, want)
	}
	_, err = c.CreateSchedule(t.Context(), &loam.Schedule{Name: "ok", Spec: "@hourly", Kind: jobs.KindHTTP,
		Args: json.RawMessage(`{"url":"https://elsewhere.example/"}`)})
	if got := fieldErrors(t, err); !mapsEqual(got, map[string]string{"args.url": loam.FieldInvalid}) {
		t.Errorf("a schedule of a host not allowed: %v", got)
	}
	_, err = c.CreateSchedule(t.Context(), &loam.Schedule{Name: "declared", Spec: "@hourly", Kind: jobs.KindHTTP,
		Args: json.RawMessage(`{"url":"https://hooks.example.com/"}`)})
	if !errors.Is(err, loam.ErrConflict) {
		t.Errorf("a stored schedule named like a declared one: %v, want conflict", err)
	}
	if list, err := c.ListSchedules(t.Context(), loam.ListQuery{}); err != nil || len(list.Items) != 0 {
		t.Errorf("refused schedules were stored: %v %v", list, err)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestLists: jobs and stored schedules list with the parameters of
// records: filters, sorts, pages and cursors, and their mistakes.
func TestLists(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clk := newClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	c := newClient(t, startApp(t, openStore(t, "sqlite", newDatabase(t, "sqlite").url)), jobs.Config{Now: clk.now})
	if err := c.RegisterBuiltins(jobs.BuiltinConfig{OutboundHosts: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 7 {
		clk.add(time.Second)
		enqueueJSON(t, c, jobs.KindHTTP, `{"url":"https://x.example/"}`, jobs.Opts{Priority: i % 2, Tags: []string{"t"}})
		if _, err := c.CreateSchedule(ctx, &loam.Schedule{Name: string(rune('g' - i)), Spec: "@hourly", Kind: jobs.KindHTTP,
			Args: json.RawMessage(`{"url":"https://x.example/"}`), Priority: i % 3, Paused: i == 3}); err != nil {
			t.Fatal(err)
		}
	}
	// Jobs: newest first, three a page, by cursor.
	var ids []int64
	q := loam.ListQuery{Sort: []loam.SortKey{{Field: "created", Desc: true}}, PerPage: 3}
	for range 5 {
		list, next, err := c.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range list.Items {
			ids = append(ids, j.ID)
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	if !slices.Equal(ids, []int64{7, 6, 5, 4, 3, 2, 1}) {
		t.Errorf("jobs newest first by cursor: %v", ids)
	}
	list, _, err := c.List(ctx, loam.ListQuery{Filter: `priority = 1 && tags ?= "t"`, SkipTotal: true})
	if err != nil || len(list.Items) != 3 || list.TotalItems != -1 {
		t.Errorf("filtered jobs: %v, %v", list, err)
	}
	for _, bad := range []struct {
		q    loam.ListQuery
		code string
	}{
		{loam.ListQuery{Filter: `nosuch = 1`}, loam.CodeInvalidFilter},
		{loam.ListQuery{Filter: `priority = `}, loam.CodeInvalidFilter},
		{loam.ListQuery{Sort: []loam.SortKey{{Field: "tags"}}}, loam.CodeInvalidSort},
		{loam.ListQuery{Cursor: "garbage"}, loam.CodeInvalidQuery},
		{loam.ListQuery{Sort: []loam.SortKey{{Field: "priority"}}, Cursor: q.Cursor}, loam.CodeInvalidQuery}, // a cursor of another order
	} {
		if _, _, err := c.List(ctx, bad.q); loam.CodeOf(err) != bad.code {
			t.Errorf("List %+v: %v, want %s", bad.q, err, bad.code)
		}
		if _, err := c.ListSchedules(ctx, bad.q); loam.CodeOf(err) != bad.code {
			t.Errorf("ListSchedules %+v: %v, want %s", bad.q, err, bad.code)
		}
	}
	// Schedules: by priority going down, then name, two a page.
	var names []string
	sq := loam.ListQuery{Filter: `paused = false`, Sort: []loam.SortKey{{Field: "priority", Desc: true}}, PerPage: 2}
	for range 5 {
		page, err := c.ListSchedules(ctx, sq)
		if err != nil {
			t.Fatal(err)
		}
		if page.TotalItems != 6 {
			t.Errorf("total %d, want 6", page.TotalItems)
		}
		for _, s := range page.Items {
			names = append(names, s.Name)
		}
		if page.NextCursor == "" {
			break
		}
		sq.Cursor = page.NextCursor
	}
	// g..a were made with priorities 0,1,2,0,1,2,0; d (priority 0) is paused.
	if want := []string{"b", "e", "c", "f", "a", "g"}; !slices.Equal(names, want) {
		t.Errorf("schedules by cursor: %v, want %v", names, want)
	}
	page, err := c.ListSchedules(ctx, loam.ListQuery{Sort: []loam.SortKey{{Field: "name"}}, Page: 2, PerPage: 3})
	if err != nil || len(page.Items) != 3 || page.Items[0].Name != "d" {
		t.Errorf("schedules page 2: %v, %v", page, err)
	}
}
