// Package loam is the backend a digital product grows in: collections stored as
// real SQL tables, a validated records API, users and sessions, and hooks, on
// SQLite or PostgreSQL behind one Store port.
//
// The root package holds the domain (collections, fields, records, error
// codes), the Store port, and the App: the services every entry point (the
// JSON API, the CLI, Go code using Loam as a library) calls.
//
//	store, _ := sqlite.Open(ctx, sqlite.Config{Path: "loam_data/data.db"})
//	app, _ := loam.New(loam.Config{Store: store})
//	app.OnRecordCreate("posts").Bind(func(e *loam.RecordEvent) error { ...; return e.Next() })
//	_ = app.Start(ctx)
//	defer app.Stop()
package loam

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"loam/hook"
)

// Config configures an App. Store is required; the rest have defaults.
type Config struct {
	// Store is the database, from sqlite.Open or postgres.Open.
	Store Store
	// Logger receives the app's logs; nil discards them.
	Logger *slog.Logger
	// MessageSender sends the mails of the built-in job kind "mail"; nil
	// leaves such jobs failing with ErrNoMessageSender.
	MessageSender MessageSender
	// SchemaPoll is how often the app checks whether another instance changed
	// the schema (default 2s). On PostgreSQL changes are also announced as
	// they commit. Negative turns polling, listening and purging off: the
	// app learns of another instance's change only when a request names
	// what it does not know (tests of staleness use it).
	SchemaPoll time.Duration
	// SettingsPoll is how often, at most, the app checks whether another
	// instance changed the settings (default SettingsCheck; negative: never,
	// and so by default when SchemaPoll is negative).
	SettingsPoll time.Duration
	// Clock gives the time of sessions, auth tokens and throttle windows
	// (default Now); tests set a fake one.
	Clock func() time.Time
	// Throttle limits failed sign-ins and mail requests; zero values take
	// the defaults.
	Throttle Throttle
	// Mailer sends the mails of the auth flows (mail.SMTP), always the
	// same; nil: the MailTransport of the current settings, or none (the
	// mails are dropped with a warning in the log).
	Mailer Mailer
	// MailTransport builds what sends mail (mail.FromSettings) for the
	// mail settings of the moment; the app builds a new one when they
	// change. It serves the auth flows unless Mailer is set, and the "mail"
	// job kind unless MessageSender is set.
	MailTransport func(MailSettings) (MailTransport, error)
	// AppURL is where the links in mails lead:
	// <AppURL>/auth/<collection>/<action>#token=<token>. It is the
	// default of Settings.AppURL, when that is empty; its origin is also
	// where an OAuth2 sign-in may send the browser at its end.
	AppURL string
	// Settings are the defaults of the shared settings; the values set
	// through UpdateSettings, kept in the database, override them. New
	// refuses defaults that are not valid.
	Settings Settings
	// OAuth2Redirects are further URLs an OAuth2 sign-in may send the
	// browser to at its end: an origin (https://app.example.com) admits
	// every URL on it, a URL with a path only itself.
	OAuth2Redirects []string
	// OAuth2HTTPClient makes the requests to OAuth2 providers (discovery,
	// signing keys, code exchange, userinfo); nil is a client with a 15 s
	// timeout. The providers' URLs come from superusers, so this client is
	// not held to an outbound allow-list.
	OAuth2HTTPClient *http.Client
}

// App is a running Loam: the live schema, the hooks and the services.
type App struct {
	store        Store
	log          *slog.Logger
	poll         time.Duration
	settingsPoll time.Duration
	// listening is closed when listenSchema has returned.
	listening chan struct{}
	sender    MessageSender
	schema    atomic.Pointer[Schema]

	schemaMu sync.Mutex // serialises this instance's schema changes

	onRecordCreate hook.Hook[*RecordEvent]
	onRecordUpdate hook.Hook[*RecordEvent]
	onRecordDelete hook.Hook[*RecordEvent]

	now      func() time.Time
	throttle Throttle
	mail     *mailQueue

	defaults     Settings
	settings     atomic.Pointer[SettingsSnapshot]
	settingsNext atomic.Int64 // when Settings next checks the stored version (Unix ms, app clock)
	fixedMailer  Mailer
	newTransport func(MailSettings) (MailTransport, error)
	built        atomic.Pointer[builtTransport]

	redirects    []string
	oauth2Client *http.Client
	discovery    discoveryCache

	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan struct{}
}

