package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"loam"
)

func testIdempotency(t *testing.T, open Opener) {
	ctx := context.Background()
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	entry := func(key, req string, at time.Time) *loam.IdempotencyEntry {
		return &loam.IdempotencyEntry{Key: []byte(key), Request: []byte(req), Created: at}
	}
	reserve := func(t *testing.T, s loam.Store, e *loam.IdempotencyEntry, now time.Time) *loam.IdempotencyEntry {
		t.Helper()
		prev, err := s.ReserveIdempotency(ctx, e, now.Add(-24*time.Hour), now.Add(-2*time.Minute))
		if err != nil {
			t.Fatalf("reserve: %v", err)
		}
		return prev
	}
	runAll(t, open, []storeTest{
		{"FirstReservesThenReplays", func(t *testing.T, s loam.Store) {
			if prev := reserve(t, s, entry("k1", "r1", base), base); prev != nil {
				t.Fatalf("first reservation returned %+v, want nil", prev)
			}
			prev := reserve(t, s, entry("k1", "r1", base.Add(time.Second)), base.Add(time.Second))
			if prev == nil || prev.Status != 0 || !bytes.Equal(prev.Request, []byte("r1")) {
				t.Fatalf("second reservation while running = %+v, want the running entry", prev)
			}
			if err := s.CompleteIdempotency(ctx, []byte("k1"), 201, `{"ETag":"x"}`, []byte(`{"id":"a"}`)); err != nil {
				t.Fatal(err)
			}
			prev = reserve(t, s, entry("k1", "r2", base.Add(time.Minute)), base.Add(time.Minute))
			if prev == nil || prev.Status != 201 || prev.Header != `{"ETag":"x"}` || string(prev.Body) != `{"id":"a"}` ||
				!bytes.Equal(prev.Request, []byte("r1")) || !prev.Created.Equal(base) {
				t.Fatalf("after completion = %+v, want the stored answer of r1", prev)
			}
		}},
		{"KeysAreIndependent", func(t *testing.T, s loam.Store) {
			reserve(t, s, entry("a", "r", base), base)
			if prev := reserve(t, s, entry("b", "r", base), base); prev != nil {
				t.Fatalf("another key was reported taken: %+v", prev)
			}
		}},
		{"ExpiredEntryIsReplaced", func(t *testing.T, s loam.Store) {
			reserve(t, s, entry("k", "old", base), base)
			if err := s.CompleteIdempotency(ctx, []byte("k"), 200, "{}", nil); err != nil {
				t.Fatal(err)
			}
			later := base.Add(25 * time.Hour)
			if prev := reserve(t, s, entry("k", "new", later), later); prev != nil {
				t.Fatalf("an expired entry was replayed: %+v", prev)
			}
			prev := reserve(t, s, entry("k", "x", later), later)
			if prev == nil || !bytes.Equal(prev.Request, []byte("new")) {
				t.Fatalf("the replacing entry was not kept: %+v", prev)
			}
		}},
		{"AbandonedEntryIsReplaced", func(t *testing.T, s loam.Store) {
			reserve(t, s, entry("k", "r", base), base)
			later := base.Add(3 * time.Minute)
			if prev := reserve(t, s, entry("k", "r", later), later); prev != nil {
				t.Fatalf("an abandoned running entry still blocks: %+v", prev)
			}
		}},
		{"ReleaseForgets", func(t *testing.T, s loam.Store) {
			reserve(t, s, entry("k", "r", base), base)
			if err := s.ReleaseIdempotency(ctx, []byte("k")); err != nil {
				t.Fatal(err)
			}
			if prev := reserve(t, s, entry("k", "r", base), base); prev != nil {
				t.Fatalf("a released key is still taken: %+v", prev)
			}
		}},
		{"PurgeDeletesOld", func(t *testing.T, s loam.Store) {
			reserve(t, s, entry("old", "r", base), base)
			reserve(t, s, entry("new", "r", base.Add(time.Hour)), base.Add(time.Hour))
			n, err := s.PurgeIdempotency(ctx, base.Add(time.Minute))
			if err != nil || n != 1 {
				t.Fatalf("purge = %d, %v; want 1", n, err)
			}
			if prev := reserve(t, s, entry("new", "r", base.Add(time.Hour)), base.Add(time.Hour)); prev == nil {
				t.Fatal("purge removed a recent entry")
			}
		}},
	})
}
