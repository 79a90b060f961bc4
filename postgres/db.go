package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"loam"
	"loam/sqlstore"
)

// DB is a sqlstore.DB over a pgx pool; OpenDB makes one. Exec and Query
// borrow any pooled connection; Write runs in a transaction on one. Errors
// from Exec and Query are pgx's own, unwrapped, so that
// Dialect.ConstraintError can classify them and the caller can add its own
// context; only a transaction that lost a race comes back as ErrConflict
// (wrapping pgx's error, see raced).
type DB struct {
	pool *pgxpool.Pool
	// epoch counts SchemaChanged calls; a connection whose statement cache
	// is older empties it before its next use.
	epoch atomic.Uint64
}

var (
	_ sqlstore.DB      = (*DB)(nil)
	_ sqlstore.Querier = querier{}
	_ sqlstore.Rows    = rows{}
)

// Pool returns the underlying pool, for adapter-specific work
// (LISTEN/NOTIFY, COPY) that sqlstore does not cover.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Exec runs a statement and returns the number of rows it affected.
func (db *DB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return querier{db.pool}.Exec(ctx, query, args...)
}

// Query runs a statement that returns rows. The caller must close them.
func (db *DB) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return querier{db.pool}.Query(ctx, query, args...)
}

// Write runs fn in one transaction: it commits when fn returns nil and rolls
// back when fn returns an error (returned as it is) or panics. The isolation
// level is PostgreSQL's default, read committed; concurrent writers are
// serialised by the row locks their statements take (and by
// Dialect.LockSchema for schema changes). opts.ForeignKeysOff is ignored:
// PostgreSQL alters tables in place, inside the transaction.
func (db *DB) Write(ctx context.Context, opts sqlstore.WriteOptions, fn func(tx sqlstore.Querier) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	// After a commit this is a no-op. WithoutCancel: a cancelled request must
	// still send its rollback, or the connection is thrown away.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(querier{tx}); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// SchemaChanged makes every pooled connection drop its prepared statements
// before its next use. Call it once the schema has changed, by this instance
// or by another one: pgx prepares and caches each statement per connection,
// keyed by its SQL text, and a cached statement whose table was since dropped
// and recreated, or whose column changed type, fails (once per connection)
// even though the same SQL text would now be valid.
func (db *DB) SchemaChanged() { db.epoch.Add(1) }

// epochKey keys a connection's statement epoch in its CustomData.
const epochKey = "loam.statementEpoch"

// afterConnect marks a new connection, whose statement cache is empty, as current.
func (db *DB) afterConnect(_ context.Context, c *pgx.Conn) error {
	c.PgConn().CustomData()[epochKey] = db.epoch.Load()
	return nil
}

// prepareConn runs before each use of a pooled connection: if the schema
// changed since the connection last emptied its statement cache, it does so
// now. A connection that cannot is dropped and another one is used.
func (db *DB) prepareConn(ctx context.Context, c *pgx.Conn) (bool, error) {
	cur := db.epoch.Load()
	data := c.PgConn().CustomData()
	if e, _ := data[epochKey].(uint64); e == cur {
		return true, nil
	}
	if err := c.DeallocateAll(ctx); err != nil {
		return false, nil
	}
	data[epochKey] = cur
	return true, nil
}

// Close closes the pool, waiting for connections in use to be released.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// pgxQuerier is what a pool and a transaction have in common.
type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// querier runs statements on a pool or inside a transaction.
type querier struct {
	q pgxQuerier
}

// Exec runs a statement and returns the number of rows it affected.
func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := q.q.Exec(ctx, query, args...)
	if err != nil {
		return 0, raced(err)
	}
	return tag.RowsAffected(), nil
}

// Query runs a statement that returns rows.
func (q querier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	r, err := q.q.Query(ctx, query, args...)
	if err != nil {
		return nil, raced(err)
	}
	return rows{r}, nil
}

// raced turns the errors with which PostgreSQL ends a transaction that lost
// a race with another one (a deadlock, a serialization failure) into
// ErrConflict, wrapping pgx's error: nothing of the transaction stayed, and
// the same writes may succeed when tried again. Transactions that write
// several records (batches) can deadlock when they lock them in different
// orders. Other errors stay pgx's own.
func raced(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == codeDeadlockDetected || pe.Code == codeSerializationFailure) {
		return &loam.Error{Code: loam.CodeConflict, Message: "the write raced with another one and was undone; try it again", Err: err}
	}
	return err
}

// rows adapts pgx.Rows, whose Close returns nothing, to sqlstore.Rows.
type rows struct {
	r pgx.Rows
}

func (r rows) Next() bool             { return r.r.Next() }
func (r rows) Scan(dest ...any) error { return r.r.Scan(dest...) }
func (r rows) Err() error             { return r.r.Err() }

// Close releases the connection. A query's error is reported by Err, so
// Close itself always returns nil.
func (r rows) Close() error {
	r.r.Close()
	return nil
}
