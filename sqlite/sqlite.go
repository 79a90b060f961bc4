// Package sqlite is the default Store: an embedded SQLite file through the
// pure-Go ncruces driver. It runs in WAL mode with one writer connection, so
// writes never wait on SQLITE_BUSY inside the process, and a separate pool of
// read-only connections.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"github.com/ncruces/go-sqlite3"
	_ "github.com/ncruces/go-sqlite3/driver" // registers "sqlite3"

	"loam/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the embedded system-table migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sub
}

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

func openDB(ctx context.Context, cfg Config) (*DB, error) {
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
	base := "file:" + (&url.URL{Path: cfg.Path}).EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)&_pragma=foreign_keys(1)&_pragma=synchronous(normal)"
	writer, err := sql.Open("sqlite3", base+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite writer: %w", err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", cfg.Path, err)
	}
	reader, err := sql.Open("sqlite3", base+"&_pragma=query_only(1)")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("open sqlite readers: %w", err)
	}
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	reader.SetConnMaxLifetime(0)
	reader.SetConnMaxIdleTime(0)
	return &DB{writer: writer, reader: reader}, nil
}

// Dialect is SQLite's SQL.
type Dialect struct{}

var _ sqlstore.Dialect = Dialect{}

// ConstraintError classifies SQLite constraint errors by their extended code.
// SQLite does not name the constraint; the store checks uniques and relations
// before writing, so this is only a backstop.
func (Dialect) ConstraintError(err error) (sqlstore.ConstraintKind, string) {
	var e *sqlite3.Error
	if err == nil || !errorsAs(err, &e) {
		return sqlstore.NoConstraint, ""
	}
	switch e.ExtendedCode() {
	case sqlite3.CONSTRAINT_UNIQUE, sqlite3.CONSTRAINT_PRIMARYKEY:
		return sqlstore.UniqueViolation, ""
	case sqlite3.CONSTRAINT_FOREIGNKEY:
		return sqlstore.ForeignKeyViolation, ""
	case sqlite3.CONSTRAINT_NOTNULL:
		return sqlstore.NotNullViolation, ""
	}
	return sqlstore.NoConstraint, ""
}
