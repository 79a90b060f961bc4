package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"loam"
	"loam/jobs"
	"loam/postgres"
	"loam/postgres/pgtest"
	"loam/sqlite"
)

// openStore opens a fresh store of the given kind; url names the
// PostgreSQL database ("" for a fresh one).
func openStore(t *testing.T, kind, url string) loam.Store {
	t.Helper()
	var store loam.Store
	var err error
	switch kind {
	case "sqlite":
		store, err = sqlite.Open(t.Context(), sqlite.Config{Path: url})
	case "postgres":
		store, err = postgres.Open(t.Context(), postgres.Config{URL: url, MaxConns: 8})
	}
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// startApp starts an App on a store and stops it when the test ends.
func startApp(t *testing.T, store loam.Store) *loam.App {
	t.Helper()
	app, err := loam.New(loam.Config{Store: store, SchemaPoll: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Stop() })
	return app
}

// database is one fresh database that several apps may share.
type database struct {
	kind, url string
}

func newDatabase(t *testing.T, kind string) database {
	t.Helper()
	if kind == "postgres" {
		return database{kind, pgtest.URL(t)}
	}
	return database{kind, filepath.Join(t.TempDir(), "data.db")}
}

// app starts another App on the database.
func (d database) app(t *testing.T) *loam.App { return startApp(t, openStore(t, d.kind, d.url)) }

// eachDB runs fn, as parallel subtests, on a fresh SQLite and a fresh
// PostgreSQL database.
func eachDB(t *testing.T, fn func(t *testing.T, db database)) {
	t.Helper()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			fn(t, newDatabase(t, kind))
		})
	}
}

