package clustertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCluster: three api instances, a worker and two schedulers on one
// PostgreSQL, behind nginx. Everything a request depends on lives in the
// database, so any instance answers any request.
func TestCluster(t *testing.T) {
	hits := &tickCounter{}
	hook := httptest.NewServer(hits)
	t.Cleanup(hook.Close)
	hookURL, _ := url.Parse(hook.URL)
	c := newCluster(t, 3, "--outbound-hosts", hookURL.Host)
	lb := c.lb
	c.must(t, 201, lb, "POST", "/api/collections", c.super, map[string]any{
		"name": "notes", "fields": []map[string]any{{"name": "title", "type": "text"}},
		"rules": map[string]any{"list": "", "view": "", "create": ""}})
	c.must(t, 201, lb, "POST", "/api/collections", c.super, map[string]any{
		"name": "users", "type": "auth", "rules": map[string]any{"create": "", "view": "id = @request.auth.id"}})

	t.Run("a record written through one instance is read through every other", func(t *testing.T) {
		for i, writer := range c.api {
			id := c.must(t, 201, writer.addr, "POST", "/api/collections/notes/records", "",
				map[string]any{"title": fmt.Sprintf("written through api%d", i+1)}).str(t, "id")
			for _, reader := range c.api {
				a := c.must(t, 200, reader.addr, "GET", "/api/collections/notes/records/"+id, "", nil)
				if !strings.Contains(string(a.body), fmt.Sprintf("written through api%d", i+1)) {
					t.Errorf("%s reads %s", reader.name, a.body)
				}
			}
			for range 3 { // round-robin: each instance once
				c.must(t, 200, lb, "GET", "/api/collections/notes/records/"+id, "", nil)
			}
		}
	})

	t.Run("a collection created through one instance is used through another at once", func(t *testing.T) {
		c.must(t, 201, c.api[0].addr, "POST", "/api/collections", c.super, map[string]any{
			"name": "fresh", "fields": []map[string]any{{"name": "n", "type": "number"}}})
		c.must(t, 201, c.api[2].addr, "POST", "/api/collections/fresh/records", c.super, map[string]any{"n": 1})
		c.must(t, 200, c.api[0].addr, "PATCH", "/api/collections/fresh", c.super, map[string]any{
			"fields": []map[string]any{{"name": "n", "type": "number"}, {"name": "label", "type": "text"}}})
		c.must(t, 201, c.api[1].addr, "POST", "/api/collections/fresh/records", c.super, map[string]any{"n": 2, "label": "new field"})
	})

	t.Run("a token revoked through instance 2 is refused by all", func(t *testing.T) {
		c.must(t, 201, lb, "POST", "/api/collections/users/records", "",
			map[string]any{"email": "ann@example.com", "password": "ann's long password"})
		token := c.must(t, 200, lb, "POST", "/api/collections/users/auth/password", "",
			map[string]any{"identity": "ann@example.com", "password": "ann's long password"}).str(t, "token")
		for _, p := range c.api {
			c.must(t, 200, p.addr, "GET", "/api/collections/users/auth/sessions", token, nil)
		}
		c.must(t, 204, c.api[1].addr, "POST", "/api/collections/users/auth/logout", token, nil)
		for _, base := range []string{c.api[0].addr, c.api[1].addr, c.api[2].addr, lb, lb, lb} {
			if a := c.do(t, base, "GET", "/api/collections/users/auth/sessions", token, nil, nil); a.status != 401 {
				t.Errorf("%s accepts the revoked token: %d %s", base, a.status, a.body)
			}
		}
	})

	t.Run("each cron tick runs once", func(t *testing.T) {
		c.must(t, 201, lb, "POST", "/api/schedules", c.super, map[string]any{
			"name": "ping", "spec": "@every 1s", "kind": "http",
			"args": map[string]any{"url": hook.URL + "/tick", "method": "POST"}})
		// Two schedulers run the schedule; wait for the worker to finish
		// five ticks' jobs, then compare the jobs with the calls.
		var jobs []map[string]any
		deadline := time.Now().Add(60 * time.Second)
		for {
			a := c.must(t, 200, lb, "GET", "/api/jobs?perPage=500&sort=runAt&filter="+
				url.QueryEscape(`kind = "http" && state = "completed"`), c.super, nil)
			jobs = nil
			for _, it := range a.json(t)["items"].([]any) {
				jobs = append(jobs, it.(map[string]any))
			}
			if len(jobs) >= 5 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d ticks ran in 60 s", len(jobs))
			}
			time.Sleep(200 * time.Millisecond)
		}
		c.must(t, 200, lb, "PATCH", "/api/schedules/ping", c.super, map[string]any{"paused": true})
		keys := map[string]bool{}
		for _, j := range jobs {
			k, _ := j["uniqueKey"].(string)
			if !strings.Contains(k, "schedule:ping@") || keys[k] {
				t.Errorf("job %v: unique key %q repeats or is not a tick's", j["id"], k)
			}
			keys[k] = true
			if j["attempt"] != float64(1) {
				t.Errorf("job %v ran %v times", j["id"], j["attempt"])
			}
		}
		// Every completed job called once; a job run twice would call twice.
		if n := hits.count(); n < len(jobs) {
			t.Errorf("%d calls for %d completed tick jobs", n, len(jobs))
		}
		a := c.must(t, 200, lb, "GET", "/api/jobs?perPage=1&filter="+url.QueryEscape(`kind = "http"`), c.super, nil)
		all := int(a.json(t)["totalItems"].(float64))
		if n := hits.count(); n > all {
			t.Errorf("%d calls for %d tick jobs: a tick ran more than once", n, all)
		}
	})

	t.Run("a realtime subscriber on instance 3 receives a write made through instance 1", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		direct := subscribe(t, ctx, c.api[2].addr, "subscribe=notes")
		balanced := subscribe(t, ctx, lb, "subscribe=notes")
		for _, s := range []<-chan sseEvent{direct, balanced} {
			if ev := next(t, s, "ready"); ev.name != "ready" {
				t.Fatalf("first event %q, want ready", ev.name)
			}
		}
		id := c.must(t, 201, c.api[0].addr, "POST", "/api/collections/notes/records", "",
			map[string]any{"title": "live through api1"}).str(t, "id")
		recordEvent(t, direct, id)
		recordEvent(t, balanced, id)
	})

	t.Run("killing an api instance under load loses no acknowledged write", func(t *testing.T) {
		c.must(t, 201, lb, "POST", "/api/collections", c.super, map[string]any{
			"name": "plain", "fields": []map[string]any{{"name": "n", "type": "number"}},
			"rules": map[string]any{"list": "", "view": "", "create": ""}})
		c.must(t, 201, lb, "POST", "/api/collections", c.super, map[string]any{
			"name": "keyed", "fields": []map[string]any{{"name": "n", "type": "number"}},
			"rules": map[string]any{"list": "", "view": "", "create": ""}})
		plain, keyed := &loadResult{}, &loadResult{}
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if w%2 == 0 {
					c.createLoad(ctx, lb, "plain", false, plain)
				} else {
					c.createLoad(ctx, lb, "keyed", true, keyed)
				}
			}()
		}
		waitUntil(t, 60*time.Second, "300 acknowledged creates", func() bool { return plain.acked() >= 150 && keyed.acked() >= 150 })
		c.api[1].kill(t)
		before := plain.acked() + keyed.acked()
		waitUntil(t, 60*time.Second, "300 more acknowledged creates after the kill", func() bool {
			return plain.acked()+keyed.acked() >= before+300
		})
		stop()
		wg.Wait()
		for _, r := range []struct {
			name string
			res  *loadResult
		}{{"plain", plain}, {"keyed", keyed}} {
			rows := c.ids(t, lb, r.name)
			acked := r.res.ids()
			for _, id := range acked {
				if !rows[id] {
					t.Errorf("%s: acknowledged record %s is not in the table", r.name, id)
				}
			}
			extra := len(rows) - len(acked)
			t.Logf("%s: %d acknowledged, %d rows, %d failed answers %v, %d retries", r.name, len(acked), len(rows),
				r.res.failed.Load(), r.res.why, r.res.retries.Load())
			switch r.name {
			case "plain": // rows beyond the acknowledged ones: at most the requests that failed
				if extra < 0 || int64(extra) > r.res.failed.Load() {
					t.Errorf("plain: %d rows beyond the %d acknowledged, with %d failed requests", extra, len(acked), r.res.failed.Load())
				}
			case "keyed": // retried with the same key: exactly the acknowledged ones
				if extra != 0 {
					t.Errorf("keyed: %d rows for %d acknowledged creates", len(rows), len(acked))
				}
			}
		}
		// The balancer carries on with the rest.
		for range 4 {
			c.must(t, 200, lb, "GET", "/api/health", "", nil)
		}
	})
}

