package jobs_test

import (
	"context"
	"path/filepath"
	"testing"

	"loam"
	"loam/jobs"
)

// TestRoles: a worker-only client runs jobs and never enqueues a tick; a
// scheduler-only client enqueues ticks and never claims a job.
func TestRoles(t *testing.T) {
	t.Parallel()
	app := startApp(t, openStore(t, "sqlite", filepath.Join(t.TempDir(), "data.db")))

	worker := newClient(t, app, fast(jobs.Config{Roles: jobs.RoleWorker}))
	k := jobs.Register(worker, "beat", func(context.Context, *jobs.Job[int]) error { return nil })
	if err := k.Schedule("worker-beat", "@every 1s", 1); err != nil {
		t.Fatal(err)
	}
	start(t, worker)
	j := mustEnqueue(t, k, 1)
	waitState(t, worker, j.ID, loam.JobCompleted)
	// A scheduler records a schedule as soon as it starts; the worker ran a
	// whole job since it started.
	if _, seen, err := app.Store().LastScheduleTick(t.Context(), "worker-beat"); err != nil || seen {
		t.Fatalf("a worker-only client ran its schedule (seen %v, err %v)", seen, err)
	}

	scheduler := newClient(t, app, fast(jobs.Config{Roles: jobs.RoleScheduler}))
	ks := jobs.Register(scheduler, "tick", func(context.Context, *jobs.Job[int]) error { return nil })
	if err := ks.Schedule("scheduler-beat", "@every 1s", 2); err != nil {
		t.Fatal(err)
	}
	waiting := mustEnqueue(t, ks, 3)
	start(t, scheduler)
	var tick *loam.Job
	eventually(t, "a tick of the scheduler", func() bool {
		for id := waiting.ID + 1; id < waiting.ID+5; id++ {
			if got, err := app.Store().GetJob(t.Context(), id); err == nil && got.Kind == "tick" {
				tick = got
				return true
			}
		}
		return false
	})
	// The worker part would have claimed the waiting job at once, before
	// the first tick came.
	for _, id := range []int64{waiting.ID, tick.ID} {
		if got, err := app.Store().GetJob(t.Context(), id); err != nil || got.State != loam.JobAvailable {
			t.Errorf("job %d under a scheduler-only client: %v %v, want it available", id, got.State, err)
		}
	}
	if _, err := jobs.New(app, jobs.Config{Roles: 4}); err == nil {
		t.Error("jobs.New took an unknown role")
	}
}
