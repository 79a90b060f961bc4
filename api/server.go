// Package api is Loam's JSON HTTP API: routing, middleware (request ids,
// recovery, body limits, authentication, request logs), the handlers that
// parse requests and render answers, and the mapping of domain error codes to
// HTTP statuses. Handlers hold no rules: they call the App's services.
package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"loam"
	"loam/jobs"
	"loam/realtime"
)

// Config configures a Server. Zero values take the defaults.
type Config struct {
	// Addr is the listen address (default 127.0.0.1:8090).
	Addr string
	// Logger receives request logs and errors (default: discard).
	Logger *slog.Logger
	// BodyLimit caps request bodies in bytes (default 1 MiB).
	BodyLimit int64
	// BatchBodyLimit caps the body of POST /api/batch (default 8 times
	// BodyLimit); each request in it is still held to BodyLimit.
	BatchBodyLimit int64
	// ReadTimeout and WriteTimeout bound one request (default 30s each).
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// Jobs is the jobs client /api/jobs and /api/schedules enqueue and
	// manage through (default: a client of its own on the app, with the
	// built-in kinds and the outbound hosts of the app's settings, which
	// never starts).
	Jobs *jobs.Client
	// Realtime is the hub GET /api/realtime subscribes to (default: a hub
	// of its own with realtime's defaults, started and stopped with the
	// server). A hub given here is the caller's to start and stop.
	Realtime *realtime.Hub
	// RealtimeHeartbeat is how often an idle realtime stream gets a
	// comment, and its session is checked again (default 25s).
	RealtimeHeartbeat time.Duration
	// PublicURL is the URL clients reach this server at, such as
	// https://api.example.com; OAuth2 providers send browsers back to
	// <PublicURL>/api/collections/<c>/auth/oauth2/<provider>/callback.
	// Empty: each request's own scheme and Host.
	PublicURL string
}

// Server serves the API of one App. Add routes with Handle before Start.
type Server struct {
	app  *loam.App
	cfg  Config
	log  *slog.Logger
	mux  *http.ServeMux
	srv  *http.Server
	ln   net.Listener
	done chan error
	docs docCache // the OpenAPI documents of the live schema
	jobs *jobs.Client
	hub  *realtime.Hub
	// ownHub: the server made hub, so it starts and stops it.
	ownHub bool
	// closing is closed when Stop begins, ending realtime streams, which
	// would otherwise keep Shutdown waiting.
	closing chan struct{}
}

// New returns a Server for app with the API routes installed.
func New(app *loam.App, cfg Config) *Server {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8090"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = 1 << 20
	}
	if cfg.BatchBodyLimit <= 0 {
		cfg.BatchBodyLimit = 8 * cfg.BodyLimit
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.Jobs == nil {
		// The zero config is valid and the kinds are not registered yet:
		// neither call can fail.
		cfg.Jobs, _ = jobs.New(app, jobs.Config{Logger: cfg.Logger})
		_ = cfg.Jobs.RegisterBuiltins(jobs.BuiltinConfig{})
	}
	if cfg.RealtimeHeartbeat <= 0 {
		cfg.RealtimeHeartbeat = 25 * time.Second
	}
	s := &Server{app: app, cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), jobs: cfg.Jobs, hub: cfg.Realtime,
		closing: make(chan struct{})}
	if s.hub == nil {
		s.hub, s.ownHub = realtime.New(app, realtime.Config{Logger: cfg.Logger}), true
	}
	s.routes()
	return s
}

// Handle adds a route (a net/http pattern such as "GET /api/hello") that runs
// behind the same middleware as the API. Handlers can read the caller with
// PrincipalFrom and answer errors with WriteError.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandleFunc is Handle for a function.
func (s *Server) HandleFunc(pattern string, h http.HandlerFunc) { s.mux.HandleFunc(pattern, h) }

// Handler returns the whole API as an http.Handler, middleware included.
func (s *Server) Handler() http.Handler { return s.middleware(s.mux) }

// Start listens on the configured address and serves in the background.
func (s *Server) Start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.cfg.Addr, err)
	}
	if s.ownHub {
		if err := s.hub.Start(ctx); err != nil {
			ln.Close()
			return err
		}
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.done = make(chan error, 1)
	go func() {
		err := s.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return nil
}

// Addr returns the address the server listens on (useful with port 0).
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.cfg.Addr
	}
	return s.ln.Addr().String()
}

// Stop stops accepting connections and waits for in-flight requests to
// finish, until ctx ends.
func (s *Server) Stop(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	select {
	case <-s.closing:
	default:
		close(s.closing)
	}
	if s.ownHub {
		s.hub.Stop()
	}
	err := s.srv.Shutdown(ctx)
	if serveErr := <-s.done; err == nil {
		err = serveErr
	}
	if err != nil {
		return fmt.Errorf("stop http server: %w", err)
	}
	return nil
}
