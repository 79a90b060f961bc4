package loam

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"loam/expr"
)

// JobState is where a job is in its life.
//
//	scheduled ─(run_at passes)─► available ─(claimed)─► running ─► completed
//	                                 ▲                     │
//	retryable ◄──(failed, attempts left)───────────────────┤
//	scheduled ◄──(snoozed)─────────────────────────────────┤
//	available ◄──(released at shutdown, lease expired)─────┤ (a lost lease counts as a failed attempt)
//	dead ◄──(failed, no attempts left)─────────────────────┘
//	cancelled ◄── any state before completed, dead or cancelled
//
// Every transition out of running is a compare-and-set on the job's id,
// attempt and worker, so a worker that lost its lease cannot overwrite what
// another one did since.
type JobState string

// Job states.
const (
	JobScheduled JobState = "scheduled" // waits for RunAt
	JobAvailable JobState = "available" // may be claimed now
	JobRunning   JobState = "running"   // claimed by Worker until LeaseUntil
	JobRetryable JobState = "retryable" // failed; runs again at RunAt
	JobCompleted JobState = "completed"
	JobCancelled JobState = "cancelled"
	JobDead      JobState = "dead" // failed its last attempt; kept until someone looks
)

// Final reports whether nothing moves a job out of the state by itself.
func (s JobState) Final() bool {
	return s == JobCompleted || s == JobCancelled || s == JobDead
}

// Job is a job as stored. Its arguments are JSON; the jobs package gives
// handlers typed arguments.
type Job struct {
	ID       int64
	Kind     string
	Queue    string
	State    JobState
	Priority int // the smallest runs first
	Args     json.RawMessage
	// Attempt counts the runs so far, the running one included.
	Attempt     int
	MaxAttempts int
	// Timeout bounds one attempt; 0 leaves it to the worker's default,
	// a negative one means no bound.
	Timeout time.Duration
	// RunAt is when the job may run (scheduled, retryable), or became
	// available.
	RunAt       time.Time
	Created     time.Time
	AttemptedAt time.Time // zero before the first attempt
	FinalizedAt time.Time // zero until completed, cancelled or dead
	// Worker holds a running job until LeaseUntil.
	Worker     string
	LeaseUntil time.Time
	// UniqueKey is set for unique jobs: no two jobs that are not cancelled
	// share it.
	UniqueKey string
	Tags      []string
	// Errors holds the error of every failed attempt, oldest first.
	Errors []JobError
	// Result is what the handler stored (JSON), nil if nothing.
	Result json.RawMessage
}

// JobError is the error of one failed attempt.
type JobError struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Error   string    `json:"error"`
}

// JobClaim asks for jobs to run. A store takes at most Max available jobs of
// each queue, best first (priority, then RunAt, then ID), of the given
// kinds, and marks them running for Worker until LeaseUntil. Scheduled and
// retryable jobs whose RunAt has come are made available first.
type JobClaim struct {
	Worker     string
	Now        time.Time
	LeaseUntil time.Time
	Kinds      []string
	Queues     []QueueClaim
}

// QueueClaim is the part of a claim for one queue.
type QueueClaim struct {
	Queue string
	Max   int
	// Limit caps the running jobs of the queue across every worker sharing
	// the database; 0 means no cap. The store counts and claims under a
	// lock, so concurrent claims never exceed it.
	Limit int
}

// JobOutcome ends one attempt of a running job: the store moves the job to
// State only if it is still running the attempt Attempt for Worker.
type JobOutcome struct {
	ID      int64
	Attempt int
	Worker  string
	// State is completed, retryable, scheduled (snoozed), available
	// (released), cancelled or dead.
	State JobState
	// At is the time of the outcome; it finalizes completed, cancelled and dead jobs.
	At time.Time
	// RunAt is when a retryable, scheduled or available job runs next.
	RunAt time.Time
	// UndoAttempt takes the attempt back (a snooze or a release is not a try).
	UndoAttempt bool
	// Error, when set, is appended to the job's errors.
	Error *JobError
	// Result is stored with a completed job.
	Result json.RawMessage
}

