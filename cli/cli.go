// Package cli holds the loam commands. It wires the App to a store chosen by
// --db and to the HTTP API; cmd/loam/main.go only calls Main.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"loam"
	"loam/mail"
	"loam/postgres"
	"loam/sqlite"
)

const usage = `loam — the backend a digital product grows in

Usage:
  loam serve [flags]                       run the server
  loam superuser create EMAIL PASSWORD     create a superuser
  loam superuser upsert EMAIL PASSWORD     create a superuser or set its password
  loam schema export [flags]               print every collection as JSON
  loam schema apply FILE [--allow-drop]    make the schema match FILE (shows the plan)
  loam gen openapi [FILE]                  write the OpenAPI document of the schema
  loam gen ts DIR                          write TypeScript types and a client (types.ts, client.ts)

Common flags (each also read from the environment as LOAM_<NAME>):
  --dir DIR        data directory for SQLite (default ./loam_data)
  --db DSN         a SQLite file path or a postgres:// URL (default DIR/data.db)
  --log-format F   text or json (default text)
  --log-level L    debug, info, warn or error (default info)
Serve flags:
  --roles LIST     what the process runs: api, worker, scheduler (default all three)
  --outbound-hosts LIST  hosts that http jobs may reach: host, host:port, *.domain or * (default none)
  (--app-url, the mail flags and --outbound-hosts are the defaults of the shared settings, which
  superusers override at run time with PATCH /api/settings)
  --http ADDR      listen address (default 127.0.0.1:8090)
  --app-url URL    where links in mails lead (default http://ADDR); OAuth2 sign-ins may end on its origin
  --public-url URL where clients reach this server; OAuth2 callbacks are built on it (default: each request's host)
  --oauth2-redirects LIST  more URLs (or origins) OAuth2 sign-ins may end on, comma-separated
  --smtp-host H    SMTP server for the mails of the auth flows (none: no mail is sent)
  --smtp-port N    its port (default 587; 465 speaks TLS from the start)
  --smtp-username U, --smtp-password P
                   AUTH PLAIN credentials (prefer LOAM_SMTP_PASSWORD to the flag)
  --mail-from A    the sender, such as 'Acme <noreply@acme.example>' (required with --smtp-host)
`

// Main runs one command and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr)
	case "superuser":
		err = superuser(ctx, args[1:], stdout, stderr)
	case "schema":
		err = schema(ctx, args[1:], stdout, stderr)
	case "gen":
		err = gen(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "loam: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "loam: %v\n", err)
			return 2
		}
		fmt.Fprintf(stderr, "loam: %v\n", err)
		return 1
	}
	return 0
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// options are the settings every command shares.
type options struct {
	dir       string
	db        string
	http      string
	logFormat string
	logLevel  string

	appURL string
	// publicURL and oauth2Redirects are --public-url and --oauth2-redirects.
	publicURL       string
	oauth2Redirects string
	smtpHost        string
	smtpPort        string
	smtpUsername    string
	smtpPassword    string
	mailFrom        string
	outbound        []string // serve's --outbound-hosts
}

