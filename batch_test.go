package loam_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"loam"
)

// Hooks inside a batch run in its transaction: record services they call
// with e.Context read the batch's earlier writes and write into the batch,
// so those writes commit or vanish with it, and a hook's error after Next
// undoes the whole batch.
func TestBatchHooksShareTheTransaction(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, app *loam.App) {
		// A batch waiting on itself (SQLite's one writer) fails here instead of hanging.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		for _, name := range []string{"posts", "audit"} {
			if _, err := app.CreateCollection(ctx, loam.System, &loam.Collection{Name: name,
				Fields: []loam.Field{{Name: "title", Type: loam.TypeText, Unique: true}}}); err != nil {
				t.Fatal(err)
			}
		}
		body := func(title string) loam.Body {
			b, _ := loam.JSONBody(map[string]any{"title": title})
			return b
		}
		create := func(title string) loam.BatchRequest {
			return loam.BatchRequest{Op: loam.BatchCreate, Collection: "posts", Body: body(title)}
		}
		app.OnRecordCreate("posts").Bind(func(e *loam.RecordEvent) error {
			if err := e.Next(); err != nil {
				return err
			}
			// The record just written is visible to this hook's reads ...
			if _, err := e.App.GetRecord(e.Context, loam.System, "posts", e.Record.ID); err != nil {
				return err
			}
			// ... its own writes join the batch ...
			if _, err := e.App.CreateRecord(e.Context, loam.System, "audit", body("made "+e.Record.Get("title").(string))); err != nil {
				return err
			}
			// ... and a nested batch joins it too.
			_, err := e.App.Batch(e.Context, loam.System, []loam.BatchRequest{
				{Op: loam.BatchCreate, Collection: "audit", Body: body("nested " + e.Record.Get("title").(string))}})
			if e.Record.Get("title") == "refused after the write" {
				return loam.Errorf(loam.CodeForbidden, "refused after the write")
			}
			return err
		})
		count := func(collection string) int64 {
			t.Helper()
			l, err := app.ListRecords(ctx, loam.System, collection, loam.ListQuery{})
			if err != nil {
				t.Fatal(err)
			}
			return l.TotalItems
		}

		res, err := app.Batch(ctx, loam.System, []loam.BatchRequest{create("a"), create("b")})
		if err != nil {
			t.Fatalf("batch: %v", err)
		}
		if len(res) != 2 || !res[0].Created || res[1].Record.Get("title") != "b" {
			t.Fatalf("results %+v", res)
		}
		if p, a := count("posts"), count("audit"); p != 2 || a != 4 {
			t.Fatalf("after the batch: %d posts, %d audit records; want 2 and 4", p, a)
		}

		for _, tc := range []struct {
			name  string
			reqs  []loam.BatchRequest
			index int
			code  string
		}{
			{"a later request fails", []loam.BatchRequest{create("c"), create("a")}, 1, loam.CodeConflict},
			{"a hook's write fails", []loam.BatchRequest{create("d"), {Op: loam.BatchCreate, Collection: "audit", Body: body("made e")}, create("e")}, 2, loam.CodeConflict},
			{"a hook refuses after its write", []loam.BatchRequest{create("f"), create("refused after the write")}, 1, loam.CodeForbidden},
		} {
			_, err := app.Batch(ctx, loam.System, tc.reqs)
			var be *loam.BatchError
			if !errors.As(err, &be) || be.Index != tc.index || loam.CodeOf(err) != tc.code {
				t.Fatalf("%s: %v; want a BatchError at %d with %s", tc.name, err, tc.index, tc.code)
			}
			if p, a := count("posts"), count("audit"); p != 2 || a != 4 {
				t.Fatalf("%s: %d posts, %d audit records; want the 2 and 4 from before", tc.name, p, a)
			}
		}

		for _, n := range []int{0, loam.MaxBatchRequests + 1} {
			reqs := make([]loam.BatchRequest, n)
			for i := range reqs {
				reqs[i] = create("many")
			}
			if _, err := app.Batch(ctx, loam.System, reqs); loam.CodeOf(err) != loam.CodeValidationFailed {
				t.Fatalf("a batch of %d: %v, want validation_failed", n, err)
			}
		}
	})
}

// Two batches that lock two records in opposite orders deadlock on
// PostgreSQL. PostgreSQL ends one of them: it answers ErrConflict naming
// its failing request (a retry may succeed), not an internal error, and
// leaves nothing; the other commits.
func TestBatchDeadlockIsAConflict(t *testing.T) {
	t.Parallel()
	app := startApp(t, "postgres")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := app.CreateCollection(ctx, loam.System, &loam.Collection{Name: "posts",
		Fields: []loam.Field{{Name: "step", Type: loam.TypeNumber, Integer: true}}}); err != nil {
		t.Fatal(err)
	}
	x, err := app.CreateRecord(ctx, loam.System, "posts", loam.Body{})
	if err != nil {
		t.Fatal(err)
	}
	y, err := app.CreateRecord(ctx, loam.System, "posts", loam.Body{})
	if err != nil {
		t.Fatal(err)
	}
	// Each batch's first update holds its row until both batches hold one;
	// then each asks for the other's row.
	var holding sync.WaitGroup
	holding.Add(2)
	app.OnRecordUpdate("posts").Bind(func(e *loam.RecordEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		if e.Record.Get("step") == int64(1) {
			holding.Done()
			holding.Wait()
		}
		return nil
	})
	step := func(n int) loam.Body {
		b, _ := loam.JSONBody(map[string]any{"step": n})
		return b
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, order := range [][2]string{{x.ID, y.ID}, {y.ID, x.ID}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = app.Batch(ctx, loam.System, []loam.BatchRequest{
				{Op: loam.BatchUpdate, Collection: "posts", ID: order[0], Body: step(1)},
				{Op: loam.BatchUpdate, Collection: "posts", ID: order[1], Body: step(2)}})
		}()
	}
	wg.Wait()
	failed := 0
	for i, err := range errs {
		if err == nil {
			continue
		}
		failed++
		var be *loam.BatchError
		if !errors.As(err, &be) || be.Index != 1 || loam.CodeOf(err) != loam.CodeConflict {
			t.Errorf("batch %d: %v; want a BatchError at 1 with conflict", i, err)
		}
	}
	if failed != 1 {
		t.Fatalf("%d batches failed, want one: %v", failed, errs)
	}
	// The winner wrote step 2 on its second record and step 1 on its first.
	for _, id := range []string{x.ID, y.ID} {
		r, err := app.GetRecord(ctx, loam.System, "posts", id)
		if err != nil {
			t.Fatal(err)
		}
		if s := r.Get("step"); s != int64(1) && s != int64(2) {
			t.Errorf("record %s: step %v, want the winner's", id, s)
		}
	}
}
