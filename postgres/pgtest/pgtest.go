// Package pgtest gives each test its own PostgreSQL database on a running
// server, so tests against a real PostgreSQL can run in parallel without
// sharing state.
//
// The server is the one the admin URL in LOAM_TEST_POSTGRES names (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable); its user
// must be allowed to create databases. When the server cannot be reached the
// test is skipped, unless LOAM_REQUIRE_POSTGRES=1, which makes it fail.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultAdminURL is used when LOAM_TEST_POSTGRES is not set.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// URL creates a fresh, empty database for t and returns a connection URL for
// it. The database is dropped when t and its subtests finish, after the
// cleanups registered later (such as closing the pool the test opened), with
// any connection still open cut off. An unreachable server skips t, or fails
// it when LOAM_REQUIRE_POSTGRES=1; a server that answers but refuses, and
// any other error, fails t.
func URL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("LOAM_TEST_POSTGRES")
	if admin == "" {
		admin = DefaultAdminURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := connect(ctx, admin)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// The server answered and refused: a wrong user, password or database.
		t.Fatalf("pgtest: connect to %s: %v", redact(admin), err)
	}
	if err != nil {
		if os.Getenv("LOAM_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("pgtest: PostgreSQL is required (LOAM_REQUIRE_POSTGRES=1) but %s cannot be reached: %v", redact(admin), err)
		}
		t.Skipf("pgtest: skipped, PostgreSQL at %s cannot be reached (set LOAM_TEST_POSTGRES to its admin URL): %v", redact(admin), err)
	}
	defer func() { _ = conn.Close(context.Background()) }()

	name := "loam_t_" + randomHex(8)
	ident := pgx.Identifier{name}.Sanitize()
	// template0 is pristine whatever was installed into template1; WAL_LOG,
	// PostgreSQL 15's default strategy, needs no checkpoint, so parallel
	// creations do not queue behind each other.
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident+" TEMPLATE template0"); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := connect(ctx, admin)
		if err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer func() { _ = conn.Close(context.Background()) }()
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

func connect(ctx context.Context, admin string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		return nil, err
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > 5*time.Second {
		cfg.ConnectTimeout = 5 * time.Second
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// withDatabase returns the admin connection string pointed at database name.
func withDatabase(admin, name string) (string, error) {
	if strings.HasPrefix(admin, "postgres://") || strings.HasPrefix(admin, "postgresql://") {
		u, err := url.Parse(admin)
		if err != nil {
			return "", err
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// keyword=value form: a later keyword wins.
	return admin + " dbname=" + name, nil
}

// redact hides the password of a URL in messages.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	if strings.Contains(s, "password") {
		return "(connection string with a password)"
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