// fast is a config whose timers suit tests: short polls, no backoff, and
// leases of 2 s, renewed every 667 ms. A shorter lease expired under a
// loaded machine (renewals starved for 200 ms), and the job ran again; the
// tests of expiry set a claim's LeaseUntil themselves.
func fast(cfg jobs.Config) jobs.Config {
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	if cfg.Lease == 0 {
		cfg.Lease = 2 * time.Second
	}
	if cfg.MaintenanceInterval == 0 {
		cfg.MaintenanceInterval = 50 * time.Millisecond
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(int) time.Duration { return 0 }
	}
	if os.Getenv("LOAM_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return cfg
}

// newClient makes a client on app.
func newClient(t *testing.T, app *loam.App, cfg jobs.Config) *jobs.Client {
	t.Helper()
	c, err := jobs.New(app, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// start starts c's worker and stops it when the test ends.
func start(t *testing.T, c *jobs.Client) {
	t.Helper()
	if err := c.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
}

// eventually polls cond until it holds, failing the test after 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitState waits until job id is in state and returns it.
func waitState(t *testing.T, c *jobs.Client, id int64, state loam.JobState) *loam.Job {
	t.Helper()
	var j *loam.Job
	eventually(t, fmt.Sprintf("job %d to be %s", id, state), func() bool {
		var err error
		j, err = c.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return j.State == state
	})
	return j
}

type greeting struct {
	Name string `json:"name"`
}

func mustEnqueue[A any](t *testing.T, k *jobs.Kind[A], args A, opts ...jobs.Opts) *loam.Job {
	t.Helper()
	e, err := k.Enqueue(t.Context(), args, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if e.Duplicate {
		t.Fatalf("enqueue of %v reported a duplicate", args)
	}
	return e.Job
}

// TestOutcomes: what a handler returns decides where its job goes.
func TestOutcomes(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		app := db.app(t)
		c := newClient(t, app, fast(jobs.Config{}))
		var tries sync.Map // job id -> *atomic.Int32
		count := func(id int64) int32 {
			v, _ := tries.LoadOrStore(id, new(atomic.Int32))
			return v.(*atomic.Int32).Add(1)
		}
		greet := jobs.Register(c, "greet", func(ctx context.Context, j *jobs.Job[greeting]) error {
			n := count(j.ID)
			switch j.Args.Name {
			case "flaky": // fails twice, then succeeds
				if n <= 2 {
					return fmt.Errorf("flaky failure %d", n)
				}
			case "broken":
				return errors.New("always broken")
			case "panics":
				if n == 1 {
					panic("handler panic")
				}
			case "sleepy": // snoozes once
				if n == 1 {
					return jobs.Snooze(30 * time.Millisecond)
				}
			case "doomed":
				return jobs.Cancel(errors.New("no such user"))
			case "slow":
				<-ctx.Done()
				return ctx.Err()
			}
			return j.SetResult(map[string]string{"hello": j.Args.Name})
		})
		start(t, c)
		cases := []struct {
			name     string
			opts     jobs.Opts
			state    loam.JobState
			attempt  int
			errors   []string // substrings of each recorded error
			result   string
			noResult bool
		}{
			{name: "ada", state: loam.JobCompleted, attempt: 1, result: `{"hello":"ada"}`},
			{name: "flaky", state: loam.JobCompleted, attempt: 3, errors: []string{"flaky failure 1", "flaky failure 2"}, result: `{"hello":"flaky"}`},
			{name: "broken", opts: jobs.Opts{MaxAttempts: 2}, state: loam.JobDead, attempt: 2, errors: []string{"always broken", "always broken"}, noResult: true},
			{name: "panics", state: loam.JobCompleted, attempt: 2, errors: []string{"panic: handler panic"}, result: `{"hello":"panics"}`},
			{name: "sleepy", state: loam.JobCompleted, attempt: 1, result: `{"hello":"sleepy"}`},
			{name: "doomed", state: loam.JobCancelled, attempt: 1, errors: []string{"no such user"}, noResult: true},
			{name: "slow", opts: jobs.Opts{Timeout: 30 * time.Millisecond, MaxAttempts: 1}, state: loam.JobDead, attempt: 1, errors: []string{"timed out after 30ms"}, noResult: true},
		}
		ids := make([]int64, len(cases))
		for i, tc := range cases {
			ids[i] = mustEnqueue(t, greet, greeting{tc.name}, tc.opts).ID
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				j := waitState(t, c, ids[i], tc.state)
				if j.Attempt != tc.attempt {
					t.Errorf("attempt = %d, want %d", j.Attempt, tc.attempt)
				}
				if len(j.Errors) != len(tc.errors) {
					t.Fatalf("errors = %+v, want %d", j.Errors, len(tc.errors))
				}
				for k, e := range j.Errors {
					if e.Attempt != k+1 || !strings.Contains(e.Error, tc.errors[k]) {
						t.Errorf("error %d = %+v, want attempt %d with %q", k, e, k+1, tc.errors[k])
					}
				}
				if got := strings.ReplaceAll(string(j.Result), " ", ""); tc.noResult && j.Result != nil || !tc.noResult && got != tc.result {
					t.Errorf("result = %s, want %s", j.Result, tc.result)
				}
				if j.State.Final() && j.FinalizedAt.IsZero() {
					t.Errorf("a %s job has no finalized time", j.State)
				}
			})
		}
	})
}

