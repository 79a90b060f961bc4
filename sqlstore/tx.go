package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"loam"
)

// InTx runs fn in one write transaction. fn gets this store bound to the
// transaction: every read and write runs in it, each write's own
// transaction being that one (see txDB).
func (s *Store) InTx(ctx context.Context, fn func(tx loam.RecordStore) error) error {
	return s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		return fn(s.boundTo(tx))
	})
}

// boundTo returns a Store whose statements run in tx. It shares the
// statement texts of s, which do not depend on the connection.
func (s *Store) boundTo(tx Querier) *Store {
	return &Store{db: txDB{tx}, d: s.d, migrations: s.migrations, sql: s.sql, parent: s}
}

// txDB is a DB inside one write transaction: Query and Exec run in it, and
// Write runs its function in it directly, without a transaction of its own
// (on SQLite a second one would wait for the writer this one holds).
type txDB struct{ tx Querier }

var _ DB = txDB{}

func (t txDB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return t.tx.Exec(ctx, query, args...)
}

func (t txDB) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	return t.tx.Query(ctx, query, args...)
}

// errForeignKeysInTx refuses a write that needs foreign keys off: SQLite
// cannot change that inside a transaction.
var errForeignKeysInTx = errors.New("a write with foreign keys off cannot run inside a transaction")

func (t txDB) Write(_ context.Context, opts WriteOptions, fn func(tx Querier) error) error {
	if opts.ForeignKeysOff {
		return errForeignKeysInTx
	}
	return fn(t.tx)
}

// Close does nothing: the transaction ends when InTx's function returns.
func (t txDB) Close() error { return nil }

// errNoTx refuses a savepoint outside a transaction.
var errNoTx = errors.New("a savepoint needs a transaction")

// Savepoint runs fn inside a savepoint of the transaction s is bound to
// (see InTx): when fn fails, what it wrote is undone and the transaction
// goes on as before it, usable (on PostgreSQL a failed statement would
// otherwise abort the whole transaction).
func (s *Store) Savepoint(ctx context.Context, fn func() error) error {
	t, ok := s.db.(txDB)
	if !ok {
		return errNoTx
	}
	if _, err := t.tx.Exec(ctx, "SAVEPOINT loam_sp"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err := fn(); err != nil {
		if _, rerr := t.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT loam_sp"); rerr != nil {
			return errors.Join(err, fmt.Errorf("roll back to savepoint: %w", rerr))
		}
		if _, rerr := t.tx.Exec(ctx, "RELEASE SAVEPOINT loam_sp"); rerr != nil {
			return errors.Join(err, fmt.Errorf("release savepoint: %w", rerr))
		}
		return err
	}
	if _, err := t.tx.Exec(ctx, "RELEASE SAVEPOINT loam_sp"); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}
