package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"loam"
	"loam/expr"
)

// jobSchema gives the filter language the fields of jobs.
type jobSchema struct{}

func (jobSchema) Field(collection, name string) (expr.Field, bool) {
	f, ok := loam.JobFields[name]
	return f, ok && collection == "_jobs"
}

// jobCond parses, checks and binds a job filter at t0.
func jobCond(t *testing.T, filter string) expr.Cond {
	t.Helper()
	c, err := expr.ParseCheck(filter, jobSchema{}, "_jobs", expr.Options{Hidden: true})
	if err != nil {
		t.Fatalf("filter %q: %v", filter, err)
	}
	return expr.Bind(c, &expr.Env{Now: t0})
}

func testListJobs(t *testing.T, s loam.Store) {
	// 24 jobs: kinds a, b, c in turn; priorities 0..3; every fourth tagged
	// "vip"; run times spread around t0.
	var all []*loam.Job
	for i := range 24 {
		j := newJob(string(rune('a'+i%3)), t0.Add(time.Duration(i-12)*time.Minute))
		j.Priority = i % 4
		if i%4 == 0 {
			j.Tags = []string{"vip", fmt.Sprint("n", i)}
		}
		all = append(all, j)
	}
	enqueue(t, s, all...)
	// Two of kind a fail once, one of them for good.
	got := claim(t, s, "w", t0, 2, "a")
	finish(t, s, []bool{true, true},
		loam.JobOutcome{ID: got[0].ID, Attempt: 1, Worker: "w", State: loam.JobDead, At: t0, Error: &loam.JobError{Attempt: 1, At: t0, Error: "x"}},
		loam.JobOutcome{ID: got[1].ID, Attempt: 1, Worker: "w", State: loam.JobRetryable, At: t0, RunAt: t0.Add(time.Hour),
			Error: &loam.JobError{Attempt: 1, At: t0, Error: "y"}})
	failed := []int64{got[0].ID, got[1].ID}
	idsWhere := func(keep func(i int, j *loam.Job) bool) []int64 {
		var ids []int64
		for i, j := range all {
			if keep(i, j) {
				ids = append(ids, j.ID)
			}
		}
		return ids
	}
	list := func(q loam.JobQuery) *loam.JobList {
		t.Helper()
		l, err := s.ListJobs(t.Context(), q)
		if err != nil {
			t.Fatalf("ListJobs: %v", err)
		}
		return l
	}
	for _, tc := range []struct {
		filter string
		want   []int64
	}{
		{`kind = "b" && priority >= 2`, idsWhere(func(i int, _ *loam.Job) bool { return i%3 == 1 && i%4 >= 2 })},
		{`tags ?= "vip"`, idsWhere(func(i int, _ *loam.Job) bool { return i%4 == 0 })},
		{`tags:length = 0 && kind = "c"`, idsWhere(func(i int, _ *loam.Job) bool { return i%4 != 0 && i%3 == 2 })},
		{`runAt < @now && kind = "c"`, idsWhere(func(i int, _ *loam.Job) bool { return i < 12 && i%3 == 2 })},
		{`errors:length > 0`, failed},
		{`state = "dead" || state = "retryable"`, failed},
		{`attempt = 1 && worker = null`, failed},
		{`id = ` + strconv.FormatInt(all[5].ID, 10), []int64{all[5].ID}},
	} {
		l := list(loam.JobQuery{Where: jobCond(t, tc.filter), PerPage: 100})
		if !sameIDs(jobIDs(l.Items), tc.want) || l.TotalItems != int64(len(tc.want)) {
			t.Errorf("filter %s: %v (total %d), want %v", tc.filter, jobIDs(l.Items), l.TotalItems, tc.want)
		}
	}
	// Sorted by priority going down, then run time: pages by cursor are the
	// slices of one big page, and so are pages by number.
	sort := []loam.SortKey{{Field: "priority", Desc: true}, {Field: "runAt"}}
	whole := list(loam.JobQuery{Sort: sort, PerPage: 100})
	for i := 1; i < len(whole.Items); i++ {
		a, b := whole.Items[i-1], whole.Items[i]
		if a.Priority < b.Priority || a.Priority == b.Priority && a.RunAt.After(b.RunAt) {
			t.Fatalf("jobs %d and %d are out of order", a.ID, b.ID)
		}
	}
	var paged []int64
	q := loam.JobQuery{Sort: sort, PerPage: 5, SkipTotal: true}
	for n := 0; n < 10; n++ {
		l := list(q)
		if l.TotalItems != -1 {
			t.Errorf("a page with SkipTotal counted %d", l.TotalItems)
		}
		paged = append(paged, jobIDs(l.Items)...)
		if l.Next == nil {
			break
		}
		q.After = l.Next
	}
	if !slices.Equal(paged, jobIDs(whole.Items)) {
		t.Errorf("pages by cursor %v, want %v", paged, jobIDs(whole.Items))
	}
	if p3 := list(loam.JobQuery{Sort: sort, Page: 3, PerPage: 5}); !slices.Equal(jobIDs(p3.Items), jobIDs(whole.Items[10:15])) || p3.TotalItems != 24 {
		t.Errorf("page 3 = %v (total %d), want %v", jobIDs(p3.Items), p3.TotalItems, jobIDs(whole.Items[10:15]))
	}
	// Filters and cursors together, in the default order (id).
	var vip []int64
	q = loam.JobQuery{Where: jobCond(t, `tags ?= "vip"`), PerPage: 2}
	for {
		l := list(q)
		vip = append(vip, jobIDs(l.Items)...)
		if l.Next == nil {
			break
		}
		q.After = l.Next
	}
	if want := idsWhere(func(i int, _ *loam.Job) bool { return i%4 == 0 }); !slices.Equal(vip, want) {
		t.Errorf("vip jobs by cursor %v, want %v", vip, want)
	}
	if _, err := s.ListJobs(t.Context(), loam.JobQuery{Sort: []loam.SortKey{{Field: "tags"}}}); loam.CodeOf(err) != loam.CodeInvalidSort {
		t.Errorf("sort by tags: %v, want invalid_sort", err)
	}
}

