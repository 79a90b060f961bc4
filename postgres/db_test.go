package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"loam"
	"loam/postgres"
	"loam/postgres/pgtest"
	"loam/sqlstore"
)

// openDB opens a pool on url, closed when t ends (before pgtest drops the database).
func openDB(t *testing.T, url string, maxConns int32) *postgres.DB {
	t.Helper()
	db, err := postgres.OpenDB(t.Context(), postgres.Config{URL: url, MaxConns: maxConns})
	if err != nil {
		t.Fatalf("OpenDB: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// newDB opens a pool on a fresh database.
func newDB(t *testing.T) *postgres.DB {
	t.Helper()
	return openDB(t, pgtest.URL(t), 0)
}

func mustExec(t *testing.T, q sqlstore.Querier, query string, args ...any) int64 {
	t.Helper()
	n, err := q.Exec(t.Context(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// count returns the result of a count(*) query.
func count(t *testing.T, q sqlstore.Querier, query string, args ...any) int64 {
	t.Helper()
	rows, err := q.Query(t.Context(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var n int64
	if !rows.Next() {
		t.Fatalf("%s: no row (err %v)", query, rows.Err())
	}
	if err := rows.Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestDBExecQuery(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	mustExec(t, db, `CREATE TABLE t (id bigint PRIMARY KEY, name text NOT NULL)`)
	if n := mustExec(t, db, `INSERT INTO t VALUES ($1, $2), ($3, $4), ($5, $6)`, 1, "a", 2, "b", 3, "c"); n != 3 {
		t.Errorf("insert affected %d rows, want 3", n)
	}
	if n := mustExec(t, db, `UPDATE t SET name = name || '!' WHERE id >= $1`, 2); n != 2 {
		t.Errorf("update affected %d rows, want 2", n)
	}
	if n := mustExec(t, db, `DELETE FROM t WHERE id = $1`, 42); n != 0 {
		t.Errorf("delete of nothing affected %d rows", n)
	}
	rows, err := db.Query(t.Context(), `SELECT id, name FROM t ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprint(id, name))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if err := rows.Close(); err != nil {
		t.Errorf("Close = %v, want nil", err)
	}
	if fmt.Sprint(got) != "[1a 2b! 3c!]" {
		t.Errorf("rows = %v", got)
	}

	// A failing query reports its error from Err; Close still returns nil.
	rows, err = db.Query(t.Context(), `SELECT 1/(id-2) FROM t ORDER BY id`)
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		if cerr := rows.Close(); cerr != nil {
			t.Errorf("Close = %v, want nil", cerr)
		}
	}
	if err == nil {
		t.Error("division by zero: no error")
	}
}

func TestDBWrite(t *testing.T) {
	t.Parallel()
	// One connection: a transaction that leaked its connection would block the next step.
	db := openDB(t, pgtest.URL(t), 1)
	mustExec(t, db, `CREATE TABLE t (id bigint PRIMARY KEY)`)

	t.Run("commit", func(t *testing.T) {
		err := db.Write(t.Context(), sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
			mustExec(t, tx, `INSERT INTO t VALUES (1)`)
			if n := count(t, tx, `SELECT count(*) FROM t WHERE id = 1`); n != 1 {
				t.Errorf("inside the transaction: %d rows, want 1", n)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
		if n := count(t, db, `SELECT count(*) FROM t WHERE id = 1`); n != 1 {
			t.Errorf("after commit: %d rows, want 1", n)
		}
	})

	t.Run("rollback on error", func(t *testing.T) {
		boom := errors.New("boom")
		err := db.Write(t.Context(), sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
			mustExec(t, tx, `INSERT INTO t VALUES (2)`)
			mustExec(t, tx, `CREATE TABLE u (id bigint)`) // DDL is transactional
			return boom
		})
		if err != boom {
			t.Fatalf("Write = %v, want the function's error unchanged", err)
		}
		if n := count(t, db, `SELECT count(*) FROM t WHERE id = 2`); n != 0 {
			t.Errorf("after rollback: %d rows, want 0", n)
		}
		if n := count(t, db, `SELECT count(*) FROM pg_tables WHERE tablename = 'u'`); n != 0 {
			t.Error("table created in a rolled-back transaction exists")
		}
	})

	t.Run("rollback on panic", func(t *testing.T) {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("panic did not propagate")
				}
			}()
			_ = db.Write(t.Context(), sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
				mustExec(t, tx, `INSERT INTO t VALUES (3)`)
				panic("boom")
			})
		}()
		if n := count(t, db, `SELECT count(*) FROM t WHERE id = 3`); n != 0 {
			t.Errorf("after panic: %d rows, want 0", n)
		}
	})

	t.Run("rollback on cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		err := db.Write(ctx, sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
			mustExec(t, tx, `INSERT INTO t VALUES (4)`)
			cancel()
			return ctx.Err()
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Write = %v, want context.Canceled", err)
		}
		if n := count(t, db, `SELECT count(*) FROM t WHERE id = 4`); n != 0 {
			t.Errorf("after cancel: %d rows, want 0", n)
		}
	})

	t.Run("statement error aborts", func(t *testing.T) {
		err := db.Write(t.Context(), sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
			mustExec(t, tx, `INSERT INTO t VALUES (5)`)
			_, err := tx.Exec(t.Context(), `INSERT INTO t VALUES (1)`) // duplicate key
			return err
		})
		if kind, _ := (postgres.Dialect{}).ConstraintError(err); kind != sqlstore.UniqueViolation {
			t.Fatalf("Write = %v, want a unique violation", err)
		}
		if n := count(t, db, `SELECT count(*) FROM t`); n != 1 {
			t.Errorf("after the failed transaction: %d rows, want 1", n)
		}
	})
}

// TestRoundTrip stores a value of every field type the way sqlstore does
// (ColumnType, Encode, SelectColumn) and reads it back.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	d := postgres.Dialect{}
	when := time.Date(2026, 11, 25, 10, 15, 30, 123000000, time.UTC)
	tests := []struct {
		field loam.Field
		value any
		want  any // what a scan into any gives
	}{
		{loam.Field{Type: loam.TypeText}, "héllo wörld", "héllo wörld"},
		{loam.Field{Type: loam.TypeNumber}, 1.25, 1.25},
		{loam.Field{Type: loam.TypeNumber, Integer: true}, int64(-9007199254740991), int64(-9007199254740991)},
		{loam.Field{Type: loam.TypeBool}, true, true},
		{loam.Field{Type: loam.TypeDate}, when, when},
		// jsonb normalises: a space after : and , and keys sorted (shorter first).
		{loam.Field{Type: loam.TypeJSON}, json.RawMessage(`{"bb":[1,2.5],"a":null}`), `{"a": null, "bb": [1, 2.5]}`},
		{loam.Field{Type: loam.TypeSelect, Values: []string{"x", "y"}, Multiple: true}, []string{"y", "x"}, `["y", "x"]`},
		{loam.Field{Type: loam.TypeText}, nil, nil},
		{loam.Field{Type: loam.TypeJSON}, nil, nil},
	}
	db := newDB(t)
	for i, tt := range tests {
		col := fmt.Sprintf(`"c%d"`, i)
		mustExec(t, db, fmt.Sprintf(`CREATE TABLE t%d (%s %s)`, i, col, d.ColumnType(&tt.field)))
		mustExec(t, db, fmt.Sprintf(`INSERT INTO t%d VALUES (%s)`, i, d.Placeholder(1)), d.Encode(&tt.field, tt.value))
		rows, err := db.Query(t.Context(), fmt.Sprintf(`SELECT %s FROM t%d`, d.SelectColumn(&tt.field, col), i))
		if err != nil {
			t.Fatal(err)
		}
		var got any
		if !rows.Next() {
			t.Fatalf("%s: no row: %v", tt.field.Type, rows.Err())
		}
		if err := rows.Scan(&got); err != nil {
			t.Fatalf("%s: %v", tt.field.Type, err)
		}
		rows.Close()
		if ts, ok := got.(time.Time); ok {
			// pgx gives timestamptz in the local zone; the instant is what counts.
			if !ts.Equal(when) {
				t.Errorf("%s: read %v, want %v", tt.field.Type, ts, when)
			}
			continue
		}
		if got != tt.want {
			t.Errorf("%s: read %#v, want %#v", tt.field.Type, got, tt.want)
		}
	}
}

// TestJSONParams checks that a Go string reaches a jsonb column and the list
// conditions in every query mode pgx offers, since a URL can choose one.
func TestJSONParams(t *testing.T) {
	t.Parallel()
	d := postgres.Dialect{}
	f := &loam.Field{Type: loam.TypeSelect, Values: []string{"a", "b"}, Multiple: true}
	url := pgtest.URL(t)
	setup := openDB(t, url, 1)
	mustExec(t, setup, `CREATE TABLE t (id int, tags `+d.ColumnType(f)+`)`)
	for _, mode := range []string{"cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol"} {
		t.Run(mode, func(t *testing.T) {
			db := openDB(t, url+"&default_query_exec_mode="+mode, 1)
			err := db.Write(t.Context(), sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
				mustExec(t, tx, `DELETE FROM t`)
				mustExec(t, tx, `INSERT INTO t VALUES (1, $1), (2, $2), (3, $3)`,
					d.Encode(f, []string{"a", "b"}), d.Encode(f, []string{}), d.Encode(f, nil))
				if n := count(t, tx, `SELECT count(*) FROM t WHERE `+d.ListContains(`"tags"`, "$1"), "b"); n != 1 {
					t.Errorf("ListContains matched %d rows, want 1", n)
				}
				if n := count(t, tx, `SELECT count(*) FROM t WHERE `+d.ListEmpty(`"tags"`)); n != 1 {
					t.Errorf("ListEmpty matched %d rows, want 1", n)
				}
				if n := count(t, tx, `SELECT count(*) FROM t WHERE tags = $1`, d.Encode(f, []string{"a", "b"})); n != 1 {
					t.Errorf("= on jsonb matched %d rows, want 1", n)
				}
				if n := count(t, tx, `SELECT count(*) FROM t WHERE `+d.InSet("id::text", "$1"), d.SetParam([]string{"1", "3", "x"})); n != 2 {
					t.Errorf("InSet matched %d rows, want 2", n)
				}
				if n := count(t, tx, `SELECT count(*) FROM t WHERE `+d.InSet("id::text", "$1"), d.SetParam(nil)); n != 0 {
					t.Errorf("InSet over no values matched %d rows, want 0", n)
				}
				from, value := d.ListElements("t.tags", "_e")
				if n := count(t, tx, `SELECT count(*) FROM t, `+from+` WHERE `+d.InSet(value, "$1"),
					d.SetParam([]string{"b", "c"})); n != 1 {
					t.Errorf("ListElements and InSet matched %d rows, want 1", n)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConstraintError(t *testing.T) {
	t.Parallel()
	d := postgres.Dialect{}
	db := newDB(t)
	mustExec(t, db, `CREATE TABLE p (id text PRIMARY KEY)`)
	mustExec(t, db, `CREATE TABLE c (
		id text PRIMARY KEY,
		email text NOT NULL,
		p text CONSTRAINT c_p_fk REFERENCES p (id),
		q text CONSTRAINT c_q_fk REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED
	)`)
	mustExec(t, db, `CREATE UNIQUE INDEX c_email_u ON c (email)`)
	mustExec(t, db, `INSERT INTO p VALUES ('p1')`)
	mustExec(t, db, `INSERT INTO c (id, email) VALUES ('c1', 'a@x')`)

	exec := func(query string) func() error {
		return func() error { _, err := db.Exec(t.Context(), query); return err }
	}
	tests := []struct {
		name       string
		run        func() error
		kind       sqlstore.ConstraintKind
		constraint string
	}{
		{"unique index", exec(`INSERT INTO c (id, email) VALUES ('c2', 'a@x')`), sqlstore.UniqueViolation, "c_email_u"},
		{"primary key", exec(`INSERT INTO c (id, email) VALUES ('c1', 'b@x')`), sqlstore.UniqueViolation, "c_pkey"},
		{"foreign key", exec(`INSERT INTO c (id, email, p) VALUES ('c3', 'c@x', 'nope')`), sqlstore.ForeignKeyViolation, "c_p_fk"},
		{"foreign key on delete", exec(`UPDATE c SET p = 'p1'; DELETE FROM p`), sqlstore.ForeignKeyViolation, "c_p_fk"},
		{"not null", exec(`INSERT INTO c (id) VALUES ('c4')`), sqlstore.NotNullViolation, "email"},
		{"deferred foreign key at commit", func() error {
			return db.Write(t.Context(), sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
				_, err := tx.Exec(t.Context(), `INSERT INTO c (id, email, q) VALUES ('c5', 'd@x', 'nope')`)
				return err
			})
		}, sqlstore.ForeignKeyViolation, "c_q_fk"},
		{"wrapped", func() error {
			_, err := db.Exec(t.Context(), `INSERT INTO c (id, email) VALUES ('c6', 'a@x')`)
			return fmt.Errorf("insert record: %w", err)
		}, sqlstore.UniqueViolation, "c_email_u"},
		{"other database error", exec(`SELECT * FROM missing`), sqlstore.NoConstraint, ""},
	}
	for _, tt := range tests {
		err := tt.run()
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		kind, constraint := d.ConstraintError(err)
		if kind != tt.kind || constraint != tt.constraint {
			t.Errorf("%s: ConstraintError(%v) = %v, %q; want %v, %q", tt.name, err, kind, constraint, tt.kind, tt.constraint)
		}
	}
	for _, err := range []error{nil, errors.New("plain"), context.Canceled} {
		if kind, constraint := d.ConstraintError(err); kind != sqlstore.NoConstraint || constraint != "" {
			t.Errorf("ConstraintError(%v) = %v, %q; want none", err, kind, constraint)
		}
	}
}

// TestSchemaChanged shows that after a table is recreated with a column of a
// new type, the same SQL text works on a connection that had prepared it.
func TestSchemaChanged(t *testing.T) {
	t.Parallel()
	db := openDB(t, pgtest.URL(t), 1) // one connection, so the statement is cached on it
	mustExec(t, db, `CREATE TABLE t (x text)`)
	const insert = `INSERT INTO t VALUES ($1)`
	mustExec(t, db, insert, "a")
	err := db.Write(t.Context(), sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
		mustExec(t, tx, `DROP TABLE t`)
		mustExec(t, tx, `CREATE TABLE t (x double precision)`)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.SchemaChanged()
	mustExec(t, db, insert, 1.5)
	if n := count(t, db, `SELECT count(*) FROM t WHERE x = $1`, 1.5); n != 1 {
		t.Errorf("%d rows, want 1", n)
	}
}

// Sessions run without JIT compilation unless the URL asks for it: it
// cost filter queries up to hundreds of milliseconds (see OpenDB).
func TestJITIsOffUnlessAsked(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	show := func(db *postgres.DB) string {
		t.Helper()
		rows, err := db.Query(t.Context(), `SHOW jit`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var v string
		if !rows.Next() {
			t.Fatalf("SHOW jit: no row (%v)", rows.Err())
		}
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := show(openDB(t, url, 1)); got != "off" {
		t.Errorf("SHOW jit = %q, want off", got)
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	if got := show(openDB(t, url+sep+"jit=on", 1)); got != "on" {
		t.Errorf("with jit=on in the URL: SHOW jit = %q, want on", got)
	}
}
