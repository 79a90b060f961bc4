package api

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"loam"
	"loam/jobs"
)

// The jobs and schedules routes are for superusers (and their API keys
// that reach the jobs area).
// Their answers are built from these types.

// jobJSON is a job as answered.
type jobJSON struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	Queue       string          `json:"queue"`
	State       string          `json:"state"`
	Priority    int             `json:"priority"`
	Args        json.RawMessage `json:"args"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"maxAttempts"`
	Timeout     float64         `json:"timeout"`
	RunAt       string          `json:"runAt"`
	Created     string          `json:"created"`
	AttemptedAt *string         `json:"attemptedAt"`
	FinalizedAt *string         `json:"finalizedAt"`
	Worker      *string         `json:"worker"`
	LeaseUntil  *string         `json:"leaseUntil"`
	UniqueKey   *string         `json:"uniqueKey"`
	Tags        []string        `json:"tags"`
	Errors      []jobErrorJSON  `json:"errors"`
	Result      json.RawMessage `json:"result"`
	Duplicate   *bool           `json:"duplicate,omitempty"`
}

type jobErrorJSON struct {
	Attempt int    `json:"attempt"`
	At      string `json:"at"`
	Error   string `json:"error"`
}

func timeText(t time.Time) string { return string(loam.AppendTime(nil, t)) }

// optTime is a time that may be missing (the zero time): null.
func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := timeText(t)
	return &s
}

func optText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// seconds is a duration as answered: seconds with milliseconds; a
// negative one is -1.
func seconds(d time.Duration) float64 {
	if d < 0 {
		return -1
	}
	return float64(d.Milliseconds()) / 1000
}

func toJobJSON(j *loam.Job) *jobJSON {
	out := &jobJSON{ID: j.ID, Kind: j.Kind, Queue: j.Queue, State: string(j.State), Priority: j.Priority, Args: j.Args,
		Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, Timeout: seconds(j.Timeout), RunAt: timeText(j.RunAt),
		Created: timeText(j.Created), AttemptedAt: optTime(j.AttemptedAt), FinalizedAt: optTime(j.FinalizedAt),
		Worker: optText(j.Worker), LeaseUntil: optTime(j.LeaseUntil), UniqueKey: optText(j.UniqueKey), Tags: j.Tags,
		Errors: make([]jobErrorJSON, len(j.Errors)), Result: j.Result}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if len(out.Args) == 0 {
		out.Args = json.RawMessage("null")
	}
	for i, e := range j.Errors {
		out.Errors[i] = jobErrorJSON{Attempt: e.Attempt, At: timeText(e.At), Error: e.Error}
	}
	return out
}

// listJSON is a page of a list, as records lists are answered.
type listJSON[T any] struct {
	Items      []T    `json:"items"`
	Page       int    `json:"page"`
	PerPage    int    `json:"perPage"`
	TotalItems int64  `json:"totalItems"`
	TotalPages int64  `json:"totalPages"`
	NextCursor string `json:"nextCursor,omitempty"`
}

func newListJSON[T any](items []T, page, perPage int, total int64, next string) listJSON[T] {
	pages := int64(-1)
	if total >= 0 {
		pages = (total + int64(perPage) - 1) / int64(perPage)
	}
	if items == nil {
		items = []T{}
	}
	return listJSON[T]{Items: items, Page: page, PerPage: perPage, TotalItems: total, TotalPages: pages, NextCursor: next}
}

