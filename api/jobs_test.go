package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"loam"
)

// jobsState renders every job and stored schedule, for checks that a
// refused request changed nothing.
func (e *env) jobsState(t *testing.T) string {
	t.Helper()
	list, err := e.app.Store().ListJobs(context.Background(), loam.JobQuery{PerPage: 1 << 20})
	if err != nil {
		t.Fatalf("jobs state: %v", err)
	}
	scheds, err := e.app.Store().ListSchedules(context.Background())
	if err != nil {
		t.Fatalf("jobs state: %v", err)
	}
	b, _ := json.Marshal(map[string]any{"jobs": list.Items, "schedules": scheds})
	return string(b)
}

// unchangedJobs runs scenarios, each of which must leave the jobs and
// schedules as they were (and, as Unchanged asserts, the rest).
func (e *env) unchangedJobs(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		before := e.jobsState(t)
		check := sc.Check
		sc.Unchanged = true
		sc.Check = func(t *testing.T, a *answer) {
			if check != nil {
				check(t, a)
			}
			if after := e.jobsState(t); after != before {
				t.Errorf("the jobs changed:\n%s", diff(before, after))
			}
		}
		e.run(t, []scenario{sc})
	}
}

const mailArgs = `{"to":["ada@example.com"],"subject":"Welcome","text":"Hello"}`