// RecordEvent is passed to record hooks. Record is the record being written
// (for delete, the stored one); handlers may change it before calling Next.
type RecordEvent struct {
	hook.Event
	Context    context.Context
	App        *App
	Collection *Collection
	Record     *Record
	// Principal is who asked; nil for anonymous callers.
	Principal *Principal
}

// New checks the config and returns an App. Call Start before use.
func New(cfg Config) (*App, error) {
	if cfg.Store == nil {
		return nil, errors.New("loam: Config.Store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.SchemaPoll == 0 {
		cfg.SchemaPoll = 2 * time.Second
	}
	if cfg.SettingsPoll == 0 {
		cfg.SettingsPoll = SettingsCheck
		if cfg.SchemaPoll < 0 {
			cfg.SettingsPoll = -1
		}
	}
	if cfg.Clock == nil {
		cfg.Clock = Now
	}
	if cfg.Settings.AppURL == "" {
		cfg.Settings.AppURL = cfg.AppURL
	}
	a := &App{store: cfg.Store, log: cfg.Logger, poll: cfg.SchemaPoll, settingsPoll: cfg.SettingsPoll, done: make(chan struct{}),
		listening: make(chan struct{}),
		now:       func() time.Time { return cfg.Clock().UTC().Truncate(time.Millisecond) }, throttle: cfg.Throttle.withDefaults(),
		defaults: cfg.Settings.withDefaults(), fixedMailer: cfg.Mailer, newTransport: cfg.MailTransport}
	first, err := a.newSnapshot(-1, nil)
	if err != nil {
		return nil, fmt.Errorf("loam: Config.Settings: %w", err)
	}
	a.settings.Store(first)
	var mailer func(context.Context) Mailer
	if cfg.Mailer != nil || cfg.MailTransport != nil {
		mailer = a.mailer
	}
	a.mail = newMailQueue(mailer, cfg.Logger)
	a.schema.Store(NewSchema(-1, nil))
	a.sender = cfg.MessageSender
	a.redirects = append([]string(nil), cfg.OAuth2Redirects...)
	a.oauth2Client = cfg.OAuth2HTTPClient
	if a.oauth2Client == nil {
		a.oauth2Client = defaultOAuth2Client()
	}
	return a, nil
}

// Start migrates the database, creates the system collections, loads the
// schema and starts watching it for changes made by other instances.
func (a *App) Start(ctx context.Context) error {
	if err := a.store.Migrate(ctx); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if err := a.reloadSchema(ctx); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if err := a.ReloadSettings(ctx); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if err := a.ensureSystemCollections(ctx); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	go a.maintain(wctx)
	go a.listenSchema(wctx)
	a.mail.start()
	return nil
}

// Stop stops background work and closes the store. It is safe to call twice.
func (a *App) Stop() error {
	var err error
	a.stopOnce.Do(func() {
		if a.cancel != nil {
			a.cancel()
			<-a.done
			<-a.listening
			a.mail.stop()
		}
		err = a.store.Close()
	})
	return err
}

// Store returns the app's store.
func (a *App) Store() Store { return a.store }

// Logger returns the app's logger.
func (a *App) Logger() *slog.Logger { return a.log }

// Schema returns the live schema snapshot.
func (a *App) Schema() *Schema { return a.schema.Load() }

// Ready reports whether the database answers and is migrated.
func (a *App) Ready(ctx context.Context) error { return a.store.Ping(ctx) }

// OnRecordCreate is the hook chain around record creation, for the named
// collections (all when none are named).
func (a *App) OnRecordCreate(collections ...string) CollectionHook {
	return CollectionHook{hook: &a.onRecordCreate, names: collections}
}

// OnRecordUpdate is the hook chain around record updates.
func (a *App) OnRecordUpdate(collections ...string) CollectionHook {
	return CollectionHook{hook: &a.onRecordUpdate, names: collections}
}

// OnRecordDelete is the hook chain around record deletion.
func (a *App) OnRecordDelete(collections ...string) CollectionHook {
	return CollectionHook{hook: &a.onRecordDelete, names: collections}
}

func (a *App) reloadSchema(ctx context.Context) error {
	cols, version, err := a.schemaSource(ctx).Collections(ctx)
	if err != nil {
		return fmt.Errorf("load schema: %w", err)
	}
	next := NewSchema(version, cols)
	for { // never go back to an older snapshot loaded concurrently
		cur := a.schema.Load()
		if cur.Version > version || a.schema.CompareAndSwap(cur, next) {
			return nil
		}
	}
}

// SchemaListener is implemented by stores that announce schema changes
// as they commit (PostgreSQL's LISTEN/NOTIFY). ListenSchema calls changed
// once listening (a change may have been missed before) and after every
// committed change, until ctx ends or the connection fails; a store that
// cannot listen returns errors.ErrUnsupported at once.
type SchemaListener interface {
	ListenSchema(ctx context.Context, changed func()) error
}

// listenSchema reloads the schema as soon as another instance changes it,
// where the store can say so; the poll in maintain stays as the fallback.
// A lost connection is listened to again, after a pause that grows to 30 s.
func (a *App) listenSchema(ctx context.Context) {
	defer close(a.listening)
	l, ok := a.store.(SchemaListener)
	if !ok || a.poll < 0 {
		return
	}
	pause := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := l.ListenSchema(ctx, func() {
			pause = 100 * time.Millisecond
			if err := a.reloadSchema(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("schema reload failed", "err", err)
			}
		})
		if errors.Is(err, errors.ErrUnsupported) || ctx.Err() != nil {
			return
		}
		a.log.Warn("listening for schema changes failed; trying again", "err", err, "in", pause)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 30*time.Second)
	}
}

