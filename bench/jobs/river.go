package main

import (
	"context"
	"database/sql"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/ncruces/go-sqlite3/driver" // database/sql driver "sqlite3"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// riverSystem is River, on pgx for PostgreSQL and on database/sql for SQLite.
type riverSystem struct {
	opts   options
	pool   *pgxpool.Pool
	db     *sql.DB
	pg     *river.Client[pgx.Tx]
	lite   *river.Client[*sql.Tx]
	params []river.InsertManyParams
}

// riverNoop is the no-op job's arguments.
type riverNoop struct {
	N int `json:"n"`
}

func (riverNoop) Kind() string { return "noop" }

// riverWorker calls done for each job.
type riverWorker struct {
	river.WorkerDefaults[riverNoop]
	done func()
}

func (w *riverWorker) Work(ctx context.Context, j *river.Job[riverNoop]) error {
	w.done()
	return nil
}

// config is River's own benchmark's setting for throughput
// (cmd/river/riverbench: FetchCooldown 2ms, FetchPollInterval 20ms).
func riverConfig(o options, done func()) *river.Config {
	workers := river.NewWorkers()
	river.AddWorker(workers, &riverWorker{done: done})
	return &river.Config{FetchCooldown: 2 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond,
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.workers}}, Workers: workers}
}

func (s *riverSystem) open(ctx context.Context, o options, done func()) error {
	s.opts = o
	s.params = make([]river.InsertManyParams, o.batch)
	for i := range s.params {
		s.params[i].Args = riverNoop{}
	}
	if o.store == "postgres" {
		pool, err := pgxpool.New(ctx, o.url)
		if err != nil {
			return err
		}
		s.pool = pool
		driver := riverpgxv5.New(pool)
		m, err := rivermigrate.New(driver, nil)
		if err != nil {
			return err
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return err
		}
		s.pg, err = river.NewClient(driver, riverConfig(o, done))
		return err
	}
	db, err := sql.Open("sqlite3", "file:"+o.path+"?_pragma=journal_mode(wal)&_pragma=busy_timeout(10000)&_pragma=synchronous(normal)")
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1) // one writer, as River's SQLite driver asks
	s.db = db
	driver := riversqlite.New(db)
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return err
	}
	s.lite, err = river.NewClient(driver, riverConfig(o, done))
	return err
}

func (s *riverSystem) start(ctx context.Context) error {
	if s.pg != nil {
		return s.pg.Start(ctx)
	}
	return s.lite.Start(ctx)
}

func (s *riverSystem) insert(ctx context.Context, n int) error {
	var err error
	if s.pg != nil {
		_, err = s.pg.InsertMany(ctx, s.params[:n])
	} else {
		_, err = s.lite.InsertMany(ctx, s.params[:n])
	}
	return err
}

func (s *riverSystem) stop(ctx context.Context) error {
	if s.pg != nil {
		return s.pg.Stop(ctx)
	}
	return s.lite.Stop(ctx)
}

func (s *riverSystem) completed(ctx context.Context) (int, error) {
	return countCompleted(ctx, s.opts, "SELECT count(*) FROM river_job WHERE state = 'completed'")
}

func (s *riverSystem) close() {
	if s.pool != nil {
		s.pool.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
}
