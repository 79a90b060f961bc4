package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"loam"
)

// testSettings: the settings document starts empty at version 0; a save
// names the version it read and bumps it; a save over a version that moved
// on fails and changes nothing, so of two instances that change the
// settings at once one must read them again.
func testSettings(t *testing.T, open Opener) {
	runAll(t, open, []storeTest{
		{"SaveAndRead", func(t *testing.T, s loam.Store) {
			ctx := context.Background()
			data, v, err := s.Settings(ctx)
			if err != nil || v != 0 || string(data) != "{}" {
				t.Fatalf("fresh settings: %q, version %d, %v; want {} at 0", data, v, err)
			}
			now := time.Now().UTC()
			if err := s.SaveSettings(ctx, []byte(`{"appURL":"https://a.example"}`), 0, now); err != nil {
				t.Fatalf("save at 0: %v", err)
			}
			if v, err := s.SettingsVersion(ctx); err != nil || v != 1 {
				t.Fatalf("version after a save: %d, %v; want 1", v, err)
			}
			err = s.SaveSettings(ctx, []byte(`{"appURL":"https://stale.example"}`), 0, now)
			if !errors.Is(err, loam.ErrPreconditionFailed) {
				t.Fatalf("a save over a stale version: %v, want ErrPreconditionFailed", err)
			}
			if err := s.SaveSettings(ctx, []byte(`{"appURL":"https://b.example","smtp":{"port":2525}}`), 1, now); err != nil {
				t.Fatalf("save at 1: %v", err)
			}
			data, v, err = s.Settings(ctx)
			if err != nil || v != 2 || string(data) != `{"appURL":"https://b.example","smtp":{"port":2525}}` {
				t.Fatalf("settings: %q, version %d, %v", data, v, err)
			}
		}},
		{"ConcurrentSaves", func(t *testing.T, s loam.Store) {
			ctx := context.Background()
			errs := make(chan error, 8)
			for range 8 {
				go func() { errs <- s.SaveSettings(ctx, []byte(`{}`), 0, time.Now()) }()
			}
			won := 0
			for range 8 {
				err := <-errs
				switch {
				case err == nil:
					won++
				case !errors.Is(err, loam.ErrPreconditionFailed):
					t.Errorf("a racing save: %v", err)
				}
			}
			if v, _ := s.SettingsVersion(ctx); won != 1 || v != 1 {
				t.Errorf("%d of 8 racing saves over version 0 won, version %d; want 1 and 1", won, v)
			}
		}},
	})
}