// JobStore keeps jobs. It is part of Store; the store that Store.InTx hands
// out implements it too (see App.JobStore), so jobs enqueued there commit or
// vanish with the transaction's record writes.
type JobStore interface {
	// InsertJobs stores new jobs and sets their IDs. A job whose UniqueKey is
	// held by another job that is not cancelled is not stored: *jobs[i] is
	// replaced by that job and dup[i] is true. The check is the database's
	// unique index, so concurrent inserts of one key store one job.
	InsertJobs(ctx context.Context, jobs []*Job) (dup []bool, err error)
	// ClaimJobs claims jobs as c says and returns them running.
	ClaimJobs(ctx context.Context, c JobClaim) ([]*Job, error)
	// FinishJobs applies outcomes, each a compare-and-set, in one
	// transaction; applied[i] reports whether outcome i found its attempt
	// still running.
	FinishJobs(ctx context.Context, outcomes []JobOutcome) (applied []bool, err error)
	// HeartbeatJobs extends to until the lease of the jobs among ids that
	// are running for worker, and returns their ids; the others were lost
	// (cancelled, or rescued after their lease expired).
	HeartbeatJobs(ctx context.Context, worker string, ids []int64, until time.Time) ([]int64, error)
	// RescueJobs ends the attempts whose lease expired before now, as failed
	// (retryable at once, or dead without attempts left), and returns how
	// many there were.
	RescueJobs(ctx context.Context, now time.Time) (int64, error)
	// NextJobDue returns the earliest RunAt of the scheduled and retryable
	// jobs; ok is false when there are none.
	NextJobDue(ctx context.Context) (at time.Time, ok bool, err error)
	// GetJob returns one job, or ErrNotFound.
	GetJob(ctx context.Context, id int64) (*Job, error)
	// CancelJob cancels a job that is not completed, cancelled or dead, and
	// returns it; a running job's worker learns it at its next heartbeat.
	// A job already final is ErrConflict, a missing one ErrNotFound.
	CancelJob(ctx context.Context, id int64, now time.Time) (*Job, error)
	// PruneJobs deletes at most limit jobs completed before before.
	PruneJobs(ctx context.Context, before time.Time, limit int) (int64, error)
	// ListJobs returns a page of the jobs that meet q.Where, ordered by
	// q.Sort then id.
	ListJobs(ctx context.Context, q JobQuery) (*JobList, error)
	// RetryJob makes a job that is not running available at now, with a
	// last attempt more when it has used them all, and returns it. A
	// running job is ErrConflict, and so is a cancelled one whose unique key
	// another job holds since; a missing one is ErrNotFound.
	RetryJob(ctx context.Context, id int64, now time.Time) (*Job, error)

	// LastScheduleTick returns the time up to which the ticks of a
	// schedule are handled; ok is false for a schedule never seen.
	LastScheduleTick(ctx context.Context, schedule string) (at time.Time, ok bool, err error)
	// AdvanceSchedule moves the schedule's handled time to `to` if it is
	// before tick (a schedule never seen starts at `to`; with the zero
	// tick, that is all it does) and, in the same transaction, inserts j
	// when it is not nil. advanced reports whether
	// it moved: of any number of concurrent calls for one tick, one does.
	AdvanceSchedule(ctx context.Context, schedule string, tick, to time.Time, j *Job) (advanced bool, err error)

	// ListSchedules returns the stored schedules, by name.
	ListSchedules(ctx context.Context) ([]*Schedule, error)
	// GetSchedule returns one stored schedule, or ErrNotFound.
	GetSchedule(ctx context.Context, name string) (*Schedule, error)
	// CreateSchedule stores a new schedule, handled up to s.LastTick. A
	// name that any schedule has (one declared in Go once it ran) is
	// ErrConflict.
	CreateSchedule(ctx context.Context, s *Schedule) error
	// UpdateSchedule replaces the definition of a stored schedule (not its
	// LastTick nor Created), or answers ErrNotFound.
	UpdateSchedule(ctx context.Context, s *Schedule) error
	// DeleteSchedule deletes a stored schedule, or answers ErrNotFound.
	DeleteSchedule(ctx context.Context, name string) error
}