// TestEnqueueInTransaction: a job enqueued by a hook with e.Context is
// written in the hook's transaction: rolled back with it, committed with it.
func TestEnqueueInTransaction(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		ctx := t.Context()
		app := db.app(t)
		if _, err := app.CreateCollection(ctx, loam.System, &loam.Collection{Name: "users",
			Fields: []loam.Field{{Name: "name", Type: loam.TypeText}}}); err != nil {
			t.Fatal(err)
		}
		c := newClient(t, app, fast(jobs.Config{}))
		welcome := jobs.Register(c, "welcome", func(ctx context.Context, j *jobs.Job[greeting]) error { return nil })
		var enqueued []int64
		app.OnRecordCreate("users").Bind(func(e *loam.RecordEvent) error {
			res, err := welcome.Enqueue(e.Context, greeting{Name: e.Record.Get("name").(string)})
			if err != nil {
				return err
			}
			enqueued = append(enqueued, res.Job.ID)
			return e.Next()
		})
		body := func(name string) loam.Body {
			b, _ := loam.JSONBody(map[string]any{"name": name})
			return b
		}
		gone := func(what string) {
			t.Helper()
			id := enqueued[len(enqueued)-1]
			if _, err := c.Get(ctx, id); !errors.Is(err, loam.ErrNotFound) {
				t.Fatalf("%s: job %d of the rolled-back write exists (%v)", what, id, err)
			}
		}
		// A batch whose second request fails writes nothing: no record, no job.
		_, err := app.Batch(ctx, loam.System, []loam.BatchRequest{
			{Op: loam.BatchCreate, Collection: "users", Body: body("ada")},
			{Op: loam.BatchCreate, Collection: "nowhere", Body: body("x")},
		})
		if err == nil {
			t.Fatal("a batch with a bad request succeeded")
		}
		gone("batch")
		// App.InTx: the same, for any code.
		errLater := errors.New("something failed after the write")
		err = app.InTx(ctx, func(ctx context.Context) error {
			if _, err := app.CreateRecord(ctx, loam.System, "users", body("bob")); err != nil {
				return err
			}
			return errLater
		})
		if !errors.Is(err, errLater) {
			t.Fatalf("InTx = %v", err)
		}
		gone("InTx")
		if list, err := app.ListRecords(ctx, loam.System, "users", loam.ListQuery{}); err != nil || list.TotalItems != 0 {
			t.Fatalf("records after the rollbacks: %v, %v", list, err)
		}
		// Committed: the record and its job, which then runs.
		if _, err := app.Batch(ctx, loam.System, []loam.BatchRequest{{Op: loam.BatchCreate, Collection: "users", Body: body("cy")}}); err != nil {
			t.Fatal(err)
		}
		start(t, c)
		waitState(t, c, enqueued[len(enqueued)-1], loam.JobCompleted)
	})
}

// TestUnique: a duplicate enqueue returns the job that holds the key; with
// a period, the key holds within each period only.
func TestUnique(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		var now atomic.Int64
		now.Store(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).UnixMilli())
		c := newClient(t, db.app(t), jobs.Config{Now: func() time.Time { return time.UnixMilli(now.Load()) }})
		k := jobs.Register(c, "report", func(context.Context, *jobs.Job[int]) error { return nil })
		first := mustEnqueue(t, k, 1, jobs.Opts{UniqueKey: "daily"})
		again, err := k.Enqueue(t.Context(), 2, jobs.Opts{UniqueKey: "daily"})
		if err != nil || !again.Duplicate || again.Job.ID != first.ID || string(again.Job.Args) != "1" {
			t.Fatalf("duplicate enqueue = %+v, %v; want job %d", again, err, first.ID)
		}
		// The same key of another kind is another key.
		other := jobs.Register(c, "other", func(context.Context, *jobs.Job[int]) error { return nil })
		mustEnqueue(t, other, 1, jobs.Opts{UniqueKey: "daily"})
		// Periods: one job per hour.
		hourly := jobs.Opts{UniqueKey: "hourly", UniquePeriod: time.Hour}
		a := mustEnqueue(t, k, 1, hourly)
		now.Add((59 * time.Minute).Milliseconds())
		if e, err := k.Enqueue(t.Context(), 1, hourly); err != nil || !e.Duplicate || e.Job.ID != a.ID {
			t.Fatalf("same hour: %+v, %v", e, err)
		}
		now.Add(time.Minute.Milliseconds())
		if b := mustEnqueue(t, k, 1, hourly); b.ID == a.ID {
			t.Fatal("the next hour gave the same job")
		}
		// Bad options are refused.
		for _, o := range []jobs.Opts{{UniquePeriod: time.Hour}, {Queue: "a queue"}, {MaxAttempts: -1}, {Tags: []string{""}}} {
			if _, err := k.Enqueue(t.Context(), 1, o); loam.CodeOf(err) != loam.CodeValidationFailed {
				t.Errorf("Enqueue with %+v: %v, want validation_failed", o, err)
			}
		}
	})
}