// TestJobsAPI: superusers enqueue built-in jobs, list and filter them,
// read their attempts and errors, cancel and retry them; every bad input
// answers its code and changes nothing.
func TestJobsAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		_, user := e.signUp(t)
		var first map[string]any
		e.run(t, []scenario{
			{Name: "anonymous", Method: "GET", Path: "/api/jobs", Status: 401, Code: loam.CodeUnauthenticated},
			{Name: "not a superuser", Method: "GET", Path: "/api/jobs", Token: user, Status: 403, Code: loam.CodeForbidden},
			{Name: "enqueue as a user", Method: "POST", Path: "/api/jobs", Token: user, Body: `{"kind":"mail","args":` + mailArgs + `}`,
				Status: 403, Code: loam.CodeForbidden},
			{Name: "enqueue", Method: "POST", Path: "/api/jobs", Token: e.super, Status: 201,
				Body: `{"kind":"mail","args":` + mailArgs + `,"queue":"mail","priority":-2,"delay":60,"maxAttempts":3,"timeout":1.5,"uniqueKey":"welcome-ada","tags":["welcome"]}`,
				Check: func(t *testing.T, a *answer) {
					first = a.JSON(t)
					if a.Header.Get("Location") != "/api/jobs/"+num(first["id"]) {
						t.Errorf("Location %q", a.Header.Get("Location"))
					}
					if first["duplicate"] != false || first["state"] != "scheduled" || first["queue"] != "mail" ||
						num(first["priority"]) != "-2" || num(first["maxAttempts"]) != "3" || num(first["timeout"]) != "1.5" ||
						num(first["attempt"]) != "0" || first["attemptedAt"] != nil || first["result"] != nil {
						t.Errorf("enqueued %s", a.Body)
					}
					if args, _ := first["args"].(map[string]any); args["subject"] != "Welcome" {
						t.Errorf("args %v", first["args"])
					}
				}},
			{Name: "duplicate", Method: "POST", Path: "/api/jobs", Token: e.super, Status: 200,
				Body: `{"kind":"mail","args":{"to":["bob@example.com"],"subject":"Other","text":"x"},"uniqueKey":"welcome-ada"}`,
				Check: func(t *testing.T, a *answer) {
					m := a.JSON(t)
					if m["duplicate"] != true || num(m["id"]) != num(first["id"]) || a.Header.Get("Location") != "" {
						t.Errorf("a duplicate answered %s", a.Body)
					}
				}},
		})
		id := num(first["id"])
		e.unchangedJobs(t, []scenario{
			{Name: "not JSON", Method: "POST", Path: "/api/jobs", Token: e.super, Body: `{"kind":`, Status: 400, Code: loam.CodeInvalidJSON},
			{Name: "not an object", Method: "POST", Path: "/api/jobs", Token: e.super, Body: `[1]`, Status: 400, Code: loam.CodeInvalidJSON},
			{Name: "media type", Method: "POST", Path: "/api/jobs", Token: e.super, Body: `{}`,
				Headers: map[string]string{"Content-Type": "text/plain"}, Status: 415, Code: loam.CodeUnsupportedMediaType},
			{Name: "unknown member", Method: "POST", Path: "/api/jobs", Token: e.super, Body: `{"kind":"mail","args":` + mailArgs + `,"when":1}`,
				Status: 400, Code: loam.CodeUnknownField, Fields: errs{"when": loam.FieldUnknown}},
			{Name: "nothing", Method: "POST", Path: "/api/jobs", Token: e.super, Body: `{}`,
				Status: 400, Code: loam.CodeValidationFailed, Fields: errs{"kind": loam.FieldRequired, "args": loam.FieldRequired}},
			{Name: "unknown kind", Method: "POST", Path: "/api/jobs", Token: e.super, Body: `{"kind":"welcome","args":{}}`,
				Status: 400, Code: loam.CodeValidationFailed, Fields: errs{"kind": loam.FieldInvalidChoice}},
			{Name: "bad args", Method: "POST", Path: "/api/jobs", Token: e.super, Body: `{"kind":"mail","args":{"subject":"x","text":"y"}}`,
				Status: 400, Code: loam.CodeValidationFailed, Fields: errs{"args.to": loam.FieldRequired}},
			{Name: "host not allowed", Method: "POST", Path: "/api/jobs", Token: e.super, Body: `{"kind":"http","args":{"url":"https://example.com/hook"}}`,
				Status: 400, Code: loam.CodeValidationFailed, Fields: errs{"args.url": loam.FieldInvalid}},
			{Name: "bad options", Method: "POST", Path: "/api/jobs", Token: e.super,
				Body:   `{"kind":"mail","args":` + mailArgs + `,"queue":"a queue","priority":"high","runAt":"tomorrow","maxAttempts":0,"timeout":-1,"uniquePeriod":60,"tags":[""]}`,
				Status: 400, Code: loam.CodeValidationFailed, Fields: errs{"queue": loam.FieldPattern, "priority": loam.FieldInvalidType,
					"runAt": loam.FieldInvalidDate, "maxAttempts": loam.FieldTooSmall, "timeout": loam.FieldTooSmall,
					"uniquePeriod": loam.FieldInvalid, "tags": loam.FieldInvalid}},
			{Name: "runAt and delay", Method: "POST", Path: "/api/jobs", Token: e.super,
				Body:   `{"kind":"mail","args":` + mailArgs + `,"runAt":"2030-01-01T00:00:00.000Z","delay":5}`,
				Status: 400, Code: loam.CodeValidationFailed, Fields: errs{"delay": loam.FieldInvalid}},
			{Name: "missing job", Method: "GET", Path: "/api/jobs/987654", Token: e.super, Status: 404, Code: loam.CodeNotFound},
			{Name: "not a job id", Method: "GET", Path: "/api/jobs/abc", Token: e.super, Status: 404, Code: loam.CodeNotFound},
			{Name: "cancel missing", Method: "POST", Path: "/api/jobs/987654/cancel", Token: e.super, Status: 404, Code: loam.CodeNotFound},
			{Name: "retry as a user", Method: "POST", Path: "/api/jobs/" + id + "/retry", Token: user, Status: 403, Code: loam.CodeForbidden},
			{Name: "delete", Method: "DELETE", Path: "/api/jobs/" + id, Token: e.super, Status: 405, Code: loam.CodeMethodNotAllowed},
			{Name: "bad filter", Method: "GET", Path: "/api/jobs?filter=nosuch%3D1", Token: e.super, Status: 400, Code: loam.CodeInvalidFilter},
			{Name: "bad sort", Method: "GET", Path: "/api/jobs?sort=tags", Token: e.super, Status: 400, Code: loam.CodeInvalidSort},
			{Name: "bad cursor", Method: "GET", Path: "/api/jobs?cursor=xyz", Token: e.super, Status: 400, Code: loam.CodeInvalidQuery},
		})

		// A job that failed once, then is running again.
		ctx := context.Background()
		now := time.Now().UTC()
		for i := range 4 {
			e.do(t, call{Method: "POST", Path: "/api/jobs", Token: e.super,
				Body: fmt.Sprintf(`{"kind":"mail","args":{"to":["u%d@example.com"],"subject":"s","text":"t"},"tags":["batch"]}`, i)})
		}
		claimed, err := e.app.Store().ClaimJobs(ctx, loam.JobClaim{Worker: "w1", Now: now, LeaseUntil: now.Add(time.Hour),
			Kinds: []string{"mail"}, Queues: []loam.QueueClaim{{Queue: "default", Max: 1}}})
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		j := claimed[0]
		if _, err := e.app.Store().FinishJobs(ctx, []loam.JobOutcome{{ID: j.ID, Attempt: 1, Worker: "w1", State: loam.JobRetryable,
			At: now, RunAt: now, Error: &loam.JobError{Attempt: 1, At: now, Error: "smtp: 451 try later"}}}); err != nil {
			t.Fatal(err)
		}
		if again, err := e.app.Store().ClaimJobs(ctx, loam.JobClaim{Worker: "w2", Now: now, LeaseUntil: now.Add(time.Hour),
			Kinds: []string{"mail"}, Queues: []loam.QueueClaim{{Queue: "default", Max: 1}}}); err != nil || len(again) != 1 || again[0].ID != j.ID {
			t.Fatalf("claim again: %v %v", again, err)
		}
		running := fmt.Sprint(j.ID)
		e.run(t, []scenario{
			{Name: "get with attempts and errors", Method: "GET", Path: "/api/jobs/" + running, Token: e.super, Status: 200,
				Contains: []string{`"state":"running"`, `"attempt":2`, `"worker":"w2"`, `"error":"smtp: 451 try later"`, `"attempt":1`}},
			{Name: "retry a running job", Method: "POST", Path: "/api/jobs/" + running + "/retry", Token: e.super, Status: 409, Code: loam.CodeConflict},
			{Name: "cancel", Method: "POST", Path: "/api/jobs/" + id + "/cancel", Token: e.super, Status: 200,
				Contains: []string{`"state":"cancelled"`}},
			{Name: "cancel again", Method: "POST", Path: "/api/jobs/" + id + "/cancel", Token: e.super, Status: 409, Code: loam.CodeConflict},
			{Name: "retry the cancelled", Method: "POST", Path: "/api/jobs/" + id + "/retry", Token: e.super, Status: 200,
				Contains: []string{`"state":"available"`, `"finalizedAt":null`}},
			{Name: "filter", Method: "GET", Path: "/api/jobs?filter=" + q(`tags ?= "batch" && state = "available"`) + "&sort=-id", Token: e.super,
				Status: 200, Check: func(t *testing.T, a *answer) {
					m := a.JSON(t)
					its := items(t, m)
					if len(its) != 3 || num(m["totalItems"]) != "3" || idOf(its[0]) < idOf(its[2]) {
						t.Errorf("filtered list %s", a.Body)
					}
				}},
			{Name: "errors filter", Method: "GET", Path: "/api/jobs?filter=" + q(`errors:length > 0`), Token: e.super, Status: 200,
				Check: func(t *testing.T, a *answer) {
					if its := items(t, a.JSON(t)); len(its) != 1 || num(its[0]["id"]) != running {
						t.Errorf("jobs with errors: %s", a.Body)
					}
				}},
		})
		// Every job, two a page, by cursor.
		var seen []string
		path := "/api/jobs?perPage=2&skipTotal=1"
		for range 10 {
			a := e.do(t, call{Method: "GET", Path: path, Token: e.super})
			m := a.JSON(t)
			for _, it := range items(t, m) {
				seen = append(seen, num(it["id"]))
			}
			next := str(m["nextCursor"])
			if next == "" {
				break
			}
			path = "/api/jobs?perPage=2&skipTotal=1&cursor=" + next
		}
		if len(seen) != 5 {
			t.Errorf("paged through %v, want 5 jobs", seen)
		}
	})
}

