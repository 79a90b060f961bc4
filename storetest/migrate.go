package storetest

import (
	"sync"
	"testing"

	"loam"
)

// testMigrate: migrations are idempotent, and a migrated store answers Ping.
func testMigrate(t *testing.T, open Opener) {
	runAll(t, open, []storeTest{
		{"PingAfterMigrate", func(t *testing.T, s loam.Store) {
			if err := s.Ping(t.Context()); err != nil {
				t.Fatalf("Ping on a migrated store: %v", err)
			}
		}},
		{"MigrateConcurrently", func(t *testing.T, s loam.Store) {
			errs := make(chan error, 4)
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() { errs <- s.Migrate(t.Context()) })
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("Migrate from several goroutines at once: %v", err)
				}
			}
			if err := s.Ping(t.Context()); err != nil {
				t.Fatalf("Ping after concurrent migrations: %v", err)
			}
		}},
		{"MigrateTwiceKeepsData", func(t *testing.T, s loam.Store) {
			c := createCollection(t, s, &loam.Collection{Name: "notes", Fields: []loam.Field{{Name: "body", Type: loam.TypeText}}})
			r := insert(t, s, c, map[string]any{"body": "kept"})
			v := schemaVersion(t, s)
			for i := range 2 {
				if err := s.Migrate(t.Context()); err != nil {
					t.Fatalf("Migrate again (%d): %v", i+1, err)
				}
			}
			if err := s.Ping(t.Context()); err != nil {
				t.Fatalf("Ping after migrating again: %v", err)
			}
			if got := schemaVersion(t, s); got != v {
				t.Errorf("schema version after migrating again: got %d, want %d", got, v)
			}
			sameRecord(t, c, get(t, s, c, r.ID), r)
		}},
	})
}
