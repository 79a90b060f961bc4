package realtime

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"loam"
	"loam/postgres"
	"loam/postgres/pgtest"
	"loam/sqlite"
	"loam/sqlstore"
)

// openApp starts an app over a fresh store of the given kind.
func openApp(t *testing.T, kind string) *loam.App {
	t.Helper()
	ctx := context.Background()
	var st *sqlstore.Store
	var err error
	switch kind {
	case "sqlite":
		st, err = sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "data.db")})
	case "postgres":
		st, err = postgres.Open(ctx, postgres.Config{URL: pgtest.URL(t), MaxConns: 4})
	}
	if err != nil {
		t.Fatalf("open %s: %v", kind, err)
	}
	app, err := loam.New(loam.Config{Store: st, SchemaPoll: -1})
	if err != nil {
		t.Fatalf("loam.New: %v", err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = app.Stop() })
	rule := ""
	c := &loam.Collection{Name: "posts", Fields: []loam.Field{{Name: "title", Type: loam.TypeText}},
		Rules: loam.Rules{List: &rule, View: &rule}}
	if _, err := app.CreateCollection(ctx, loam.System, c); err != nil {
		t.Fatalf("CreateCollection: %v", err)
	}
	return app
}

func startHub(t *testing.T, app *loam.App, cfg Config) *Hub {
	t.Helper()
	h := New(app, cfg)
	if err := h.Start(context.Background()); err != nil {
		t.Fatalf("hub Start: %v", err)
	}
	t.Cleanup(h.Stop)
	return h
}

// next reads one message, failing after a deadline.
func next(t *testing.T, s *Subscription) Message {
	t.Helper()
	select {
	case m := <-s.Messages():
		return m
	case <-s.Done():
		t.Fatalf("subscription ended: %v", s.Err())
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
	}
	return Message{}
}

func create(t *testing.T, app *loam.App, title string) *loam.Record {
	t.Helper()
	body, _ := loam.JSONBody(map[string]any{"title": title})
	r, err := app.CreateRecord(context.Background(), loam.System, "posts", body)
	if err != nil {
		t.Fatalf("CreateRecord: %v", err)
	}
	return r
}

func TestHubDeliversInOrder(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			app := openApp(t, kind)
			h := startHub(t, app, Config{})
			s, err := h.Subscribe(t.Context(), loam.System, []Spec{{Collection: "posts"}}, false, 0)
			if err != nil {
				t.Fatalf("Subscribe: %v", err)
			}
			var want []string
			for _, title := range []string{"a", "b", "c"} {
				want = append(want, create(t, app, title).ID)
			}
			var last int64
			for i, id := range want {
				m := next(t, s)
				if m.Record.ID != id || m.Action != loam.ActionCreate || m.Seq <= last {
					t.Fatalf("message %d: %s %s seq %d, want create of %s after seq %d", i, m.Action, m.Record.ID, m.Seq, id, last)
				}
				last = m.Seq
			}
		})
	}
}

// TestHubOutOfOrderCommit: on PostgreSQL a seq is taken before commit, so
// a later seq can become visible first. The hub must hold it until the
// earlier one commits, and deliver both, in seq order.
func TestHubOutOfOrderCommit(t *testing.T) {
	t.Parallel()
	app := openApp(t, "postgres")
	h := startHub(t, app, Config{Poll: time.Hour}) // dispatch only when told
	s, err := h.Subscribe(t.Context(), loam.System, []Spec{{Collection: "posts"}}, false, 0)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	c := app.Schema().Collection("posts")
	inserted, release, finished := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	released := false
	t.Cleanup(func() { // a failed test must not leave the transaction open
		if !released {
			close(release)
			<-finished
		}
	})
	early := &loam.Record{ID: loam.NewID(), Created: loam.Now(), Updated: loam.Now(), Data: map[string]any{"title": "early"}}
	go func() {
		finished <- app.Store().InTx(context.Background(), func(tx loam.RecordStore) error {
			if err := tx.InsertRecord(context.Background(), c, early); err != nil {
				return err
			}
			close(inserted)
			<-release
			return nil
		})
	}()
	<-inserted // the early transaction holds its seq, uncommitted
	late := create(t, app, "late")
	// Read the log now, while the early seq is missing: the hub must not
	// go past it.
	if err := h.dispatch(t.Context()); err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	select {
	case m := <-s.Messages():
		t.Fatalf("delivered seq %d (%s) while an earlier seq could still commit", m.Seq, m.Record.ID)
	default:
	}
	close(release)
	released = true
	if err := <-finished; err != nil {
		t.Fatalf("early transaction: %v", err)
	}
	if err := h.dispatch(t.Context()); err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	if m := next(t, s); m.Record.ID != early.ID {
		t.Fatalf("first message %s, want the early record %s", m.Record.ID, early.ID)
	}
	if m := next(t, s); m.Record.ID != late.ID {
		t.Fatalf("second message %s, want the late record %s", m.Record.ID, late.ID)
	}
}

// TestHubRolledBackGap: a seq whose transaction rolled back is passed once
// a read's snapshot shows that transaction ended.
func TestHubRolledBackGap(t *testing.T) {
	t.Parallel()
	app := openApp(t, "postgres")
	h := startHub(t, app, Config{Poll: time.Hour})
	s, err := h.Subscribe(t.Context(), loam.System, []Spec{{Collection: "posts"}}, false, 0)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	c := app.Schema().Collection("posts")
	inserted, release, finished := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	errRollback := errors.New("roll back")
	go func() {
		finished <- app.Store().InTx(context.Background(), func(tx loam.RecordStore) error {
			r := &loam.Record{ID: loam.NewID(), Created: loam.Now(), Updated: loam.Now(), Data: map[string]any{"title": "gone"}}
			if err := tx.InsertRecord(context.Background(), c, r); err != nil {
				return err
			}
			close(inserted)
			<-release
			return errRollback
		})
	}()
	<-inserted
	late := create(t, app, "late")
	if err := h.dispatch(t.Context()); err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	close(release)
	if err := <-finished; !errors.Is(err, errRollback) {
		t.Fatalf("rolled back transaction: %v", err)
	}
	if err := h.dispatch(t.Context()); err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	if m := next(t, s); m.Record.ID != late.ID {
		t.Fatalf("message %s, want the late record %s", m.Record.ID, late.ID)
	}
}

// TestHubSlowConsumer: a subscriber that never reads is cut off when its
// buffer is full; what it holds stays at the buffer's size.
func TestHubSlowConsumer(t *testing.T) {
	t.Parallel()
	app := openApp(t, "sqlite")
	h := startHub(t, app, Config{Buffer: 3})
	s, err := h.Subscribe(t.Context(), loam.System, []Spec{{Collection: "posts"}}, false, 0)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	for i := range 10 {
		create(t, app, "p"+string(rune('a'+i)))
	}
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the slow subscriber was not cut off")
	}
	if !errors.Is(s.Err(), ErrSlowConsumer) {
		t.Fatalf("Err = %v, want ErrSlowConsumer", s.Err())
	}
	if n := len(s.Messages()); n != 3 {
		t.Fatalf("buffered %d messages, want the buffer's 3", n)
	}
	h.mu.Lock()
	left := len(h.subs["posts"])
	h.mu.Unlock()
	if left != 0 {
		t.Fatalf("the hub still holds %d subscribers of posts", left)
	}
}