func testRetryJob(t *testing.T, s loam.Store) {
	ctx := t.Context()
	unique := newJob("k", t0)
	unique.UniqueKey = "only"
	last := newJob("k", t0)
	last.MaxAttempts = 1
	ids := enqueue(t, s, last, newJob("k", t0), unique)
	js := claim(t, s, "w", t0, 3)
	t1 := t0.Add(time.Minute)
	finish(t, s, []bool{true, true},
		loam.JobOutcome{ID: ids[0], Attempt: 1, Worker: "w", State: loam.JobDead, At: t0, Error: &loam.JobError{Attempt: 1, At: t0, Error: "x"}},
		loam.JobOutcome{ID: ids[2], Attempt: 1, Worker: "w", State: loam.JobCancelled, At: t0})
	// A dead job that used its attempts gets one more, and keeps its errors.
	j, err := s.RetryJob(ctx, ids[0], t1)
	if err != nil {
		t.Fatalf("RetryJob: %v", err)
	}
	if j.State != loam.JobAvailable || !j.RunAt.Equal(t1) || !j.FinalizedAt.IsZero() || j.Attempt != 1 ||
		j.MaxAttempts != 2 || len(j.Errors) != 1 {
		t.Errorf("retried job = %+v", j)
	}
	if again := claim(t, s, "w2", t1, 5); !slices.Equal(jobIDs(again), []int64{ids[0]}) || again[0].Attempt != 2 {
		t.Errorf("after retry claimed %v", jobIDs(again))
	}
	if _, err := s.RetryJob(ctx, js[1].ID, t1); !errors.Is(err, loam.ErrConflict) {
		t.Errorf("retry of a running job: %v, want conflict", err)
	}
	if _, err := s.RetryJob(ctx, ids[2]+100, t1); !errors.Is(err, loam.ErrNotFound) {
		t.Errorf("retry of a missing job: %v, want not found", err)
	}
	// A cancelled unique job whose key another job took since cannot come back.
	other := newJob("k", t0)
	other.UniqueKey = "only"
	enqueue(t, s, other)
	if _, err := s.RetryJob(ctx, ids[2], t1); !errors.Is(err, loam.ErrConflict) {
		t.Errorf("retry of a cancelled job whose key is taken: %v, want conflict", err)
	}
	if got := getJob(t, s, ids[2]); got.State != loam.JobCancelled {
		t.Errorf("the refused retry changed the job to %s", got.State)
	}
}