// idOf is the id of a job answer.
func idOf(m map[string]any) int64 {
	n, _ := m["id"].(json.Number).Int64()
	return n
}

// q escapes a query parameter value.
func q(s string) string {
	r := strings.NewReplacer("%", "%25", " ", "%20", "&", "%26", "=", "%3D", "\"", "%22", "?", "%3F", "+", "%2B", "#", "%23", ">", "%3E", "<", "%3C")
	return r.Replace(s)
}

// TestJobsAPIIdempotent: a retried enqueue with the same Idempotency-Key
// answers as the first did and enqueues once.
func TestJobsAPIIdempotent(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		c := call{Method: "POST", Path: "/api/jobs", Token: e.super, Body: `{"kind":"mail","args":` + mailArgs + `}`,
			Headers: map[string]string{"Idempotency-Key": "enqueue-1"}}
		a1, a2 := e.do(t, c), e.do(t, c)
		if a1.Status != 201 || a2.Status != 201 || string(a1.Body) != string(a2.Body) || a2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("answers %d %s / %d %s", a1.Status, a1.Body, a2.Status, a2.Body)
		}
		if list, err := e.app.Store().ListJobs(context.Background(), loam.JobQuery{}); err != nil || list.TotalItems != 1 {
			t.Fatalf("%v jobs after a replayed enqueue (%v), want 1", list.TotalItems, err)
		}
	})
}

