package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"loam"
	"loam/api"
	"loam/jobs"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, fs := newCommand("serve", stderr, true)
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", pos[0])}
	}
	// Request logs are buffered and flushed every 100 ms: one write per
	// batch instead of a system call per request.
	lw := newLogWriter(stderr, 100*time.Millisecond)
	defer lw.Close()
	app, err := o.start(ctx, lw)
	if err != nil {
		return err
	}
	defer app.Stop()
	log := app.Logger()
	// The job worker: without registered kinds it claims nothing, but it
	// rescues the jobs of dead workers and prunes old completed ones for
	// the library binaries that share the database.
	worker, err := jobs.New(app, jobs.Config{Logger: log})
	if err != nil {
		return err
	}
	if err := worker.Start(ctx); err != nil {
		return err
	}
	defer worker.Stop(context.WithoutCancel(ctx)) // on early returns; after the Stop below, a no-op
	srv := api.New(app, api.Config{Addr: o.http, Logger: log})
	if err := srv.Start(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Loam is serving http://%s/api/ (data: %s)\n", srv.Addr(), o.describe())
	if n, err := superuserCount(ctx, app); err == nil && n == 0 {
		fmt.Fprintf(stdout, "No superuser yet. Create the first one with:\n  loam superuser create you@example.com 'a long password'%s\n", o.flagsHint())
	}
	<-ctx.Done()
	log.Info("shutting down: waiting for in-flight requests")
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 25*time.Second)
	defer cancel()
	if err := srv.Stop(stopCtx); err != nil {
		return err
	}
	if err := worker.Stop(stopCtx); err != nil {
		return fmt.Errorf("stop jobs: %w", err)
	}
	if err := app.Stop(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	log.Info("stopped")
	return nil
}

// flagsHint repeats the flags that chose the database, for the printed command.
func (o *options) flagsHint() string {
	switch {
	case o.db != "":
		return " --db '" + redact(o.db) + "'"
	case o.dir != "loam_data":
		return " --dir '" + o.dir + "'"
	}
	return ""
}

func superuserCount(ctx context.Context, app *loam.App) (int64, error) {
	list, err := app.ListRecords(ctx, loam.System, loam.SuperusersCollection, loam.ListQuery{PerPage: 1})
	if err != nil {
		return 0, err
	}
	return list.TotalItems, nil
}
