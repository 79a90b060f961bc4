package loam_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"loam"
	"loam/postgres"
	"loam/postgres/pgtest"
	"loam/sqlite"
)

// startApp starts an App on a fresh store of the given kind.
func startApp(t *testing.T, kind string) *loam.App {
	t.Helper()
	ctx := context.Background()
	var store loam.Store
	var err error
	switch kind {
	case "sqlite":
		store, err = sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "data.db")})
	case "postgres":
		store, err = postgres.Open(ctx, postgres.Config{URL: pgtest.URL(t)})
	}
	if err != nil {
		t.Fatal(err)
	}
	return startOn(t, store, 0)
}

// eachApp runs fn, as parallel subtests, on an App over a fresh SQLite
// store and one over a fresh PostgreSQL database.
func eachApp(t *testing.T, fn func(t *testing.T, app *loam.App)) {
	t.Helper()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			fn(t, startApp(t, kind))
		})
	}
}

// startOn starts an App on store, polling the schema every poll (0: the
// default; negative: never), and stops it when the test ends.
func startOn(t *testing.T, store loam.Store, poll time.Duration) *loam.App {
	t.Helper()
	app, err := loam.New(loam.Config{Store: store, SchemaPoll: poll})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Stop() })
	return app
}

func TestRecordHooks(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, app *loam.App) {
		ctx := context.Background()
		for _, name := range []string{"posts", "other"} {
			if _, err := app.CreateCollection(ctx, loam.System, &loam.Collection{Name: name,
				Fields: []loam.Field{{Name: "title", Type: loam.TypeText}}}); err != nil {
				t.Fatal(err)
			}
		}
		var trail []string
		record := func(step string) { trail = append(trail, step) }
		// The first handler runs outermost: before and after the second.
		for _, h := range []struct {
			name string
			hook loam.CollectionHook
		}{
			{"create", app.OnRecordCreate("posts")},
			{"update", app.OnRecordUpdate("posts")},
			{"delete", app.OnRecordDelete("posts")},
		} {
			h.hook.Bind(func(e *loam.RecordEvent) error {
				record(h.name + " outer before")
				err := e.Next()
				// After Next the write is committed: the store has it (or not, for delete).
				_, getErr := app.Store().GetRecord(ctx, e.Collection, e.Record.ID)
				record(h.name + " outer after, stored=" + map[bool]string{true: "yes", false: "no"}[getErr == nil])
				return err
			})
			h.hook.Bind(func(e *loam.RecordEvent) error {
				record(h.name + " inner before")
				if title, _ := e.Record.Get("title").(string); title == "refuse" {
					return loam.Errorf(loam.CodeForbidden, "no")
				}
				if h.name != "delete" {
					e.Record.Set("title", "changed by hook")
				}
				return e.Next()
			})
		}
		body := func(title string) loam.Body {
			b, _ := loam.JSONBody(map[string]any{"title": title})
			return b
		}
		rec, err := app.CreateRecord(ctx, loam.System, "posts", body("hello"))
		if err != nil {
			t.Fatal(err)
		}
		if rec.Get("title") != "changed by hook" {
			t.Fatalf("title = %v: a before hook's change was not written", rec.Get("title"))
		}
		if _, err := app.UpdateRecord(ctx, loam.System, "posts", rec.ID, body("again"), ""); err != nil {
			t.Fatal(err)
		}
		if err := app.DeleteRecord(ctx, loam.System, "posts", rec.ID, ""); err != nil {
			t.Fatal(err)
		}
		want := []string{
			"create outer before", "create inner before", "create outer after, stored=yes",
			"update outer before", "update inner before", "update outer after, stored=yes",
			"delete outer before", "delete inner before", "delete outer after, stored=no",
		}
		if !slices.Equal(trail, want) {
			t.Fatalf("hooks ran as\n%q\nwant\n%q", trail, want)
		}

		// A rejecting hook stops the write and its error comes back as is.
		trail = nil
		_, err = app.CreateRecord(ctx, loam.System, "posts", body("refuse"))
		if !errors.Is(err, loam.ErrForbidden) {
			t.Fatalf("rejected create: %v, want forbidden", err)
		}
		if list, err := app.ListRecords(ctx, loam.System, "posts", loam.ListQuery{}); err != nil || list.TotalItems != 0 {
			t.Fatalf("a rejected create wrote a record: %v %v", list, err)
		}

		// Hooks bound to posts do not run for other collections.
		trail = nil
		if _, err := app.CreateRecord(ctx, loam.System, "other", body("x")); err != nil {
			t.Fatal(err)
		}
		if len(trail) != 0 {
			t.Fatalf("posts hooks ran for other: %q", trail)
		}
	})
}

// What hooks do to a record is checked like a client's body, and a chain
// that never reaches the write is an error, not a success.
func TestHookResults(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, app *loam.App) {
		ctx := context.Background()
		if _, err := app.CreateCollection(ctx, loam.System, &loam.Collection{Name: "posts", Fields: []loam.Field{
			{Name: "title", Type: loam.TypeText, Max: ptr(5)},
			{Name: "views", Type: loam.TypeNumber, Integer: true},
		}}); err != nil {
			t.Fatal(err)
		}
		body := func(title string) loam.Body {
			b, _ := loam.JSONBody(map[string]any{"title": title})
			return b
		}
		set := func(field string, v any) int {
			return app.OnRecordCreate("posts").Bind(func(e *loam.RecordEvent) error {
				e.Record.Set(field, v)
				return e.Next()
			})
		}
		for _, tc := range []struct {
			name  string
			field string
			value any
			code  string
		}{
			{"too long", "title", "much too long", loam.FieldTooLong},
			{"wrong type", "views", "seven", loam.FieldInvalidType},
			{"fraction in an integer", "views", 2.5, loam.FieldInvalidType},
		} {
			id := set(tc.field, tc.value)
			_, err := app.CreateRecord(ctx, loam.System, "posts", body("ok"))
			app.OnRecordCreate("posts").Unbind(id)
			var le *loam.Error
			if !errors.As(err, &le) || le.Code != loam.CodeValidationFailed || le.Fields[tc.field].Code != tc.code {
				t.Errorf("%s: %v, want validation_failed with %s: %s", tc.name, err, tc.field, tc.code)
			}
		}
		// A hook's "" becomes no value, as a client's would.
		id := set("title", "")
		rec, err := app.CreateRecord(ctx, loam.System, "posts", body("x"))
		app.OnRecordCreate("posts").Unbind(id)
		if err != nil || rec.Get("title") != nil {
			t.Fatalf("empty title from a hook: %v, %#v; want nil", err, rec.Get("title"))
		}
		// A hook that returns without Next stops the write, and says so.
		id = app.OnRecordCreate("posts").Bind(func(e *loam.RecordEvent) error { return nil })
		if _, err := app.CreateRecord(ctx, loam.System, "posts", body("lost")); err == nil {
			t.Fatal("a create whose hook skipped Next reported success")
		}
		app.OnRecordCreate("posts").Unbind(id)
		list, err := app.ListRecords(ctx, loam.System, "posts", loam.ListQuery{})
		if err != nil || list.TotalItems != 1 {
			t.Fatalf("records: %v %v; want only the one written", list, err)
		}
	})
}

func ptr(f float64) *float64 { return &f }