// JobFields are the fields of jobs that list filters name, as the JSON API
// writes them, with what the filter language knows of them.
var JobFields = map[string]expr.Field{
	"id":          {Kind: expr.KindNumber, Integer: true},
	"kind":        {Kind: expr.KindText},
	"queue":       {Kind: expr.KindText},
	"state":       {Kind: expr.KindText},
	"priority":    {Kind: expr.KindNumber, Integer: true},
	"attempt":     {Kind: expr.KindNumber, Integer: true},
	"maxAttempts": {Kind: expr.KindNumber, Integer: true},
	"runAt":       {Kind: expr.KindDate},
	"created":     {Kind: expr.KindDate},
	"attemptedAt": {Kind: expr.KindDate},
	"finalizedAt": {Kind: expr.KindDate},
	"worker":      {Kind: expr.KindText},
	"uniqueKey":   {Kind: expr.KindText},
	"tags":        {Kind: expr.KindText, Multiple: true},
	"errors":      {Kind: expr.KindJSON},
}

// JobSortFields are the fields jobs sort by: each holds one value, always.
var JobSortFields = []string{"id", "kind", "queue", "state", "priority", "attempt", "maxAttempts", "runAt", "created"}

// JobQuery is a checked list of jobs, as stores run it.
type JobQuery struct {
	// Where is a bound condition over JobFields; nil for every job.
	Where expr.Cond
	// Sort keys name JobSortFields; id breaks ties (ascending).
	Sort      []SortKey
	Page      int
	PerPage   int
	SkipTotal bool
	// After starts the page after this position: the values of the sort
	// keys (int64, string or time.Time) and the job's id in decimal.
	After *Cursor
}

// JobList is a page of jobs; TotalItems is -1 when skipped. Next is the
// position of the last job when the page is full.
type JobList struct {
	Items      []*Job
	Page       int
	PerPage    int
	TotalItems int64
	Next       *Cursor
}

// Schedule is a schedule stored in the database (declared through the
// API): every scheduler sharing the database runs it. A schedule declared
// in Go keeps only the time up to which its ticks are handled there.
type Schedule struct {
	// Name identifies the schedule; its ticks' jobs have the unique key
	// "schedule:NAME@TICK".
	Name string
	// Spec is a cron spec, a name such as @daily, or @every D.
	Spec string
	Kind string
	Args json.RawMessage
	// Timezone is the IANA zone of cron specs; "" is UTC.
	Timezone string
	// Missed is what to do with ticks no scheduler enqueued within Grace:
	// ScheduleSkipMissed or ScheduleRunMissedOnce.
	Missed string
	Grace  time.Duration
	// The options of each tick's job (zero values: the defaults).
	Queue       string
	Priority    int
	MaxAttempts int
	Timeout     time.Duration
	Tags        []string
	// Paused schedules enqueue nothing; their ticks count as missed.
	Paused bool
	// LastTick is the time up to which the ticks are handled.
	LastTick time.Time
	Created  time.Time
	Updated  time.Time
}

// Missed-tick policies of stored schedules.
const (
	ScheduleSkipMissed    = "skip"
	ScheduleRunMissedOnce = "once"
)

// JobListener is implemented by stores that can wake workers as soon as a
// job is enqueued anywhere (PostgreSQL's LISTEN/NOTIFY). ListenJobs calls
// wake with the queue of each committed insert, and with "" once listening
// starts (anything may have been missed before); it returns when ctx ends
// or the connection fails. A store that cannot listen returns
// errors.ErrUnsupported at once. Wake-ups are hints: workers poll as well.
type JobListener interface {
	ListenJobs(ctx context.Context, wake func(queue string)) error
}

// JobStore returns the store jobs are written through for ctx: the
// transaction ctx carries (a hook's RecordEvent.Context inside App.Batch
// or App.InTx), so a job enqueued there commits or vanishes with it; else
// the app's store.
func (a *App) JobStore(ctx context.Context) (JobStore, error) {
	tx, ok := ctx.Value(txKey{a}).(RecordStore)
	if !ok {
		return a.store, nil
	}
	js, ok := tx.(JobStore)
	if !ok {
		return nil, errors.New("the transaction's store does not keep jobs")
	}
	return js, nil
}

// InTx runs fn in one write transaction, with a context that carries it:
// the App's record services and the jobs enqueued with that context write
// in it (hooks' RecordEvent.Context carries it too). Everything commits when
// fn returns nil; when fn returns an error (returned as it is) or panics,
// nothing stays. Called inside a transaction, fn joins it.
func (a *App) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return a.inTx(ctx, func(ctx context.Context, _ RecordStore) error { return fn(ctx) })
}
