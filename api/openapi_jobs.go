package api

import (
	"net/http"

	"loam"
	"loam/jobs"
	"loam/openapi"
)

// jobs adds, for superusers, the routes of jobs and schedules with their
// schemas: Job, JobError, JobPage, NewJob, Schedule, SchedulePage,
// NewSchedule and ScheduleChange (no name ends in a word of the
// collections' schemas).
func (b *docBuilder) jobs() {
	if !b.superuser {
		return
	}
	d := b.doc
	d.Tags = append(d.Tags,
		openapi.Tag{Name: "jobs", Description: "Background jobs kept in the database (superusers)."},
		openapi.Tag{Name: "schedules", Description: "Schedules stored in the database, run by every scheduler (superusers)."})
	c := &d.Components
	integer := func() *openapi.Schema { return &openapi.Schema{Type: openapi.Types{"integer"}} }
	number := func() *openapi.Schema { return &openapi.Schema{Type: openapi.Types{"number"}} }
	nullTime := func() *openapi.Schema { return nullable(dateTime()) }
	nullText := func() *openapi.Schema { return nullable(stringSchema()) }
	states := []any{string(loam.JobScheduled), string(loam.JobAvailable), string(loam.JobRunning), string(loam.JobRetryable),
		string(loam.JobCompleted), string(loam.JobCancelled), string(loam.JobDead)}
	c.Schemas["JobError"] = describe(object([]string{"attempt", "at", "error"},
		prop("attempt", integer()), prop("at", dateTime()), prop("error", stringSchema())),
		"The error of one failed attempt.")
	jobProps := []openapi.Property{
		prop("id", &openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(1)}),
		prop("kind", stringSchema()),
		prop("queue", stringSchema()),
		prop("state", &openapi.Schema{Type: openapi.Types{"string"}, Enum: states}),
		prop("priority", describe(integer(), "The smallest runs first.")),
		prop("args", describe(anyJSON(), "The job's arguments.")),
		prop("attempt", describe(integer(), "The attempts so far, the running one included.")),
		prop("maxAttempts", integer()),
		prop("timeout", describe(number(), "Seconds one attempt may take; 0: the worker's default; -1: no bound.")),
		prop("runAt", dateTime()),
		prop("created", dateTime()),
		prop("attemptedAt", nullTime()),
		prop("finalizedAt", describe(nullTime(), "When it was completed, cancelled or dead.")),
		prop("worker", describe(nullText(), "The worker running it.")),
		prop("leaseUntil", nullTime()),
		prop("uniqueKey", describe(nullText(), "The stored key of a unique job: a JSON list of the kind, the key and, with a period, the period's start.")),
		prop("tags", arrayOf(stringSchema())),
		prop("errors", describe(arrayOf(openapi.Ref("JobError")), "The error of every failed attempt, oldest first.")),
		prop("result", describe(anyJSON(), "What the handler stored, or null.")),
	}
	jobRequired := []string{"id", "kind", "queue", "state", "priority", "args", "attempt", "maxAttempts", "timeout", "runAt",
		"created", "attemptedAt", "finalizedAt", "worker", "leaseUntil", "uniqueKey", "tags", "errors", "result"}
	c.Schemas["Job"] = describe(object(jobRequired, append(jobProps,
		prop("duplicate", describe(boolSchema(), "On enqueue only: true when the unique key was taken and this is the job holding it.")))...),
		"A job.")
	c.Schemas["JobPage"] = pageSchema("Job", "jobs")
	kinds := []any{jobs.KindHTTP, jobs.KindMail}
	c.Schemas["NewJob"] = describe(object([]string{"kind", "args"},
		prop("kind", describe(&openapi.Schema{Type: openapi.Types{"string"}, Enum: kinds}, "A built-in kind.")),
		prop("args", describe(&openapi.Schema{Type: openapi.Types{"object"}},
			"mail: {to, cc, bcc, replyTo, subject, text, html}; http: {method, url, headers, body or json}.")),
		prop("queue", nameSchema()),
		prop("priority", integer()),
		prop("runAt", describe(dateTime(), "When it may run (not with delay).")),
		prop("delay", describe(&openapi.Schema{Type: openapi.Types{"number"}, Minimum: floatp(0)}, "Seconds from now (not with runAt).")),
		prop("maxAttempts", &openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(1), Maximum: floatp(10000)}),
		prop("timeout", describe(&openapi.Schema{Type: openapi.Types{"number"}, Minimum: floatp(0.001)}, "Seconds one attempt may take.")),
		prop("uniqueKey", describe(&openapi.Schema{Type: openapi.Types{"string"}, MinLength: intp(1)},
			"At most one job of the kind with this key that is not cancelled.")),
		prop("uniquePeriod", describe(&openapi.Schema{Type: openapi.Types{"number"}, Minimum: floatp(1)},
			"Seconds: the key holds within each period counted from the Unix epoch.")),
		prop("tags", arrayOf(stringSchema()))),
		"A job of a built-in kind to enqueue.")

	scheduleProps := func(readOnly bool) []openapi.Property {
		ro := func(s *openapi.Schema) *openapi.Schema { s.ReadOnly = readOnly; return s }
		return []openapi.Property{
			prop("name", describe(nameSchema(), "Its id in the routes; its ticks' jobs have the unique key schedule:NAME@TICK.")),
			prop("spec", describe(stringSchema(), "Five cron fields, a name such as @daily, or @every 30s.")),
			prop("kind", &openapi.Schema{Type: openapi.Types{"string"}, Enum: kinds}),
			prop("args", describe(anyJSON(), "The arguments of each tick's job.")),
			prop("timezone", describe(stringSchema(), "The IANA zone of cron specs (default UTC).")),
			prop("missed", describe(&openapi.Schema{Type: openapi.Types{"string"}, Enum: []any{loam.ScheduleSkipMissed, loam.ScheduleRunMissedOnce}},
				"Ticks no scheduler enqueued within the grace: skip them, or run one job for them.")),
			prop("grace", describe(&openapi.Schema{Type: openapi.Types{"number"}, Minimum: floatp(1)}, "Seconds a tick may be late (default 60).")),
			prop("queue", nameSchema()),
			prop("priority", integer()),
			prop("maxAttempts", describe(&openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(0), Maximum: floatp(10000)}, "0: the default.")),
			prop("timeout", describe(&openapi.Schema{Type: openapi.Types{"number"}, Minimum: floatp(0)}, "Seconds; 0: the default.")),
			prop("tags", arrayOf(stringSchema())),
			prop("paused", describe(boolSchema(), "A paused schedule enqueues nothing.")),
			prop("lastTick", ro(describe(dateTime(), "The time up to which its ticks are handled."))),
			prop("nextTick", ro(describe(nullTime(), "Its next tick; null when paused."))),
			prop("created", ro(dateTime())),
			prop("updated", ro(dateTime())),
		}
	}
	all := []string{"name", "spec", "kind", "args", "timezone", "missed", "grace", "queue", "priority", "maxAttempts",
		"timeout", "tags", "paused", "lastTick", "nextTick", "created", "updated"}
	c.Schemas["Schedule"] = describe(object(all, scheduleProps(false)...), "A schedule stored in the database.")
	c.Schemas["SchedulePage"] = pageSchema("Schedule", "schedules")
	c.Schemas["NewSchedule"] = describe(object([]string{"name", "spec", "kind", "args"}, scheduleProps(true)...),
		"A schedule to store; lastTick, nextTick, created and updated are set by the server.")
	c.Schemas["ScheduleChange"] = describe(object(nil, scheduleProps(true)...),
		"The members to change; the others stay. The name cannot change.")

	jobID := &openapi.Parameter{Name: "id", In: "path", Required: true, Description: "The job's id.",
		Schema: &openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(1)}}
	scheduleName := &openapi.Parameter{Name: "id", In: "path", Required: true, Description: "The schedule's name.",
		Schema: nameSchema()}
	list := func() []*openapi.Parameter {
		return []*openapi.Parameter{b.paramRef("filter"), b.paramRef("sort"), b.paramRef("page"), b.paramRef("perPage"),
			b.paramRef("skipTotal"), b.paramRef("cursor")}
	}
	one := func(desc string) map[string]*openapi.Response {
		return map[string]*openapi.Response{"200": okJSON(desc, openapi.Ref("Job"))}
	}
	tags := []string{"jobs"}
	b.op("/api/jobs", "GET", &openapi.Operation{OperationID: "jobs.list", Summary: "List jobs",
		Description: "With the list parameters of records. Filters and sorts name id, kind, queue, state, priority, " +
			"attempt, maxAttempts, runAt, created (sortable), and attemptedAt, finalizedAt, worker, uniqueKey, tags, errors. " +
			"The default order is id ascending.",
		Tags: tags, Security: superusersOnly, Parameters: list(),
		Responses: b.responses(map[string]*openapi.Response{"200": okJSON("A page of jobs.", openapi.Ref("JobPage"))},
			http.StatusBadRequest, http.StatusForbidden)})
	b.op("/api/jobs", "POST", &openapi.Operation{OperationID: "jobs.enqueue", Summary: "Enqueue a job of a built-in kind",
		Description: "201 with the new job; a unique job whose key is taken answers 200 with the job holding it and " +
			"duplicate true, storing nothing.",
		Tags: tags, Security: superusersOnly, Parameters: []*openapi.Parameter{b.paramRef("Idempotency-Key")},
		RequestBody: jsonBody(openapi.Ref("NewJob")),
		Responses: b.responses(map[string]*openapi.Response{
			"201": {Description: "Enqueued.", Headers: map[string]*openapi.Header{"Location": b.headerRef("Location"),
				"Idempotent-Replayed": b.headerRef("Idempotent-Replayed")}, Content: jsonContent(openapi.Ref("Job"))},
			"200": {Description: "The unique key was taken: the job holding it.",
				Headers: map[string]*openapi.Header{"Idempotent-Replayed": b.headerRef("Idempotent-Replayed")},
				Content: jsonContent(openapi.Ref("Job"))},
		}, http.StatusBadRequest, http.StatusForbidden, http.StatusConflict, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType)})
	b.op("/api/jobs/{id}", "GET", &openapi.Operation{OperationID: "jobs.get", Summary: "Get a job",
		Description: "With its attempts and the error of each failed one.", Tags: tags, Security: superusersOnly,
		Parameters: []*openapi.Parameter{jobID}, Responses: b.responses(one("The job."), http.StatusForbidden, http.StatusNotFound)})
	b.op("/api/jobs/{id}/retry", "POST", &openapi.Operation{OperationID: "jobs.retry", Summary: "Run a job again",
		Description: "A job that is not running becomes available now, with one attempt more when it used them all. " +
			"A running job, or a cancelled one whose unique key another job took, answers 409.",
		Tags: tags, Security: superusersOnly, Parameters: []*openapi.Parameter{jobID},
		Responses: b.responses(one("The job, available."), http.StatusForbidden, http.StatusNotFound, http.StatusConflict)})
	b.op("/api/jobs/{id}/cancel", "POST", &openapi.Operation{OperationID: "jobs.cancel", Summary: "Cancel a job",
		Description: "A running job's handler learns it at its worker's next heartbeat. A completed, cancelled or dead job answers 409.",
		Tags:        tags, Security: superusersOnly, Parameters: []*openapi.Parameter{jobID},
		Responses: b.responses(one("The job, cancelled."), http.StatusForbidden, http.StatusNotFound, http.StatusConflict)})

	tags = []string{"schedules"}
	schedule := func(desc string) *openapi.Response { return okJSON(desc, openapi.Ref("Schedule")) }
	b.op("/api/schedules", "GET", &openapi.Operation{OperationID: "schedules.list", Summary: "List the stored schedules",
		Description: "With the list parameters of records. Filters name name, spec, kind, timezone, missed, queue, priority, " +
			"maxAttempts, paused, tags, lastTick, created, updated; sorts name, spec, kind, queue, priority, paused, lastTick, " +
			"created, updated. The default order is by name. Schedules declared in Go are not listed.",
		Tags: tags, Security: superusersOnly, Parameters: list(),
		Responses: b.responses(map[string]*openapi.Response{"200": okJSON("A page of schedules.", openapi.Ref("SchedulePage"))},
			http.StatusBadRequest, http.StatusForbidden)})
	b.op("/api/schedules", "POST", &openapi.Operation{OperationID: "schedules.create", Summary: "Store a schedule",
		Description: "It starts now, and every scheduler runs it within its refresh interval. A taken name answers 409.",
		Tags:        tags, Security: superusersOnly, RequestBody: jsonBody(openapi.Ref("NewSchedule")),
		Responses: b.responses(map[string]*openapi.Response{
			"201": {Description: "Stored.", Headers: map[string]*openapi.Header{"Location": b.headerRef("Location")},
				Content: jsonContent(openapi.Ref("Schedule"))}},
			http.StatusBadRequest, http.StatusForbidden, http.StatusConflict, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType)})
	b.op("/api/schedules/{id}", "GET", &openapi.Operation{OperationID: "schedules.get", Summary: "Get a schedule",
		Tags: tags, Security: superusersOnly, Parameters: []*openapi.Parameter{scheduleName},
		Responses: b.responses(map[string]*openapi.Response{"200": schedule("The schedule.")}, http.StatusForbidden, http.StatusNotFound)})
	b.op("/api/schedules/{id}", "PATCH", &openapi.Operation{OperationID: "schedules.update", Summary: "Change a schedule",
		Description: "Members present replace the current ones. Its handled time stays: ticks after it follow the new definition.",
		Tags:        tags, Security: superusersOnly, Parameters: []*openapi.Parameter{scheduleName},
		RequestBody: jsonBody(openapi.Ref("ScheduleChange")),
		Responses: b.responses(map[string]*openapi.Response{"200": schedule("The schedule.")},
			http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType)})
	b.op("/api/schedules/{id}", "DELETE", &openapi.Operation{OperationID: "schedules.delete", Summary: "Delete a schedule",
		Description: "No tick is enqueued after; the jobs of past ticks stay.", Tags: tags, Security: superusersOnly,
		Parameters: []*openapi.Parameter{scheduleName},
		Responses:  b.responses(map[string]*openapi.Response{"204": {Description: "Deleted."}}, http.StatusForbidden, http.StatusNotFound)})
}

// anyJSON is any JSON value, null included.
func anyJSON() *openapi.Schema {
	return &openapi.Schema{Type: openapi.Types{"object", "array", "string", "number", "boolean", "null"}}
}

// nameSchema is a queue or schedule name.
func nameSchema() *openapi.Schema {
	return &openapi.Schema{Type: openapi.Types{"string"}, Pattern: "^[A-Za-z0-9_.:-]{1,100}$"}
}

// pageSchema is a page of items of the schema item, as lists answer.
func pageSchema(item, what string) *openapi.Schema {
	return describe(object([]string{"items", "page", "perPage", "totalItems", "totalPages"},
		prop("items", arrayOf(openapi.Ref(item))),
		prop("page", describe(&openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(-1)},
			"The page, from 1; -1 for a page read with a cursor.")),
		prop("perPage", &openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(1), Maximum: floatp(MaxPerPage)}),
		prop("totalItems", describe(&openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(-1)}, "-1 with skipTotal.")),
		prop("totalPages", describe(&openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(-1)}, "-1 with skipTotal.")),
		prop("nextCursor", describe(&openapi.Schema{Type: openapi.Types{"string"}, MinLength: intp(1)},
			"On every full page: pass it as cursor for the next page."))),
		"A page of "+what+".")
}
