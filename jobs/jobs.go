// Package jobs runs background work kept in Loam's own database, beside the
// data: register a handler per kind with typed arguments, enqueue jobs (in
// the same transaction as record writes when the context carries one),
// and start a worker and a scheduler (Config.Roles picks either). The
// built-in kinds "mail" and "http" (RegisterBuiltins) need no Go code:
// EnqueueJSON and the stored schedules (CreateSchedule) serve the HTTP API.
//
//	q, _ := jobs.New(app, jobs.Config{})
//	welcome := jobs.Register(q, "welcome_email", func(ctx context.Context, j *jobs.Job[Welcome]) error {
//		return send(ctx, j.Args.To)
//	})
//	app.OnRecordCreate("users").Bind(func(e *loam.RecordEvent) error {
//		// In a batch or App.InTx, e.Context carries the transaction: the job
//		// commits or vanishes with the record.
//		if _, err := welcome.Enqueue(e.Context, Welcome{To: e.Record.Get("email").(string)}); err != nil {
//			return err
//		}
//		return e.Next()
//	})
//	_ = welcome.Schedule("digest", "@daily", Welcome{To: "team@example.com"}) // once per tick, cluster-wide
//	_ = q.Start(ctx)
//	defer q.Stop(stopCtx)
//
// Execution is at least once: a job whose worker dies mid-run runs again
// once its lease expires, so handlers should be idempotent. What happens
// exactly once is the recorded outcome of an attempt: every transition out
// of running is a compare-and-set on the job's id, attempt and worker.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"sort"
	"sync"
	"time"

	"loam"
)

// Role is a part of what Start runs; a process may run any of them.
type Role uint8

// Roles.
const (
	// RoleWorker claims and runs jobs, renews their leases, rescues the
	// jobs of dead workers and prunes old completed jobs.
	RoleWorker Role = 1 << iota
	// RoleScheduler enqueues the ticks of the schedules: those declared
	// with Kind.Schedule and those stored in the database.
	RoleScheduler
)

// Config configures a Client. The zero value is usable: one queue,
// "default", run by 10 handlers at once, and the scheduler.
type Config struct {
	// Roles says what Start runs (default RoleWorker|RoleScheduler). A
	// client enqueues whatever its roles.
	Roles Role
	// Queues names the queues this client's worker runs, and how.
	Queues map[string]QueueConfig
	// PollInterval is how often an idle worker looks for jobs: the floor
	// under LISTEN/NOTIFY on PostgreSQL (default 1s), the only way to learn
	// of jobs enqueued by other processes or in transactions on SQLite
	// (default 200ms).
	PollInterval time.Duration
	// PollOnly turns LISTEN/NOTIFY off (for connection poolers in
	// transaction mode, which cannot keep a LISTEN).
	PollOnly bool
	// FetchCooldown is the least time between two claims while jobs keep
	// finishing (default 5ms), so claims gather several jobs.
	FetchCooldown time.Duration
	// Lease is how long a claimed job stays with its worker without a
	// heartbeat (default 30s); heartbeats renew it every Lease/3. The jobs
	// of a worker that dies become available once it expires.
	Lease time.Duration
	// Timeout bounds one attempt of jobs that set none (default 1 minute;
	// negative: no bound). The handler's context is cancelled when it passes.
	Timeout time.Duration
	// MaxAttempts is the number of attempts of jobs that set none (default 20).
	MaxAttempts int
	// Backoff is the wait before attempt+1 after attempt failed (default
	// DefaultBackoff).
	Backoff func(attempt int) time.Duration
	// RetainCompleted is how long completed jobs are kept (default 24h).
	// Dead jobs are kept until deleted.
	RetainCompleted time.Duration
	// MaintenanceInterval is how often expired leases are rescued and
	// completed jobs pruned (default 5s).
	MaintenanceInterval time.Duration
	// ScheduleRefresh is how often the scheduler reads the stored
	// schedules, which other processes may change (default 10s); it also
	// wakes at every tick.
	ScheduleRefresh time.Duration
	// Logger receives the worker's logs; nil uses the app's.
	Logger *slog.Logger
	// Now is the clock of job times (default loam.Now).
	Now func() time.Time
	// Worker names this worker in the jobs it holds (default host-pid-random).
	Worker string
}

// QueueConfig is how a client's worker runs one queue.
type QueueConfig struct {
	// Workers is how many of the queue's jobs this worker runs at once.
	Workers int
	// Limit caps the queue's running jobs across every worker sharing the
	// database (0: no cap). Claims count and take under a lock, so the cap
	// holds; give every worker the same Limit.
	Limit int
}

