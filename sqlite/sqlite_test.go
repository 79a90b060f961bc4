package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"loam"
	"loam/sqlstore"
)

// testDB opens a fresh database (readers 0: the default pool) closed with the test.
func testDB(t *testing.T, readers int) *DB {
	t.Helper()
	db, err := openDB(context.Background(), Config{Path: filepath.Join(t.TempDir(), "data.db"), Readers: readers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestPragmas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testDB(t, 0)
	for _, tc := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"synchronous", "1"}, // NORMAL
		{"busy_timeout", "10000"},
		{"query_only", "1"}, // on the read pool
	} {
		rows, err := db.Query(ctx, "PRAGMA "+tc.pragma)
		if err != nil {
			t.Fatalf("%s: %v", tc.pragma, err)
		}
		var got string
		if !rows.Next() {
			t.Fatalf("%s: no row", tc.pragma)
		}
		if err := rows.Scan(&got); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if got != tc.want {
			t.Errorf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
		}
	}
}

func TestReadPoolRefusesWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testDB(t, 0)
	rows, err := db.Query(ctx, "CREATE TABLE x (a)")
	if err == nil {
		rows.Next()
		err = rows.Err()
		rows.Close()
	}
	if err == nil {
		t.Fatal("a write on the read pool succeeded")
	}
}

func TestSmoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := Open(ctx, Config{Path: filepath.Join(t.TempDir(), "data.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	c := &loam.Collection{Name: "posts", Fields: []loam.Field{{Name: "title", Type: loam.TypeText, Unique: true}}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCollection(ctx, c); err != nil {
		t.Fatal(err)
	}
	now := loam.Now()
	r := &loam.Record{ID: loam.NewID(), Created: now, Updated: now, Data: map[string]any{"title": "hello"}}
	if err := st.InsertRecord(ctx, c, r); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetRecord(ctx, c, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Data["title"] != "hello" || !got.Created.Equal(now) {
		t.Fatalf("got %+v", got)
	}
	r2 := &loam.Record{ID: loam.NewID(), Created: now, Updated: now.Add(time.Millisecond), Data: map[string]any{"title": "hello"}}
	err = st.InsertRecord(ctx, c, r2)
	var le *loam.Error
	if !errors.As(err, &le) || le.Code != loam.CodeConflict || le.Fields["title"].Code != loam.FieldUnique {
		t.Fatalf("duplicate insert: %v", err)
	}
}

// A query nested inside the rows of the same query text must not disturb them.
func TestNestedSameQuery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testDB(t, 1)
	err := db.Write(ctx, sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
		if _, err := tx.Exec(ctx, "CREATE TABLE n (v INTEGER)"); err != nil {
			return err
		}
		for i := 1; i <= 3; i++ {
			if _, err := tx.Exec(ctx, "INSERT INTO n (v) VALUES (?1)", i); err != nil {
				return err
			}
		}
		outer, err := tx.Query(ctx, "SELECT v FROM n WHERE v >= ?1 ORDER BY v", 1)
		if err != nil {
			return err
		}
		defer outer.Close()
		var got []int64
		for outer.Next() {
			var v int64
			if err := outer.Scan(&v); err != nil {
				return err
			}
			got = append(got, v)
			inner, err := tx.Query(ctx, "SELECT v FROM n WHERE v >= ?1 ORDER BY v", 3)
			if err != nil {
				return err
			}
			for inner.Next() {
			}
			inner.Close()
		}
		if len(got) != 3 || got[2] != 3 {
			t.Errorf("outer rows = %v, want 1 2 3", got)
		}
		return outer.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A panic inside a write must leave the writer usable: the transaction is
// rolled back and the next write works.
func TestWriteRecoversFromPanic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testDB(t, 0)
	if err := db.Write(ctx, sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
		_, err := tx.Exec(ctx, "CREATE TABLE n (v INTEGER)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() { recover() }()
		db.Write(ctx, sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
			tx.Exec(ctx, "INSERT INTO n (v) VALUES (?1)", 1)
			panic("hook bug")
		})
	}()
	if err := db.Write(ctx, sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
		_, err := tx.Exec(ctx, "INSERT INTO n (v) VALUES (?1)", 2)
		return err
	}); err != nil {
		t.Fatalf("write after a panic: %v", err)
	}
	rows, err := db.Query(ctx, "SELECT count(*), sum(v) FROM n")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n, sum int64
	rows.Next()
	rows.Scan(&n, &sum)
	if n != 1 || sum != 2 {
		t.Fatalf("rows after the panic: %d with sum %d, want only the second write", n, sum)
	}
}

// A write whose context ends between its statements (a client that went
// away) rolls back, its interrupted ROLLBACK included, and leaves the
// writer usable: the next write works.
func TestWriteCancelledMidwayRollsBack(t *testing.T) {
	t.Parallel()
	db := testDB(t, 0)
	if _, err := db.Exec(context.Background(), "CREATE TABLE n (v INTEGER)"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err := db.Write(ctx, sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
		if _, err := tx.Exec(ctx, "INSERT INTO n (v) VALUES (?1)", 1); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if err == nil {
		t.Fatal("a write whose context ended before its commit succeeded")
	}
	if err := db.Write(context.Background(), sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
		_, err := tx.Exec(context.Background(), "INSERT INTO n (v) VALUES (?1)", 2)
		return err
	}); err != nil {
		t.Fatalf("write after a cancelled one: %v", err)
	}
	rows, err := db.Query(context.Background(), "SELECT count(*), sum(v) FROM n")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n, sum int64
	rows.Next()
	rows.Scan(&n, &sum)
	if n != 1 || sum != 2 {
		t.Fatalf("rows: %d with sum %d, want only the second write", n, sum)
	}
}

// A write waiting for the writer gives up when its context ends.
func TestWriteWaitHonoursContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testDB(t, 0)
	holding := make(chan struct{})
	release := make(chan struct{})
	go db.Write(ctx, sqlstore.WriteOptions{}, func(sqlstore.Querier) error {
		close(holding)
		<-release
		return nil
	})
	<-holding
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err := db.Write(cctx, sqlstore.WriteOptions{}, func(sqlstore.Querier) error { return nil })
	close(release)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled wait returned %v, want context.Canceled", err)
	}
}

