package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"loam"
)

// t0 is the suite's job clock: every job test passes its own times.
var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

// newJob is a job as the jobs package hands it to InsertJobs.
func newJob(kind string, runAt time.Time) *loam.Job {
	state := loam.JobAvailable
	if runAt.After(t0) {
		state = loam.JobScheduled
	}
	return &loam.Job{Kind: kind, Queue: "default", State: state, Args: json.RawMessage(`{"n":1}`),
		MaxAttempts: 3, RunAt: runAt, Created: t0}
}

// enqueue inserts jobs that must not be duplicates and returns their ids.
func enqueue(t *testing.T, s loam.JobStore, jobs ...*loam.Job) []int64 {
	t.Helper()
	dup, err := s.InsertJobs(t.Context(), jobs)
	if err != nil {
		t.Fatalf("InsertJobs: %v", err)
	}
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		if dup[i] {
			t.Fatalf("InsertJobs: job %d reported a duplicate", i)
		}
		if j.ID == 0 {
			t.Fatalf("InsertJobs: job %d got no id", i)
		}
		ids[i] = j.ID
	}
	return ids
}

// claim claims up to max jobs of the default queue for worker at now.
func claim(t *testing.T, s loam.JobStore, worker string, now time.Time, max int, kinds ...string) []*loam.Job {
	t.Helper()
	if len(kinds) == 0 {
		kinds = []string{"k"}
	}
	jobs, err := s.ClaimJobs(t.Context(), loam.JobClaim{Worker: worker, Now: now, LeaseUntil: now.Add(time.Minute),
		Kinds: kinds, Queues: []loam.QueueClaim{{Queue: "default", Max: max}}})
	if err != nil {
		t.Fatalf("ClaimJobs: %v", err)
	}
	for _, j := range jobs {
		if j.State != loam.JobRunning || j.Worker != worker || !j.AttemptedAt.Equal(now) {
			t.Fatalf("claimed job %d: state %s, worker %q, attempted %v; want running for %q at %v",
				j.ID, j.State, j.Worker, j.AttemptedAt, worker, now)
		}
	}
	return jobs
}

