package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"loam"
)

// JobDialect is what differs between databases for the job queue. The
// adapters' dialects implement it beside Dialect.
type JobDialect interface {
	// SkipLocked ends a SELECT that picks rows to claim: PostgreSQL locks
	// them and skips rows other claimers hold (FOR UPDATE SKIP LOCKED);
	// SQLite, whose one writer serialises claims, needs nothing.
	SkipLocked() string
	// LockKey takes a lock on key held until tx ends, serialising the
	// transactions that take it (PostgreSQL: an advisory lock; SQLite: the
	// write transaction is already alone).
	LockKey(ctx context.Context, tx Querier, key string) error
	// JSONAppend is a JSON list with the JSON value of the text
	// expression elem appended.
	JSONAppend(list, elem string) string
	// IDSetParam encodes ids as one parameter, for InIDs.
	IDSetParam(ids []int64) any
	// InIDs is a condition true when the integer expression x is one of
	// the ids of the IDSetParam parameter given by placeholder.
	InIDs(x, placeholder string) string
	// Notify sends payload on channel when tx commits, to the listeners of
	// other connections (PostgreSQL NOTIFY); SQLite does nothing.
	Notify(ctx context.Context, tx Querier, channel, payload string) error
	// Batch returns a FROM item named alias over rows sent as parameters
	// numbered from first (PostgreSQL: one array per column, unnested;
	// SQLite: one JSON array of rows): a row per element of rows, with the
	// columns cols, typed, and "ord", the row's position from 1. It returns
	// the parameters to bind. Rows hold one value per column (see
	// BatchType); nil is NULL.
	Batch(alias string, cols []BatchColumn, rows [][]any, first int) (from string, args []any)
}

// Listener is implemented by a DB that delivers notifications (PostgreSQL,
// on a connection of its own). Listen calls ready once listening, then
// notify with the payload of each notification on channel, until ctx ends
// or the connection fails; it returns that error.
type Listener interface {
	Listen(ctx context.Context, channel string, ready func(), notify func(payload string)) error
}

// jobsChannel is the notification channel of job inserts; the payload is
// the queue.
const jobsChannel = "loam_jobs"

// jobColumns reads a job; scanJob scans them.
const jobColumns = `id, kind, queue, state, priority, CAST(args AS TEXT), attempt, max_attempts, timeout_ms,
run_at, created, attempted_at, finalized_at, worker, lease_until, unique_key, CAST(tags AS TEXT),
CAST(errors AS TEXT), CAST(result AS TEXT)`

func (s *Store) jd() (JobDialect, error) {
	jd, ok := s.d.(JobDialect)
	if !ok {
		return nil, fmt.Errorf("the %s dialect has no job queue", s.d.Name())
	}
	return jd, nil
}