// TestDelayedJobsWaitForTheirTime: RunAt and Delay hold a job back; the
// worker wakes for it when it comes due, not only at the poll.
func TestDelayedJobsWaitForTheirTime(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		c := newClient(t, db.app(t), fast(jobs.Config{PollInterval: time.Minute}))
		ran := make(chan time.Time, 1)
		k := jobs.Register(c, "later", func(context.Context, *jobs.Job[int]) error {
			ran <- time.Now()
			return nil
		})
		start(t, c)
		// The worker learns of the job by the wake-up of a local enqueue
		// (or its first claim), then sleeps until it is due: the poll is
		// a minute away.
		enqueued := time.Now()
		j := mustEnqueue(t, k, 1, jobs.Opts{Delay: 300 * time.Millisecond})
		if j.State != loam.JobScheduled {
			t.Fatalf("a delayed job is %s", j.State)
		}
		select {
		case at := <-ran:
			if d := at.Sub(enqueued); d < 250*time.Millisecond {
				t.Fatalf("a job delayed 300ms ran after %v", d)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the delayed job never ran (the worker did not wake for it)")
		}
	})
}

// TestQueueLimitAcrossWorkers: two workers on one database never run more
// of a limited queue's jobs at once than its limit.
func TestQueueLimitAcrossWorkers(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		const limit, n = 2, 16
		var running, most, done atomic.Int32
		handler := func(ctx context.Context, j *jobs.Job[int]) error {
			cur := running.Add(1)
			defer running.Add(-1)
			for m := most.Load(); cur > m && !most.CompareAndSwap(m, cur); m = most.Load() {
			}
			time.Sleep(15 * time.Millisecond) // the work, during which others could start
			done.Add(1)
			return nil
		}
		cfg := fast(jobs.Config{Queues: map[string]jobs.QueueConfig{"limited": {Workers: 5, Limit: limit}}})
		var first *jobs.Kind[int]
		var clients []*jobs.Client
		for i := range 2 {
			cfg.Worker = fmt.Sprintf("w%d", i)
			c := newClient(t, db.app(t), cfg)
			k := jobs.Register(c, "limited", handler, jobs.Opts{Queue: "limited"})
			if first == nil {
				first = k
			}
			clients = append(clients, c)
		}
		for i := range n {
			mustEnqueue(t, first, i)
		}
		for _, c := range clients {
			start(t, c)
		}
		eventually(t, "every job to run", func() bool { return done.Load() == n })
		if m := most.Load(); m > limit {
			t.Fatalf("%d jobs of a queue limited to %d ran at once", m, limit)
		}
	})
}

// TestRescueAfterWorkerDeath: the job of a worker that stopped renewing its
// lease (killed) runs again elsewhere once the lease expires.
func TestRescueAfterWorkerDeath(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		app := db.app(t)
		c := newClient(t, app, fast(jobs.Config{}))
		k := jobs.Register(c, "work", func(context.Context, *jobs.Job[int]) error { return nil })
		j := mustEnqueue(t, k, 1)
		// A worker claims it and dies: no heartbeat, no outcome.
		now := loam.Now()
		claimed, err := app.Store().ClaimJobs(t.Context(), loam.JobClaim{Worker: "killed", Now: now,
			LeaseUntil: now.Add(200 * time.Millisecond), Kinds: []string{"work"},
			Queues: []loam.QueueClaim{{Queue: "default", Max: 1}}})
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim = %v, %v", claimed, err)
		}
		start(t, c)
		got := waitState(t, c, j.ID, loam.JobCompleted)
		if got.Attempt != 2 || len(got.Errors) != 1 || !strings.Contains(got.Errors[0].Error, "lease expired") {
			t.Fatalf("rescued job = attempt %d, errors %+v", got.Attempt, got.Errors)
		}
	})
}