// jobIDs returns the ids of jobs, in order.
func jobIDs(jobs []*loam.Job) []int64 {
	out := make([]int64, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

// getJob reads a job that must exist.
func getJob(t *testing.T, s loam.JobStore, id int64) *loam.Job {
	t.Helper()
	j, err := s.GetJob(t.Context(), id)
	if err != nil {
		t.Fatalf("GetJob %d: %v", id, err)
	}
	return j
}

// finish applies outcomes and checks which were applied.
func finish(t *testing.T, s loam.JobStore, want []bool, outcomes ...loam.JobOutcome) {
	t.Helper()
	got, err := s.FinishJobs(t.Context(), outcomes)
	if err != nil {
		t.Fatalf("FinishJobs: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("FinishJobs applied %v, want %v", got, want)
	}
}

// outcome is the outcome of a claimed job's running attempt.
func outcome(j *loam.Job, state loam.JobState, at time.Time) loam.JobOutcome {
	return loam.JobOutcome{ID: j.ID, Attempt: j.Attempt, Worker: j.Worker, State: state, At: at, RunAt: at}
}

func testJobs(t *testing.T, open Opener) {
	runAll(t, open, []storeTest{
		{"InsertKeepsEveryField", func(t *testing.T, s loam.Store) {
			j := newJob("k", t0)
			j.Queue, j.Priority, j.Timeout, j.Tags = "mail", -2, 1500*time.Millisecond, []string{"a", "b c"}
			j.Args = json.RawMessage(`{"to":"ada@example.com","n":[1,2]}`)
			id := enqueue(t, s, j)[0]
			got := getJob(t, s, id)
			var args map[string]any
			if err := json.Unmarshal(got.Args, &args); err != nil || args["to"] != "ada@example.com" {
				t.Errorf("args = %s (%v)", got.Args, err)
			}
			if got.Kind != "k" || got.Queue != "mail" || got.State != loam.JobAvailable || got.Priority != -2 ||
				got.Attempt != 0 || got.MaxAttempts != 3 || got.Timeout != 1500*time.Millisecond ||
				!got.RunAt.Equal(t0) || !got.Created.Equal(t0) || !slices.Equal(got.Tags, []string{"a", "b c"}) ||
				len(got.Errors) != 0 || got.Result != nil || got.Worker != "" || !got.AttemptedAt.IsZero() ||
				!got.FinalizedAt.IsZero() || got.UniqueKey != "" {
				t.Errorf("stored job = %+v", got)
			}
			if _, err := s.GetJob(t.Context(), id+1000); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("GetJob of a missing job: %v, want ErrNotFound", err)
			}
		}},
		{"ClaimTakesTheBestFirst", func(t *testing.T, s loam.Store) {
			late := newJob("k", t0.Add(-time.Minute))
			early := newJob("k", t0.Add(-time.Hour))
			urgent := newJob("k", t0)
			urgent.Priority = -1
			other := newJob("other", t0.Add(-2*time.Hour))
			elsewhere := newJob("k", t0.Add(-2*time.Hour))
			elsewhere.Queue = "elsewhere"
			ids := enqueue(t, s, late, early, urgent, other, elsewhere)
			got := claim(t, s, "w1", t0, 2)
			if want := []int64{ids[2], ids[1]}; !slices.Equal(jobIDs(got), want) {
				t.Fatalf("claimed %v, want %v (priority, then run_at)", jobIDs(got), want)
			}
			if got[0].Attempt != 1 || !got[0].LeaseUntil.Equal(t0.Add(time.Minute)) {
				t.Errorf("claimed job: attempt %d lease %v", got[0].Attempt, got[0].LeaseUntil)
			}
			got = claim(t, s, "w2", t0, 5)
			if want := []int64{ids[0]}; !slices.Equal(jobIDs(got), want) {
				t.Fatalf("second claim got %v, want %v (not another kind, queue, or a claimed job)", jobIDs(got), want)
			}
			if got := claim(t, s, "w2", t0, 5, "k", "other"); !slices.Equal(jobIDs(got), []int64{ids[3]}) {
				t.Fatalf("claim with both kinds got %v, want the other kind's job", jobIDs(got))
			}
		}},
		{"ScheduledWaitsForItsTime", func(t *testing.T, s loam.Store) {
			id := enqueue(t, s, newJob("k", t0.Add(time.Hour)))[0]
			if j := getJob(t, s, id); j.State != loam.JobScheduled {
				t.Fatalf("a job for later is %s, want scheduled", j.State)
			}
			at, ok, err := s.NextJobDue(t.Context())
			if err != nil || !ok || !at.Equal(t0.Add(time.Hour)) {
				t.Fatalf("NextJobDue = %v %v %v, want %v", at, ok, err, t0.Add(time.Hour))
			}
			if got := claim(t, s, "w", t0, 5); len(got) != 0 {
				t.Fatalf("claimed %v before its time", jobIDs(got))
			}
			if got := claim(t, s, "w", t0.Add(time.Hour), 5); !slices.Equal(jobIDs(got), []int64{id}) {
				t.Fatalf("at its time, claimed %v", jobIDs(got))
			}
			if _, ok, err := s.NextJobDue(t.Context()); ok || err != nil {
				t.Fatalf("NextJobDue with nothing waiting = %v, %v", ok, err)
			}
		}},
		{"CompleteStoresTheResult", func(t *testing.T, s loam.Store) {
			enqueue(t, s, newJob("k", t0))
			j := claim(t, s, "w", t0, 1)[0]
			o := outcome(j, loam.JobCompleted, t0.Add(time.Second))
			o.Result = json.RawMessage(`{"sent":true}`)
			finish(t, s, []bool{true}, o)
			got := getJob(t, s, j.ID)
			if got.State != loam.JobCompleted || !got.FinalizedAt.Equal(t0.Add(time.Second)) || got.Worker != "" ||
				!got.LeaseUntil.IsZero() || got.Attempt != 1 {
				t.Errorf("completed job = %+v", got)
			}
			var res map[string]bool
			if err := json.Unmarshal(got.Result, &res); err != nil || !res["sent"] {
				t.Errorf("result = %s", got.Result)
			}
			// A second outcome for the same attempt finds it no longer running.
			finish(t, s, []bool{false}, outcome(j, loam.JobRetryable, t0.Add(2*time.Second)))
			if got := getJob(t, s, j.ID); got.State != loam.JobCompleted {
				t.Errorf("a stale outcome moved the job to %s", got.State)
			}
		}},
		{"OutcomesCompareAndSet", func(t *testing.T, s loam.Store) {
			enqueue(t, s, newJob("k", t0), newJob("k", t0))
			jobs := claim(t, s, "w", t0, 2)
			wrongAttempt := outcome(jobs[0], loam.JobCompleted, t0)
			wrongAttempt.Attempt = 2
			wrongWorker := outcome(jobs[1], loam.JobCompleted, t0)
			wrongWorker.Worker = "someone else"
			finish(t, s, []bool{false, false, true}, wrongAttempt, wrongWorker, outcome(jobs[1], loam.JobCompleted, t0))
			if got := getJob(t, s, jobs[0].ID); got.State != loam.JobRunning {
				t.Errorf("an outcome for another attempt moved the job to %s", got.State)
			}
		}},
		{"FailureRecordsEveryAttempt", func(t *testing.T, s loam.Store) {
			id := enqueue(t, s, newJob("k", t0))[0]
			now := t0
			for attempt := 1; attempt <= 3; attempt++ {
				got := claim(t, s, "w", now, 1)
				if !slices.Equal(jobIDs(got), []int64{id}) || got[0].Attempt != attempt {
					t.Fatalf("attempt %d: claimed %v", attempt, got)
				}
				o := outcome(got[0], loam.JobRetryable, now)
				o.RunAt = now.Add(time.Minute)
				if attempt == 3 {
					o.State = loam.JobDead
				}
				o.Error = &loam.JobError{Attempt: attempt, At: now, Error: fmt.Sprintf("boom %d", attempt)}
				finish(t, s, []bool{true}, o)
				j := getJob(t, s, id)
				if attempt < 3 {
					if j.State != loam.JobRetryable || !j.RunAt.Equal(now.Add(time.Minute)) {
						t.Fatalf("after failed attempt %d: %s at %v", attempt, j.State, j.RunAt)
					}
					if early := claim(t, s, "w", now.Add(time.Second), 1); len(early) != 0 {
						t.Fatalf("a retryable job was claimed before its backoff ended")
					}
				}
				now = now.Add(time.Minute)
			}
			j := getJob(t, s, id)
			if j.State != loam.JobDead || !j.FinalizedAt.Equal(t0.Add(2*time.Minute)) {
				t.Fatalf("after the last attempt: %s finalized %v", j.State, j.FinalizedAt)
			}
			if len(j.Errors) != 3 {
				t.Fatalf("errors = %+v, want 3", j.Errors)
			}
			for i, e := range j.Errors {
				if e.Attempt != i+1 || e.Error != fmt.Sprintf("boom %d", i+1) || !e.At.Equal(t0.Add(time.Duration(i)*time.Minute)) {
					t.Errorf("error %d = %+v", i, e)
				}
			}
			if got := claim(t, s, "w", now.Add(time.Hour), 1); len(got) != 0 {
				t.Fatal("a dead job was claimed")
			}
		}},
		{"SnoozeAndReleaseAreNotAttempts", func(t *testing.T, s loam.Store) {
			id := enqueue(t, s, newJob("k", t0))[0]
			j := claim(t, s, "w", t0, 1)[0]
			o := outcome(j, loam.JobScheduled, t0)
			o.RunAt, o.UndoAttempt = t0.Add(time.Hour), true
			finish(t, s, []bool{true}, o)
			if got := getJob(t, s, id); got.State != loam.JobScheduled || got.Attempt != 0 || !got.RunAt.Equal(t0.Add(time.Hour)) {
				t.Fatalf("snoozed job: %s attempt %d at %v", got.State, got.Attempt, got.RunAt)
			}
			j = claim(t, s, "w", t0.Add(time.Hour), 1)[0]
			if j.Attempt != 1 {
				t.Fatalf("after a snooze the next attempt is %d, want 1", j.Attempt)
			}
			o = outcome(j, loam.JobAvailable, t0.Add(time.Hour))
			o.UndoAttempt = true
			finish(t, s, []bool{true}, o)
			if got := getJob(t, s, id); got.State != loam.JobAvailable || got.Attempt != 0 || got.Worker != "" {
				t.Fatalf("released job: %s attempt %d worker %q", got.State, got.Attempt, got.Worker)
			}
			if got := claim(t, s, "w2", t0.Add(time.Hour), 1); !slices.Equal(jobIDs(got), []int64{id}) {
				t.Fatalf("a released job was not claimable: %v", jobIDs(got))
			}
		}},
		{"Cancel", func(t *testing.T, s loam.Store) {
			ids := enqueue(t, s, newJob("k", t0), newJob("k", t0.Add(time.Hour)), newJob("k", t0))
			running := claim(t, s, "w", t0, 1)[0]
			for _, id := range []int64{ids[1], running.ID} {
				j, err := s.CancelJob(t.Context(), id, t0.Add(time.Second))
				if err != nil || j.State != loam.JobCancelled || !j.FinalizedAt.Equal(t0.Add(time.Second)) {
					t.Fatalf("CancelJob %d = %+v, %v", id, j, err)
				}
			}
			if _, err := s.CancelJob(t.Context(), ids[1], t0); !errors.Is(err, loam.ErrConflict) {
				t.Errorf("cancelling a cancelled job: %v, want ErrConflict", err)
			}
			if _, err := s.CancelJob(t.Context(), ids[2]+100, t0); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("cancelling a missing job: %v, want ErrNotFound", err)
			}
			// The cancelled running job's worker loses it at its heartbeat,
			// and its outcome finds nothing to change.
			held, err := s.HeartbeatJobs(t.Context(), "w", []int64{running.ID}, t0.Add(time.Hour))
			if err != nil || len(held) != 0 {
				t.Fatalf("heartbeat of a cancelled job = %v, %v; want none held", held, err)
			}
			finish(t, s, []bool{false}, outcome(running, loam.JobCompleted, t0))
			if got := claim(t, s, "w", t0.Add(2*time.Hour), 5); len(got) != 1 || got[0].ID == ids[1] {
				t.Fatalf("claimed %v; want only the job never cancelled", jobIDs(got))
			}
		}},
		{"UniqueKeyKeepsOneJob", func(t *testing.T, s loam.Store) {
			first := newJob("k", t0)
			first.UniqueKey = `["k","order-1"]`
			id := enqueue(t, s, first)[0]
			again := newJob("k", t0)
			again.UniqueKey, again.Args = first.UniqueKey, json.RawMessage(`{"n":2}`)
			other := newJob("k", t0)
			other.UniqueKey = `["k","order-2"]`
			dup, err := s.InsertJobs(t.Context(), []*loam.Job{again, other})
			if err != nil || !slices.Equal(dup, []bool{true, false}) {
				t.Fatalf("InsertJobs = %v, %v; want the first a duplicate", dup, err)
			}
			if again.ID != id || string(again.Args) != `{"n": 1}` && string(again.Args) != `{"n":1}` {
				t.Fatalf("the duplicate was given job %d %s, want the existing job %d", again.ID, again.Args, id)
			}
			// A completed job still holds its key; a cancelled one frees it.
			j := claim(t, s, "w", t0, 1)[0]
			finish(t, s, []bool{true}, outcome(j, loam.JobCompleted, t0))
			third := newJob("k", t0)
			third.UniqueKey = first.UniqueKey
			if dup, err := s.InsertJobs(t.Context(), []*loam.Job{third}); err != nil || !dup[0] || third.State != loam.JobCompleted {
				t.Fatalf("after completion: dup %v err %v state %s; want the completed job", dup, err, third.State)
			}
			if _, err := s.CancelJob(t.Context(), other.ID, t0); err != nil {
				t.Fatal(err)
			}
			fourth := newJob("k", t0)
			fourth.UniqueKey = other.UniqueKey
			enqueue(t, s, fourth)
		}},
		{"BatchInsertGivesEachJobItsID", func(t *testing.T, s loam.Store) {
			held := newJob("k", t0)
			held.UniqueKey, held.Args = "held", json.RawMessage(`{"n":0}`)
			heldID := enqueue(t, s, held)[0]
			// Plain and unique jobs mixed: a key held by a stored job, a key
			// taken twice within the batch, fresh keys.
			var batch []*loam.Job
			for i := 1; i <= 12; i++ {
				j := newJob("k", t0)
				j.Args = json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))
				j.Tags = []string{fmt.Sprint("t", i)}
				switch i % 4 {
				case 1:
					j.UniqueKey = fmt.Sprint("fresh-", i)
				case 2:
					j.UniqueKey = "held"
				case 3:
					j.UniqueKey = "twice"
				}
				batch = append(batch, j)
			}
			dup, err := s.InsertJobs(t.Context(), batch)
			if err != nil {
				t.Fatalf("InsertJobs: %v", err)
			}
			var twice int64
			for i, j := range batch {
				n := i + 1
				switch {
				case n%4 == 2:
					if !dup[i] || j.ID != heldID {
						t.Errorf("job %d (key held): dup %v id %d, want the held job %d", n, dup[i], j.ID, heldID)
					}
					continue
				case n == 3:
					twice = j.ID
				case n%4 == 3:
					if !dup[i] || j.ID != twice {
						t.Errorf("job %d (key taken earlier in the batch): dup %v id %d, want job %d", n, dup[i], j.ID, twice)
					}
					continue
				}
				if dup[i] {
					t.Errorf("job %d reported a duplicate", n)
					continue
				}
				got := getJob(t, s, j.ID)
				var args struct{ N int }
				if err := json.Unmarshal(got.Args, &args); err != nil || args.N != n || got.UniqueKey != j.UniqueKey ||
					!slices.Equal(got.Tags, []string{fmt.Sprint("t", n)}) {
					t.Errorf("job %d got id %d, which holds args %s, key %q, tags %v", n, j.ID, got.Args, got.UniqueKey, got.Tags)
				}
			}
		}},
		{"BatchFinishAppliesEachOutcome", func(t *testing.T, s loam.Store) {
			var fresh []*loam.Job
			for range 6 {
				fresh = append(fresh, newJob("k", t0))
			}
			enqueue(t, s, fresh...)
			js := claim(t, s, "w", t0, 6)
			t1 := t0.Add(time.Second)
			stale := outcome(js[5], loam.JobCompleted, t1)
			stale.Attempt++ // an attempt that is not the running one
			finish(t, s, []bool{true, true, true, true, true, false},
				loam.JobOutcome{ID: js[0].ID, Attempt: 1, Worker: "w", State: loam.JobCompleted, At: t1, Result: json.RawMessage(`{"ok":1}`)},
				loam.JobOutcome{ID: js[1].ID, Attempt: 1, Worker: "w", State: loam.JobRetryable, At: t1, RunAt: t1.Add(time.Minute),
					Error: &loam.JobError{Attempt: 1, At: t1, Error: "boom"}},
				loam.JobOutcome{ID: js[2].ID, Attempt: 1, Worker: "w", State: loam.JobScheduled, At: t1, RunAt: t1.Add(time.Hour), UndoAttempt: true},
				loam.JobOutcome{ID: js[3].ID, Attempt: 1, Worker: "w", State: loam.JobDead, At: t1,
					Error: &loam.JobError{Attempt: 1, At: t1, Error: "fatal"}},
				loam.JobOutcome{ID: js[4].ID, Attempt: 1, Worker: "w", State: loam.JobCancelled, At: t1},
				stale)
			want := []struct {
				state   loam.JobState
				attempt int
				errs    int
				final   bool
			}{{loam.JobCompleted, 1, 0, true}, {loam.JobRetryable, 1, 1, false}, {loam.JobScheduled, 0, 0, false},
				{loam.JobDead, 1, 1, true}, {loam.JobCancelled, 1, 0, true}, {loam.JobRunning, 1, 0, false}}
			for i, w := range want {
				got := getJob(t, s, js[i].ID)
				if got.State != w.state || got.Attempt != w.attempt || len(got.Errors) != w.errs || got.FinalizedAt.IsZero() == w.final {
					t.Errorf("job %d: state %s attempt %d errors %v finalized %v; want %s, %d, %d errors, finalized %v",
						i, got.State, got.Attempt, got.Errors, got.FinalizedAt, w.state, w.attempt, w.errs, w.final)
				}
				if got.State != loam.JobRunning && (got.Worker != "" || !got.LeaseUntil.IsZero()) {
					t.Errorf("job %d still names worker %q until %v", i, got.Worker, got.LeaseUntil)
				}
			}
			if got := getJob(t, s, js[0].ID); !strings.Contains(string(got.Result), `"ok"`) {
				t.Errorf("result %s", got.Result)
			}
			if got := getJob(t, s, js[1].ID); !got.RunAt.Equal(t1.Add(time.Minute)) || got.Errors[0].Error != "boom" {
				t.Errorf("retryable job: run at %v, errors %v", got.RunAt, got.Errors)
			}
			if got := getJob(t, s, js[2].ID); !got.RunAt.Equal(t1.Add(time.Hour)) {
				t.Errorf("snoozed job runs at %v", got.RunAt)
			}
		}},
		{"ConcurrentUniqueInsertsStoreOne", func(t *testing.T, s loam.Store) {
			const n = 8
			got := make([]*loam.Job, n)
			errs := concurrently(n, func(i int) error {
				j := newJob("k", t0)
				j.UniqueKey = "same"
				got[i] = j
				_, err := s.InsertJobs(t.Context(), []*loam.Job{j})
				return err
			})
			for i, err := range errs {
				if err != nil {
					t.Fatalf("insert %d: %v", i, err)
				}
				if got[i].ID != got[0].ID {
					t.Fatalf("inserts of one key gave jobs %d and %d", got[0].ID, got[i].ID)
				}
			}
			if jobs := claim(t, s, "w", t0, 10); len(jobs) != 1 {
				t.Fatalf("%d jobs stored for one unique key", len(jobs))
			}
		}},
		{"ConcurrentClaimsNeverShareAJob", func(t *testing.T, s loam.Store) {
			const jobs, claimers = 40, 4
			for range jobs / 10 {
				batch := make([]*loam.Job, 10)
				for i := range batch {
					batch[i] = newJob("k", t0)
				}
				enqueue(t, s, batch...)
			}
			var mu sync.Mutex
			seen := map[int64]string{}
			errs := concurrently(claimers, func(i int) error {
				worker := fmt.Sprintf("w%d", i)
				for {
					got, err := s.ClaimJobs(t.Context(), loam.JobClaim{Worker: worker, Now: t0, LeaseUntil: t0.Add(time.Minute),
						Kinds: []string{"k"}, Queues: []loam.QueueClaim{{Queue: "default", Max: 3}}})
					if err != nil {
						return err
					}
					if len(got) == 0 {
						return nil
					}
					mu.Lock()
					for _, j := range got {
						if w, ok := seen[j.ID]; ok {
							mu.Unlock()
							return fmt.Errorf("job %d claimed by %s and %s", j.ID, w, worker)
						}
						seen[j.ID] = worker
					}
					mu.Unlock()
				}
			})
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if len(seen) != jobs {
				t.Fatalf("%d jobs claimed, want %d", len(seen), jobs)
			}
		}},
		{"QueueLimitHoldsAcrossClaimers", func(t *testing.T, s loam.Store) {
			const limit = 3
			batch := make([]*loam.Job, 20)
			for i := range batch {
				batch[i] = newJob("k", t0)
				batch[i].Queue = "limited"
			}
			enqueue(t, s, batch...)
			claimLimited := func(worker string) ([]*loam.Job, error) {
				return s.ClaimJobs(t.Context(), loam.JobClaim{Worker: worker, Now: t0, LeaseUntil: t0.Add(time.Minute),
					Kinds: []string{"k"}, Queues: []loam.QueueClaim{{Queue: "limited", Max: 5, Limit: limit}}})
			}
			var mu sync.Mutex
			var claimed []*loam.Job
			errs := concurrently(6, func(i int) error {
				got, err := claimLimited(fmt.Sprintf("w%d", i))
				mu.Lock()
				claimed = append(claimed, got...)
				mu.Unlock()
				return err
			})
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if len(claimed) != limit {
				t.Fatalf("six concurrent claimers took %d jobs of a queue limited to %d", len(claimed), limit)
			}
			// A finished job frees one place, and only one.
			finish(t, s, []bool{true}, outcome(claimed[0], loam.JobCompleted, t0))
			got, err := claimLimited("late")
			if err != nil || len(got) != 1 {
				t.Fatalf("after one completion a claim got %d jobs (%v), want 1", len(got), err)
			}
		}},
		{"ExpiredLeasesAreRescued", func(t *testing.T, s loam.Store) {
			ids := enqueue(t, s, newJob("k", t0), newJob("k", t0))
			last := newJob("k", t0)
			last.MaxAttempts = 1
			lastID := enqueue(t, s, last)[0]
			jobs := claim(t, s, "w", t0, 3) // leases end at t0+1m
			// The worker renews two of them; the third is past its lease.
			held, err := s.HeartbeatJobs(t.Context(), "w", []int64{ids[0], lastID}, t0.Add(2*time.Minute))
			if err != nil || !sameIDs(held, []int64{ids[0], lastID}) {
				t.Fatalf("heartbeat held %v, %v", held, err)
			}
			if held, _ := s.HeartbeatJobs(t.Context(), "other", []int64{ids[1]}, t0.Add(time.Hour)); len(held) != 0 {
				t.Fatalf("another worker's heartbeat extended %v", held)
			}
			if n, err := s.RescueJobs(t.Context(), t0.Add(time.Minute)); err != nil || n != 0 {
				t.Fatalf("rescue at the lease's end = %d, %v; want 0 (a lease holds until it is past)", n, err)
			}
			n, err := s.RescueJobs(t.Context(), t0.Add(90*time.Second))
			if err != nil || n != 1 {
				t.Fatalf("rescue = %d, %v; want the one unrenewed job", n, err)
			}
			lost := getJob(t, s, ids[1])
			if lost.State != loam.JobRetryable || lost.Worker != "" || len(lost.Errors) != 1 ||
				lost.Errors[0].Attempt != 1 || !strings.Contains(lost.Errors[0].Error, "lease expired") ||
				!lost.Errors[0].At.Equal(t0.Add(90*time.Second)) {
				t.Fatalf("rescued job = %+v", lost)
			}
			if got := getJob(t, s, ids[0]); got.State != loam.JobRunning {
				t.Fatalf("a renewed job was rescued: %s", got.State)
			}
			// Its old worker can no longer finish it; a new claim runs attempt 2.
			var old *loam.Job
			for _, j := range jobs {
				if j.ID == ids[1] {
					old = j
				}
			}
			finish(t, s, []bool{false}, outcome(old, loam.JobCompleted, t0.Add(91*time.Second)))
			again := claim(t, s, "w2", t0.Add(91*time.Second), 5)
			if !slices.Equal(jobIDs(again), []int64{ids[1]}) || again[0].Attempt != 2 {
				t.Fatalf("after rescue claimed %+v", again)
			}
			if n, _ := s.RescueJobs(t.Context(), t0.Add(3*time.Minute)); n != 3 {
				t.Fatalf("rescue after every lease = %d, want 3", n)
			}
			if got := getJob(t, s, lastID); got.State != loam.JobDead || got.FinalizedAt.IsZero() {
				t.Fatalf("a job rescued at its last attempt is %s, want dead", got.State)
			}
		}},
		{"PruneDeletesOldCompletedOnly", func(t *testing.T, s loam.Store) {
			ids := enqueue(t, s, newJob("k", t0), newJob("k", t0), newJob("k", t0), newJob("k", t0))
			jobs := claim(t, s, "w", t0, 4)
			finish(t, s, []bool{true, true, true}, outcome(jobs[0], loam.JobCompleted, t0),
				outcome(jobs[1], loam.JobCompleted, t0.Add(time.Hour)), outcome(jobs[2], loam.JobDead, t0))
			n, err := s.PruneJobs(t.Context(), t0.Add(time.Minute), 100)
			if err != nil || n != 1 {
				t.Fatalf("PruneJobs = %d, %v; want 1", n, err)
			}
			if _, err := s.GetJob(t.Context(), ids[0]); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("the old completed job is still there: %v", err)
			}
			for _, id := range ids[1:] {
				getJob(t, s, id)
			}
		}},
		{"EnqueueInTransaction", testJobsInTx},
		{"ScheduleTicksRunOnce", testScheduleTicks},
		{"ListFiltersSortsAndPages", testListJobs},
		{"RetryMakesAJobAvailable", testRetryJob},
		{"StoredSchedules", testStoredSchedules},
	})
}