func testStoredSchedules(t *testing.T, s loam.Store) {
	ctx := t.Context()
	sc := &loam.Schedule{Name: "digest", Spec: "0 8 * * mon-fri", Kind: "mail", Args: json.RawMessage(`{"to":["a@example.com"]}`),
		Timezone: "Europe/Paris", Missed: loam.ScheduleRunMissedOnce, Grace: 90 * time.Second, Queue: "mail", Priority: -1,
		MaxAttempts: 4, Timeout: 30 * time.Second, Tags: []string{"daily"}, LastTick: t0.Add(-time.Millisecond),
		Created: t0, Updated: t0}
	if err := s.CreateSchedule(ctx, sc); err != nil {
		t.Fatalf("CreateSchedule: %v", err)
	}
	got, err := s.GetSchedule(ctx, "digest")
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec != sc.Spec || got.Kind != "mail" || string(got.Args) != `{"to": ["a@example.com"]}` && string(got.Args) != string(sc.Args) ||
		got.Timezone != "Europe/Paris" || got.Missed != "once" || got.Grace != sc.Grace || got.Queue != "mail" ||
		got.Priority != -1 || got.MaxAttempts != 4 || got.Timeout != sc.Timeout || !slices.Equal(got.Tags, sc.Tags) ||
		got.Paused || !got.LastTick.Equal(sc.LastTick) || !got.Created.Equal(t0) || !got.Updated.Equal(t0) {
		t.Errorf("stored schedule = %+v, want %+v", got, sc)
	}
	if err := s.CreateSchedule(ctx, sc); !errors.Is(err, loam.ErrConflict) {
		t.Errorf("a second schedule of one name: %v, want conflict", err)
	}
	// A schedule declared in Go, once run, has a row: its name is taken,
	// but it is no stored schedule.
	if _, err := s.AdvanceSchedule(ctx, "in-go", time.Time{}, t0, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSchedule(ctx, &loam.Schedule{Name: "in-go", Spec: "@daily", Kind: "k", Created: t0, Updated: t0, LastTick: t0}); !errors.Is(err, loam.ErrConflict) {
		t.Errorf("a schedule named like one declared in Go: %v, want conflict", err)
	}
	for _, name := range []string{"in-go", "missing"} {
		if _, err := s.GetSchedule(ctx, name); !errors.Is(err, loam.ErrNotFound) {
			t.Errorf("GetSchedule %s: %v, want not found", name, err)
		}
		if err := s.UpdateSchedule(ctx, &loam.Schedule{Name: name, Spec: "@daily", Kind: "k", Updated: t0}); !errors.Is(err, loam.ErrNotFound) {
			t.Errorf("UpdateSchedule %s: %v, want not found", name, err)
		}
		if err := s.DeleteSchedule(ctx, name); !errors.Is(err, loam.ErrNotFound) {
			t.Errorf("DeleteSchedule %s: %v, want not found", name, err)
		}
	}
	// Ticks move the handled time and keep the definition; an update keeps
	// the handled time.
	if ok, err := s.AdvanceSchedule(ctx, "digest", t0.Add(time.Hour), t0.Add(time.Hour), nil); !ok || err != nil {
		t.Fatalf("AdvanceSchedule: %v %v", ok, err)
	}
	changed := *got
	changed.Spec, changed.Paused, changed.Tags, changed.Updated = "@every 1m", true, nil, t0.Add(2*time.Hour)
	changed.LastTick, changed.Created = time.Time{}, time.Time{}
	if err := s.UpdateSchedule(ctx, &changed); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetSchedule(ctx, "digest")
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec != "@every 1m" || !got.Paused || len(got.Tags) != 0 || got.Kind != "mail" || !got.LastTick.Equal(t0.Add(time.Hour)) ||
		!got.Created.Equal(t0) || !got.Updated.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("updated schedule = %+v", got)
	}
	if err := s.CreateSchedule(ctx, &loam.Schedule{Name: "alpha", Spec: "@hourly", Kind: "http", Created: t0, Updated: t0, LastTick: t0}); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListSchedules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range list {
		names = append(names, x.Name)
	}
	if !slices.Equal(names, []string{"alpha", "digest"}) {
		t.Errorf("ListSchedules = %v, want alpha and digest (not the one declared in Go)", names)
	}
	if err := s.DeleteSchedule(ctx, "digest"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSchedule(ctx, "digest"); !errors.Is(err, loam.ErrNotFound) {
		t.Errorf("a deleted schedule: %v", err)
	}
}
