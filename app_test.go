package loam_test

import (
	"context"
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
