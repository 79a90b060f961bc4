package pgtest_test

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"loam/postgres/pgtest"
)

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	conn := connect(t, pgtest.DefaultAdminURL)
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func TestURLGivesSeparateDatabases(t *testing.T) {
	t.Parallel()
	var names [2]string
	t.Run("inner", func(t *testing.T) {
		var conns [2]*pgx.Conn
		for i := range conns {
			conns[i] = connect(t, pgtest.URL(t))
			if err := conns[i].QueryRow(t.Context(), `SELECT current_database()`).Scan(&names[i]); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(names[i], "loam_t_") {
				t.Errorf("database %q lacks the loam_t_ prefix", names[i])
			}
		}
		if names[0] == names[1] {
			t.Fatalf("both URLs name database %s", names[0])
		}
		if _, err := conns[0].Exec(t.Context(), `CREATE TABLE only_here (x int)`); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := conns[1].QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE tablename = 'only_here'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Error("a table created in one database shows in the other")
		}
	})
	for _, name := range names {
		if name != "" && databaseExists(t, name) {
			t.Errorf("database %s still exists after its test ended", name)
		}
	}
}

func TestURLKeywordValueForm(t *testing.T) {
	t.Setenv("LOAM_TEST_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=postgres sslmode=disable")
	conn := connect(t, pgtest.URL(t))
	var name string
	if err := conn.QueryRow(t.Context(), `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(name, "loam_t_") {
		t.Errorf("connected to %q, want a fresh loam_t_ database", name)
	}
}

// recorder is a testing.TB that records how URL ended the test.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, format
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, format
	runtime.Goexit()
}

// run calls URL with r in a goroutine, as the testing package would, so that
// Skipf and Fatalf can stop it.
func (r *recorder) run() {
	done := make(chan struct{})
	go func() {
		defer close(done)
		pgtest.URL(r)
	}()
	<-done
}

func TestURLUnreachable(t *testing.T) {
	// Port 1 refuses connections at once.
	t.Setenv("LOAM_TEST_POSTGRES", "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable")

	t.Setenv("LOAM_REQUIRE_POSTGRES", "")
	r := &recorder{TB: t}
	r.run()
	if !r.skipped || r.failed {
		t.Errorf("without LOAM_REQUIRE_POSTGRES: skipped %v, failed %v; want a skip", r.skipped, r.failed)
	}

	t.Setenv("LOAM_REQUIRE_POSTGRES", "1")
	r = &recorder{TB: t}
	r.run()
	if !r.failed || r.skipped {
		t.Errorf("with LOAM_REQUIRE_POSTGRES=1: skipped %v, failed %v; want a failure", r.skipped, r.failed)
	}
}

func TestURLRefused(t *testing.T) {
	// The server answers but has no such database: that is a failure even
	// when PostgreSQL is optional, since it is a configuration mistake.
	t.Setenv("LOAM_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/no_such_database?sslmode=disable")
	t.Setenv("LOAM_REQUIRE_POSTGRES", "")
	r := &recorder{TB: t}
	r.run()
	if !r.failed && !r.skipped {
		t.Fatal("URL returned")
	}
	if r.skipped {
		t.Skip("PostgreSQL is not reachable here")
	}
}