// superuser answers 401 or 403 and returns false unless the caller is a
// superuser (with an API key, one that reaches the jobs area: jobs and
// schedules).
func superuser(w http.ResponseWriter, r *http.Request, what string) bool {
	var e *loam.Error
	if err := PrincipalFrom(r).InArea(loam.AreaJobs); errors.As(err, &e) {
		WriteError(w, r, loam.Errorf(e.Code, "%s: %s", what, e.Message))
		return false
	}
	return true
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	if !superuser(w, r, "listing jobs") {
		return
	}
	q, err := parseListQuery(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	list, next, err := s.jobs.List(r.Context(), q)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	items := make([]*jobJSON, len(list.Items))
	for i, j := range list.Items {
		items[i] = toJobJSON(j)
	}
	writeJSON(w, http.StatusOK, newListJSON(items, list.Page, list.PerPage, list.TotalItems, next))
}

// jobID reads the route's job id; a malformed one names no job.
func jobID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, loam.Errorf(loam.CodeNotFound, "no job %q", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	s.jobAction(w, r, "reading a job", s.jobs.Get)
}

func (s *Server) retryJob(w http.ResponseWriter, r *http.Request) {
	s.jobAction(w, r, "retrying a job", s.jobs.Retry)
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) {
	s.jobAction(w, r, "cancelling a job", s.jobs.Cancel)
}

// jobAction answers the job that fn returns for the route's id.
func (s *Server) jobAction(w http.ResponseWriter, r *http.Request, what string, fn func(context.Context, int64) (*loam.Job, error)) {
	if !superuser(w, r, what) {
		return
	}
	id, err := jobID(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	j, err := fn(r.Context(), id)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toJobJSON(j))
}

// enqueueJob answers POST /api/jobs: 201 with the new job, or 200 with the
// job that holds the unique key ("duplicate": true).
func (s *Server) enqueueJob(w http.ResponseWriter, r *http.Request) {
	if !superuser(w, r, "enqueueing a job") {
		return
	}
	body, err := readObject(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	m := members{body: body}
	var kind string
	var args json.RawMessage
	var o jobs.Opts
	m.text("kind", &kind, true)
	if raw, ok := body["args"]; ok {
		args = raw
	} else {
		m.fe.Add("args", loam.FieldRequired, "is required")
	}
	m.text("queue", &o.Queue, false)
	m.integer("priority", &o.Priority, math.MinInt32, math.MaxInt32)
	m.time("runAt", &o.RunAt)
	m.seconds("delay", &o.Delay, 0)
	m.integer("maxAttempts", &o.MaxAttempts, 1, 10000)
	m.seconds("timeout", &o.Timeout, 0.001)
	m.text("uniqueKey", &o.UniqueKey, false)
	m.seconds("uniquePeriod", &o.UniquePeriod, 1)
	m.texts("tags", &o.Tags)
	if !o.RunAt.IsZero() && o.Delay != 0 {
		m.fe.Add("delay", loam.FieldInvalid, "send runAt or delay, not both")
	}
	if o.UniquePeriod != 0 && o.UniqueKey == "" {
		m.fe.Add("uniquePeriod", loam.FieldInvalid, "needs a uniqueKey")
	}
	if o.Queue != "" && !validName(o.Queue) {
		m.fe.Add("queue", loam.FieldPattern, "must be 1 to 100 of A-Z a-z 0-9 _ . : -")
	}
	if kind != "" {
		// Every problem at once: the arguments' with the options'.
		if _, err := s.jobs.CheckJSON(kind, args); m.merge(err) != nil {
			WriteError(w, r, err)
			return
		}
	}
	if err := m.done("kind", "args", "queue", "priority", "runAt", "delay", "maxAttempts", "timeout", "uniqueKey",
		"uniquePeriod", "tags"); err != nil {
		WriteError(w, r, err)
		return
	}
	e, err := s.jobs.EnqueueJSON(r.Context(), kind, args, o)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	out := toJobJSON(e.Job)
	out.Duplicate = &e.Duplicate
	if e.Duplicate {
		writeJSON(w, http.StatusOK, out)
		return
	}
	w.Header().Set("Location", "/api/jobs/"+strconv.FormatInt(e.Job.ID, 10))
	writeJSON(w, http.StatusCreated, out)
}

// validName is the pattern of queue and schedule names.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}
