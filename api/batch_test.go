package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"loam"
)

// breq is one request of a batch, as a client writes it.
type breq = map[string]any

const (
	postsURL   = "/api/collections/posts/records"
	authorsURL = "/api/collections/authors/records"
)

// batchOf is the body of POST /api/batch holding reqs.
func batchOf(reqs ...breq) map[string]any { return map[string]any{"requests": reqs} }

// result is one entry of a successful batch answer.
type result struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

// results decodes a successful batch answer.
func results(t *testing.T, a *answer) []result {
	t.Helper()
	var out []result
	if err := json.Unmarshal(a.Body, &out); err != nil {
		t.Fatalf("batch answer %d is not a list of results: %v: %s", a.Status, err, truncate(a.Body))
	}
	return out
}

// requestFailed checks the errors entry of request n of a batch error
// answer: its code, a message, and exactly the given field errors (nil: none).
func requestFailed(n int, code string, fields errs) func(t *testing.T, a *answer) {
	return func(t *testing.T, a *answer) {
		t.Helper()
		var body struct {
			Errors map[string]struct {
				Code    string                     `json:"code"`
				Message string                     `json:"message"`
				Errors  map[string]loam.FieldError `json:"errors"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(a.Body, &body); err != nil {
			t.Fatalf("error answer: %v: %s", err, a.Body)
		}
		key := fmt.Sprintf("requests.%d", n)
		got, ok := body.Errors[key]
		if !ok {
			t.Fatalf("errors has no %s: %s", key, a.Body)
		}
		if got.Code != code || got.Message == "" {
			t.Errorf("%s: code %q message %q, want code %q and a message", key, got.Code, got.Message, code)
		}
		if fields == nil && got.Errors != nil {
			t.Errorf("%s has field errors %v, want none", key, got.Errors)
		}
		codes := map[string]string{}
		for f, fe := range got.Errors {
			codes[f] = fe.Code
			if fe.Message == "" {
				t.Errorf("%s.errors.%s has no message", key, f)
			}
		}
		if fields != nil && !maps.Equal(codes, fields) {
			t.Errorf("%s field errors %v, want %v", key, codes, fields)
		}
	}
}

// TestBatchWrites: a batch of creates, updates, upserts and deletes answers
// each request's status and body as the single route would, in order; later
// requests see earlier ones (a relation to a record created in the batch,
// an update of a record upserted in it); each write appends its one event.
func TestBatchWrites(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ann := e.setupPosts(t)
		p1 := str(e.mustCreate(t, "posts", map[string]any{"title": "first", "slug": "first"})["id"])
		p2 := str(e.mustCreate(t, "posts", map[string]any{"title": "second"})["id"])
		p3 := str(e.mustCreate(t, "posts", map[string]any{"title": "third", "author": ann})["id"])
		p2etag := e.do(t, call{Method: "GET", Path: postsURL + "/" + p2, Token: e.super}).Header.Get("ETag")
		bob, fresh := loam.NewID(), loam.NewID()
		base := e.lastEvent(t)
		a := e.do(t, call{Method: "POST", Path: "/api/batch", Token: e.super, Body: batchOf(
			breq{"method": "POST", "url": authorsURL, "body": breq{"id": bob, "name": "bob"}},
			breq{"method": "POST", "url": postsURL, "body": breq{"title": "by bob", "author": bob, "readers": []string{ann, bob}, "secret": "s"}},
			breq{"method": "PATCH", "url": postsURL + "/" + p1, "body": breq{"title": "changed", "slug": "second"}},
			breq{"method": "PUT", "url": postsURL + "/" + p2, "body": breq{"views": 5, "slug": "first"}, "ifMatch": p2etag},
			breq{"method": "PUT", "url": postsURL + "/" + fresh, "body": breq{"title": "upserted"}},
			breq{"method": "DELETE", "url": postsURL + "/" + p3},
			breq{"method": "PATCH", "url": postsURL + "/" + fresh, "body": breq{"views": 1}},
			breq{"method": "DELETE", "url": authorsURL + "/" + ann, "body": nil},
		)})
		if a.Status != http.StatusOK {
			t.Fatalf("batch: %d %s", a.Status, a.Body)
		}
		res := results(t, a)
		wantStatus := []int{201, 201, 200, 200, 201, 204, 200, 204}
		if len(res) != len(wantStatus) {
			t.Fatalf("%d results, want %d: %s", len(res), len(wantStatus), a.Body)
		}
		ids := make([]string, len(res))
		for i, r := range res {
			if r.Status != wantStatus[i] {
				t.Errorf("result %d: status %d, want %d", i, r.Status, wantStatus[i])
			}
			if r.Status == 204 {
				if string(r.Body) != "null" {
					t.Errorf("result %d: body %s, want null", i, r.Body)
				}
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(r.Body, &m); err != nil {
				t.Fatalf("result %d: body %s: %v", i, r.Body, err)
			}
			ids[i] = str(m["id"])
		}
		if ids[0] != bob || ids[2] != p1 || ids[3] != p2 || ids[4] != fresh || ids[6] != fresh {
			t.Fatalf("result ids %v", ids)
		}
		// Each body is what the single route answers; the last writes are
		// what a read gives now (the post by bob lost ann as a reader).
		for i, want := range []string{"", "", "slug\":\"second", "\"views\":5", "upserted", "", "\"views\":1"} {
			if want != "" && !strings.Contains(string(res[i].Body), want) {
				t.Errorf("result %d lacks %q: %s", i, want, res[i].Body)
			}
		}
		for _, i := range []int{2, 3, 6} {
			if got := e.do(t, call{Method: "GET", Path: postsURL + "/" + ids[i], Token: e.super}); !bytes.Equal(got.Body, res[i].Body) {
				t.Errorf("result %d:\n%s\nGET answers\n%s", i, res[i].Body, got.Body)
			}
		}
		byBob := e.mustGet(t, "posts", ids[1])
		if byBob["author"] != bob || !reflect.DeepEqual(byBob["readers"], []any{bob}) || byBob["secret"] != "s" {
			t.Errorf("the post by bob after the batch: %v", byBob)
		}
		for _, gone := range []string{postsURL + "/" + p3, authorsURL + "/" + ann} {
			if st := e.status(t, "GET", gone, e.super); st != 404 {
				t.Errorf("GET %s after its delete: %d", gone, st)
			}
		}
		var got []string
		for _, ev := range e.eventsAfter(t, base) {
			got = append(got, ev.Action+" "+ev.Collection+"/"+ev.RecordID)
		}
		want := []string{"create authors/" + bob, "create posts/" + ids[1], "update posts/" + p1, "update posts/" + p2,
			"create posts/" + fresh, "delete posts/" + p3, "update posts/" + fresh,
			"update posts/" + ids[1], "delete authors/" + ann} // deleting ann unlinks her as a reader
		if !reflect.DeepEqual(got, want) {
			t.Errorf("events:\n got %q\nwant %q", got, want)
		}
	})
}

// TestBatchFailureWritesNothing: when a request fails, the batch answers
// that request's status and error under requests.N, and nothing of the
// batch stays: not the requests before it, not their events.
func TestBatchFailureWritesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ann := e.setupPosts(t)
		p1 := e.mustCreate(t, "posts", map[string]any{"title": "first", "slug": "taken", "author": ann})
		id := str(p1["id"])
		one := postsURL + "/" + id
		stale := `"` + id + `-0"`
		missing := loam.NewID()
		ok := breq{"method": "POST", "url": postsURL, "body": breq{"title": "fine", "slug": "fine"}}
		bob := loam.NewID()
		fail := func(name string, status int, code string, n int, fields errs, reqs ...breq) scenario {
			return scenario{Name: name, Method: "POST", Path: "/api/batch", Token: e.super, Body: batchOf(reqs...),
				Status: status, Code: code, Fields: errs{fmt.Sprintf("requests.%d", n): code},
				Check: requestFailed(n, code, fields), Unchanged: true}
		}
		e.run(t, []scenario{
			fail("a validation error", 400, "validation_failed", 1, errs{"title": "required", "views": "too_small"},
				ok, breq{"method": "POST", "url": postsURL, "body": breq{"views": -1}}, ok),
			fail("an unknown field", 400, "unknown_field", 2, errs{"nope": "unknown_field"},
				ok, breq{"method": "PATCH", "url": one, "body": breq{"title": "x"}}, breq{"method": "POST", "url": postsURL, "body": breq{"title": "x", "nope": 1}}),
			fail("a unique value taken before the batch", 409, "conflict", 1, errs{"slug": "unique"},
				ok, breq{"method": "POST", "url": postsURL, "body": breq{"title": "x", "slug": "taken"}}),
			fail("a unique value taken earlier in the batch", 409, "conflict", 1, errs{"slug": "unique"},
				ok, breq{"method": "PATCH", "url": one, "body": breq{"slug": "fine"}}),
			fail("an id taken earlier in the batch", 409, "conflict", 1, errs{"id": "unique"},
				breq{"method": "POST", "url": authorsURL, "body": breq{"id": bob, "name": "bob"}},
				breq{"method": "POST", "url": authorsURL, "body": breq{"id": bob, "name": "bob again"}}),
			fail("a relation to a missing record", 400, "validation_failed", 1, errs{"author": "not_found"},
				ok, breq{"method": "POST", "url": postsURL, "body": breq{"title": "x", "author": missing}}),
			fail("a relation to a record deleted earlier in the batch", 400, "validation_failed", 2, errs{"author": "not_found"},
				breq{"method": "POST", "url": authorsURL, "body": breq{"id": bob, "name": "bob"}},
				breq{"method": "DELETE", "url": authorsURL + "/" + bob},
				breq{"method": "POST", "url": postsURL, "body": breq{"title": "x", "author": bob}}),
			fail("updating a missing record", 404, "not_found", 1, nil,
				ok, breq{"method": "PATCH", "url": postsURL + "/" + missing, "body": breq{"title": "x"}}),
			fail("deleting a missing record", 404, "not_found", 1, nil,
				ok, breq{"method": "DELETE", "url": postsURL + "/" + missing}),
			fail("deleting a record deleted earlier in the batch", 404, "not_found", 2, nil,
				ok, breq{"method": "DELETE", "url": one}, breq{"method": "DELETE", "url": one}),
			fail("an unknown collection", 404, "not_found", 1, nil,
				ok, breq{"method": "POST", "url": "/api/collections/nope/records", "body": breq{}}),
			fail("a stale ifMatch", 412, "precondition_failed", 1, nil,
				ok, breq{"method": "PATCH", "url": one, "body": breq{"title": "x"}, "ifMatch": stale}),
			fail("an ifMatch made stale by the batch", 412, "precondition_failed", 1, nil,
				breq{"method": "PATCH", "url": one, "body": breq{"title": "x"}},
				breq{"method": "DELETE", "url": one, "ifMatch": e.do(t, call{Method: "GET", Path: one, Token: e.super}).Header.Get("ETag")}),
			fail("an upsert with ifMatch of a missing record", 412, "precondition_failed", 1, nil,
				ok, breq{"method": "PUT", "url": postsURL + "/" + missing, "body": breq{"title": "x"}, "ifMatch": "*"}),
			fail("an upsert whose body names another id", 400, "validation_failed", 1, errs{"id": "invalid"},
				ok, breq{"method": "PUT", "url": postsURL + "/" + missing, "body": breq{"id": bob, "title": "x"}}),
			fail("an upsert that creates with an invalid id", 400, "validation_failed", 1, errs{"id": "invalid_type"},
				ok, breq{"method": "PUT", "url": postsURL + "/NOT-AN-ID", "body": breq{"title": "x"}}),
			fail("the last of 100 fails", 409, "conflict", 99, errs{"slug": "unique"}, func() []breq {
				reqs := make([]breq, 100)
				for i := range reqs {
					reqs[i] = breq{"method": "POST", "url": postsURL, "body": breq{"title": fmt.Sprint("n", i), "slug": fmt.Sprint("s", i)}}
				}
				reqs[99]["body"] = breq{"title": "last", "slug": "s0"}
				return reqs
			}()...),
		})
		if st := e.status(t, "GET", one, e.super); st != 200 {
			t.Fatalf("the record the failed batches deleted: %d, want still there", st)
		}
	})
}

// TestBatchBadInput: a batch that is not well formed is refused before any
// request runs, naming every malformed request under requests.N, and
// changes nothing.
func TestBatchBadInput(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.setupPosts(t)
		ok := breq{"method": "POST", "url": postsURL, "body": breq{"title": "fine"}}
		bad := func(name string, body any, code string, fields errs) scenario {
			return scenario{Name: name, Method: "POST", Path: "/api/batch", Token: e.super, Body: body,
				Status: 400, Code: code, Fields: fields, Unchanged: true}
		}
		// malformed is a batch of ok and one malformed request, answered with
		// that request's own code and member errors.
		malformed := func(name string, r any, code string, members errs) scenario {
			sc := bad(name, map[string]any{"requests": []any{ok, r}}, "validation_failed", errs{"requests.1": code})
			sc.Check = requestFailed(1, code, members)
			return sc
		}
		many := make([]breq, 101)
		for i := range many {
			many[i] = ok
		}
		huge := strings.Repeat("a", 1<<20)
		e.run(t, []scenario{
			bad("not an object", `[{"method":"POST"}]`, "invalid_json", nil),
			bad("not JSON", `{"requests":[`, "invalid_json", nil),
			bad("no requests", `{}`, "validation_failed", errs{"requests": "required"}),
			bad("null requests", `{"requests":null}`, "validation_failed", errs{"requests": "required"}),
			bad("requests not a list", `{"requests":{"method":"POST"}}`, "validation_failed", errs{"requests": "invalid_type"}),
			bad("no request", `{"requests":[]}`, "validation_failed", errs{"requests": "too_short"}),
			bad("101 requests", batchOf(many...), "validation_failed", errs{"requests": "too_long"}),
			bad("an unknown member", `{"requests":[],"atomic":false}`, "unknown_field", errs{"atomic": "unknown_field"}),
			malformed("a request that is not an object", "POST "+postsURL, "validation_failed", nil),
			malformed("a request that is null", nil, "validation_failed", nil),
			malformed("an empty request", breq{}, "validation_failed", errs{"method": "required", "url": "required"}),
			malformed("an unknown method", breq{"method": "GET", "url": postsURL}, "validation_failed", errs{"method": "invalid_choice"}),
			malformed("a method in lower case", breq{"method": "post", "url": postsURL, "body": breq{}}, "validation_failed", errs{"method": "invalid_choice"}),
			malformed("no method", breq{"url": postsURL, "body": breq{}}, "validation_failed", errs{"method": "required"}),
			malformed("a method that is not a string", breq{"method": 1, "url": postsURL, "body": breq{}}, "validation_failed", errs{"method": "invalid_type"}),
			malformed("no url", breq{"method": "POST", "body": breq{}}, "validation_failed", errs{"url": "required"}),
			malformed("a collection url", breq{"method": "POST", "url": "/api/collections/posts", "body": breq{}}, "validation_failed", errs{"url": "invalid"}),
			malformed("another route", breq{"method": "POST", "url": "/api/batch", "body": breq{}}, "validation_failed", errs{"url": "invalid"}),
			malformed("a url with a query", breq{"method": "POST", "url": postsURL + "?expand=author", "body": breq{}}, "validation_failed", errs{"url": "invalid"}),
			malformed("an absolute url", breq{"method": "POST", "url": "http://example.com" + postsURL, "body": breq{}}, "validation_failed", errs{"url": "invalid"}),
			malformed("a url past the id", breq{"method": "DELETE", "url": postsURL + "/" + loam.NewID() + "/x"}, "validation_failed", errs{"url": "invalid"}),
			malformed("POST to a record", breq{"method": "POST", "url": postsURL + "/" + loam.NewID(), "body": breq{}}, "validation_failed", errs{"url": "invalid"}),
			malformed("PATCH without an id", breq{"method": "PATCH", "url": postsURL, "body": breq{}}, "validation_failed", errs{"url": "invalid"}),
			malformed("PUT without an id", breq{"method": "PUT", "url": postsURL + "/", "body": breq{}}, "validation_failed", errs{"url": "invalid"}),
			malformed("no body", breq{"method": "POST", "url": postsURL}, "validation_failed", errs{"body": "required"}),
			malformed("a body that is a list", breq{"method": "PATCH", "url": postsURL + "/" + loam.NewID(), "body": []int{1}}, "validation_failed", errs{"body": "invalid_type"}),
			malformed("a body that is a string", breq{"method": "POST", "url": postsURL, "body": "title=x"}, "validation_failed", errs{"body": "invalid_type"}),
			malformed("a DELETE with a body", breq{"method": "DELETE", "url": postsURL + "/" + loam.NewID(), "body": breq{}}, "validation_failed", errs{"body": "invalid"}),
			malformed("a body over the single limit", breq{"method": "POST", "url": postsURL, "body": breq{"title": huge}}, "validation_failed", errs{"body": "too_large"}),
			malformed("ifMatch on a POST", breq{"method": "POST", "url": postsURL, "body": breq{}, "ifMatch": "*"}, "validation_failed", errs{"ifMatch": "invalid"}),
			malformed("an empty ifMatch", breq{"method": "DELETE", "url": postsURL + "/" + loam.NewID(), "ifMatch": ""}, "validation_failed", errs{"ifMatch": "invalid"}),
			malformed("ifMatch that is not a string", breq{"method": "DELETE", "url": postsURL + "/" + loam.NewID(), "ifMatch": 1}, "validation_failed", errs{"ifMatch": "invalid_type"}),
			malformed("an unknown member", breq{"method": "POST", "url": postsURL, "body": breq{}, "headers": breq{}}, "unknown_field", errs{"headers": "unknown_field"}),
			{Name: "every malformed request is named", Method: "POST", Path: "/api/batch", Token: e.super,
				Body:   batchOf(breq{"method": "GET"}, ok, breq{"method": "DELETE", "url": "/"}),
				Status: 400, Code: "validation_failed", Fields: errs{"requests.0": "validation_failed", "requests.2": "validation_failed"},
				Check: func(t *testing.T, a *answer) {
					requestFailed(0, "validation_failed", errs{"method": "invalid_choice", "url": "required"})(t, a)
					requestFailed(2, "validation_failed", errs{"url": "invalid"})(t, a)
				}, Unchanged: true},
			{Name: "a batch over the batch limit", Method: "POST", Path: "/api/batch", Token: e.super,
				Body: batchOf(func() []breq {
					reqs := make([]breq, 9)
					for i := range reqs {
						reqs[i] = breq{"method": "POST", "url": postsURL, "body": breq{"secret": huge}}
					}
					return reqs
				}()...), Status: 413, Code: "body_too_large", Unchanged: true},
			{Name: "text/plain", Method: "POST", Path: "/api/batch", Token: e.super, Body: batchOf(ok),
				Headers: map[string]string{"Content-Type": "text/plain"}, Status: 415, Code: "unsupported_media_type", Unchanged: true},
			{Name: "GET", Method: "GET", Path: "/api/batch", Token: e.super, Status: 405, Code: "method_not_allowed", Unchanged: true},
		})

		// A batch larger than one body may be but within the batch limit runs.
		var reqs []breq
		for i := range 8 {
			reqs = append(reqs, breq{"method": "POST", "url": postsURL, "body": breq{"title": fmt.Sprint("big ", i), "secret": huge[:1<<20-100]}})
		}
		a := e.do(t, call{Method: "POST", Path: "/api/batch", Token: e.super, Body: batchOf(reqs...)})
		if a.Status != 200 || len(results(t, a)) != 8 {
			t.Fatalf("a batch of 8 near-limit bodies: %d %s", a.Status, truncate(a.Body))
		}
	})
}

// TestBatchRules: every request is held to its collection's rules as a
// single request is; one refusal refuses the batch with that request's
// status (401 for anonymous callers, 403 for others). Hidden fields are
// rendered for superusers only, as on the single routes.
func TestBatchRules(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ann := e.setupPosts(t) // authors: superusers only; posts: everyone
		_, user := e.signUp(t)
		post := breq{"method": "POST", "url": postsURL, "body": breq{"title": "open", "secret": "hidden"}}
		var scs []scenario
		for _, who := range []struct {
			name, token, code string
			status            int
		}{{"anonymous", "", "unauthenticated", 401}, {"user", user, "forbidden", 403}} {
			for _, r := range []struct {
				name string
				req  breq
			}{
				{"creates an author", breq{"method": "POST", "url": authorsURL, "body": breq{"name": "x"}}},
				{"updates an author", breq{"method": "PATCH", "url": authorsURL + "/" + ann, "body": breq{"name": "x"}}},
				{"upserts a new author", breq{"method": "PUT", "url": authorsURL + "/" + loam.NewID(), "body": breq{"name": "x"}}},
				{"upserts an author", breq{"method": "PUT", "url": authorsURL + "/" + ann, "body": breq{"name": "x"}}},
				{"deletes an author", breq{"method": "DELETE", "url": authorsURL + "/" + ann}},
			} {
				scs = append(scs, scenario{Name: who.name + " " + r.name, Method: "POST", Path: "/api/batch", Token: who.token,
					Body: batchOf(post, r.req), Status: who.status, Code: who.code, Fields: errs{"requests.1": who.code},
					Check: requestFailed(1, who.code, nil), Unchanged: true})
			}
			scs = append(scs, scenario{Name: who.name + " writes posts", Method: "POST", Path: "/api/batch", Token: who.token,
				Body: batchOf(post, post), Status: 200, Absent: []string{"hidden"}})
		}
		scs = append(scs, scenario{Name: "a superuser sees hidden fields", Method: "POST", Path: "/api/batch", Token: e.super,
			Body: batchOf(post, breq{"method": "POST", "url": authorsURL, "body": breq{"name": "x"}}), Status: 200,
			Contains: []string{`"secret":"hidden"`}})
		e.run(t, scs)
	})
}

// TestBatchIdempotencyKey: a retried batch with the same key answers the
// first answer and writes nothing again.
func TestBatchIdempotencyKey(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.setupPosts(t)
		c := call{Method: "POST", Path: "/api/batch", Token: e.super, Headers: map[string]string{"Idempotency-Key": "b-1"},
			Body: batchOf(breq{"method": "POST", "url": postsURL, "body": breq{"title": "once"}})}
		first := e.do(t, c)
		if first.Status != 200 {
			t.Fatalf("first: %d %s", first.Status, first.Body)
		}
		before := e.snapshot(t)
		again := e.do(t, c)
		if again.Status != 200 || !bytes.Equal(again.Body, first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry: %d %s, want the first answer replayed: %s", again.Status, again.Body, first.Body)
		}
		if after := e.snapshot(t); after != before {
			t.Fatalf("a replayed batch wrote:\n%s", diff(before, after))
		}
	})
}

// TestConcurrentBatches: batches racing each other and single writes all
// complete (no batch waits on itself or on another for ever) and every write
// of every batch is there, with its event.
func TestConcurrentBatches(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.setupPosts(t)
		base := e.lastEvent(t)
		const batches, size = 8, 10
		var calls []call
		for b := range batches {
			id := loam.NewID()
			reqs := []breq{{"method": "PUT", "url": postsURL + "/" + id, "body": breq{"title": fmt.Sprint("b", b)}}}
			for i := range size - 2 {
				reqs = append(reqs, breq{"method": "POST", "url": postsURL, "body": breq{"title": fmt.Sprint("b", b, " ", i)}})
			}
			reqs = append(reqs, breq{"method": "PATCH", "url": postsURL + "/" + id, "body": breq{"views": b}})
			calls = append(calls, call{Method: "POST", Path: "/api/batch", Token: e.super, Body: batchOf(reqs...)},
				call{Method: "POST", Path: postsURL, Token: e.super, Body: breq{"title": fmt.Sprint("single ", b)}})
		}
		for i, a := range e.sendAll(t, calls) {
			if want := []int{200, 201}[i%2]; a.Status != want {
				t.Errorf("call %d: %d %s, want %d", i, a.Status, truncate(a.Body), want)
			}
		}
		if n := e.count(t, "posts"); n != batches*(size-1)+batches {
			t.Errorf("%d posts, want %d", n, batches*(size-1)+batches)
		}
		if n := len(e.eventsAfter(t, base)); n != batches*size+batches {
			t.Errorf("%d events, want %d", n, batches*size+batches)
		}
	})
}
