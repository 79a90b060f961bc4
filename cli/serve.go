package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"loam"
	"loam/api"
	"loam/jobs"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, fs := newCommand("serve", stderr, true)
	rolesFlag := fs.String("roles", env("LOAM_ROLES", "api,worker,scheduler"), "what this process runs: api, worker, scheduler")
	hostsFlag := fs.String("outbound-hosts", env("LOAM_OUTBOUND_HOSTS", ""), "hosts http jobs may reach, comma-separated")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", pos[0])}
	}
	roles, err := parseRoles(*rolesFlag)
	if err != nil {
		return err
	}
	hosts := splitList(*hostsFlag)
	if _, err := jobs.ParseAllowlist(hosts); err != nil {
		return usageError{"--outbound-hosts: " + err.Error()}
	}
	o.outbound = hosts // the default of the outboundHosts setting
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
	// The jobs client: the API enqueues through it whatever the roles. The
	// worker runs the built-in kinds; with no other kinds it also rescues
	// the jobs of dead workers and prunes old completed ones for the
	// library binaries that share the database.
	q, err := jobs.New(app, jobs.Config{Logger: log, Roles: roles.jobs})
	if err != nil {
		return err
	}
	if err := q.RegisterBuiltins(jobs.BuiltinConfig{}); err != nil { // outbound hosts: the live settings
		return err
	}
	if roles.jobs != 0 {
		if err := q.Start(ctx); err != nil {
			return err
		}
		defer q.Stop(context.WithoutCancel(ctx)) // on early returns; after the Stop below, a no-op
	}
	var srv *api.Server
	if roles.api {
		srv = api.New(app, api.Config{Addr: o.http, Logger: log, Jobs: q, PublicURL: o.publicURL})
		if err := srv.Start(ctx); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Loam is serving http://%s/api/ (data: %s)\n", srv.Addr(), o.describe())
		if n, err := superuserCount(ctx, app); err == nil && n == 0 {
			fmt.Fprintf(stdout, "No superuser yet. Create the first one with:\n  loam superuser create you@example.com 'a long password'%s\n", o.flagsHint())
		}
	} else {
		fmt.Fprintf(stdout, "Loam is running %s (data: %s)\n", roles, o.describe())
	}
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 25*time.Second)
	defer cancel()
	if srv != nil {
		log.Info("shutting down: waiting for in-flight requests")
		if err := srv.Stop(stopCtx); err != nil {
			return err
		}
	}
	if err := q.Stop(stopCtx); err != nil {
		return fmt.Errorf("stop jobs: %w", err)
	}
	if err := app.Stop(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	log.Info("stopped")
	return nil
}

// roles are the parts `loam serve` runs.
type roles struct {
	api, worker, scheduler bool
	jobs                   jobs.Role // the worker's and scheduler's, for jobs.Config
}

func (r roles) String() string {
	var names []string
	for _, x := range []struct {
		on   bool
		name string
	}{{r.api, "api"}, {r.worker, "worker"}, {r.scheduler, "scheduler"}} {
		if x.on {
			names = append(names, x.name)
		}
	}
	return "the " + strings.Join(names, " and ")
}

// parseRoles reads --roles: a comma-separated subset of api, worker and
// scheduler, at least one.
func parseRoles(s string) (roles, error) {
	var r roles
	for _, name := range splitList(s) {
		switch name {
		case "api":
			r.api = true
		case "worker":
			r.worker, r.jobs = true, r.jobs|jobs.RoleWorker
		case "scheduler":
			r.scheduler, r.jobs = true, r.jobs|jobs.RoleScheduler
		default:
			return r, usageError{fmt.Sprintf("--roles: unknown role %q (want api, worker, scheduler)", name)}
		}
	}
	if !r.api && !r.worker && !r.scheduler {
		return r, usageError{"--roles: name at least one of api, worker, scheduler"}
	}
	return r, nil
}

// splitList splits a comma-separated flag value, dropping empty entries.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
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
