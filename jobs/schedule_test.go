package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"loam"
	"loam/jobs"
)

// takeAll claims every available job of kind (no worker runs in these
// tests) and returns their unique keys, sorted.
func takeAll(t *testing.T, app *loam.App, kind string, now time.Time) []string {
	t.Helper()
	got, err := app.Store().ClaimJobs(t.Context(), loam.JobClaim{Worker: "test", Now: now, LeaseUntil: now.Add(time.Hour),
		Kinds: []string{kind}, Queues: []loam.QueueClaim{{Queue: "default", Max: 10000}}})
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, len(got))
	for i, j := range got {
		keys[i] = j.UniqueKey
	}
	slices.Sort(keys)
	return keys
}

// tickKey is the unique key of a schedule's tick job.
func tickKey(kind, schedule string, tick time.Time) string {
	return fmt.Sprintf(`[%q,"schedule:%s@%s"]`, kind, schedule, tick.UTC().Format(loam.TimeLayout))
}

// TestScheduleTicksOnce: three schedulers (three apps on one database)
// running the same @every 1s schedule at each of N ticks enqueue N jobs,
// one per tick.
func TestScheduleTicksOnce(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		const n, schedulers = 20, 3
		t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		var clients []*jobs.Client
		var app *loam.App
		for range schedulers {
			app = db.app(t)
			c := newClient(t, app, jobs.Config{})
			k := jobs.Register(c, "beat", func(context.Context, *jobs.Job[int]) error { return nil })
			if err := k.Schedule("heartbeat", "@every 1s", 7, jobs.ScheduleOpts{Grace: time.Millisecond}); err != nil {
				t.Fatal(err)
			}
			clients = append(clients, c)
		}
		var want []string
		for i := 1; i <= n; i++ {
			now := t0.Add(time.Duration(i) * time.Second)
			want = append(want, tickKey("beat", "heartbeat", now))
			var wg sync.WaitGroup
			for _, c := range clients {
				wg.Go(func() {
					if next := c.RunSchedules(t.Context(), now); !next.Equal(now.Add(time.Second)) {
						t.Errorf("next tick after %v = %v", now, next)
					}
				})
			}
			wg.Wait()
		}
		slices.Sort(want)
		if got := takeAll(t, app, "beat", t0.Add(time.Hour)); !slices.Equal(got, want) {
			t.Fatalf("%d schedulers over %d ticks enqueued %d jobs:\n%v\nwant\n%v", schedulers, n, len(got), got, want)
		}
	})
}

// TestScheduleMissedTicks: ticks older than the grace are skipped, or run
// once, by the schedule's policy; a new schedule has missed nothing.
func TestScheduleMissedTicks(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		app := db.app(t)
		c := newClient(t, app, jobs.Config{})
		at := func(hhmm string) time.Time {
			t.Helper()
			v, err := time.Parse(time.RFC3339, "2026-11-25T"+hhmm+":00Z")
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		for _, tc := range []struct {
			kind   string
			policy jobs.MissedPolicy
			want   []string // ticks enqueued
		}{
			{"skipper", jobs.SkipMissed, []string{"10:00", "10:05"}},
			{"runner", jobs.RunMissedOnce, []string{"10:00", "10:01", "10:05"}},
		} {
			t.Run(tc.kind, func(t *testing.T) {
				k := jobs.Register(c, tc.kind, func(context.Context, *jobs.Job[int]) error { return nil })
				if err := k.Schedule(tc.kind, "* * * * *", 1, jobs.ScheduleOpts{Missed: tc.policy, Grace: 10 * time.Second}); err != nil {
					t.Fatal(err)
				}
				c.RunSchedules(t.Context(), at("10:00")) // first sight: the 10:00 tick only, not the hour before
				c.RunSchedules(t.Context(), at("10:05")) // 10:01 to 10:04 were missed
				c.RunSchedules(t.Context(), at("10:05")) // nothing new
				var want []string
				for _, w := range tc.want {
					want = append(want, tickKey(tc.kind, tc.kind, at(w)))
				}
				if got := takeAll(t, app, tc.kind, at("11:00")); !slices.Equal(got, want) {
					t.Fatalf("enqueued %v, want %v", got, want)
				}
			})
		}
	})
}

// TestScheduleRuns: a started worker runs its schedule's ticks by itself.
func TestScheduleRuns(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		c := newClient(t, db.app(t), fast(jobs.Config{}))
		ran := make(chan string, 10)
		k := jobs.Register(c, "tick", func(_ context.Context, j *jobs.Job[string]) error {
			ran <- j.UniqueKey
			return nil
		})
		start(t, c)
		// Added after Start: the scheduler picks it up at once.
		if err := k.Schedule("fast", "@every 1s", "x"); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		deadline := time.After(10 * time.Second)
		began := time.Now()
		for len(seen) < 2 {
			select {
			case key := <-ran:
				if seen[key] {
					t.Fatalf("tick %s ran twice", key)
				}
				seen[key] = true
			case <-deadline:
				t.Fatalf("only %d ticks ran", len(seen))
			}
		}
		// A new schedule starts now: no backlog of the minute before.
		if d := time.Since(began); d < 900*time.Millisecond {
			t.Fatalf("two ticks of @every 1s ran within %v of the schedule's start", d)
		}
	})
}

func TestScheduleRefusesMistakes(t *testing.T) {
	t.Parallel()
	c := newClient(t, startApp(t, openStore(t, "sqlite", t.TempDir()+"/d.db")), jobs.Config{})
	k := jobs.Register(c, "k", func(context.Context, *jobs.Job[int]) error { return nil })
	if err := k.Schedule("a", "@daily", 1); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, spec string }{{"a", "@daily"}, {"bad name", "@daily"}, {"b", "61 * * * *"}, {"c", "@every 1ms"}} {
		if err := k.Schedule(tc.name, tc.spec, 1); err == nil {
			t.Errorf("Schedule(%q, %q) was accepted", tc.name, tc.spec)
		}
	}
	if err := k.Schedule("d", "@daily", 1, jobs.ScheduleOpts{Job: jobs.Opts{Queue: "no spaces"}}); err == nil || errors.Is(err, loam.ErrNotFound) {
		t.Errorf("a schedule with bad job options was accepted: %v", err)
	}
}
