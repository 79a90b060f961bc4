// Command hello shows Loam used as a Go library: it opens a SQLite store,
// makes sure a public "notes" collection exists, adds hooks around record
// creation and a route of its own, and serves the API.
//
//	go run ./examples/hello -http 127.0.0.1:8090 -dir hello_data
//	go run ./examples/hello -db postgres://postgres@127.0.0.1:5432/hello
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"loam"
	"loam/api"
	"loam/postgres"
	"loam/sqlite"
)

func main() {
	addr := flag.String("http", "127.0.0.1:8090", "listen address")
	dir := flag.String("dir", "hello_data", "data directory (SQLite)")
	db := flag.String("db", "", "a postgres:// URL instead of SQLite")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	err := run(ctx, *addr, *dir, *db, log, func(addr string) { fmt.Printf("serving http://%s/api/hello\n", addr) })
	if err != nil {
		log.Error("hello", "err", err)
		os.Exit(1)
	}
}

// run serves until ctx ends; ready is called with the listening address.
// With db empty the data lives in a SQLite file under dir.
func run(ctx context.Context, addr, dir, db string, log *slog.Logger, ready func(addr string)) error {
	var store loam.Store
	var err error
	if db != "" {
		store, err = postgres.Open(ctx, postgres.Config{URL: db, Logger: log})
	} else {
		store, err = sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(dir, "data.db"), Logger: log})
	}
	if err != nil {
		return err
	}
	app, err := loam.New(loam.Config{Store: store, Logger: log})
	if err != nil {
		return err
	}
	if err := app.Start(ctx); err != nil {
		return err
	}
	defer app.Stop()

	if err := ensureNotes(ctx, app); err != nil {
		return err
	}

	// Before the write: refuse shouting titles with a JSON error of our choosing,
	// and trim the rest. After the write: count what was committed.
	var created atomic.Int64
	app.OnRecordCreate("notes").Bind(func(e *loam.RecordEvent) error {
		title, _ := e.Record.Get("title").(string)
		if title != "" && title == strings.ToUpper(title) && strings.ToLower(title) != title {
			return &loam.Error{Code: loam.CodeValidationFailed, Message: "no shouting",
				Fields: map[string]loam.FieldError{"title": {Code: "shouting", Message: "must not be all capitals"}}}
		}
		e.Record.Set("title", strings.TrimSpace(title))
		if err := e.Next(); err != nil {
			return err
		}
		created.Add(1)
		return nil
	})

	srv := api.New(app, api.Config{Addr: addr, Logger: log})
	srv.HandleFunc("GET /api/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"message":"hello","notesCreated":%d}`, created.Load())
	})
	if err := srv.Start(ctx); err != nil {
		return err
	}
	ready(srv.Addr())
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return srv.Stop(stopCtx)
}

// ensureNotes creates the public notes collection on first start.
func ensureNotes(ctx context.Context, app *loam.App) error {
	if _, err := app.Collection(loam.System, "notes"); err == nil {
		return nil
	} else if !errors.Is(err, loam.ErrNotFound) {
		return err
	}
	everyone := ""
	_, err := app.CreateCollection(ctx, loam.System, &loam.Collection{
		Name:   "notes",
		Fields: []loam.Field{{Name: "title", Type: loam.TypeText, Required: true}},
		Rules:  loam.Rules{List: &everyone, View: &everyone, Create: &everyone},
	})
	return err
}
