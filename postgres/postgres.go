// Package postgres is the PostgreSQL adapter of Loam: it opens a pgx
// connection pool and hands it, with the PostgreSQL dialect and the embedded
// migrations, to sqlstore, which implements loam.Store once for every SQL
// database. Many instances may share one database: schema changes and
// migrations are serialised with an advisory lock.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"loam/sqlstore"
)

//go:embed migrations/*.sql
var embedded embed.FS

// migrationsFS holds the numbered .sql migrations at its root.
var migrationsFS = func() fs.FS {
	sub, err := fs.Sub(embedded, "migrations")
	if err != nil {
		panic(err) // the directory is embedded above, so this cannot happen
	}
	return sub
}()

// Migrations returns the adapter's migrations: numbered .sql files at the
// root of the returned file system.
func Migrations() fs.FS { return migrationsFS }

// Config configures a connection to PostgreSQL.
type Config struct {
	// URL is a PostgreSQL connection string, as a URL
	// (postgres://user@host:5432/db?sslmode=disable) or as keyword=value pairs.
	// It is required. Sessions run with jit=off unless the URL sets jit.
	URL string
	// MaxConns caps the pool's connections; 0 keeps the URL's pool_max_conns,
	// or else max(8, 4 × GOMAXPROCS): requests wait on the database more than
	// on the CPU, so a pool as small as pgx's default (the number of CPUs)
	// leaves both idle under load.
	MaxConns int32
	// Logger receives connection events; nil discards them. Queries and their
	// arguments are never logged (they hold password and token hashes).
	Logger *slog.Logger
}

// validate checks cfg and fills in defaults.
func (cfg *Config) validate() error {
	if cfg.URL == "" {
		return errors.New("URL is required")
	}
	if cfg.MaxConns < 0 {
		return fmt.Errorf("MaxConns is %d; it must be 0 (default) or more", cfg.MaxConns)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Open connects to the database cfg.URL names, checks that it answers, and
// returns a store over it. It does not migrate: call Store.Migrate. An invalid
// config or an unreachable server is an error; nothing stays open then.
func Open(ctx context.Context, cfg Config) (*sqlstore.Store, error) {
	db, err := OpenDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return sqlstore.New(db, Dialect{}, migrationsFS), nil
}

// OpenDB opens a pgx pool as cfg says, pings it and returns it as a
// sqlstore.DB. Open uses it; tests and tools use it on its own.
func OpenDB(ctx context.Context, cfg Config) (*DB, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// pgx's parse errors redact the password.
		return nil, fmt.Errorf("open postgres: parse URL: %w", err)
	}
	// JIT compilation pays off for long analytic queries; Loam's are short,
	// but a filter through JSON lists and relations has a high estimated
	// cost (PostgreSQL guesses 100 elements per list), which crossed
	// jit_above_cost and spent 30 to 350 ms compiling queries that run in
	// under a millisecond. Off unless the URL sets jit.
	if _, set := pc.ConnConfig.RuntimeParams["jit"]; !set {
		pc.ConnConfig.RuntimeParams["jit"] = "off"
	}
	switch {
	case cfg.MaxConns > 0:
		pc.MaxConns = cfg.MaxConns
	case !strings.Contains(cfg.URL, "pool_max_conns"):
		pc.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	db := &DB{}
	pc.AfterConnect = db.afterConnect
	pc.PrepareConn = db.prepareConn
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres: ping %s:%d/%s: %w",
			pc.ConnConfig.Host, pc.ConnConfig.Port, pc.ConnConfig.Database, err)
	}
	cfg.Logger.InfoContext(ctx, "postgres connected",
		"host", pc.ConnConfig.Host, "port", pc.ConnConfig.Port,
		"database", pc.ConnConfig.Database, "maxConns", pc.MaxConns)
	db.pool = pool
	return db, nil
}
