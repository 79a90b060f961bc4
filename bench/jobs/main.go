// Command jobs measures job throughput end to end: no-op jobs enqueued in
// batches while the workers run, from the first insert to the last
// recorded completion, on Loam's queue and, as the reference, on River, on
// the same machine and database server. It lives in a module of its own
// (bench/jobs/go.mod) so that River never enters Loam's dependencies.
//
//	go run . -system loam -store postgres -url postgres://postgres@127.0.0.1:5432/bench?sslmode=disable
//	go run . -system river -store sqlite -path /tmp/river.db
//
// It prints one line: BENCH system=… store=… jobs=… seconds=… rate=… insert_seconds=…
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime/pprof"
	"sync/atomic"
	"time"
)

// options are the command's flags.
type options struct {
	system, store, url, path string
	jobs, batch, workers     int
}

func main() {
	var o options
	flag.StringVar(&o.system, "system", "loam", "loam or river")
	flag.StringVar(&o.store, "store", "sqlite", "sqlite or postgres")
	flag.StringVar(&o.url, "url", "", "PostgreSQL database URL (a fresh database)")
	flag.StringVar(&o.path, "path", "", "SQLite file (fresh)")
	flag.IntVar(&o.jobs, "jobs", 50000, "jobs to enqueue and work")
	flag.IntVar(&o.batch, "batch", 1000, "jobs per insert batch")
	flag.IntVar(&o.workers, "workers", 1000, "handlers running at once")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if o.store == "postgres" && o.url == "" || o.store == "sqlite" && o.path == "" {
		log.Fatal("give -url for postgres or -path for sqlite")
	}
	var sys system
	switch o.system {
	case "loam":
		sys = &loamSystem{}
	case "river":
		sys = &riverSystem{}
	default:
		log.Fatalf("unknown system %q", o.system)
	}
	if err := run(context.Background(), o, sys); err != nil {
		pprof.StopCPUProfile()
		log.Fatalf("%s on %s: %v", o.system, o.store, err)
	}
}

// system is one job queue under test.
type system interface {
	// open connects, migrates and readies a client whose no-op handler
	// calls done; the workers do not run yet.
	open(ctx context.Context, o options, done func()) error
	// start starts the workers.
	start(ctx context.Context) error
	// insert enqueues n no-op jobs in one batch.
	insert(ctx context.Context, n int) error
	// stop stops the workers, recording every outcome.
	stop(ctx context.Context) error
	// completed counts the completed jobs in the database.
	completed(ctx context.Context) (int, error)
	close()
}

func run(ctx context.Context, o options, sys system) error {
	var worked atomic.Int64
	all := make(chan struct{})
	if err := sys.open(ctx, o, func() {
		if worked.Add(1) == int64(o.jobs) {
			close(all)
		}
	}); err != nil {
		return err
	}
	defer sys.close()
	if err := sys.start(ctx); err != nil {
		return err
	}
	began := time.Now()
	inserted := make(chan error, 1)
	var insertTook time.Duration
	go func() {
		for left := o.jobs; left > 0; left -= o.batch {
			if err := sys.insert(ctx, min(left, o.batch)); err != nil {
				inserted <- err
				return
			}
		}
		insertTook = time.Since(began)
		inserted <- nil
	}()
	if err := <-inserted; err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		return fmt.Errorf("only %d of %d jobs worked in 5 minutes", worked.Load(), o.jobs)
	}
	stopCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := sys.stop(stopCtx); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	took := time.Since(began)
	n, err := sys.completed(ctx)
	if err != nil {
		return fmt.Errorf("count: %w", err)
	}
	if n != o.jobs {
		return fmt.Errorf("%d jobs completed in the database, want %d", n, o.jobs)
	}
	fmt.Printf("BENCH system=%s store=%s jobs=%d batch=%d workers=%d seconds=%.3f rate=%.0f insert_seconds=%.3f\n",
		o.system, o.store, o.jobs, o.batch, o.workers, took.Seconds(), float64(o.jobs)/took.Seconds(), insertTook.Seconds())
	return nil
}

func init() { log.SetFlags(0); log.SetOutput(os.Stderr) }