// InsertJobs inserts jobs in one transaction, with one statement (see
// insertJobBatch). A unique job that finds its key taken (INSERT ... ON
// CONFLICT DO NOTHING inserts nothing) reads the job holding it in the same
// transaction; on PostgreSQL the insert first waits for a concurrent
// transaction holding the key to end.
func (s *Store) InsertJobs(ctx context.Context, jobs []*loam.Job) ([]bool, error) {
	jd, err := s.jd()
	if err != nil {
		return nil, err
	}
	dup := make([]bool, len(jobs))
	if len(jobs) == 0 {
		return dup, nil
	}
	err = s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		ok, err := s.insertJobBatch(ctx, jd, tx, jobs, dup)
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("the ids of the inserted jobs do not match the batch")
		}
		queues := map[string]bool{}
		for i, j := range jobs {
			if !dup[i] {
				queues[j.Queue] = true
			}
		}
		names := make([]string, 0, len(queues))
		for q := range queues {
			names = append(names, q)
		}
		sort.Strings(names)
		for _, q := range names {
			if err := jd.Notify(ctx, tx, jobsChannel, q); err != nil {
				return fmt.Errorf("notify: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("insert jobs: %w", err)
	}
	return dup, nil
}

func (s *Store) insertJob(ctx context.Context, tx Querier, j *loam.Job) (bool, error) {
	tags := j.Tags
	if tags == nil {
		tags = []string{}
	}
	args := j.Args
	if len(args) == 0 {
		args = json.RawMessage("null")
	}
	var unique any
	if j.UniqueKey != "" {
		unique = j.UniqueKey
	}
	// A key freed (its job cancelled) between the insert and the read is
	// tried again; twice is plenty, a third time means something is wrong.
	for range 3 {
		b := &builder{d: s.d}
		b.sql("INSERT INTO _jobs (kind, queue, state, priority, args, attempt, max_attempts, timeout_ms, run_at, created, unique_key, tags, errors) VALUES (").
			arg(j.Kind).sql(", ").arg(j.Queue).sql(", ").arg(string(j.State)).sql(", ").arg(int64(j.Priority)).sql(", ").
			arg(string(args)).sql(", 0, ").arg(int64(j.MaxAttempts)).sql(", ").arg(j.Timeout.Milliseconds()).sql(", ").
			arg(s.d.EncodeTime(j.RunAt)).sql(", ").arg(s.d.EncodeTime(j.Created)).sql(", ").arg(unique).sql(", ").
			arg(EncodeList(tags)).sql(", '[]') ON CONFLICT DO NOTHING RETURNING id")
		var id int64
		err := queryRow(ctx, tx, []any{&id}, b.String(), b.args...)
		if err == nil {
			j.ID, j.Attempt, j.Tags, j.Args = id, 0, tags, args
			j.Errors = nil
			return false, nil
		}
		if err != errNoRows {
			return false, err
		}
		if j.UniqueKey == "" {
			return false, errors.New("a job without a unique key was not inserted")
		}
		b = &builder{d: s.d}
		b.sql("SELECT " + jobColumns + " FROM _jobs WHERE unique_key = ").arg(j.UniqueKey).sql(" AND state <> 'cancelled'")
		found, err := s.queryJobs(ctx, tx, b)
		if err != nil {
			return false, err
		}
		if len(found) == 1 {
			*j = *found[0]
			return true, nil
		}
	}
	return false, fmt.Errorf("unique key %q: neither inserted nor found", j.UniqueKey)
}

// ClaimJobs claims in one transaction: due scheduled and retryable jobs
// become available, then each queue gives its best available jobs. A queue
// with a limit is claimed under a lock on its name, after counting its
// running jobs, so claimers never run more than the limit between them.
func (s *Store) ClaimJobs(ctx context.Context, c loam.JobClaim) ([]*loam.Job, error) {
	jd, err := s.jd()
	if err != nil {
		return nil, err
	}
	var out []*loam.Job
	err = s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		out = out[:0]
		b := &builder{d: s.d}
		b.sql("UPDATE _jobs SET state = 'available' WHERE id IN (SELECT id FROM _jobs WHERE state IN ('scheduled', 'retryable') AND run_at <= ").
			arg(s.d.EncodeTime(c.Now)).sql(" ORDER BY run_at LIMIT 1000" + jd.SkipLocked() + ")")
		if _, err := tx.Exec(ctx, b.String(), b.args...); err != nil {
			return fmt.Errorf("make due jobs available: %w", err)
		}
		// Queues are locked in name order, so two claimers cannot each hold
		// one lock and wait for the other's.
		queues := slices.Clone(c.Queues)
		sort.Slice(queues, func(i, k int) bool { return queues[i].Queue < queues[k].Queue })
		for _, q := range queues {
			n := q.Max
			if q.Limit > 0 {
				if err := jd.LockKey(ctx, tx, "loam.jobs.queue/"+q.Queue); err != nil {
					return fmt.Errorf("lock queue %s: %w", q.Queue, err)
				}
				b := &builder{d: s.d}
				b.sql("SELECT count(*) FROM _jobs WHERE state = 'running' AND queue = ").arg(q.Queue)
				var running int64
				if err := queryRow(ctx, tx, []any{&running}, b.String(), b.args...); err != nil {
					return fmt.Errorf("count running jobs of %s: %w", q.Queue, err)
				}
				n = min(n, q.Limit-int(running))
			}
			if n <= 0 || len(c.Kinds) == 0 {
				continue
			}
			b := &builder{d: s.d}
			b.sql("WITH picked AS (SELECT id FROM _jobs WHERE state = 'available' AND queue = ").arg(q.Queue).
				sql(" AND ").sql(s.d.InSet("kind", b.d.Placeholder(len(b.args)+1)))
			b.args = append(b.args, s.d.SetParam(c.Kinds))
			b.sql(" ORDER BY priority, run_at, id LIMIT ").arg(int64(n)).sql(jd.SkipLocked()).
				sql(") UPDATE _jobs SET state = 'running', attempt = attempt + 1, attempted_at = ").arg(s.d.EncodeTime(c.Now)).
				sql(", worker = ").arg(c.Worker).sql(", lease_until = ").arg(s.d.EncodeTime(c.LeaseUntil)).
				sql(" WHERE state = 'available' AND id IN (SELECT id FROM picked) RETURNING " + jobColumns)
			jobs, err := s.queryJobs(ctx, tx, b)
			if err != nil {
				return fmt.Errorf("claim jobs of %s: %w", q.Queue, err)
			}
			out = append(out, jobs...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	// RETURNING gives no order: put the best first, as they were picked.
	sort.Slice(out, func(i, k int) bool {
		a, b := out[i], out[k]
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		if !a.RunAt.Equal(b.RunAt) {
			return a.RunAt.Before(b.RunAt)
		}
		return a.ID < b.ID
	})
	return out, nil
}

// FinishJobs applies each outcome as a compare-and-set on (id, state
// running, attempt, worker), all in one transaction: outcomes of distinct
// jobs (the worker's groups) with one statement, others one by one.
func (s *Store) FinishJobs(ctx context.Context, outcomes []loam.JobOutcome) ([]bool, error) {
	jd, err := s.jd()
	if err != nil {
		return nil, err
	}
	applied := make([]bool, len(outcomes))
	if len(outcomes) == 0 {
		return applied, nil
	}
	err = s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		if distinctJobs(outcomes) {
			return s.finishJobBatch(ctx, jd, tx, outcomes, applied)
		}
		// Rows are updated in id order, as other multi-row writes lock
		// them, so that two such transactions do not deadlock.
		order := make([]int, len(outcomes))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(i, k int) bool { return outcomes[order[i]].ID < outcomes[order[k]].ID })
		for _, i := range order {
			if err := s.finishJobBatch(ctx, jd, tx, outcomes[i:i+1], applied[i:i+1]); err != nil {
				return fmt.Errorf("job %d: %w", outcomes[i].ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finish jobs: %w", err)
	}
	return applied, nil
}

// HeartbeatJobs extends the leases of a worker's running jobs in one statement.
func (s *Store) HeartbeatJobs(ctx context.Context, worker string, ids []int64, until time.Time) ([]int64, error) {
	jd, err := s.jd()
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var held []int64
	err = s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		held = held[:0]
		b := &builder{d: s.d}
		b.sql("UPDATE _jobs SET lease_until = ").arg(s.d.EncodeTime(until)).sql(" WHERE state = 'running' AND worker = ").
			arg(worker).sql(" AND ")
		b.sql(jd.InIDs("id", s.d.Placeholder(len(b.args)+1))).sql(" RETURNING id")
		b.args = append(b.args, jd.IDSetParam(ids))
		rows, err := tx.Query(ctx, b.String(), b.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			held = append(held, id)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("heartbeat jobs: %w", err)
	}
	return held, nil
}

// leaseExpired is the error recorded for an attempt whose lease expired.
const leaseExpired = "lease expired: the worker stopped renewing it (it stopped, crashed or lost the database)"

// RescueJobs fails the attempts whose lease expired, in one statement.
func (s *Store) RescueJobs(ctx context.Context, now time.Time) (int64, error) {
	jd, err := s.jd()
	if err != nil {
		return 0, err
	}
	at, _ := json.Marshal(now.UTC().Truncate(time.Millisecond))
	msg, _ := json.Marshal(leaseExpired)
	b := &builder{d: s.d}
	t := b.d.Placeholder(1)
	b.args = append(b.args, s.d.EncodeTime(now))
	elem := `'{"attempt":' || attempt || ',"at":' || ` + b.d.Placeholder(2) + ` || ',"error":' || ` + b.d.Placeholder(3) + ` || '}'`
	b.args = append(b.args, string(at), string(msg))
	b.sql("UPDATE _jobs SET state = CASE WHEN attempt >= max_attempts THEN 'dead' ELSE 'retryable' END, " +
		"finalized_at = CASE WHEN attempt >= max_attempts THEN " + t + " END, run_at = " + t +
		", worker = NULL, lease_until = NULL, errors = " + jd.JSONAppend("errors", elem) +
		" WHERE state = 'running' AND lease_until < " + t)
	n, err := s.writeOne(ctx, b)
	if err != nil {
		return 0, fmt.Errorf("rescue jobs: %w", err)
	}
	return n, nil
}

// NextJobDue reads the earliest run_at of the jobs waiting for it.
func (s *Store) NextJobDue(ctx context.Context) (time.Time, bool, error) {
	var at any
	err := queryRow(ctx, s.db, []any{&at}, "SELECT min(run_at) FROM _jobs WHERE state IN ('scheduled', 'retryable')")
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next job due: %w", err)
	}
	if at == nil {
		return time.Time{}, false, nil
	}
	t, err := asTime(at)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next job due: %w", err)
	}
	return t, true, nil
}

// GetJob reads one job.
func (s *Store) GetJob(ctx context.Context, id int64) (*loam.Job, error) {
	b := &builder{d: s.d}
	b.sql("SELECT " + jobColumns + " FROM _jobs WHERE id = ").arg(id)
	jobs, err := s.queryJobs(ctx, s.db, b)
	if err != nil {
		return nil, fmt.Errorf("get job: %w", err)
	}
	if len(jobs) == 0 {
		return nil, loam.Errorf(loam.CodeNotFound, "no job %d", id)
	}
	return jobs[0], nil
}

// CancelJob cancels a job that is not final.
func (s *Store) CancelJob(ctx context.Context, id int64, now time.Time) (*loam.Job, error) {
	var out *loam.Job
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		b := &builder{d: s.d}
		b.sql("UPDATE _jobs SET state = 'cancelled', finalized_at = ").arg(s.d.EncodeTime(now)).
			sql(", worker = NULL, lease_until = NULL WHERE id = ").arg(id).
			sql(" AND state NOT IN ('completed', 'cancelled', 'dead') RETURNING " + jobColumns)
		jobs, err := s.queryJobs(ctx, tx, b)
		if err != nil {
			return err
		}
		if len(jobs) == 1 {
			out = jobs[0]
			return nil
		}
		b = &builder{d: s.d}
		b.sql("SELECT state FROM _jobs WHERE id = ").arg(id)
		var state string
		if err := queryRow(ctx, tx, []any{&state}, b.String(), b.args...); err == errNoRows {
			return loam.Errorf(loam.CodeNotFound, "no job %d", id)
		} else if err != nil {
			return err
		}
		return loam.Errorf(loam.CodeConflict, "job %d is %s already", id, state)
	})
	if err != nil {
		return nil, fmt.Errorf("cancel job: %w", err)
	}
	return out, nil
}