// TestCancelRunningJob: cancelling a running job cancels its handler's
// context at the next heartbeat, and the job stays cancelled.
func TestCancelRunningJob(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		c := newClient(t, db.app(t), fast(jobs.Config{}))
		started := make(chan struct{})
		stopped := make(chan error, 1)
		k := jobs.Register(c, "long", func(ctx context.Context, j *jobs.Job[int]) error {
			close(started)
			<-ctx.Done()
			stopped <- context.Cause(ctx)
			return ctx.Err()
		})
		start(t, c)
		j := mustEnqueue(t, k, 1)
		<-started
		if _, err := c.Cancel(t.Context(), j.ID); err != nil {
			t.Fatal(err)
		}
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Fatal("the handler of a cancelled job was never told")
		}
		// Its outcome does not overwrite the cancellation.
		if _, err := c.Cancel(t.Context(), j.ID); !errors.Is(err, loam.ErrConflict) {
			t.Fatalf("cancel again: %v, want conflict", err)
		}
		eventually(t, "the worker to let the job go", func() bool {
			got, err := c.Get(t.Context(), j.ID)
			return err == nil && got.State == loam.JobCancelled && got.Worker == ""
		})
	})
}

// TestGracefulStop: Stop lets running handlers finish until its context
// ends, then cancels them and releases their jobs without counting the
// attempt.
func TestGracefulStop(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		c := newClient(t, db.app(t), fast(jobs.Config{}))
		var started sync.WaitGroup
		started.Add(2)
		finish := make(chan struct{})
		k := jobs.Register(c, "job", func(ctx context.Context, j *jobs.Job[string]) error {
			started.Done()
			if j.Args == "quick" {
				<-finish
				return nil
			}
			<-ctx.Done() // stubborn: runs until told to stop
			return ctx.Err()
		})
		if err := c.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		quick, stubborn := mustEnqueue(t, k, "quick"), mustEnqueue(t, k, "stubborn")
		started.Wait()
		ctx, cancel := context.WithCancel(t.Context())
		stopped := make(chan error, 1)
		go func() { stopped <- c.Stop(ctx) }()
		close(finish) // the quick one finishes while Stop waits
		eventually(t, "the quick job to complete", func() bool {
			j, err := c.Get(t.Context(), quick.ID)
			return err == nil && j.State == loam.JobCompleted
		})
		cancel() // Stop's patience ends
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		j, err := c.Get(t.Context(), stubborn.ID)
		if err != nil || j.State != loam.JobAvailable || j.Attempt != 0 || len(j.Errors) != 0 || j.Worker != "" {
			t.Fatalf("after Stop the stubborn job is %+v, %v; want available, attempt 0", j, err)
		}
	})
}

// TestWorkerLearnsOfJobsFromElsewhere: jobs enqueued by another process
// (another App on the database) reach an idle worker: on PostgreSQL by
// NOTIFY long before the poll, and by polling alone with PollOnly.
func TestWorkerLearnsOfJobsFromElsewhere(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind     string
		pollOnly bool
		poll     time.Duration
	}{
		{"postgres", false, time.Hour},
		{"postgres", true, 50 * time.Millisecond},
		{"sqlite", false, 50 * time.Millisecond},
	} {
		t.Run(fmt.Sprintf("%s pollOnly=%v", tc.kind, tc.pollOnly), func(t *testing.T) {
			t.Parallel()
			db := newDatabase(t, tc.kind)
			ran := make(chan int, 1)
			handler := func(ctx context.Context, j *jobs.Job[int]) error {
				ran <- j.Args
				return nil
			}
			worker := newClient(t, db.app(t), fast(jobs.Config{PollInterval: tc.poll, PollOnly: tc.pollOnly}))
			jobs.Register(worker, "ping", handler)
			start(t, worker)
			producer := newClient(t, db.app(t), jobs.Config{})
			ping := jobs.Register(producer, "ping", handler)
			for i := range 3 {
				mustEnqueue(t, ping, i)
				select {
				case got := <-ran:
					if got != i {
						t.Fatalf("ran job %d, want %d", got, i)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("job %d enqueued elsewhere never ran", i)
				}
			}
		})
	}
}

