package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestIdempotencyKey(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"posts","fields":[{"name":"title","type":"text","unique":true}],
			"rules":{"list":"","view":"","create":"","update":"","delete":""}}`)
		create := func(key, title string) *answer {
			return e.do(t, call{Method: "POST", Path: "/api/collections/posts/records", Body: `{"title":"` + title + `"}`,
				Headers: map[string]string{"Idempotency-Key": key}})
		}
		first := create("k-1", "one")
		if first.Status != http.StatusCreated {
			t.Fatalf("first create: %d %s", first.Status, first.Body)
		}
		seq := e.lastEvent(t)
		again := create("k-1", "one")
		if again.Status != http.StatusCreated || string(again.Body) != string(first.Body) ||
			again.Header.Get("ETag") != first.Header.Get("ETag") || again.Header.Get("Location") != first.Header.Get("Location") {
			t.Fatalf("retry: %d %s, want the first answer %s", again.Status, again.Body, first.Body)
		}
		if again.Header.Get("Idempotent-Replayed") != "true" || first.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("Idempotent-Replayed: first %q, retry %q", first.Header.Get("Idempotent-Replayed"), again.Header.Get("Idempotent-Replayed"))
		}
		if n := e.count(t, "posts"); n != 1 {
			t.Fatalf("%d records after a retry, want 1", n)
		}
		if evs := e.eventsAfter(t, seq); len(evs) != 0 {
			t.Fatalf("a replay wrote %d events", len(evs))
		}

		// The same key for another request is refused and writes nothing.
		other := create("k-1", "two")
		checkErrorBody(t, other, "conflict", nil)
		if n := e.count(t, "posts"); n != 1 {
			t.Fatalf("%d records after a reused key, want 1", n)
		}

		// A refused request (4xx) is replayed too: the answer does not change
		// even after the cause is gone.
		dup := create("k-2", "one")
		checkErrorBody(t, dup, "conflict", map[string]string{"title": "unique"})

		// Keys belong to their caller: a superuser's k-1 is not the anonymous k-1.
		mine := e.do(t, call{Method: "POST", Path: "/api/collections/posts/records", Token: e.super, Body: `{"title":"three"}`,
			Headers: map[string]string{"Idempotency-Key": "k-1"}})
		if mine.Status != http.StatusCreated {
			t.Fatalf("another caller's key: %d %s", mine.Status, mine.Body)
		}

		// A bad key is refused before anything runs.
		bad := e.do(t, call{Method: "POST", Path: "/api/collections/posts/records", Body: `{"title":"four"}`,
			Headers: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}})
		checkErrorBody(t, bad, "invalid_query", nil)
		if n := e.count(t, "posts"); n != 2 {
			t.Fatalf("%d records, want 2", n)
		}

		// DELETE with a key: the retry answers 204 again and deletes nothing more.
		id := str(first.JSON(t)["id"])
		for i := 0; i < 2; i++ {
			del := e.do(t, call{Method: "DELETE", Path: "/api/collections/posts/records/" + id, Headers: map[string]string{"Idempotency-Key": "d-1"}})
			if del.Status != http.StatusNoContent {
				t.Fatalf("delete %d: %d %s", i, del.Status, del.Body)
			}
		}
	})
}

// Racing retries with one key: exactly one request runs; the others wait
// for its transaction and replay its answer, and one record exists.
func TestIdempotencyKeyRace(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"posts","fields":[{"name":"title","type":"text"}],"rules":{"list":"","view":"","create":""}}`)
		const n = 8
		answers := make([]*answer, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i], errs[i] = e.send(call{Method: "POST", Path: "/api/collections/posts/records", Body: `{"title":"x"}`,
					Headers: map[string]string{"Idempotency-Key": "race"}})
			}()
		}
		wg.Wait()
		created := 0
		for i, a := range answers {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			switch {
			case a.Status == http.StatusCreated && a.Header.Get("Idempotent-Replayed") == "":
				created++
			case a.Status == http.StatusCreated:
			default:
				t.Fatalf("answer %d: %d %s", i, a.Status, a.Body)
			}
		}
		if created != 1 {
			t.Fatalf("%d requests ran, want exactly 1", created)
		}
		if c := e.count(t, "posts"); c != 1 {
			t.Fatalf("%d records, want 1", c)
		}
	})
}