// TestSchedulesAPI: superusers store, read, list, change and delete
// schedules; bad definitions answer every field at fault and change
// nothing.
func TestSchedulesAPI(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		_, user := e.signUp(t)
		def := `{"name":"digest","spec":"0 8 * * mon-fri","kind":"mail","args":` + mailArgs + `,"timezone":"Europe/Paris","tags":["daily"]}`
		e.run(t, []scenario{
			{Name: "anonymous", Method: "GET", Path: "/api/schedules", Status: 401, Code: loam.CodeUnauthenticated},
			{Name: "as a user", Method: "POST", Path: "/api/schedules", Token: user, Body: def, Status: 403, Code: loam.CodeForbidden},
			{Name: "create", Method: "POST", Path: "/api/schedules", Token: e.super, Body: def, Status: 201,
				Check: func(t *testing.T, a *answer) {
					m := a.JSON(t)
					if a.Header.Get("Location") != "/api/schedules/digest" || m["missed"] != "skip" || num(m["grace"]) != "60" ||
						m["queue"] != "default" || m["paused"] != false || m["nextTick"] == nil || m["timezone"] != "Europe/Paris" {
						t.Errorf("created %s (Location %q)", a.Body, a.Header.Get("Location"))
					}
				}},
			{Name: "get", Method: "GET", Path: "/api/schedules/digest", Token: e.super, Status: 200, Contains: []string{`"spec":"0 8 * * mon-fri"`}},
			{Name: "pause", Method: "PATCH", Path: "/api/schedules/digest", Token: e.super, Body: `{"paused":true,"spec":"@every 30s","tags":[]}`,
				Status: 200, Contains: []string{`"paused":true`, `"nextTick":null`, `"spec":"@every 30s"`, `"tags":[]`, `"kind":"mail"`}},
			{Name: "other", Method: "POST", Path: "/api/schedules", Token: e.super, Status: 201,
				Body: `{"name":"cleanup","spec":"@hourly","kind":"mail","args":` + mailArgs + `,"priority":5}`},
			{Name: "list", Method: "GET", Path: "/api/schedules?filter=" + q(`paused = false`) + "&sort=-priority", Token: e.super, Status: 200,
				Check: func(t *testing.T, a *answer) {
					m := a.JSON(t)
					if its := items(t, m); len(its) != 1 || its[0]["name"] != "cleanup" || num(m["totalItems"]) != "1" {
						t.Errorf("list %s", a.Body)
					}
				}},
		})
		e.unchangedJobs(t, []scenario{
			{Name: "taken name", Method: "POST", Path: "/api/schedules", Token: e.super, Body: def, Status: 409, Code: loam.CodeConflict},
			{Name: "bad definition", Method: "POST", Path: "/api/schedules", Token: e.super,
				Body:   `{"name":"x y","spec":"61 * * * *","kind":"http","args":{"url":"https://example.com/"},"timezone":"Mars/Base","missed":"never","grace":0.5,"lastTick":"2026-01-01T00:00:00.000Z","extra":true}`,
				Status: 400, Code: loam.CodeUnknownField, Fields: errs{"name": loam.FieldPattern, "spec": loam.FieldInvalid, "args.url": loam.FieldInvalid,
					"timezone": loam.FieldInvalid, "missed": loam.FieldInvalidChoice, "grace": loam.FieldTooSmall,
					"lastTick": loam.FieldReadOnly, "extra": loam.FieldUnknown}},
			{Name: "required", Method: "POST", Path: "/api/schedules", Token: e.super, Body: `{}`, Status: 400, Code: loam.CodeValidationFailed,
				Fields: errs{"name": loam.FieldRequired, "spec": loam.FieldRequired, "kind": loam.FieldRequired}},
			{Name: "no args", Method: "POST", Path: "/api/schedules", Token: e.super, Body: `{"name":"n","spec":"@daily","kind":"mail"}`,
				Status: 400, Code: loam.CodeValidationFailed, Fields: errs{"args.to": loam.FieldRequired}},
			{Name: "rename", Method: "PATCH", Path: "/api/schedules/digest", Token: e.super, Body: `{"name":"weekly"}`,
				Status: 400, Code: loam.CodeValidationFailed, Fields: errs{"name": loam.FieldReadOnly}},
			{Name: "bad change", Method: "PATCH", Path: "/api/schedules/digest", Token: e.super, Body: `{"spec":"@every 0s","kind":"sms"}`,
				Status: 400, Code: loam.CodeValidationFailed, Fields: errs{"spec": loam.FieldInvalid, "kind": loam.FieldInvalidChoice}},
			{Name: "change missing", Method: "PATCH", Path: "/api/schedules/nope", Token: e.super, Body: `{"paused":true}`, Status: 404, Code: loam.CodeNotFound},
			{Name: "bad sort", Method: "GET", Path: "/api/schedules?sort=args", Token: e.super, Status: 400, Code: loam.CodeInvalidSort},
			{Name: "put", Method: "PUT", Path: "/api/schedules/digest", Token: e.super, Body: def, Status: 405, Code: loam.CodeMethodNotAllowed},
		})
		e.run(t, []scenario{
			{Name: "delete", Method: "DELETE", Path: "/api/schedules/digest", Token: e.super, Status: 204},
			{Name: "gone", Method: "GET", Path: "/api/schedules/digest", Token: e.super, Status: 404, Code: loam.CodeNotFound},
			{Name: "delete again", Method: "DELETE", Path: "/api/schedules/digest", Token: e.super, Status: 404, Code: loam.CodeNotFound},
		})
	})
}
