package loam_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"loam"
	"loam/postgres"
	"loam/postgres/pgtest"
)

// Two instances starting at once on one PostgreSQL database both come up:
// the migrations and the system collections are created once.
func TestInstancesStartTogether(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	const n = 3
	apps := make([]*loam.App, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		store, err := postgres.Open(ctx, postgres.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		app, err := loam.New(loam.Config{Store: store})
		if err != nil {
			t.Fatal(err)
		}
		apps[i] = app
		t.Cleanup(func() { app.Stop() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = app.Start(ctx)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
	cols, _, err := apps[0].Store().Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) != 1 || cols[0].Name != loam.SuperusersCollection {
		t.Fatalf("collections after concurrent starts: %d, want exactly %s", len(cols), loam.SuperusersCollection)
	}
	// Every instance can use what the others created.
	for i, app := range apps {
		if err := app.Ready(ctx); err != nil {
			t.Fatalf("instance %d not ready: %v", i, err)
		}
		if _, err := app.ListRecords(ctx, loam.System, loam.SuperusersCollection, loam.ListQuery{}); err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
}

// A schema change computed from a definition another instance has replaced
// is refused, instead of silently undoing the other change; after it, the
// instance has the current definition and a retry works.
func TestStaleSchemaChangeIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.URL(t)
	start := func() *loam.App {
		store, err := postgres.Open(ctx, postgres.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		return startOn(t, store, -1) // no polling: B stays stale
	}
	a := start()
	if _, err := a.CreateCollection(ctx, loam.System, &loam.Collection{Name: "posts",
		Fields: []loam.Field{{Name: "title", Type: loam.TypeText}}}); err != nil {
		t.Fatal(err)
	}
	b := start() // B loads posts as it is now; then A changes it
	if _, err := a.UpdateCollection(ctx, loam.System, "posts", []byte(`{"indexes":[{"name":"by_title","fields":["title"],"unique":true}]}`)); err != nil {
		t.Fatal(err)
	}
	_, err := b.UpdateCollection(ctx, loam.System, "posts", []byte(`{"rules":{"list":""}}`))
	if !errors.Is(err, loam.ErrConflict) {
		t.Fatalf("change from a stale definition: %v, want conflict", err)
	}
	c, err := b.UpdateCollection(ctx, loam.System, "posts", []byte(`{"rules":{"list":""}}`))
	if err != nil {
		t.Fatalf("retry after the refusal: %v", err)
	}
	if len(c.Indexes) != 1 || c.Rules.List == nil {
		t.Fatalf("after the retry: indexes %v, list rule %v; want both changes", c.Indexes, c.Rules.List)
	}
}

func TestCollectionRenames(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, app *loam.App) {
		ctx := context.Background()
		everyone := ""
		if _, err := app.CreateCollection(ctx, loam.System, &loam.Collection{Name: "members", Type: loam.CollectionAuth,
			Rules: loam.Rules{Create: &everyone}}); err != nil {
			t.Fatal(err)
		}
		body, _ := loam.JSONBody(map[string]any{"email": "m@example.com", "password": "long enough pw"})
		if _, err := app.CreateRecord(ctx, nil, "members", body); err != nil {
			t.Fatal(err)
		}
		token, _, err := app.AuthWithPassword(ctx, "members", "m@example.com", "long enough pw")
		if err != nil {
			t.Fatal(err)
		}
		// A rename that changes only letter case, then a real one: the
		// data stays and signed-in members stay signed in.
		for _, name := range []string{"Members", "people"} {
			prev := app.Schema().Collections()
			var from string
			for _, c := range prev {
				if c.IsAuth() && !c.System {
					from = c.Name
				}
			}
			if _, err := app.UpdateCollection(ctx, loam.System, from, []byte(`{"name":"`+name+`"}`)); err != nil {
				t.Fatalf("rename %s to %s: %v", from, name, err)
			}
			p, err := app.Authenticate(ctx, token)
			if err != nil || p.Collection != name || p.Record.Get("email") != "m@example.com" {
				t.Fatalf("after renaming to %s: %v %+v", name, err, p)
			}
		}
	})
}

func TestRequiredRelationCannotSetNull(t *testing.T) {
	c := &loam.Collection{Name: "comments", Fields: []loam.Field{
		{Name: "post", Type: loam.TypeRelation, Collection: "posts", Required: true, OnDelete: loam.OnDeleteSetNull},
	}}
	if err := c.Validate(); loam.CodeOf(err) != loam.CodeInvalidSchema {
		t.Fatalf("required relation with setNull: %v, want invalid_schema", err)
	}
	c.Fields[0].OnDelete = ""
	if err := c.Validate(); err != nil || c.Fields[0].OnDelete != loam.OnDeleteRestrict {
		t.Fatalf("required relation without onDelete: %v, onDelete %q; want restrict", err, c.Fields[0].OnDelete)
	}
}
