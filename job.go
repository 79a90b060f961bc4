package loam

import (
	"context"
	"encoding/json"
	"errors"
	"time"
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

	// LastScheduleTick returns the time up to which the ticks of a
	// schedule are handled; ok is false for a schedule never seen.
	LastScheduleTick(ctx context.Context, schedule string) (at time.Time, ok bool, err error)
	// AdvanceSchedule moves the schedule's handled time to `to` if it is
	// before tick (a schedule never seen starts at `to`; with the zero
	// tick, that is all it does) and, in the same transaction, inserts j
	// when it is not nil. advanced reports whether
	// it moved: of any number of concurrent calls for one tick, one does.
	AdvanceSchedule(ctx context.Context, schedule string, tick, to time.Time, j *Job) (advanced bool, err error)
}

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