// A long read stops when its context ends, and the connection goes back to
// the pool in working order.
func TestQueryInterruptedByContext(t *testing.T) {
	t.Parallel()
	db := testDB(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	rows, err := db.Query(ctx, "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT count(*) FROM c")
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	if err == nil {
		t.Fatal("an endless query returned without error")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("the query ran %v after its context ended", took)
	}
	// The one reader is usable again.
	rows, err = db.Query(context.Background(), "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var one int64
	if !rows.Next() || rows.Scan(&one) != nil || one != 1 {
		t.Fatalf("the reader after an interrupt: %v %v", rows.Err(), one)
	}
}

// TestOptimizeGathersStatistics: after Optimize, an indexed table that has
// rows and was read through its index has planner statistics.
func TestOptimizeGathersStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testDB(t, 0)
	err := db.Write(ctx, sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
		if _, err := tx.Exec(ctx, "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "CREATE INDEX t_v ON t (v)"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 5000) INSERT INTO t SELECT i, i % 7 FROM s")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	count := func() int64 {
		var n int64
		rows, err := db.Query(ctx, "SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		if rows.Next() {
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("statistics before Optimize: %d", n)
	}
	// The writer runs the query, so SQLite's optimize knows the index was used.
	err = db.Write(ctx, sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
		rows, err := tx.Query(ctx, "SELECT count(*) FROM t WHERE v = 3")
		if err != nil {
			return err
		}
		return rows.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Optimize(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 1 {
		t.Errorf("Optimize gathered no statistics (sqlite_stat1 tables: %d)", n)
	}
}