// tickCounter counts the calls of the scheduled http jobs.
type tickCounter struct{ n atomic.Int64 }

func (h *tickCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/tick" {
		h.n.Add(1)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *tickCounter) count() int { return int(h.n.Load()) }

// loadResult is what a create load saw.
type loadResult struct {
	mu      sync.Mutex
	list    []string
	failed  atomic.Int64 // answers other than 2xx, and transport errors
	retries atomic.Int64
	why     map[string]int // failures by status or error
}

func (r *loadResult) fail(why string) {
	r.failed.Add(1)
	r.mu.Lock()
	if r.why == nil {
		r.why = map[string]int{}
	}
	r.why[why]++
	r.mu.Unlock()
}

func (r *loadResult) add(id string) {
	r.mu.Lock()
	r.list = append(r.list, id)
	r.mu.Unlock()
}

func (r *loadResult) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.list)
}

func (r *loadResult) acked() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.list)
}

// createLoad creates records of collection through base until ctx ends.
// With keyed, each create carries an Idempotency-Key and is retried with
// it until it is acknowledged (or ctx ends, when the attempt counts as
// failed).
func (c *cluster) createLoad(ctx context.Context, base, collection string, keyed bool, res *loadResult) {
	for n := 0; ctx.Err() == nil; n++ {
		var header map[string]string
		if keyed {
			header = map[string]string{"Idempotency-Key": newKey()}
		}
		for attempt := 0; ; attempt++ {
			a, err := c.send(context.WithoutCancel(ctx), base, "POST", "/api/collections/"+collection+"/records", "",
				map[string]any{"n": n}, header)
			if err == nil && a.status == 201 {
				var id string
				if m := a.jsonOrNil(); m != nil {
					id, _ = m["id"].(string)
				}
				res.add(id)
				break
			}
			if err != nil {
				res.fail("transport")
			} else {
				res.fail(fmt.Sprintf("%d %.80s", a.status, a.body))
			}
			if !keyed || ctx.Err() != nil {
				break
			}
			res.retries.Add(1)
		}
	}
}

func (a *answer) jsonOrNil() map[string]any {
	var m map[string]any
	if json.Unmarshal(a.body, &m) != nil {
		return nil
	}
	return m
}

func newKey() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ids returns the ids of every record of collection, read page by page.
func (c *cluster) ids(t *testing.T, base, collection string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	cursor := ""
	for {
		path := "/api/collections/" + collection + "/records?perPage=500&skipTotal=1&fields=id&sort=id"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		m := c.must(t, 200, base, "GET", path, c.super, nil).json(t)
		for _, it := range m["items"].([]any) {
			ids[it.(map[string]any)["id"].(string)] = true
		}
		next, _ := m["nextCursor"].(string)
		if next == "" {
			return ids
		}
		cursor = next
	}
}

// waitUntil polls cond until it holds or limit passes.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
