package main

import (
	"context"
	"time"

	"loam"
	"loam/jobs"
	"loam/postgres"
	"loam/sqlite"
)

// loamSystem is Loam's queue, through the jobs package.
type loamSystem struct {
	app    *loam.App
	client *jobs.Client
	kind   *jobs.Kind[noop]
	args   []noop
	opts   options
}

type noop struct {
	N int `json:"n"`
}

func (s *loamSystem) open(ctx context.Context, o options, done func()) error {
	s.opts = o
	var store loam.Store
	var err error
	if o.store == "postgres" {
		store, err = postgres.Open(ctx, postgres.Config{URL: o.url})
	} else {
		store, err = sqlite.Open(ctx, sqlite.Config{Path: o.path})
	}
	if err != nil {
		return err
	}
	if s.app, err = loam.New(loam.Config{Store: store, SchemaPoll: -1}); err != nil {
		store.Close()
		return err
	}
	if err := s.app.Start(ctx); err != nil {
		s.app.Stop()
		return err
	}
	s.client, err = jobs.New(s.app, jobs.Config{Queues: map[string]jobs.QueueConfig{"default": {Workers: o.workers}},
		PollInterval: 20 * time.Millisecond, FetchCooldown: 2 * time.Millisecond})
	if err != nil {
		return err
	}
	s.kind = jobs.Register(s.client, "noop", func(ctx context.Context, j *jobs.Job[noop]) error {
		done()
		return nil
	})
	s.args = make([]noop, o.batch)
	return nil
}

func (s *loamSystem) start(ctx context.Context) error { return s.client.Start(ctx) }

func (s *loamSystem) insert(ctx context.Context, n int) error {
	_, err := s.kind.EnqueueMany(ctx, s.args[:n])
	return err
}

func (s *loamSystem) stop(ctx context.Context) error { return s.client.Stop(ctx) }

func (s *loamSystem) completed(ctx context.Context) (int, error) {
	return countCompleted(ctx, s.opts, "SELECT count(*) FROM _jobs WHERE state = 'completed'")
}

func (s *loamSystem) close() { s.app.Stop() }
