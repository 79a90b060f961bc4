// Package sqlite is the default Store: an embedded SQLite file through the
// pure-Go ncruces driver. It runs in WAL mode with one writer connection, so
// writes never wait on SQLITE_BUSY inside the process, and a separate pool of
// read-only connections.
package sqlite

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/ncruces/go-sqlite3"

	"loam/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations holds the embedded system-table migrations at its root.
var migrations = func() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sub
}()

// Migrations returns the embedded system-table migrations.
func Migrations() fs.FS { return migrations }

// Config configures a SQLite store.
type Config struct {
	// Path is the database file; its directory is created when missing.
	Path string
	// Readers is the size of the read pool; 0 means max(4, GOMAXPROCS).
	Readers int
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// Open opens (creating if needed) the database file and returns the Store.
// Call Migrate before use.
func Open(ctx context.Context, cfg Config) (*sqlstore.Store, error) {
	db, err := openDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return sqlstore.New(db, Dialect{}, Migrations()), nil
}

func openDB(_ context.Context, cfg Config) (*DB, error) {
	if cfg.Path == "" {
		return nil, fmt.Errorf("open sqlite: no path")
	}
	if dir := filepath.Dir(cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
	}
	readers := cfg.Readers
	if readers <= 0 {
		readers = max(4, runtime.GOMAXPROCS(0))
	}
	common := []string{"journal_mode = wal", "foreign_keys = ON", "synchronous = NORMAL"}
	writer, err := openConn(cfg.Path, common)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
	}
	db := &DB{writer: writer, readers: make(chan *conn, readers), all: []*conn{writer}, done: make(chan struct{}),
		writerSem: make(chan struct{}, 1)}
	for range readers {
		c, err := openConn(cfg.Path, append(common, "query_only = ON"))
		if err != nil {
			for _, o := range db.all {
				o.close()
			}
			return nil, fmt.Errorf("open sqlite reader: %w", err)
		}
		db.readers <- c
		db.all = append(db.all, c)
	}
	return db, nil
}

// Dialect is SQLite's SQL.
type Dialect struct{}

var _ sqlstore.Dialect = Dialect{}

// ConstraintError classifies SQLite constraint errors by their extended code.
// SQLite does not name the constraint: a primary key violation is reported as
// sqlstore.PrimaryKey; for the others the store checks uniques and relations
// before writing, so this is only a backstop.
func (Dialect) ConstraintError(err error) (sqlstore.ConstraintKind, string) {
	var e *sqlite3.Error
	if err == nil || !errors.As(err, &e) {
		return sqlstore.NoConstraint, ""
	}
	switch e.ExtendedCode() {
	case sqlite3.CONSTRAINT_PRIMARYKEY:
		return sqlstore.UniqueViolation, sqlstore.PrimaryKey
	case sqlite3.CONSTRAINT_UNIQUE:
		return sqlstore.UniqueViolation, ""
	case sqlite3.CONSTRAINT_FOREIGNKEY, sqlite3.CONSTRAINT_TRIGGER:
		// SQLite enforces ON DELETE RESTRICT with a trigger, and Loam
		// creates no triggers of its own: a trigger constraint is a key.
		return sqlstore.ForeignKeyViolation, ""
	case sqlite3.CONSTRAINT_NOTNULL:
		return sqlstore.NotNullViolation, ""
	}
	return sqlstore.NoConstraint, ""
}
