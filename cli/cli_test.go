package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loam"
	"loam/cli"
	"loam/postgres"
	"loam/postgres/pgtest"
	"loam/sqlite"
)

// TestMain clears the LOAM_* settings the commands read, so that a
// developer's environment cannot point the tests at another database.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "LOAM_") && name != "LOAM_TEST_POSTGRES" && name != "LOAM_REQUIRE_POSTGRES" && name != "LOAM_REQUIRE_TSC" {
			os.Unsetenv(name)
		}
	}
	os.Exit(m.Run())
}

// backend is one fresh, empty database and the flags that point the
// commands at it.
type backend struct {
	name  string
	flags []string
	open  func(t *testing.T) *loam.App
}

// backendNames are the databases every CLI test runs on; each subtest gets
// its own fresh one, so nothing is shared.
var backendNames = []string{"sqlite", "postgres"}

func newBackend(t *testing.T, name string) backend {
	t.Helper()
	switch name {
	case "sqlite":
		dir := t.TempDir()
		return backend{name: name, flags: []string{"--dir", dir}, open: func(t *testing.T) *loam.App {
			t.Helper()
			store, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(dir, "data.db")})
			if err != nil {
				t.Fatalf("open sqlite: %v", err)
			}
			return startApp(t, store)
		}}
	case "postgres":
		url := pgtest.URL(t)
		return backend{name: name, flags: []string{"--db", url}, open: func(t *testing.T) *loam.App {
			t.Helper()
			store, err := postgres.Open(context.Background(), postgres.Config{URL: url})
			if err != nil {
				t.Fatalf("open postgres: %v", err)
			}
			return startApp(t, store)
		}}
	}
	t.Fatalf("unknown backend %q", name)
	return backend{}
}

func startApp(t *testing.T, store loam.Store) *loam.App {
	t.Helper()
	app, err := loam.New(loam.Config{Store: store, SchemaPoll: -1})
	if err != nil {
		store.Close()
		t.Fatalf("new app: %v", err)
	}
	if err := app.Start(context.Background()); err != nil {
		app.Stop()
		t.Fatalf("start app: %v", err)
	}
	t.Cleanup(func() { app.Stop() })
	return app
}

// forEachBackend runs fn in parallel subtests, one per database.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, name := range backendNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t, newBackend(t, name))
		})
	}
}

// result is what one command run left behind.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs one loam command in-process.
func run(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := cli.Main(ctx, args, strings.NewReader(""), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// cmd builds an argument list: the words of the command, then the backend's flags.
func (b backend) cmd(words ...string) []string {
	return append(append([]string(nil), words...), b.flags...)
}

func TestCLIUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"frobnicate"},
		{"superuser"},
		{"superuser", "create"},
		{"superuser", "create", "a@example.com"},
		{"superuser", "create", "a@example.com", "pw 1234567890", "extra"},
		{"superuser", "delete", "a@example.com", "pw 1234567890"},
		{"superuser", "create", "a@example.com", "pw 1234567890", "--log-format", "xml"},
		{"superuser", "create", "a@example.com", "pw 1234567890", "--log-level", "loud"},
		{"superuser", "create", "a@example.com", "pw 1234567890", "--no-such-flag"},
		{"schema"},
		{"schema", "frob"},
		{"schema", "export", "extra"},
		{"schema", "apply"},
		{"schema", "apply", "a.json", "b.json"},
		{"schema", "export", "--allow-drop=maybe"},
		{"serve", "extra"},
		{"serve", "--bogus"},
		{"serve", "--log-format", "yaml"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := run(t, append(args, "--dir", dir)...)
			if r.code != 2 {
				t.Fatalf("want exit 2 for bad usage, got %s", r)
			}
			if r.stderr == "" {
				t.Fatalf("bad usage printed nothing on stderr: %s", r)
			}
		})
	}
	// Nothing of the above may have touched the data directory.
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Fatalf("bad usage created files in the data directory: %v %v", entries, err)
	}
	for _, args := range [][]string{{}, {"help"}, {"-h"}, {"--help"}} {
		r := run(t, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "loam superuser create EMAIL PASSWORD") {
			t.Fatalf("%q: want the usage on stdout and exit 0, got %s", args, r)
		}
	}
	if r := run(t, "serve", "-h", "--dir", dir); r.code != 0 || !strings.Contains(r.stderr, "-http") {
		t.Fatalf("serve -h: want exit 0 and the serve flags, got %s", r)
	}
}

