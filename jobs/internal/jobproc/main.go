// Command jobproc is a job process for the jobs package's multi-process
// tests: a worker and/or scheduler on a database, with handlers whose
// behaviour the tests rely on. It prints "ready" once started, "started
// ID" when a "crashy" job begins its first attempt, and "ran N" (the
// handlers it ran) when SIGTERM or SIGINT has stopped it cleanly.
//
//	jobproc -db postgres://... -roles worker -lease 500ms
//	jobproc -db /tmp/data.db -roles scheduler -schedule '@every 1s'
//
// Kinds: "noop" completes; "crashy" blocks on its first attempt (until
// its context ends; the tests kill the process meanwhile) and completes on
// later ones; "panics" panics on its first attempt and completes on later
// ones.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"loam"
	"loam/jobs"
	"loam/postgres"
	"loam/sqlite"
)

func main() {
	db := flag.String("db", "", "a SQLite file or a postgres:// URL")
	roles := flag.String("roles", "worker", "worker, scheduler or both, comma-separated")
	lease := flag.Duration("lease", 30*time.Second, "lease of claimed jobs")
	poll := flag.Duration("poll", 0, "poll interval (0: the default)")
	maintenance := flag.Duration("maintenance", 0, "maintenance interval (0: the default)")
	workers := flag.Int("workers", 10, "handlers at once")
	schedule := flag.String("schedule", "", `a spec for the schedule "beat" of kind noop ("" for none)`)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, *db, *roles, *lease, *poll, *maintenance, *workers, *schedule); err != nil {
		fmt.Fprintln(os.Stderr, "jobproc:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, db, roleList string, lease, poll, maintenance time.Duration, workers int, spec string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var store loam.Store
	var err error
	if strings.HasPrefix(db, "postgres://") {
		store, err = postgres.Open(ctx, postgres.Config{URL: db, Logger: log})
	} else {
		store, err = sqlite.Open(ctx, sqlite.Config{Path: db, Logger: log})
	}
	if err != nil {
		return err
	}
	app, err := loam.New(loam.Config{Store: store, Logger: log, SchemaPoll: -1})
	if err != nil {
		store.Close()
		return err
	}
	if err := app.Start(ctx); err != nil {
		app.Stop()
		return err
	}
	defer app.Stop()
	var r jobs.Role
	for _, name := range strings.Split(roleList, ",") {
		switch name {
		case "worker":
			r |= jobs.RoleWorker
		case "scheduler":
			r |= jobs.RoleScheduler
		default:
			return fmt.Errorf("unknown role %q", name)
		}
	}
	c, err := jobs.New(app, jobs.Config{Roles: r, Lease: lease, PollInterval: poll, MaintenanceInterval: maintenance,
		Queues: map[string]jobs.QueueConfig{"default": {Workers: workers}}, Logger: log,
		Backoff: func(int) time.Duration { return 0 }})
	if err != nil {
		return err
	}
	var ran atomic.Int64
	noop := jobs.Register(c, "noop", func(ctx context.Context, j *jobs.Job[int]) error {
		ran.Add(1)
		return nil
	})
	jobs.Register(c, "crashy", func(ctx context.Context, j *jobs.Job[int]) error {
		ran.Add(1)
		if j.Attempt == 1 {
			fmt.Printf("started %d\n", j.ID)
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	jobs.Register(c, "panics", func(ctx context.Context, j *jobs.Job[int]) error {
		ran.Add(1)
		if j.Attempt == 1 {
			panic("the handler panicked")
		}
		return nil
	})
	if spec != "" {
		if err := noop.Schedule("beat", spec, 0); err != nil {
			return err
		}
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	fmt.Println("ready")
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := c.Stop(stopCtx); err != nil {
		return err
	}
	fmt.Printf("ran %d\n", ran.Load())
	return nil
}