// TestUnknownKindsAreLeftAlone: a worker claims only the kinds it has
// handlers for, so a process without them never fails them.
func TestUnknownKindsAreLeftAlone(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		app := db.app(t)
		producer := newClient(t, app, jobs.Config{})
		theirs := jobs.Register(producer, "theirs", func(context.Context, *jobs.Job[int]) error { return nil })
		ours := jobs.Register(producer, "ours", func(context.Context, *jobs.Job[int]) error { return nil })
		foreign := mustEnqueue(t, theirs, 1)
		mine := mustEnqueue(t, ours, 1)
		worker := newClient(t, app, fast(jobs.Config{}))
		jobs.Register(worker, "ours", func(context.Context, *jobs.Job[int]) error { return nil })
		start(t, worker)
		waitState(t, worker, mine.ID, loam.JobCompleted)
		if j, err := worker.Get(t.Context(), foreign.ID); err != nil || j.State != loam.JobAvailable || j.Attempt != 0 {
			t.Fatalf("a job of an unknown kind = %+v, %v; want untouched", j, err)
		}
	})
}

// TestPruneKeepsDeadJobs: completed jobs go after RetainCompleted; dead
// ones stay.
func TestPruneKeepsDeadJobs(t *testing.T) {
	t.Parallel()
	eachDB(t, func(t *testing.T, db database) {
		var skew atomic.Int64
		c := newClient(t, db.app(t), fast(jobs.Config{RetainCompleted: time.Hour,
			Now: func() time.Time { return loam.Now().Add(time.Duration(skew.Load())) }}))
		k := jobs.Register(c, "job", func(ctx context.Context, j *jobs.Job[bool]) error {
			if !j.Args {
				return errors.New("fails")
			}
			return nil
		})
		start(t, c)
		ok, bad := mustEnqueue(t, k, true), mustEnqueue(t, k, false, jobs.Opts{MaxAttempts: 1})
		waitState(t, c, ok.ID, loam.JobCompleted)
		waitState(t, c, bad.ID, loam.JobDead)
		skew.Store(int64(2 * time.Hour)) // the worker's clock moves past the retention
		eventually(t, "the completed job to be pruned", func() bool {
			_, err := c.Get(t.Context(), ok.ID)
			return errors.Is(err, loam.ErrNotFound)
		})
		if _, err := c.Get(t.Context(), bad.ID); err != nil {
			t.Fatalf("the dead job was pruned: %v", err)
		}
	})
}

func TestDefaultBackoff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		attempt int
		base    time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {5, 16 * time.Second}, {12, 2048 * time.Second}, {13, time.Hour}, {40, time.Hour}} {
		lo, hi := tc.base*3/4, tc.base*5/4
		seen := map[time.Duration]bool{}
		for range 50 {
			d := jobs.DefaultBackoff(tc.attempt)
			if d < lo || d > hi {
				t.Fatalf("DefaultBackoff(%d) = %v, want within [%v, %v]", tc.attempt, d, lo, hi)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("DefaultBackoff(%d) gave %d distinct waits in 50: no jitter", tc.attempt, len(seen))
		}
	}
}

func TestRegisterRefusesMistakes(t *testing.T) {
	t.Parallel()
	c := newClient(t, startApp(t, openStore(t, "sqlite", filepath.Join(t.TempDir(), "d.db"))), jobs.Config{})
	jobs.Register(c, "a", func(context.Context, *jobs.Job[int]) error { return nil })
	for _, name := range []string{"a", "", "with space", strings.Repeat("x", 101)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", name)
				}
			}()
			jobs.Register(c, name, func(context.Context, *jobs.Job[int]) error { return nil })
		}()
	}
}