// schemaSource reads the schema through the transaction ctx carries, when
// its store can, else through the app's store.
func (a *App) schemaSource(ctx context.Context) schemaSource {
	if tx, ok := ctx.Value(txKey{a}).(schemaSource); ok {
		return tx
	}
	return a.store
}

// schemaSource is what the schema is loaded from.
type schemaSource interface {
	SchemaVersion(ctx context.Context) (int64, error)
	Collections(ctx context.Context) ([]*Collection, int64, error)
}

// maintain reloads the schema when its version moves (another instance
// changed it) and, hourly, purges expired idempotency keys and lets a store
// that asks for it refresh the planner's statistics.
func (a *App) maintain(ctx context.Context) {
	defer close(a.done)
	if a.poll < 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(a.poll)
	defer t.Stop()
	lastPurge := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if time.Since(lastPurge) > time.Hour {
			lastPurge = time.Now()
			if _, err := a.store.PurgeIdempotency(ctx, Now().Add(-IdempotencyTTL)); err != nil && ctx.Err() == nil {
				a.log.Warn("idempotency purge failed", "err", err)
			}
			now := a.now()
			window := max(a.throttle.Window, a.Settings(ctx).maxRateWindow()) // the longest a counter counts
			if _, err := a.store.PurgeAuth(ctx, now, now.Add(-window)); err != nil && ctx.Err() == nil {
				a.log.Warn("auth purge failed", "err", err)
			}
			if o, ok := a.store.(interface{ Optimize(context.Context) error }); ok {
				if err := o.Optimize(ctx); err != nil && ctx.Err() == nil {
					a.log.Warn("optimize failed", "err", err)
				}
			}
		}
		v, err := a.store.SchemaVersion(ctx)
		if err != nil {
			if ctx.Err() == nil {
				a.log.Warn("schema version check failed", "err", err)
			}
			continue
		}
		if v != a.Schema().Version {
			if err := a.reloadSchema(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("schema reload failed", "err", err)
			}
		}
	}
}

func (a *App) ensureSystemCollections(ctx context.Context) error {
	if a.Schema().Collection(SuperusersCollection) != nil {
		return nil
	}
	c := &Collection{Name: SuperusersCollection, Type: CollectionAuth, System: true, Fields: withAuthFields(nil),
		Auth: &AuthOptions{MinPasswordLength: 10}}
	now := Now()
	c.Created, c.Updated = now, now
	if err := c.Validate(); err != nil {
		return err
	}
	if err := a.store.CreateCollection(ctx, c); err != nil && !errors.Is(err, ErrConflict) {
		return fmt.Errorf("create %s: %w", SuperusersCollection, err)
	}
	return a.reloadSchema(ctx)
}