// PruneJobs deletes old completed jobs, at most limit of them.
func (s *Store) PruneJobs(ctx context.Context, before time.Time, limit int) (int64, error) {
	b := &builder{d: s.d}
	b.sql("DELETE FROM _jobs WHERE id IN (SELECT id FROM _jobs WHERE state = 'completed' AND finalized_at < ").
		arg(s.d.EncodeTime(before)).sql(" LIMIT ").arg(int64(limit)).sql(")")
	n, err := s.writeOne(ctx, b)
	if err != nil {
		return 0, fmt.Errorf("prune jobs: %w", err)
	}
	return n, nil
}

// LastScheduleTick reads a schedule's handled time.
func (s *Store) LastScheduleTick(ctx context.Context, schedule string) (time.Time, bool, error) {
	b := &builder{d: s.d}
	b.sql("SELECT last_tick FROM _schedules WHERE name = ").arg(schedule)
	var at any
	err := queryRow(ctx, s.db, []any{&at}, b.String(), b.args...)
	if err == errNoRows {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read schedule %s: %w", schedule, err)
	}
	t, err := asTime(at)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read schedule %s: %w", schedule, err)
	}
	return t, true, nil
}

// AdvanceSchedule is an upsert whose update only applies while the
// handled time is before the tick: on PostgreSQL a concurrent call waits
// for the row, then finds it moved and changes nothing.
func (s *Store) AdvanceSchedule(ctx context.Context, schedule string, tick, to time.Time, j *loam.Job) (bool, error) {
	jd, err := s.jd()
	if err != nil {
		return false, err
	}
	advanced := false
	err = s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		b := &builder{d: s.d}
		b.sql("INSERT INTO _schedules (name, last_tick) VALUES (").arg(schedule).sql(", ").arg(s.d.EncodeTime(to)).
			sql(") ON CONFLICT (name) DO UPDATE SET last_tick = excluded.last_tick WHERE _schedules.last_tick < ").
			arg(s.d.EncodeTime(tick))
		n, err := tx.Exec(ctx, b.String(), b.args...)
		if err != nil || n == 0 || j == nil {
			advanced = err == nil && n > 0
			return err
		}
		advanced = true
		if _, err := s.insertJob(ctx, tx, j); err != nil {
			return err
		}
		return jd.Notify(ctx, tx, jobsChannel, j.Queue)
	})
	if err != nil {
		return false, fmt.Errorf("advance schedule %s: %w", schedule, err)
	}
	return advanced, nil
}

