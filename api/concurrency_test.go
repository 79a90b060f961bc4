package api_test

import (
	"fmt"
	"sync"
	"testing"
)

// sendAll sends the calls at once, from as many goroutines, and returns the
// answers in call order.
func (e *env) sendAll(t *testing.T, calls []call) []*answer {
	t.Helper()
	answers := make([]*answer, len(calls))
	errs := make([]error, len(calls))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i], errs[i] = e.send(c)
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return answers
}

// TestConcurrentWrites: racing writes end as the same answers a sequence of
// them would give: one winner, the others 409 naming the field (unique) or
// 412 (If-Match); never a 500, never two winners.
func TestConcurrentWrites(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"slugs","fields":[{"name":"slug","type":"text","unique":true},{"name":"n","type":"number"}]}`)
		const n = 8
		base := e.lastEvent(t)
		var calls []call
		for i := range n {
			calls = append(calls, call{Method: "POST", Path: "/api/collections/slugs/records", Token: e.super,
				Body: fmt.Sprintf(`{"slug":"same","n":%d}`, i)})
		}
		won := 0
		for _, a := range e.sendAll(t, calls) {
			switch a.Status {
			case 201:
				won++
			case 409:
				checkErrorBody(t, a, "conflict", errs{"slug": "unique"})
			default:
				t.Errorf("racing create: %d %s", a.Status, a.Body)
			}
		}
		if won != 1 || e.count(t, "slugs") != 1 || len(e.eventsAfter(t, base)) != 1 {
			t.Errorf("racing creates: %d won, %d records, %d events; want 1 each", won, e.count(t, "slugs"), len(e.eventsAfter(t, base)))
		}

		rec := e.mustCreate(t, "slugs", map[string]any{"slug": "other", "n": -1})
		path := "/api/collections/slugs/records/" + str(rec["id"])
		etag := e.do(t, call{Method: "GET", Path: path, Token: e.super}).Header.Get("ETag")
		base = e.lastEvent(t)
		calls = calls[:0]
		for i := range n {
			calls = append(calls, call{Method: "PATCH", Path: path, Token: e.super, Body: fmt.Sprintf(`{"n":%d}`, i),
				Headers: map[string]string{"If-Match": etag}})
		}
		won = 0
		for _, a := range e.sendAll(t, calls) {
			switch a.Status {
			case 200:
				won++
			case 412:
				checkErrorBody(t, a, "precondition_failed", nil)
			default:
				t.Errorf("racing PATCH with If-Match: %d %s", a.Status, a.Body)
			}
		}
		if events := e.eventsAfter(t, base); won != 1 || len(events) != 1 {
			t.Errorf("racing PATCHes with one If-Match: %d won, %d events; want 1 each", won, len(events))
		}
	})
}