func TestCLISuperuser(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		const email, first, second = "boss@example.com", "first password 1", "second password 2"

		r := run(t, b.cmd("superuser", "create", email, first)...)
		if r.code != 0 || !strings.Contains(r.stdout, email) {
			t.Fatalf("create: %s", r)
		}
		app := b.open(t)
		token, rec, err := app.AuthWithPassword(ctx, loam.SuperusersCollection, email, first)
		if err != nil {
			t.Fatalf("sign in with the first password: %v", err)
		}
		if !strings.Contains(r.stdout, rec.ID) {
			t.Fatalf("create did not print the id %s: %s", rec.ID, r)
		}
		if _, err := app.Authenticate(ctx, token); err != nil {
			t.Fatalf("token of the first password: %v", err)
		}
		app.Stop()

		// create refuses an email that exists, and changes nothing.
		if r := run(t, b.cmd("superuser", "create", email, "third password 3")...); r.code != 1 {
			t.Fatalf("create of an existing superuser: want exit 1, got %s", r)
		}
		// a password the collection refuses (minimum 10 characters) fails.
		if r := run(t, b.cmd("superuser", "upsert", email, "short")...); r.code != 1 {
			t.Fatalf("upsert with a short password: want exit 1, got %s", r)
		}

		if r := run(t, b.cmd("superuser", "upsert", email, second)...); r.code != 0 || !strings.Contains(r.stdout, rec.ID) {
			t.Fatalf("upsert: want exit 0 naming the same id %s, got %s", rec.ID, r)
		}
		app = b.open(t)
		if _, _, err := app.AuthWithPassword(ctx, loam.SuperusersCollection, email, first); loam.CodeOf(err) != loam.CodeUnauthenticated {
			t.Fatalf("the old password still signs in (err %v)", err)
		}
		if _, _, err := app.AuthWithPassword(ctx, loam.SuperusersCollection, email, "third password 3"); loam.CodeOf(err) != loam.CodeUnauthenticated {
			t.Fatalf("the refused create changed the password (err %v)", err)
		}
		if _, got, err := app.AuthWithPassword(ctx, loam.SuperusersCollection, email, second); err != nil || got.ID != rec.ID {
			t.Fatalf("sign in with the new password: %v", err)
		}
		if _, err := app.Authenticate(ctx, token); loam.CodeOf(err) != loam.CodeUnauthenticated {
			t.Fatalf("changing the password must end the old sessions; Authenticate: %v", err)
		}
		list, err := app.ListRecords(ctx, loam.System, loam.SuperusersCollection, loam.ListQuery{Page: 1, PerPage: 10})
		if err != nil || list.TotalItems != 1 {
			t.Fatalf("want exactly one superuser, got %v (%v)", list, err)
		}
		app.Stop()

		// upsert of a new email creates it.
		if r := run(t, b.cmd("superuser", "upsert", "second@example.com", second)...); r.code != 0 {
			t.Fatalf("upsert of a new superuser: %s", r)
		}
		app = b.open(t)
		if _, _, err := app.AuthWithPassword(ctx, loam.SuperusersCollection, "second@example.com", second); err != nil {
			t.Fatalf("sign in as the upserted superuser: %v", err)
		}
	})
}

// TestCLIEnvironment checks flag > LOAM_* > default for the data directory.
// It sets environment variables, so it cannot run in parallel.
func TestCLIEnvironment(t *testing.T) {
	envDir, flagDir := t.TempDir(), t.TempDir()
	t.Setenv("LOAM_DIR", envDir)
	if r := run(t, "superuser", "create", "env@example.com", "a long password"); r.code != 0 {
		t.Fatalf("create: %s", r)
	}
	if _, err := os.Stat(filepath.Join(envDir, "data.db")); err != nil {
		t.Fatalf("LOAM_DIR was not used: %v", err)
	}
	if r := run(t, "superuser", "create", "flag@example.com", "a long password", "--dir", flagDir); r.code != 0 {
		t.Fatalf("create: %s", r)
	}
	if _, err := os.Stat(filepath.Join(flagDir, "data.db")); err != nil {
		t.Fatalf("--dir did not win over LOAM_DIR: %v", err)
	}
	// The flag's database got flag@example.com, the environment's did not:
	// creating it there works.
	r := run(t, "superuser", "create", "flag@example.com", "a long password")
	if r.code != 0 {
		t.Fatalf("flag@example.com landed in LOAM_DIR's database too: %s", r)
	}
	t.Setenv("LOAM_LOG_FORMAT", "xml")
	if r := run(t, "superuser", "create", "x@example.com", "a long password"); r.code != 2 {
		t.Fatalf("LOAM_LOG_FORMAT=xml: want exit 2, got %s", r)
	}
	if r := run(t, "superuser", "create", "x@example.com", "a long password", "--log-format", "json"); r.code != 0 {
		t.Fatalf("--log-format json must win over LOAM_LOG_FORMAT: %s", r)
	}
}

// lineReader hands the lines written to a pipe to a channel.
func lineReader(r io.Reader) <-chan string {
	ch := make(chan string, 64)
	go func() {
		defer close(ch)
		var buf []byte
		b := make([]byte, 4096)
		for {
			n, err := r.Read(b)
			buf = append(buf, b[:n]...)
			for {
				i := bytes.IndexByte(buf, '\n')
				if i < 0 {
					break
				}
				ch <- string(buf[:i])
				buf = buf[i+1:]
			}
			if err != nil {
				if len(buf) > 0 {
					ch <- string(buf)
				}
				return
			}
		}
	}()
	return ch
}