// testScheduleTicks: a schedule's handled time only moves forward, and the
// call that moves it past a tick is the one that inserts the tick's job,
// however many call at once.
func testScheduleTicks(t *testing.T, s loam.Store) {
	ctx := t.Context()
	if _, ok, err := s.LastScheduleTick(ctx, "nightly"); ok || err != nil {
		t.Fatalf("a schedule never seen: ok %v, err %v", ok, err)
	}
	advance := func(tick, to time.Time, kind string) bool {
		t.Helper()
		var j *loam.Job
		if kind != "" {
			j = newJob(kind, tick)
		}
		ok, err := s.AdvanceSchedule(ctx, "nightly", tick, to, j)
		if err != nil {
			t.Fatalf("AdvanceSchedule(%v): %v", tick, err)
		}
		return ok
	}
	wantLast := func(want time.Time) {
		t.Helper()
		at, ok, err := s.LastScheduleTick(ctx, "nightly")
		if err != nil || !ok || !at.Equal(want) {
			t.Fatalf("LastScheduleTick = %v %v %v, want %v", at, ok, err, want)
		}
	}
	t1, t2, t3 := t0.Add(-3*time.Hour), t0.Add(-2*time.Hour), t0.Add(-time.Hour)
	if !advance(t1, t1, "tick1") {
		t.Fatal("the first tick of a new schedule did not advance it")
	}
	wantLast(t1)
	if advance(t1, t1, "tick1") || advance(t1.Add(-time.Hour), t1, "old") {
		t.Fatal("a tick already handled advanced the schedule again")
	}
	if !advance(t2, t2.Add(30*time.Minute), "") {
		t.Fatal("a later tick without a job did not advance it")
	}
	wantLast(t2.Add(30 * time.Minute))
	var won atomic.Int32
	errs := concurrently(8, func(int) error {
		ok, err := s.AdvanceSchedule(ctx, "nightly", t3, t3, newJob("tick3", t3))
		if ok {
			won.Add(1)
		}
		return err
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if won.Load() != 1 {
		t.Fatalf("%d of 8 concurrent calls advanced past one tick, want 1", won.Load())
	}
	wantLast(t3)
	// With no tick (the zero time) it only creates a missing schedule.
	if ok, err := s.AdvanceSchedule(ctx, "nightly", time.Time{}, t0, nil); ok || err != nil {
		t.Fatalf("AdvanceSchedule with no tick moved a known schedule: %v, %v", ok, err)
	}
	wantLast(t3)
	if ok, err := s.AdvanceSchedule(ctx, "weekly", time.Time{}, t0, nil); !ok || err != nil {
		t.Fatalf("AdvanceSchedule with no tick did not create a new schedule: %v, %v", ok, err)
	}
	for kind, want := range map[string]int{"tick1": 1, "old": 0, "tick3": 1} {
		if got := claim(t, s, "w", t0, 10, kind); len(got) != want {
			t.Errorf("%d jobs of %s, want %d", len(got), kind, want)
		}
	}
}

// testJobsInTx: a job inserted through InTx's store commits or vanishes
// with the transaction's record writes.
func testJobsInTx(t *testing.T, s loam.Store) {
	c := createCollection(t, s, authorsCollection())
	for _, commit := range []bool{false, true} {
		r := newRecord(c, map[string]any{"name": fmt.Sprint(commit)})
		j := newJob("k", t0)
		errRollback := errors.New("roll back")
		err := s.InTx(t.Context(), func(tx loam.RecordStore) error {
			js, ok := tx.(loam.JobStore)
			if !ok {
				return fmt.Errorf("InTx's store %T keeps no jobs", tx)
			}
			if err := tx.InsertRecord(t.Context(), c, r); err != nil {
				return err
			}
			if _, err := js.InsertJobs(t.Context(), []*loam.Job{j}); err != nil {
				return err
			}
			// The transaction sees its own job.
			if _, err := js.GetJob(t.Context(), j.ID); err != nil {
				return fmt.Errorf("the transaction does not see its job: %w", err)
			}
			if !commit {
				return errRollback
			}
			return nil
		})
		if commit {
			if err != nil {
				t.Fatal(err)
			}
			get(t, s, c, r.ID)
			if got := claim(t, s, "w", t0, 5); !slices.Equal(jobIDs(got), []int64{j.ID}) {
				t.Fatalf("after commit claimed %v, want job %d", jobIDs(got), j.ID)
			}
			continue
		}
		if !errors.Is(err, errRollback) {
			t.Fatalf("InTx = %v", err)
		}
		gone(t, s, c, r.ID)
		if _, err := s.GetJob(t.Context(), j.ID); !errors.Is(err, loam.ErrNotFound) {
			t.Fatalf("a rolled-back job is still there: %v", err)
		}
		if got := claim(t, s, "w", t0, 5); len(got) != 0 {
			t.Fatalf("a rolled-back job was claimed: %v", jobIDs(got))
		}
	}
}

// sameIDs compares two id sets.
func sameIDs(a, b []int64) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
