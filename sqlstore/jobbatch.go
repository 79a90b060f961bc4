package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"loam"
)

// BatchType is the type of one column of a batch: rows sent to the
// database as parameters, so that one statement writes them all.
type BatchType int

// Batch column types. Values are string (BatchText), int64 (BatchInt),
// time.Time (BatchTime), the JSON text as a string (BatchJSON) and bool
// (BatchBool); nil is NULL.
const (
	BatchText BatchType = iota
	BatchInt
	BatchTime
	BatchJSON
	BatchBool
)

// BatchColumn is one column of a batch.
type BatchColumn struct {
	Name string
	Type BatchType
}

// batchOrd is the column every batch adds: the row's position, from 1.
const batchOrd = "ord"

// jobInsertColumns are the columns of a batch of new jobs.
var jobInsertColumns = []BatchColumn{{"kind", BatchText}, {"queue", BatchText}, {"state", BatchText},
	{"priority", BatchInt}, {"args", BatchJSON}, {"max_attempts", BatchInt}, {"timeout_ms", BatchInt},
	{"run_at", BatchTime}, {"created", BatchTime}, {"unique_key", BatchText}, {"tags", BatchJSON}}

// insertJobBatch inserts jobs with one statement: a row per job read from
// the batch in order, skipping those whose unique key is taken, and sets
// the ids of the inserted ones. A job with a taken key is replaced by the
// job holding it (dup). The rows are inserted in the batch's order, so the
// ids, which rise with each insert, are handed out to the inserted jobs in
// that order. It returns false, having changed nothing it could not undo
// (the caller's transaction), when it cannot tell which jobs were inserted;
// the caller then inserts them one by one.
func (s *Store) insertJobBatch(ctx context.Context, jd JobDialect, tx Querier, jobs []*loam.Job, dup []bool) (bool, error) {
	rows := make([][]any, len(jobs))
	for i, j := range jobs {
		var unique any
		if j.UniqueKey != "" {
			unique = j.UniqueKey
		}
		args := j.Args
		if len(args) == 0 {
			args = json.RawMessage("null")
		}
		tags := j.Tags
		if tags == nil {
			tags = []string{}
		}
		rows[i] = []any{j.Kind, j.Queue, string(j.State), int64(j.Priority), string(args), int64(j.MaxAttempts),
			j.Timeout.Milliseconds(), j.RunAt, j.Created, unique, EncodeList(tags)}
	}
	from, params := jd.Batch("u", jobInsertColumns, rows, 1)
	// WHERE true: SQLite reads ON after a FROM as a join's without it.
	q := "INSERT INTO _jobs (kind, queue, state, priority, args, attempt, max_attempts, timeout_ms, run_at, created, unique_key, tags, errors) " +
		"SELECT kind, queue, state, priority, args, 0, max_attempts, timeout_ms, run_at, created, unique_key, tags, '[]' FROM " +
		from + " WHERE 1 = 1 ORDER BY " + batchOrd + " ON CONFLICT DO NOTHING RETURNING id, unique_key"
	res, err := tx.Query(ctx, q, params...)
	if err != nil {
		return false, err
	}
	type inserted struct {
		id  int64
		key string
	}
	var got []inserted
	for res.Next() {
		var id int64
		var key any
		if err := res.Scan(&id, &key); err != nil {
			res.Close()
			return false, err
		}
		got = append(got, inserted{id, textOf(key)})
	}
	res.Close()
	if err := res.Err(); err != nil {
		return false, err
	}
	sort.Slice(got, func(i, k int) bool { return got[i].id < got[k].id })
	keys := map[string]bool{}
	for _, g := range got {
		if g.key != "" {
			keys[g.key] = true
		}
	}
	// A job was inserted when it has no key, or when its key was inserted
	// and no job before it in the batch took it.
	ids := make([]int64, 0, len(got))
	var taken []string
	for i, j := range jobs {
		switch {
		case j.UniqueKey == "":
		case keys[j.UniqueKey]:
			delete(keys, j.UniqueKey)
		default:
			dup[i] = true
			taken = append(taken, j.UniqueKey)
			continue
		}
		if len(ids) == len(got) {
			return false, nil
		}
		ids = append(ids, got[len(ids)].id)
	}
	if len(ids) != len(got) {
		return false, nil
	}
	k := 0
	for i, j := range jobs {
		if dup[i] {
			continue
		}
		j.ID, j.Attempt, j.Errors = ids[k], 0, nil
		if j.Tags == nil {
			j.Tags = []string{}
		}
		if len(j.Args) == 0 {
			j.Args = json.RawMessage("null")
		}
		k++
	}
	if len(taken) == 0 {
		return true, nil
	}
	// The jobs holding the taken keys, read in the same transaction (a
	// holder may be a job of this very batch).
	b := &builder{d: s.d}
	b.sql("SELECT " + jobColumns + " FROM _jobs WHERE state <> 'cancelled' AND ").
		sql(s.d.InSet("unique_key", s.d.Placeholder(1)))
	b.args = append(b.args, s.d.SetParam(taken))
	holders, err := s.queryJobs(ctx, tx, b)
	if err != nil {
		return false, err
	}
	byKey := make(map[string]*loam.Job, len(holders))
	for _, h := range holders {
		byKey[h.UniqueKey] = h
	}
	for i, j := range jobs {
		if !dup[i] {
			continue
		}
		h := byKey[j.UniqueKey]
		if h == nil {
			// The holder was cancelled meanwhile: insert this one alone.
			d, err := s.insertJob(ctx, tx, j)
			if err != nil {
				return false, err
			}
			dup[i] = d
			continue
		}
		c := *h
		c.Tags, c.Errors = slices.Clone(h.Tags), slices.Clone(h.Errors)
		*j = c
	}
	return true, nil
}