// Client registers kinds, enqueues jobs and runs a worker.
type Client struct {
	app *loam.App
	cfg Config
	log *slog.Logger

	mu        sync.RWMutex
	kinds     map[string]*kind
	builtins  map[string]*builtin // kinds enqueued with JSON arguments
	schedules map[string]*schedule
	worker    *worker // nil until Start
	// schedulesChanged wakes the scheduler when a schedule is added.
	schedulesChanged chan struct{}
}

// kind is a registered kind, its handler working on raw jobs.
type kind struct {
	name     string
	defaults Opts
	run      func(ctx context.Context, j *loam.Job) (json.RawMessage, error)
}

// Job is a running job with its typed arguments. The embedded *loam.Job is
// the stored row (its Args is the JSON the arguments came from).
type Job[A any] struct {
	*loam.Job
	Args   A
	result json.RawMessage
}

// MaxResult is the largest result a job may store, in bytes of JSON.
const MaxResult = 64 << 10

// SetResult stores v (as JSON) with the job when it completes. A value
// that does not encode, or encodes to more than MaxResult bytes, is an
// error and nothing is stored.
func (j *Job[A]) SetResult(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("job result: %w", err)
	}
	if len(b) > MaxResult {
		return fmt.Errorf("job result: %d bytes, more than %d", len(b), MaxResult)
	}
	j.result = b
	return nil
}

// Opts are the options of a job. Register takes defaults for its kind;
// Enqueue's options override them field by field (zero fields keep them).
type Opts struct {
	// Queue is the queue (default "default").
	Queue string
	// Priority orders the available jobs of a queue: the smallest runs first.
	Priority int
	// RunAt is when the job may run; Delay is the same from now. Neither:
	// at once.
	RunAt time.Time
	Delay time.Duration
	// MaxAttempts is how many times the job runs before it is dead.
	MaxAttempts int
	// Timeout bounds one attempt; negative: no bound.
	Timeout time.Duration
	// UniqueKey makes the job unique among the jobs of its kind: while a
	// job with the same key is kept and not cancelled (completed and dead
	// ones count), enqueueing returns that job with Duplicate set. With
	// UniquePeriod, the key holds within each period (counted from the Unix
	// epoch) only.
	UniqueKey    string
	UniquePeriod time.Duration
	// Tags label the job, for people and lists.
	Tags []string
}

// merge returns o with the non-zero fields of p over it.
func (o Opts) merge(p Opts) Opts {
	if p.Queue != "" {
		o.Queue = p.Queue
	}
	if p.Priority != 0 {
		o.Priority = p.Priority
	}
	if !p.RunAt.IsZero() {
		o.RunAt = p.RunAt
	}
	if p.Delay != 0 {
		o.Delay = p.Delay
	}
	if p.MaxAttempts != 0 {
		o.MaxAttempts = p.MaxAttempts
	}
	if p.Timeout != 0 {
		o.Timeout = p.Timeout
	}
	if p.UniqueKey != "" {
		o.UniqueKey = p.UniqueKey
	}
	if p.UniquePeriod != 0 {
		o.UniquePeriod = p.UniquePeriod
	}
	if p.Tags != nil {
		o.Tags = p.Tags
	}
	return o
}

// Enqueued is the job an Enqueue stored, or, for a unique job whose key
// was taken, the job holding the key (Duplicate).
type Enqueued struct {
	Job       *loam.Job
	Duplicate bool
}

// Kind enqueues jobs of one registered kind.
type Kind[A any] struct {
	c *Client
	k *kind
}

// Name is the kind's name.
func (k *Kind[A]) Name() string { return k.k.name }

// Enqueue stores a job with args. With a ctx that carries a transaction (a
// hook's RecordEvent.Context in App.Batch or App.InTx), the job is written
// in it: it commits or vanishes with the transaction's record writes.
// Invalid options or arguments that do not encode as JSON are errors.
func (k *Kind[A]) Enqueue(ctx context.Context, args A, opts ...Opts) (*Enqueued, error) {
	out, err := k.EnqueueMany(ctx, []A{args}, opts...)
	if err != nil {
		return nil, err
	}
	return &out[0], nil
}

