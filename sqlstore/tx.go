package sqlstore

import (
	"context"
	"errors"

	"loam"
)

// InTx runs fn in one write transaction. fn gets this store bound to the
// transaction: every read and write runs in it, each write's own
// transaction being that one (see txDB).
func (s *Store) InTx(ctx context.Context, fn func(tx loam.RecordStore) error) error {
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		return fn(s.boundTo(tx))
	})
	if err == nil {
		s.wakeReaders()
	}
	return err
}

// boundTo returns a Store whose statements run in tx. It shares the
// statement texts of s, which do not depend on the connection.
func (s *Store) boundTo(tx Querier) *Store {
	return &Store{db: txDB{tx}, d: s.d, migrations: s.migrations, sql: s.sql}
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
