package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"loam"
	"loam/sqlstore"
)

// DB is a SQLite database with one writer connection and a read pool.
type DB struct {
	writer *sql.DB
	reader *sql.DB

	stmts sync.Map // query text -> *sql.Stmt on reader
}

var _ sqlstore.DB = (*DB)(nil)

var errorsAs = errors.As

// Exec runs a statement on the writer, outside any transaction.
func (db *DB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := db.writer.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Query runs a read on the read pool. Statements are prepared once per query
// text and reused.
func (db *DB) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	if st, ok := db.stmts.Load(query); ok {
		return st.(*sql.Stmt).QueryContext(ctx, args...)
	}
	st, err := db.reader.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		st = prev.(*sql.Stmt)
	}
	return st.QueryContext(ctx, args...)
}

// Write runs fn in one IMMEDIATE transaction on the writer connection.
func (db *DB) Write(ctx context.Context, opts sqlstore.WriteOptions, fn func(tx sqlstore.Querier) error) error {
	if opts.ForeignKeysOff {
		return db.writeWithoutForeignKeys(ctx, fn)
	}
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(txQuerier{tx}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// SchemaChanged forgets the cached read statements, so the statements of a
// dropped table are not looked up again. They are not closed: a request may
// be using one this instant. SQLite itself re-prepares a statement whose
// tables changed, so nothing stale is ever run.
func (db *DB) SchemaChanged() {
	db.stmts.Range(func(k, _ any) bool {
		db.stmts.Delete(k)
		return true
	})
}

// writeWithoutForeignKeys runs fn with foreign keys off (so that rebuilding a
// table fires no cascade) and refuses to commit if any key is left dangling.
// foreign_keys cannot change inside a transaction, so it is set around it on
// the one writer connection.
func (db *DB) writeWithoutForeignKeys(ctx context.Context, fn func(tx sqlstore.Querier) error) error {
	conn, err := db.writer.Conn(ctx)
	if err != nil {
		return fmt.Errorf("writer connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return fmt.Errorf("foreign keys off: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON")
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(txQuerier{tx}); err != nil {
		tx.Rollback()
		return err
	}
	rows, err := tx.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		tx.Rollback()
		return fmt.Errorf("foreign key check: %w", err)
	}
	var table string
	dangling := rows.Next()
	if dangling {
		var rowid, parent, fkid any
		rows.Scan(&table, &rowid, &parent, &fkid)
	}
	rows.Close()
	if dangling {
		tx.Rollback()
		return &loam.Error{Code: loam.CodeConflict, Message: "the change would leave records of " + table + " pointing at missing records"}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	db.stmts.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
	return errors.Join(db.reader.Close(), db.writer.Close())
}

type txQuerier struct{ tx *sql.Tx }

func (q txQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q txQuerier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return q.tx.QueryContext(ctx, query, args...)
}