// jobOutcomeColumns are the columns of a batch of outcomes; their names
// differ from _jobs' own, so that UPDATE ... FROM reads each plainly.
var jobOutcomeColumns = []BatchColumn{{"o_id", BatchInt}, {"o_attempt", BatchInt}, {"o_worker", BatchText},
	{"o_state", BatchText}, {"o_final", BatchBool}, {"o_at", BatchTime}, {"o_run_at", BatchTime}, {"o_undo", BatchInt},
	{"o_error", BatchJSON}, {"o_result", BatchJSON}}

// finishJobBatch applies outcomes (of distinct jobs) with one statement,
// each a compare-and-set on (id, state running, attempt, worker), and
// reports which applied.
func (s *Store) finishJobBatch(ctx context.Context, jd JobDialect, tx Querier, outcomes []loam.JobOutcome, applied []bool) error {
	rows := make([][]any, len(outcomes))
	for i, o := range outcomes {
		var e, result any
		if o.Error != nil {
			b, err := json.Marshal(o.Error)
			if err != nil {
				return fmt.Errorf("encode job error: %w", err)
			}
			e = string(b)
		}
		if o.Result != nil {
			result = string(o.Result)
		}
		undo := int64(0)
		if o.UndoAttempt {
			undo = 1
		}
		runAt := o.RunAt
		if runAt.IsZero() {
			runAt = o.At
		}
		rows[i] = []any{o.ID, int64(o.Attempt), o.Worker, string(o.State), o.State.Final(), o.At, runAt, undo, e, result}
	}
	from, params := jd.Batch("u", jobOutcomeColumns, rows, 1)
	q := "UPDATE _jobs SET state = o_state, worker = NULL, lease_until = NULL, attempt = attempt - o_undo, " +
		"finalized_at = CASE WHEN o_final THEN o_at ELSE finalized_at END, " +
		"run_at = CASE WHEN o_final THEN run_at ELSE o_run_at END, " +
		"errors = CASE WHEN o_error IS NULL THEN errors ELSE " + jd.JSONAppend("errors", "o_error") + " END, " +
		"result = CASE WHEN o_result IS NULL THEN result ELSE o_result END " +
		"FROM " + from + " WHERE id = o_id AND state = 'running' AND attempt = o_attempt AND worker = o_worker RETURNING id"
	res, err := tx.Query(ctx, q, params...)
	if err != nil {
		return err
	}
	defer res.Close()
	done := make(map[int64]bool, len(outcomes))
	for res.Next() {
		var id int64
		if err := res.Scan(&id); err != nil {
			return err
		}
		done[id] = true
	}
	if err := res.Err(); err != nil {
		return err
	}
	for i, o := range outcomes {
		applied[i] = done[o.ID]
	}
	return nil
}

// distinctJobs reports whether no job appears twice among outcomes.
func distinctJobs(outcomes []loam.JobOutcome) bool {
	seen := make(map[int64]bool, len(outcomes))
	for _, o := range outcomes {
		if seen[o.ID] {
			return false
		}
		seen[o.ID] = true
	}
	return true
}
