package postgres_test

import (
	"context"
	"errors"
	"hash/fnv"
	"io/fs"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"loam/postgres"
	"loam/postgres/pgtest"
	"loam/sqlstore"
)

// TestMigrateConcurrently runs the migrations from two pools at once, as two
// instances starting together would, and checks each one ran exactly once.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	dbs := []*postgres.DB{openDB(t, url, 2), openDB(t, url, 2)}
	files, err := fs.Glob(postgres.Migrations(), "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v %v", files, err)
	}

	start := make(chan struct{})
	errs := make([]error, len(dbs))
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = sqlstore.Migrate(t.Context(), db, postgres.Dialect{}, postgres.Migrations())
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate on pool %d: %v", i, err)
		}
	}

	db := dbs[0]
	if n := count(t, db, `SELECT count(*) FROM _migrations`); n != int64(len(files)) {
		t.Errorf("%d migrations recorded, want %d", n, len(files))
	}
	if n := count(t, db, `SELECT count(DISTINCT version) FROM _migrations`); n != int64(len(files)) {
		t.Errorf("%d distinct migrations recorded, want %d", n, len(files))
	}
	for _, table := range []string{"_meta", "_collections", "_events", "_sessions"} {
		if n := count(t, db, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1`, table); n != 1 {
			t.Errorf("table %s missing", table)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM _meta WHERE key = 'schema_version'`); n != 1 {
		t.Errorf("%d schema_version rows, want 1", n)
	}

	// Again: nothing to do, and the check that Ping uses agrees.
	if err := sqlstore.Migrate(t.Context(), dbs[1], postgres.Dialect{}, postgres.Migrations()); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	if n := count(t, db, `SELECT count(*) FROM _migrations`); n != int64(len(files)) {
		t.Errorf("after a second run, %d migrations recorded, want %d", n, len(files))
	}
	if err := sqlstore.MigrationsApplied(t.Context(), db, postgres.Migrations()); err != nil {
		t.Errorf("MigrationsApplied: %v", err)
	}
}

// TestLockSchema checks that the schema lock excludes a second holder until
// the first transaction ends, and that it is the documented advisory lock.
func TestLockSchema(t *testing.T) {
	t.Parallel()
	d := postgres.Dialect{}
	url := pgtest.URL(t)
	db := openDB(t, url, 3)

	locked := make(chan struct{})
	release := make(chan struct{})
	var releaseOnce sync.Once
	unlock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unlock) // before the pool closes, should the test stop early
	holder := make(chan error, 1)
	go func() {
		holder <- db.Write(context.Background(), sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
			if err := d.LockSchema(context.Background(), tx); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	select {
	case <-locked:
	case err := <-holder:
		t.Fatalf("holder: %v", err)
	}

	// The key is FNV-1a of "loam schema", which pg_locks splits in two halves.
	h := fnv.New64a()
	h.Write([]byte("loam schema"))
	key := h.Sum64()
	// pg_locks covers every database; advisory locks are per database.
	if n := count(t, db, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid = $1 AND objid = $2 AND objsubid = 1`, int64(key>>32), int64(key&0xffffffff)); n != 1 {
		t.Errorf("pg_locks shows %d schema locks, want 1", n)
	}

	tryLock := func() error {
		return db.Write(t.Context(), sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
			mustExec(t, tx, `SET LOCAL lock_timeout = '50ms'`)
			return d.LockSchema(t.Context(), tx)
		})
	}
	err := tryLock()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "55P03" { // lock_not_available
		t.Errorf("LockSchema while held = %v, want lock_not_available", err)
	}

	unlock()
	if err := <-holder; err != nil {
		t.Fatalf("holder: %v", err)
	}
	if err := tryLock(); err != nil {
		t.Errorf("LockSchema after the holder committed: %v", err)
	}
	// Released at rollback too.
	boom := errors.New("boom")
	err = db.Write(t.Context(), sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
		if err := d.LockSchema(t.Context(), tx); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("Write = %v, want boom", err)
	}
	if err := tryLock(); err != nil {
		t.Errorf("LockSchema after a rollback: %v", err)
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	store, err := postgres.Open(t.Context(), postgres.Config{URL: url, MaxConns: 3})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if err := store.Ping(t.Context()); err == nil {
		t.Error("Ping before Migrate: no error")
	}
	if err := store.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if err := store.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	db, ok := store.DB().(*postgres.DB)
	if !ok {
		t.Fatalf("store.DB() is %T", store.DB())
	}
	if got := db.Pool().Config().MaxConns; got != 3 {
		t.Errorf("MaxConns = %d, want 3", got)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]postgres.Config{
		"no URL":            {},
		"negative MaxConns": {URL: "postgres://postgres@127.0.0.1/postgres", MaxConns: -1},
		"bad URL":           {URL: "postgres://[::1"},
		// Port 1 refuses connections, so this fails fast.
		"unreachable": {URL: "postgres://postgres@127.0.0.1:1/postgres?connect_timeout=5"},
	} {
		store, err := postgres.Open(t.Context(), cfg)
		if err == nil {
			_ = store.Close()
			t.Errorf("%s: Open succeeded", name)
		}
	}
}
