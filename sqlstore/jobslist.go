package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"loam"
)

// jobView is _jobs with its columns named as loam.JobFields name them, so
// that the filter compiler, which reads fields as columns of "t", works on
// jobs as on records. Both databases inline it into the statement.
const jobView = `(SELECT id, kind, queue, state, priority, args, attempt, max_attempts AS "maxAttempts", timeout_ms,
run_at AS "runAt", created, attempted_at AS "attemptedAt", finalized_at AS "finalizedAt", worker,
lease_until AS "leaseUntil", unique_key AS "uniqueKey", tags, errors, result FROM _jobs)`

// jobViewColumns reads a job from jobView as scanJob expects it.
const jobViewColumns = `t.id, t.kind, t.queue, t.state, t.priority, CAST(t.args AS TEXT), t.attempt, t."maxAttempts",
t.timeout_ms, t."runAt", t.created, t."attemptedAt", t."finalizedAt", t.worker, t."leaseUntil", t."uniqueKey",
CAST(t.tags AS TEXT), CAST(t.errors AS TEXT), CAST(t.result AS TEXT)`

// ListJobs reads a page of jobs: filtered by the compiled condition,
// ordered by the sort keys then id, from the cursor's position when set.
func (s *Store) ListJobs(ctx context.Context, q loam.JobQuery) (*loam.JobList, error) {
	if q.PerPage <= 0 {
		q.PerPage = 30
	}
	if q.Page <= 0 {
		q.Page = 1
	}
	for _, k := range q.Sort {
		if !slices.Contains(loam.JobSortFields, k.Field) {
			return nil, loam.Errorf(loam.CodeInvalidSort, "jobs cannot be sorted by %q", k.Field)
		}
	}
	var afterID int64
	if q.After != nil {
		id, err := strconv.ParseInt(q.After.ID, 10, 64)
		if err != nil || len(q.After.Values) != len(q.Sort) {
			return nil, loam.Errorf(loam.CodeInvalidQuery, "cursor is not a cursor of this list")
		}
		afterID = id
	}
	where := func(b *builder) {
		var conds int
		if q.Where != nil {
			b.sql(" WHERE ")
			compileFilter(s.d, b, q.Where)
			conds++
		}
		if q.After != nil {
			if conds == 0 {
				b.sql(" WHERE ")
			} else {
				b.sql(" AND ")
			}
			s.jobsAfter(b, q.Sort, q.After.Values, afterID)
		}
	}
	b := &builder{d: s.d}
	b.sql("SELECT " + jobViewColumns + " FROM " + jobView + " AS t")
	where(b)
	b.sql(" ORDER BY ")
	for _, k := range q.Sort {
		b.sql(s.d.OrderBy("t."+quote(k.Field), k.Desc), ", ")
	}
	b.sql("t.id LIMIT ").arg(int64(q.PerPage))
	if q.After == nil && q.Page > 1 {
		b.sql(" OFFSET ").arg(int64((q.Page - 1) * q.PerPage))
	}
	items, err := s.queryJobs(ctx, s.db, b)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	list := &loam.JobList{Items: items, Page: q.Page, PerPage: q.PerPage, TotalItems: -1}
	if q.After != nil {
		list.Page = -1
	}
	if len(items) == q.PerPage {
		last := items[len(items)-1]
		next := &loam.Cursor{ID: strconv.FormatInt(last.ID, 10), Values: make([]any, len(q.Sort))}
		for i, k := range q.Sort {
			next.Values[i] = jobValue(last, k.Field)
		}
		list.Next = next
	}
	if !q.SkipTotal {
		b := &builder{d: s.d}
		b.sql("SELECT count(*) FROM " + jobView + " AS t")
		if q.Where != nil {
			b.sql(" WHERE ")
			compileFilter(s.d, b, q.Where)
		}
		if err := queryRow(ctx, s.db, []any{&list.TotalItems}, b.String(), b.args...); err != nil {
			return nil, fmt.Errorf("count jobs: %w", err)
		}
	}
	return list, nil
}

// jobValue is the value of a sortable field of j, as cursors hold it.
func jobValue(j *loam.Job, field string) any {
	switch field {
	case "id":
		return j.ID
	case "kind":
		return j.Kind
	case "queue":
		return j.Queue
	case "state":
		return string(j.State)
	case "priority":
		return int64(j.Priority)
	case "attempt":
		return int64(j.Attempt)
	case "maxAttempts":
		return int64(j.MaxAttempts)
	case "runAt":
		return j.RunAt
	case "created":
		return j.Created
	}
	return nil
}

// jobsAfter writes "comes after the position" in the order of keys, then
// id ascending; every sort field holds a value, so no NULL needs care:
//
//	k1 > v1 OR (k1 = v1 AND k2 > v2) OR ... OR (k1 = v1 AND ... AND id > vid)
//
// with < for descending keys, behind a bound on the first key that an
// index on it can serve.
func (s *Store) jobsAfter(b *builder, keys []loam.SortKey, values []any, id int64) {
	val := func(i int) any {
		if t, ok := values[i].(time.Time); ok {
			return s.d.EncodeTime(t)
		}
		return values[i]
	}
	col := func(i int) string { return "t." + quote(keys[i].Field) }
	b.sql("(")
	if len(keys) > 0 {
		op := " >= "
		if keys[0].Desc {
			op = " <= "
		}
		b.sql(col(0), op).arg(val(0)).sql(" AND ")
	}
	b.sql("(")
	for i := range keys {
		for j := 0; j < i; j++ {
			b.sql(col(j), " = ").arg(val(j)).sql(" AND ")
		}
		op := " > "
		if keys[i].Desc {
			op = " < "
		}
		b.sql(col(i), op).arg(val(i)).sql(" OR ")
	}
	for j := range keys {
		b.sql(col(j), " = ").arg(val(j)).sql(" AND ")
	}
	b.sql("t.id > ").arg(id).sql("))")
}

// RetryJob makes a job that is not running available now.
func (s *Store) RetryJob(ctx context.Context, id int64, now time.Time) (*loam.Job, error) {
	var out *loam.Job
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		jd, err := s.jd()
		if err != nil {
			return err
		}
		b := &builder{d: s.d}
		b.sql("UPDATE _jobs SET state = 'available', run_at = ").arg(s.d.EncodeTime(now)).
			sql(", finalized_at = NULL, max_attempts = CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE max_attempts END" +
				" WHERE id = ").arg(id).sql(" AND state <> 'running' RETURNING " + jobColumns)
		jobs, err := s.queryJobs(ctx, tx, b)
		if err != nil {
			if kind, _ := s.d.ConstraintError(err); kind == UniqueViolation {
				return &loam.Error{Code: loam.CodeConflict, Message: fmt.Sprintf("another job holds the unique key of job %d", id), Err: err}
			}
			return err
		}
		if len(jobs) == 1 {
			out = jobs[0]
			return jd.Notify(ctx, tx, jobsChannel, out.Queue)
		}
		b = &builder{d: s.d}
		b.sql("SELECT state FROM _jobs WHERE id = ").arg(id)
		var state string
		if err := queryRow(ctx, tx, []any{&state}, b.String(), b.args...); err == errNoRows {
			return loam.Errorf(loam.CodeNotFound, "no job %d", id)
		} else if err != nil {
			return err
		}
		return loam.Errorf(loam.CodeConflict, "job %d is running", id)
	})
	if err != nil {
		return nil, fmt.Errorf("retry job: %w", err)
	}
	return out, nil
}
