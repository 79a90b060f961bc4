package loam_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"loam"
	"loam/postgres"
	"loam/postgres/pgtest"
	"loam/sqlite"
)

// countingStore is a real store that counts the throttle hits it serves.
type countingStore struct {
	loam.Store
	hits atomic.Int64
}

func (s *countingStore) HitThrottle(ctx context.Context, key []byte, now, windowStart time.Time) (int, time.Time, error) {
	s.hits.Add(1)
	return s.Store.HitThrottle(ctx, key, now, windowStart)
}

// TestRateLimitCost: a request no rule covers costs no database round
// trip; one a rule covers costs one per rule.
func TestRateLimitCost(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var st loam.Store
			var err error
			if kind == "sqlite" {
				st, err = sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "data.db")})
			} else {
				st, err = postgres.Open(ctx, postgres.Config{URL: pgtest.URL(t), MaxConns: 4})
			}
			if err != nil {
				t.Fatal(err)
			}
			cs := &countingStore{Store: st}
			app, err := loam.New(loam.Config{Store: cs, Settings: loam.Settings{RateLimits: []loam.RateLimit{
				{Route: "POST /api/collections/*/records", Max: 2, Window: "1m"},
				{Route: "/api/collections/posts/records", Max: 5, Window: "1h", By: loam.RateByAuth}}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := app.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer app.Stop()
			ctx = loam.WithClientIP(ctx, "192.0.2.1")
			for _, path := range []string{"/api/health", "/api/collections/posts/records/abc", "/api/collections"} {
				if err := app.RateLimit(ctx, nil, "POST", path); err != nil {
					t.Fatalf("POST %s: %v", path, err)
				}
			}
			if err := app.RateLimit(ctx, nil, "GET", "/api/collections/pages/records"); err != nil {
				t.Fatal(err)
			}
			if n := cs.hits.Load(); n != 0 {
				t.Fatalf("requests no rule covers made %d throttle hits, want 0", n)
			}
			for i := range 3 {
				err := app.RateLimit(ctx, nil, "POST", "/api/collections/posts/records")
				if (i < 2) != (err == nil) || err != nil && loam.CodeOf(err) != loam.CodeRateLimited {
					t.Fatalf("create %d: %v", i, err)
				}
			}
			if n := cs.hits.Load(); n != 6 {
				t.Errorf("three requests under two rules made %d hits, want 6", n)
			}
		})
	}
}
