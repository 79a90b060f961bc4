package loam_test

import (
	"context"
	"path/filepath"
	"testing"

	"loam"
	"loam/postgres"
	"loam/postgres/pgtest"
	"loam/sqlite"
)

// TestStoredSettingsOverNewDefaults: stored settings that no longer hold
// over the defaults of a restart (the sender they relied on is gone from
// the flags) do not stop the app: it runs on the defaults, and a PATCH that
// completes them brings the stored values back.
func TestStoredSettingsOverNewDefaults(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			path, url := filepath.Join(t.TempDir(), "data.db"), ""
			if kind == "postgres" {
				url = pgtest.URL(t)
			}
			start := func(defaults loam.Settings) *loam.App {
				var st loam.Store
				var err error
				if kind == "sqlite" {
					st, err = sqlite.Open(ctx, sqlite.Config{Path: path})
				} else {
					st, err = postgres.Open(ctx, postgres.Config{URL: url, MaxConns: 4})
				}
				if err != nil {
					t.Fatal(err)
				}
				app, err := loam.New(loam.Config{Store: st, Settings: defaults})
				if err != nil {
					t.Fatal(err)
				}
				if err := app.Start(ctx); err != nil {
					t.Fatalf("start: %v", err)
				}
				return app
			}
			app := start(loam.Settings{Sender: loam.SenderSettings{Address: "noreply@acme.example"}})
			if _, err := app.UpdateSettings(ctx, loam.System, []byte(`{"smtp":{"host":"mail.acme.example"}}`)); err != nil {
				t.Fatalf("set the host: %v", err)
			}
			app.Stop()
			app = start(loam.Settings{})
			defer app.Stop()
			if got := app.Settings(ctx).Settings.SMTP.Host; got != "" {
				t.Errorf("host %q over defaults that lack a sender, want the default", got)
			}
			snap, err := app.UpdateSettings(ctx, loam.System, []byte(`{"sender":{"address":"ops@acme.example"}}`))
			if err != nil {
				t.Fatalf("complete them: %v", err)
			}
			if s := snap.Settings; s.SMTP.Host != "mail.acme.example" || s.Sender.Address != "ops@acme.example" {
				t.Errorf("after the fix: %+v", s)
			}
		})
	}
}
