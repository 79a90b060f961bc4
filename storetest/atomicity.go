package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"loam"
)

// testAtomicity: a write that fails half-way leaves nothing visible, and
// racing writes are decided by the database, never half-applied.
func testAtomicity(t *testing.T, open Opener) {
	pairs := func() *loam.Collection {
		return &loam.Collection{Name: "pairs", Fields: []loam.Field{
			{Name: "a", Type: loam.TypeText, Unique: true},
			{Name: "b", Type: loam.TypeText, Unique: true},
			{Name: "ref", Type: loam.TypeRelation, Collection: "authors"},
		}}
	}
	runAll(t, open, []storeTest{
		{"InsertFailingOnSecondUnique", func(t *testing.T, s loam.Store) {
			createCollection(t, s, authorsCollection())
			c := createCollection(t, s, pairs())
			first := insert(t, s, c, map[string]any{"a": "x", "b": "y"})
			mark := lastSeq(t, s)
			r := newRecord(c, map[string]any{"a": "fresh", "b": "y"})
			err := s.InsertRecord(t.Context(), c, r)
			wantFieldErr(t, err, loam.CodeConflict, "b", loam.FieldUnique, "insert whose second unique field collides")
			gone(t, s, c, r.ID)
			if _, err := s.FindRecord(t.Context(), c, "a", "fresh"); !errors.Is(err, loam.ErrNotFound) {
				t.Fatalf("FindRecord of the half-written record: got %v, want ErrNotFound", err)
			}
			wantCount(t, s, c, 1)
			wantEvents(t, s, mark)
			sameRecord(t, c, get(t, s, c, first.ID), first)
			// Nothing of it holds the first unique value, and its id is free.
			r2 := newRecord(c, map[string]any{"a": "fresh", "b": "z"})
			r2.ID = r.ID
			if err := s.InsertRecord(t.Context(), c, r2); err != nil {
				t.Fatalf("insert after the failed one: %v", err)
			}
		}},
		{"InsertFailingOnRelation", func(t *testing.T, s loam.Store) {
			createCollection(t, s, authorsCollection())
			c := createCollection(t, s, pairs())
			mark := lastSeq(t, s)
			r := newRecord(c, map[string]any{"a": "fresh", "b": "new", "ref": loam.NewID()})
			err := s.InsertRecord(t.Context(), c, r)
			wantFieldErr(t, err, loam.CodeValidationFailed, "ref", loam.FieldNotFound, "insert with a missing relation target")
			gone(t, s, c, r.ID)
			wantCount(t, s, c, 0)
			wantEvents(t, s, mark)
			insert(t, s, c, map[string]any{"a": "fresh", "b": "new"})
		}},
		{"ConcurrentInserts", testConcurrentInserts},
		{"ConcurrentUniqueInserts", testConcurrentUnique},
		{"ConcurrentUpdatesOfOneVersion", testConcurrentUpdates},
		{"UpdateFailingOnSecondUnique", func(t *testing.T, s loam.Store) {
			createCollection(t, s, authorsCollection())
			c := createCollection(t, s, pairs())
			insert(t, s, c, map[string]any{"a": "x", "b": "y"})
			second := insert(t, s, c, map[string]any{"a": "p", "b": "q"})
			mark := lastSeq(t, s)
			err := s.UpdateRecord(t.Context(), c, second, nextVersion(c, second, map[string]any{"a": "fresh", "b": "y"}), false)
			wantFieldErr(t, err, loam.CodeConflict, "b", loam.FieldUnique, "update whose second unique field collides")
			sameRecord(t, c, get(t, s, c, second.ID), second)
			if _, err := s.FindRecord(t.Context(), c, "a", "fresh"); !errors.Is(err, loam.ErrNotFound) {
				t.Fatalf("FindRecord of the half-written value: got %v, want ErrNotFound", err)
			}
			wantEvents(t, s, mark)
			// The record is still writable at its old version.
			update(t, s, c, second, map[string]any{"a": "fresh"})
		}},
	})
}

// concurrently runs fn(i) for i in [0, n) at once and returns their errors.
func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// testConcurrentInserts: writes from many goroutines all land, each with its event.
func testConcurrentInserts(t *testing.T, s loam.Store) {
	c := createCollection(t, s, authorsCollection())
	mark := lastSeq(t, s)
	const n = 20
	recs := make([]*loam.Record, n)
	for i := range recs {
		recs[i] = newRecord(c, map[string]any{"name": fmt.Sprintf("w%d", i)})
	}
	for i, err := range concurrently(n, func(i int) error { return s.InsertRecord(t.Context(), c, recs[i]) }) {
		if err != nil {
			t.Errorf("concurrent insert %d: %v", i, err)
		}
	}
	wantCount(t, s, c, n)
	var want []ev
	for _, r := range recs {
		sameRecord(t, c, get(t, s, c, r.ID), r)
		want = append(want, ev{"authors", r.ID, loam.ActionCreate})
	}
	wantEventSet(t, s, mark, want...)
}

// testConcurrentUnique: of many inserts racing for one unique value, exactly
// one wins and every other gets ErrConflict naming the field (never an
// untranslated driver error).
func testConcurrentUnique(t *testing.T, s loam.Store) {
	c := createCollection(t, s, &loam.Collection{Name: "handles", Fields: []loam.Field{{Name: "h", Type: loam.TypeText, Unique: true}}})
	mark := lastSeq(t, s)
	const n = 10
	won := 0
	for i, err := range concurrently(n, func(int) error {
		return s.InsertRecord(t.Context(), c, newRecord(c, map[string]any{"h": "same"}))
	}) {
		if err == nil {
			won++
			continue
		}
		wantFieldErr(t, err, loam.CodeConflict, "h", loam.FieldUnique, fmt.Sprintf("racing insert %d", i))
	}
	if won != 1 {
		t.Fatalf("%d of %d racing inserts of one unique value succeeded, want 1", won, n)
	}
	wantCount(t, s, c, 1)
	if got := len(eventsAfter(t, s, mark)); got != 1 {
		t.Fatalf("racing inserts appended %d events, want 1", got)
	}
}

// testConcurrentUpdates: of many updates over the same version, exactly one
// wins and the others get ErrPreconditionFailed.
func testConcurrentUpdates(t *testing.T, s loam.Store) {
	c := createCollection(t, s, authorsCollection())
	r := insert(t, s, c, map[string]any{"name": "v1"})
	mark := lastSeq(t, s)
	const n = 10
	nexts := make([]*loam.Record, n)
	for i := range nexts {
		nexts[i] = nextVersion(c, r, map[string]any{"name": fmt.Sprintf("v2-%d", i)})
		nexts[i].Updated = nexts[i].Updated.Add(time.Duration(i) * time.Millisecond)
	}
	var winner *loam.Record
	for i, err := range concurrently(n, func(i int) error { return s.UpdateRecord(t.Context(), c, r, nexts[i], false) }) {
		if err == nil {
			if winner != nil {
				t.Fatalf("two updates over the same version succeeded")
			}
			winner = nexts[i]
			continue
		}
		if !errors.Is(err, loam.ErrPreconditionFailed) {
			t.Errorf("losing concurrent update %d: got %v, want ErrPreconditionFailed", i, err)
		}
	}
	if winner == nil {
		t.Fatalf("no concurrent update succeeded")
	}
	sameRecord(t, c, get(t, s, c, r.ID), winner)
	wantEvents(t, s, mark, ev{"authors", r.ID, loam.ActionUpdate})
}