// newCommand returns a command's flag set, with the shared flags declared
// and errors written to stderr.
func newCommand(name string, stderr io.Writer, withHTTP bool) (*options, *flag.FlagSet) {
	o := &options{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.flags(fs, withHTTP)
	return o, fs
}

// start makes the logger (writing to logs) and starts the App the options
// choose.
func (o *options) start(ctx context.Context, logs io.Writer) (*loam.App, error) {
	log, err := o.logger(logs)
	if err != nil {
		return nil, err
	}
	return o.openApp(ctx, log)
}

// flags declares the shared flags on fs, with defaults taken from LOAM_*
// variables: flag > environment > default.
func (o *options) flags(fs *flag.FlagSet, withHTTP bool) {
	fs.StringVar(&o.dir, "dir", env("LOAM_DIR", "loam_data"), "data directory")
	fs.StringVar(&o.db, "db", env("LOAM_DB", ""), "SQLite path or postgres:// URL")
	fs.StringVar(&o.logFormat, "log-format", env("LOAM_LOG_FORMAT", "text"), "text or json")
	fs.StringVar(&o.logLevel, "log-level", env("LOAM_LOG_LEVEL", "info"), "debug, info, warn, error")
	if withHTTP {
		fs.StringVar(&o.http, "http", env("LOAM_HTTP", "127.0.0.1:8090"), "listen address")
		fs.StringVar(&o.appURL, "app-url", env("LOAM_APP_URL", ""), "where links in mails lead (default http://ADDR)")
		fs.StringVar(&o.publicURL, "public-url", env("LOAM_PUBLIC_URL", ""), "where clients reach this server (OAuth2 callbacks)")
		fs.StringVar(&o.oauth2Redirects, "oauth2-redirects", env("LOAM_OAUTH2_REDIRECTS", ""),
			"more URLs or origins OAuth2 sign-ins may end on, comma-separated")
		fs.StringVar(&o.smtpHost, "smtp-host", env("LOAM_SMTP_HOST", ""), "SMTP server for mails (none: no mail is sent)")
		fs.StringVar(&o.smtpPort, "smtp-port", env("LOAM_SMTP_PORT", "587"), "SMTP port")
		fs.StringVar(&o.smtpUsername, "smtp-username", env("LOAM_SMTP_USERNAME", ""), "SMTP username")
		fs.StringVar(&o.smtpPassword, "smtp-password", env("LOAM_SMTP_PASSWORD", ""), "SMTP password")
		fs.StringVar(&o.mailFrom, "mail-from", env("LOAM_MAIL_FROM", ""), "the sender of mails")
	}
}

// settings returns the defaults of the shared settings that the flags
// give; values set through PATCH /api/settings override them.
func (o *options) settings() (loam.Settings, error) {
	port := 0 // commands without the mail flags: the default
	if o.smtpPort != "" {
		var err error
		if port, err = strconv.Atoi(o.smtpPort); err != nil || port <= 0 || port > 65535 {
			return loam.Settings{}, usageError{fmt.Sprintf("--smtp-port %q: want a port number", o.smtpPort)}
		}
	}
	if o.smtpHost != "" && o.mailFrom == "" {
		return loam.Settings{}, usageError{"--mail-from is required with --smtp-host"}
	}
	sender, err := loam.ParseSender(o.mailFrom)
	if err != nil {
		return loam.Settings{}, usageError{"--mail-from: " + err.Error()}
	}
	appURL := o.appURL
	if appURL == "" && o.http != "" {
		// The listen address, when it makes a URL; a bad one fails to listen.
		if u, err := url.Parse("http://" + o.http); err == nil && u.Host != "" {
			appURL = u.String()
		}
	}
	s := loam.Settings{AppURL: appURL, Sender: sender, OutboundHosts: o.outbound,
		SMTP: loam.SMTPSettings{Host: o.smtpHost, Port: port, Username: o.smtpUsername, Password: o.smtpPassword}}
	if err := s.Validate(); err != nil {
		return loam.Settings{}, usageError{"the flags give settings that are not valid: " + describeFields(err)}
	}
	return s, nil
}

// describeFields renders a validation error's fields for the command line.
func describeFields(err error) string {
	var e *loam.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err.Error()
	}
	var parts []string
	for name, f := range e.Fields {
		parts = append(parts, name+" "+f.Message)
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// parse parses flags that may come before or after positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (o *options) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, usageError{fmt.Sprintf("--log-level %q: want debug, info, warn or error", o.logLevel)}
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch o.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, hopts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	}
	return nil, usageError{fmt.Sprintf("--log-format %q: want text or json", o.logFormat)}
}

// isPostgres reports whether dsn names a PostgreSQL database.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// openApp opens the store chosen by the options and starts an App on it.
func (o *options) openApp(ctx context.Context, log *slog.Logger) (*loam.App, error) {
	var store loam.Store
	var err error
	if isPostgres(o.db) {
		store, err = postgres.Open(ctx, postgres.Config{URL: o.db, Logger: log})
	} else {
		path := o.db
		if path == "" {
			path = filepath.Join(o.dir, "data.db")
		}
		store, err = sqlite.Open(ctx, sqlite.Config{Path: path, Logger: log})
	}
	if err != nil {
		return nil, err
	}
	settings, err := o.settings()
	if err != nil {
		store.Close()
		return nil, err
	}
	redirects := splitList(o.oauth2Redirects)
	for _, r := range redirects {
		if u, err := url.Parse(r); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			store.Close()
			return nil, usageError{fmt.Sprintf("--oauth2-redirects: %q is not an http(s) URL", r)}
		}
	}
	// The mails of the auth flows and of the "mail" job kind go through
	// the SMTP server of the current settings.
	cfg := loam.Config{Store: store, Logger: log, Settings: settings, MailTransport: mail.FromSettings,
		OAuth2Redirects: redirects}
	app, err := loam.New(cfg)
	if err != nil {
		store.Close()
		return nil, err
	}
	if err := app.Start(ctx); err != nil {
		app.Stop()
		return nil, err
	}
	return app, nil
}

// describe says where the data lives, without a password.
func (o *options) describe() string {
	if isPostgres(o.db) {
		return "PostgreSQL " + redact(o.db)
	}
	if o.db != "" {
		return "SQLite " + o.db
	}
	return "SQLite " + filepath.Join(o.dir, "data.db")
}

// redact hides the password of a database URL, in its user part or in a
// password query parameter.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(an unparsable database URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