// EnqueueMany stores one job per element of args, with the same options, in
// one transaction (ctx's, when it carries one).
func (k *Kind[A]) EnqueueMany(ctx context.Context, args []A, opts ...Opts) ([]Enqueued, error) {
	o := k.k.defaults
	for _, p := range opts {
		o = o.merge(p)
	}
	now := k.c.now()
	rows := make([]*loam.Job, len(args))
	for i, a := range args {
		raw, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("enqueue %s: encode args: %w", k.k.name, err)
		}
		if rows[i], err = k.c.newJob(k.k.name, raw, o, now); err != nil {
			return nil, err
		}
	}
	return k.c.insert(ctx, rows)
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,100}$`)

// Register adds the handler of a kind and returns what enqueues its jobs.
// defaults are the kind's options (merged in order). fn returns nil when
// the job is done; Snooze(d) to run it again later without counting an
// attempt; Cancel(err) to stop it for good; any other error is a failed
// attempt, retried after Backoff until MaxAttempts. A panic is a failed
// attempt too. Register panics when the name is taken or is not 1 to 100 of
// A-Z a-z 0-9 _ . : - (a programming mistake, like http.Handle's).
func Register[A any](c *Client, name string, fn func(ctx context.Context, j *Job[A]) error, defaults ...Opts) *Kind[A] {
	if !nameRE.MatchString(name) {
		panic(fmt.Sprintf("jobs: invalid kind name %q", name))
	}
	var o Opts
	for _, p := range defaults {
		o = o.merge(p)
	}
	k := &kind{name: name, defaults: o, run: func(ctx context.Context, row *loam.Job) (json.RawMessage, error) {
		j := &Job[A]{Job: row}
		if err := json.Unmarshal(row.Args, &j.Args); err != nil {
			return nil, badArgs{fmt.Errorf("decode args of %s: %w", name, err)}
		}
		if err := fn(ctx, j); err != nil {
			return nil, err
		}
		return j.result, nil
	}}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, taken := c.kinds[name]; taken {
		panic(fmt.Sprintf("jobs: kind %q registered twice", name))
	}
	c.kinds[name] = k
	return &Kind[A]{c: c, k: k}
}

// snoozed is the error of Snooze.
type snoozed struct{ d time.Duration }

func (s snoozed) Error() string { return fmt.Sprintf("snoozed for %v", s.d) }

// Snooze, returned by a handler, runs the job again after d, without
// counting the attempt: a wait, not a failure.
func Snooze(d time.Duration) error { return snoozed{d} }

// cancelled is the error of Cancel.
type cancelled struct{ err error }

func (c cancelled) Error() string { return "cancelled: " + c.err.Error() }
func (c cancelled) Unwrap() error { return c.err }

// Cancel, returned by a handler, cancels the job for good; err is
// recorded as the attempt's error.
func Cancel(err error) error {
	if err == nil {
		err = errors.New("cancelled by its handler")
	}
	return cancelled{err}
}

// badArgs is a job whose arguments do not decode: no attempt can succeed.
type badArgs struct{ err error }

func (b badArgs) Error() string { return b.err.Error() }

// DefaultBackoff waits 1s after the first failed attempt and doubles with
// each one, up to an hour, each wait varied at random by up to a quarter
// either way so that jobs that failed together do not retry together.
func DefaultBackoff(attempt int) time.Duration {
	d := time.Hour
	if attempt < 13 {
		d = min(time.Second<<max(attempt-1, 0), time.Hour)
	}
	return d*3/4 + rand.N(d/2+1)
}

// New returns a client for app. It enqueues at once; Start runs its worker.
func New(app *loam.App, cfg Config) (*Client, error) {
	if app == nil {
		return nil, errors.New("jobs: no app")
	}
	if cfg.Roles == 0 {
		cfg.Roles = RoleWorker | RoleScheduler
	}
	if cfg.Roles&^(RoleWorker|RoleScheduler) != 0 {
		return nil, fmt.Errorf("jobs: unknown roles %b", cfg.Roles)
	}
	if cfg.Queues == nil {
		cfg.Queues = map[string]QueueConfig{"default": {Workers: 10}}
	}
	cfg.Queues = maps.Clone(cfg.Queues) // the worker reads it while the caller may not
	for name, q := range cfg.Queues {
		if !nameRE.MatchString(name) {
			return nil, fmt.Errorf("jobs: invalid queue name %q", name)
		}
		if q.Workers < 0 || q.Limit < 0 {
			return nil, fmt.Errorf("jobs: queue %s: Workers and Limit cannot be negative", name)
		}
	}
	if cfg.PollInterval < 0 || cfg.FetchCooldown < 0 || cfg.Lease < 0 || cfg.MaxAttempts < 0 ||
		cfg.RetainCompleted < 0 || cfg.MaintenanceInterval < 0 || cfg.ScheduleRefresh < 0 {
		return nil, errors.New("jobs: durations and MaxAttempts cannot be negative (but Timeout can)")
	}
	if cfg.FetchCooldown == 0 {
		cfg.FetchCooldown = 5 * time.Millisecond
	}
	if cfg.Lease == 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Minute
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 20
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.RetainCompleted == 0 {
		cfg.RetainCompleted = 24 * time.Hour
	}
	if cfg.MaintenanceInterval == 0 {
		cfg.MaintenanceInterval = 5 * time.Second
	}
	if cfg.ScheduleRefresh == 0 {
		cfg.ScheduleRefresh = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = app.Logger()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = loam.Now
	}
	if cfg.Worker == "" {
		host, _ := os.Hostname()
		cfg.Worker = fmt.Sprintf("%s-%d-%06x", host, os.Getpid(), rand.N(1<<24))
	}
	return &Client{app: app, cfg: cfg, log: cfg.Logger, kinds: map[string]*kind{}, schedules: map[string]*schedule{},
		schedulesChanged: make(chan struct{}, 1)}, nil
}

// now is the client's clock, at the stores' precision.
func (c *Client) now() time.Time { return c.cfg.Now().UTC().Truncate(time.Millisecond) }

// kindNames returns the registered kinds, sorted.
func (c *Client) kindNames() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	names := make([]string, 0, len(c.kinds))
	for n := range c.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (c *Client) kind(name string) *kind {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.kinds[name]
}

// newJob builds the row of a job to insert.
func (c *Client) newJob(kind string, args json.RawMessage, o Opts, now time.Time) (*loam.Job, error) {
	if o.Queue == "" {
		o.Queue = "default"
	}
	if !nameRE.MatchString(o.Queue) {
		return nil, loam.Errorf(loam.CodeValidationFailed, "invalid queue name %q", o.Queue)
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = c.cfg.MaxAttempts
	}
	if o.MaxAttempts < 0 || o.Delay < 0 || o.UniquePeriod < 0 {
		return nil, loam.Errorf(loam.CodeValidationFailed, "MaxAttempts, Delay and UniquePeriod cannot be negative")
	}
	if o.UniquePeriod > 0 && o.UniqueKey == "" {
		return nil, loam.Errorf(loam.CodeValidationFailed, "UniquePeriod needs a UniqueKey")
	}
	if slices.Contains(o.Tags, "") {
		return nil, loam.Errorf(loam.CodeValidationFailed, "a tag cannot be empty")
	}
	runAt := now
	switch {
	case !o.RunAt.IsZero():
		runAt = o.RunAt.UTC().Truncate(time.Millisecond)
	case o.Delay > 0:
		runAt = now.Add(o.Delay).Truncate(time.Millisecond)
	}
	state := loam.JobAvailable
	if runAt.After(now) {
		state = loam.JobScheduled
	}
	timeout := o.Timeout
	if timeout < 0 {
		timeout = -time.Millisecond // stored as -1: no bound
	}
	j := &loam.Job{Kind: kind, Queue: o.Queue, State: state, Priority: o.Priority, Args: args,
		MaxAttempts: o.MaxAttempts, Timeout: timeout, RunAt: runAt, Created: now, Tags: o.Tags}
	if o.UniqueKey != "" {
		parts := []string{kind, o.UniqueKey}
		if o.UniquePeriod > 0 {
			p := o.UniquePeriod.Milliseconds()
			start := time.UnixMilli(now.UnixMilli() / p * p).UTC()
			parts = append(parts, start.Format(loam.TimeLayout))
		}
		key, _ := json.Marshal(parts) // strings always marshal
		j.UniqueKey = string(key)
	}
	return j, nil
}

// insert stores rows through ctx's transaction or the app's store, and
// wakes this process's worker for jobs it can see at once.
func (c *Client) insert(ctx context.Context, rows []*loam.Job) ([]Enqueued, error) {
	store, err := c.app.JobStore(ctx)
	if err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	dup, err := store.InsertJobs(ctx, rows)
	if err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	out := make([]Enqueued, len(rows))
	woken := false
	for i, j := range rows {
		out[i] = Enqueued{Job: j, Duplicate: dup[i]}
		woken = woken || !dup[i]
	}
	// Jobs written in a transaction are not visible before it commits:
	// the worker finds them at its next poll (or by NOTIFY).
	if woken && store == loam.JobStore(c.app.Store()) {
		c.mu.RLock()
		w := c.worker
		c.mu.RUnlock()
		if w != nil {
			w.wakeUp()
		}
	}
	return out, nil
}

// Get returns a job, or an error wrapping loam.ErrNotFound.
func (c *Client) Get(ctx context.Context, id int64) (*loam.Job, error) {
	return c.app.Store().GetJob(ctx, id)
}

// Cancel cancels a job that is not completed, cancelled or dead and returns
// it; a running job's handler sees its context cancelled at the worker's
// next heartbeat. A final job is loam.ErrConflict, a missing one
// loam.ErrNotFound.
func (c *Client) Cancel(ctx context.Context, id int64) (*loam.Job, error) {
	return c.app.Store().CancelJob(ctx, id, c.now())
}