// ListenJobs wakes workers on the queues of committed job inserts.
func (s *Store) ListenJobs(ctx context.Context, wake func(queue string)) error {
	l, ok := s.db.(Listener)
	if !ok {
		return errors.ErrUnsupported
	}
	return l.Listen(ctx, jobsChannel, func() { wake("") }, wake)
}

var _ loam.JobListener = (*Store)(nil)

// queryJobs runs b and scans the jobs it returns.
func (s *Store) queryJobs(ctx context.Context, q Querier, b *builder) ([]*loam.Job, error) {
	rows, err := q.Query(ctx, b.String(), b.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*loam.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// scanJob scans the jobColumns of one row.
func scanJob(rows Rows) (*loam.Job, error) {
	var (
		j                                             loam.Job
		state, args, tags, errs                       string
		priority, attempt, maxAttempts, timeout       int64
		runAt, created, attempted, finalized, leaseAt any
		worker, unique, result                        any
	)
	if err := rows.Scan(&j.ID, &j.Kind, &j.Queue, &state, &priority, &args, &attempt, &maxAttempts, &timeout,
		&runAt, &created, &attempted, &finalized, &worker, &leaseAt, &unique, &tags, &errs, &result); err != nil {
		return nil, fmt.Errorf("scan job: %w", err)
	}
	j.State, j.Priority, j.Attempt, j.MaxAttempts = loam.JobState(state), int(priority), int(attempt), int(maxAttempts)
	j.Args = json.RawMessage(args)
	j.Timeout = time.Duration(timeout) * time.Millisecond
	var err error
	if j.RunAt, err = asTime(runAt); err != nil {
		return nil, fmt.Errorf("scan job %d: run_at: %w", j.ID, err)
	}
	if j.Created, err = asTime(created); err != nil {
		return nil, fmt.Errorf("scan job %d: created: %w", j.ID, err)
	}
	for _, t := range []struct {
		v   any
		dst *time.Time
	}{{attempted, &j.AttemptedAt}, {finalized, &j.FinalizedAt}, {leaseAt, &j.LeaseUntil}} {
		if t.v == nil {
			continue
		}
		if *t.dst, err = asTime(t.v); err != nil {
			return nil, fmt.Errorf("scan job %d: %w", j.ID, err)
		}
	}
	j.Worker, j.UniqueKey = textOf(worker), textOf(unique)
	if r := textOf(result); r != "" {
		j.Result = json.RawMessage(r)
	}
	if err := json.Unmarshal([]byte(tags), &j.Tags); err != nil {
		return nil, fmt.Errorf("scan job %d: tags: %w", j.ID, err)
	}
	if err := json.Unmarshal([]byte(errs), &j.Errors); err != nil {
		return nil, fmt.Errorf("scan job %d: errors: %w", j.ID, err)
	}
	return &j, nil
}

// textOf reads a nullable text column scanned into an any.
func textOf(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
