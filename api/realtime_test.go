package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"loam"
	"loam/api"
	"loam/realtime"
)

// sseEvent is one event of a realtime stream.
type sseEvent struct {
	ID   string
	Name string
	Data string
}

// JSON decodes the event's data.
func (ev sseEvent) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
		t.Fatalf("event %s data is not JSON: %v: %q", ev.Name, err, ev.Data)
	}
	return m
}

// stream is an open realtime stream read by a goroutine of its own.
type stream struct {
	events chan sseEvent
	ended  chan struct{} // closed when the server ends the stream
	cancel context.CancelFunc
	body   io.Closer
}

// open opens GET /api/realtime?query with a token (or none) and extra
// headers, checks the answer against the document, and waits for the ready
// event: from then on, every write reaches the stream. Answers other than
// 200 fail the test.
func (e *env) open(t *testing.T, query, token string, headers map[string]string) *stream {
	t.Helper()
	s, a := e.tryOpen(t, query, token, headers)
	if s == nil {
		t.Fatalf("open stream ?%s: %d %s", query, a.Status, a.Body)
	}
	if ev := s.next(t); ev.Name != "ready" {
		t.Fatalf("first event %q, want ready", ev.Name)
	}
	return s
}

// tryOpen opens a stream; when the answer is not 200 it returns nil and
// the answer, held to the document.
func (e *env) tryOpen(t *testing.T, query, token string, headers map[string]string) (*stream, *answer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.base+"/api/realtime?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		cancel()
		t.Fatalf("open stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		a := &answer{Status: resp.StatusCode, Header: resp.Header, Body: b}
		if err := e.contract.check(req, a); err != nil {
			t.Errorf("drift: %v", err)
		}
		return nil, a
	}
	if err := e.contract.check(req, &answer{Status: resp.StatusCode, Header: resp.Header}); err != nil {
		t.Errorf("drift: %v", err)
	}
	s := &stream{events: make(chan sseEvent, 1024), ended: make(chan struct{}), cancel: cancel, body: resp.Body}
	t.Cleanup(s.close)
	go s.read(resp.Body)
	return s, nil
}

func (s *stream) close() {
	s.cancel()
	s.body.Close()
}

// read parses the stream: fields of one event up to a blank line; comments
// (heartbeats) are skipped.
func (s *stream) read(r io.Reader) {
	defer close(s.ended)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.Name != "" || ev.Data != "" {
				s.events <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			ev.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.Name = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.Data += line[6:]
		}
	}
}

// next returns the next event, failing after a deadline.
func (s *stream) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-s.ended:
		select {
		case ev := <-s.events:
			return ev
		default:
		}
		t.Fatal("the stream ended")
	case <-time.After(15 * time.Second):
		t.Fatal("no event within 15s")
	}
	return sseEvent{}
}

// record reads the next event, which must be a record event of action on
// collection/id, and returns its record.
func (s *stream) record(t *testing.T, action, collection, id string) map[string]any {
	t.Helper()
	ev := s.next(t)
	m := ev.JSON(t)
	rec, _ := m["record"].(map[string]any)
	if ev.Name != "record" || m["action"] != action || m["collection"] != collection || rec == nil || rec["id"] != id {
		t.Fatalf("event %s %s, want record %s of %s/%s", ev.Name, ev.Data, action, collection, id)
	}
	if _, err := strconv.ParseInt(ev.ID, 10, 64); err != nil {
		t.Fatalf("event id %q is not a seq", ev.ID)
	}
	return rec
}

// waitEnd waits for the server to end the stream and returns the events
// left unread.
func (s *stream) waitEnd(t *testing.T) []sseEvent {
	t.Helper()
	select {
	case <-s.ended:
	case <-time.After(15 * time.Second):
		t.Fatal("the stream did not end within 15s")
	}
	var out []sseEvent
	for {
		select {
		case ev := <-s.events:
			out = append(out, ev)
		default:
			return out
		}
	}
}

// realtimeFixture: users (auth; anyone views, emails withheld by default)
// with ann and bob signed in, and posts each only its owner sees, with a
// hidden note.
type realtimeFixture struct {
	ann, bob       string
	annTok, bobTok string
}

func (e *env) realtimeFixture(t *testing.T) realtimeFixture {
	t.Helper()
	e.mustCreateCollection(t, `{"name":"users","type":"auth","fields":[{"name":"nick","type":"text"}],
		"rules":{"list":"","view":"","create":"","update":null,"delete":null}}`)
	e.mustCreateCollection(t, `{"name":"posts","fields":[{"name":"title","type":"text"},
		{"name":"owner","type":"relation","collection":"users"},{"name":"note","type":"text","hidden":true}],
		"rules":{"list":"owner = @request.auth.id","view":"owner = @request.auth.id","create":null,"update":null,"delete":null}}`)
	var f realtimeFixture
	f.ann = str(e.mustCreate(t, "users", map[string]any{"email": "ann@example.com", "password": "a long password", "nick": "ann"})["id"])
	f.bob = str(e.mustCreate(t, "users", map[string]any{"email": "bob@example.com", "password": "a long password", "nick": "bob"})["id"])
	f.annTok = e.signIn(t, "users", "ann@example.com", "a long password")
	f.bobTok = e.signIn(t, "users", "bob@example.com", "a long password")
	return f
}

func (e *env) patch(t *testing.T, collection, id string, body any) {
	t.Helper()
	a := e.do(t, call{Method: "PATCH", Path: "/api/collections/" + collection + "/records/" + id, Token: e.super, Body: body})
	if a.Status != http.StatusOK {
		t.Fatalf("update %s/%s: %d %s", collection, id, a.Status, a.Body)
	}
}

func (e *env) remove(t *testing.T, collection, id string) {
	t.Helper()
	a := e.do(t, call{Method: "DELETE", Path: "/api/collections/" + collection + "/records/" + id, Token: e.super})
	if a.Status != http.StatusNoContent {
		t.Fatalf("delete %s/%s: %d %s", collection, id, a.Status, a.Body)
	}
}

// TestRealtimeRules: a subscriber gets create, update and delete of what
// the view rule shows it, and nothing of what it hides (a delete of a
// hidden record included); hidden fields and withheld emails stay out of
// payloads; superusers see everything.
func TestRealtimeRules(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		f := e.realtimeFixture(t)
		ann := e.open(t, "subscribe=posts,users", f.annTok, nil)
		super := e.open(t, "subscribe=posts", e.super, nil)

		bobs := str(e.mustCreate(t, "posts", map[string]any{"title": "bob's", "owner": f.bob, "note": "n"})["id"])
		anns := str(e.mustCreate(t, "posts", map[string]any{"title": "ann's", "owner": f.ann, "note": "secret"})["id"])
		// bob's post was written first: had ann received it, it would come first.
		rec := ann.record(t, "create", "posts", anns)
		if rec["title"] != "ann's" || rec["collectionName"] != "posts" {
			t.Errorf("ann's create: %v", rec)
		}
		if _, ok := rec["note"]; ok {
			t.Errorf("a hidden field reached a non-superuser: %v", rec)
		}
		if r := super.record(t, "create", "posts", bobs); r["note"] != "n" {
			t.Errorf("the superuser's payload lacks the hidden field: %v", r)
		}
		super.record(t, "create", "posts", anns)

		e.patch(t, "posts", anns, map[string]any{"title": "ann's, edited"})
		if r := ann.record(t, "update", "posts", anns); r["title"] != "ann's, edited" {
			t.Errorf("update payload: %v", r)
		}
		e.remove(t, "posts", bobs) // hidden from ann: not delivered
		e.remove(t, "posts", anns)
		if r := ann.record(t, "delete", "posts", anns); r["title"] != "ann's, edited" {
			t.Errorf("a delete carries the record as it was: %v", r)
		}
		super.record(t, "update", "posts", anns)
		super.record(t, "delete", "posts", bobs)
		super.record(t, "delete", "posts", anns)

		e.patch(t, "users", f.bob, map[string]any{"nick": "bobby"})
		r := ann.record(t, "update", "users", f.bob)
		if r["nick"] != "bobby" {
			t.Errorf("users update: %v", r)
		}
		for _, leak := range []string{"email", "password"} {
			if _, ok := r[leak]; ok {
				t.Errorf("ann's payload of bob holds %s: %v", leak, r)
			}
		}
		e.patch(t, "users", f.ann, map[string]any{"nick": "annie"})
		if r := ann.record(t, "update", "users", f.ann); r["email"] != "ann@example.com" {
			t.Errorf("ann's own record should show her email: %v", r)
		}
	})
}

// TestRealtimeNarrowing: a record subscription gets only that record; a
// filter narrows a collection subscription.
func TestRealtimeNarrowing(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.realtimeFixture(t)
		one := str(e.mustCreate(t, "posts", map[string]any{"title": "one"})["id"])
		other := str(e.mustCreate(t, "posts", map[string]any{"title": "other"})["id"])
		byID := e.open(t, "subscribe=posts/"+one, e.super, nil)
		filtered := e.open(t, "subscribe=posts&filter.posts="+url.QueryEscape("title ~ 'keep'"), e.super, nil)

		e.patch(t, "posts", other, map[string]any{"title": "other 2"})
		e.patch(t, "posts", one, map[string]any{"title": "one 2"})
		byID.record(t, "update", "posts", one)

		e.mustCreate(t, "posts", map[string]any{"title": "drop me"})
		kept := str(e.mustCreate(t, "posts", map[string]any{"title": "keep me"})["id"])
		filtered.record(t, "create", "posts", kept)
		e.patch(t, "posts", other, map[string]any{"title": "other 3"})
		e.remove(t, "posts", one)
		byID.record(t, "delete", "posts", one)
	})
}

// TestRealtimeBadSubscriptions: bad subscriptions are JSON errors before
// any stream starts.
func TestRealtimeBadSubscriptions(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		f := e.realtimeFixture(t)
		e.mustCreateCollection(t, `{"name":"locked","fields":[{"name":"title","type":"text"}]}`)
		tests := []struct {
			name, query, token string
			headers            map[string]string
			status             int
			code               string
		}{
			{"no subscription", "", e.super, nil, 400, "invalid_query"},
			{"unknown collection", "subscribe=nope", e.super, nil, 404, "not_found"},
			{"bad record id", "subscribe=posts/NOT-AN-ID", e.super, nil, 400, "invalid_query"},
			{"bad filter", "subscribe=posts&filter.posts=" + url.QueryEscape("title ==="), e.super, nil, 400, "invalid_filter"},
			{"filter on a hidden field", "subscribe=posts&filter.posts=" + url.QueryEscape("note = 'x'"), f.annTok, nil, 400, "invalid_filter"},
			{"filter on an unsubscribed collection", "subscribe=posts&filter.users=" + url.QueryEscape("nick = 'x'"), e.super, nil, 400, "invalid_query"},
			{"bad Last-Event-ID", "subscribe=posts", e.super, map[string]string{"Last-Event-ID": "abc"}, 400, "invalid_query"},
			{"superusers-only view rule, anonymous", "subscribe=locked", "", nil, 401, "unauthenticated"},
			{"superusers-only view rule, a user", "subscribe=locked", f.annTok, nil, 403, "forbidden"},
			{"bad ticket", "subscribe=posts&ticket=abc.def", "", nil, 401, "unauthenticated"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s, a := e.tryOpen(t, tt.query, tt.token, tt.headers)
				if s != nil {
					t.Fatalf("a stream opened; want %d %s", tt.status, tt.code)
				}
				if a.Status != tt.status || str(a.JSON(t)["code"]) != tt.code {
					t.Fatalf("got %d %s, want %d %s", a.Status, a.Body, tt.status, tt.code)
				}
			})
		}
	})
}

// TestRealtimeResume: Last-Event-ID replays exactly the missed events, then
// live ones follow; an id older than the log gets reset.
func TestRealtimeResume(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.realtimeFixture(t)
		s := e.open(t, "subscribe=posts", e.super, nil)
		var ids []string
		for i := range 3 {
			ids = append(ids, str(e.mustCreate(t, "posts", map[string]any{"title": "p" + strconv.Itoa(i)})["id"]))
		}
		s.record(t, "create", "posts", ids[0])
		ev := s.next(t) // the second: the client goes away after it
		lastID := ev.ID
		s.close()
		for i := 3; i < 5; i++ {
			ids = append(ids, str(e.mustCreate(t, "posts", map[string]any{"title": "p" + strconv.Itoa(i)})["id"]))
		}
		again := e.open(t, "subscribe=posts", e.super, map[string]string{"Last-Event-ID": lastID})
		for _, id := range ids[2:] {
			again.record(t, "create", "posts", id)
		}
		live := str(e.mustCreate(t, "posts", map[string]any{"title": "live"})["id"])
		again.record(t, "create", "posts", live)

		// The query parameter does the same.
		q := e.open(t, "subscribe=posts&lastEventId="+lastID, e.super, nil)
		for _, id := range append(ids[2:], live) {
			q.record(t, "create", "posts", id)
		}

		// The log keeps only the newest event now: the id is too old.
		if _, err := e.app.Store().PurgeEvents(t.Context(), loam.Now().Add(time.Hour), 1); err != nil {
			t.Fatalf("PurgeEvents: %v", err)
		}
		reset := e.open(t, "subscribe=posts", e.super, map[string]string{"Last-Event-ID": lastID})
		if ev := reset.next(t); ev.Name != "reset" {
			t.Fatalf("event %s %s, want reset", ev.Name, ev.Data)
		}
		after := str(e.mustCreate(t, "posts", map[string]any{"title": "after reset"})["id"])
		reset.record(t, "create", "posts", after)
	})
}

// TestRealtimeSessionEnds: a revoked session ends the stream at the next
// heartbeat, with an error event.
func TestRealtimeSessionEnds(t *testing.T) {
	eachStore(t, func(t *testing.T, base *env) {
		e := startEnv(t, base.store, openStore(t, base.store), loam.Config{}, api.Config{RealtimeHeartbeat: 20 * time.Millisecond})
		f := e.realtimeFixture(t)
		s := e.open(t, "subscribe=users", f.annTok, nil)
		a := e.do(t, call{Method: "DELETE", Path: "/api/collections/users/auth/sessions", Token: f.annTok})
		if a.Status != http.StatusNoContent {
			t.Fatalf("revoke: %d %s", a.Status, a.Body)
		}
		left := s.waitEnd(t)
		if len(left) == 0 || left[len(left)-1].Name != "error" || str(left[len(left)-1].JSON(t)["code"]) != "unauthenticated" {
			t.Fatalf("the stream ended with %v, want an error event with code unauthenticated", left)
		}
	})
}

// TestRealtimeTicket: a ticket opens one stream as its session, once, within
// a minute; anonymous callers get none.
func TestRealtimeTicket(t *testing.T) {
	eachStore(t, func(t *testing.T, base *env) {
		clock := newFakeClock()
		e := startEnv(t, base.store, openStore(t, base.store), loam.Config{Clock: clock.Now})
		f := e.realtimeFixture(t)
		ticket := func(token string) *answer {
			return e.do(t, call{Method: "POST", Path: "/api/realtime/ticket", Token: token})
		}
		if a := ticket(""); a.Status != http.StatusUnauthorized {
			t.Fatalf("anonymous ticket: %d %s", a.Status, a.Body)
		}
		a := ticket(f.annTok)
		if a.Status != http.StatusCreated {
			t.Fatalf("ticket: %d %s", a.Status, a.Body)
		}
		tk := str(a.JSON(t)["ticket"])
		s := e.open(t, "subscribe=posts&ticket="+url.QueryEscape(tk), "", nil)
		e.mustCreate(t, "posts", map[string]any{"title": "bob's", "owner": f.bob})
		anns := str(e.mustCreate(t, "posts", map[string]any{"title": "ann's", "owner": f.ann})["id"])
		s.record(t, "create", "posts", anns) // as ann: bob's is hidden

		if _, a := e.tryOpen(t, "subscribe=posts&ticket="+url.QueryEscape(tk), "", nil); a == nil || a.Status != 401 {
			t.Fatalf("a used ticket opened a stream")
		}
		late := str(ticket(f.annTok).JSON(t)["ticket"])
		clock.Advance(loam.RealtimeTicketTTL + time.Second)
		if _, a := e.tryOpen(t, "subscribe=posts&ticket="+url.QueryEscape(late), "", nil); a == nil || a.Status != 401 {
			t.Fatalf("an expired ticket opened a stream")
		}
	})
}

// TestRealtimeAcrossInstances: two instances on one PostgreSQL database; a
// write through one reaches a subscriber of the other (LISTEN/NOTIFY carries
// the seq, the record comes from the event table), whole even when it is
// far larger than a NOTIFY payload may be.
func TestRealtimeAcrossInstances(t *testing.T) {
	t.Parallel()
	open := sharedDB(t, "postgres")
	a := startEnv(t, "postgres", open(), loam.Config{})
	a.mustCreateCollection(t, `{"name":"posts","fields":[{"name":"title","type":"text"}]}`)
	// B's hub polls the log once an hour: only a notification can bring
	// A's writes in time.
	app, err := loam.New(loam.Config{Store: open()})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Stop() })
	hub := realtime.New(app, realtime.Config{Poll: time.Hour})
	if err := hub.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Stop)
	b := serve(t, "postgres", app, false, api.Config{Realtime: hub})
	s := b.open(t, "subscribe=posts", b.super, nil)
	big := strings.Repeat("é", 20000) // 40 000 bytes
	id := str(a.mustCreate(t, "posts", map[string]any{"title": big})["id"])
	if r := s.record(t, "create", "posts", id); r["title"] != big {
		t.Fatalf("the record arrived cut: %d bytes of title, want %d", len(str(r["title"])), len(big))
	}
	small := str(a.mustCreate(t, "posts", map[string]any{"title": "small"})["id"])
	s.record(t, "create", "posts", small)
}

// TestRealtimeAPIKeys: a stream opened with an API key needs the key's view
// scope on each collection it subscribes to, and ends when the key is
// revoked.
func TestRealtimeAPIKeys(t *testing.T) {
	eachStore(t, func(t *testing.T, base *env) {
		e := startEnv(t, base.store, openStore(t, base.store), loam.Config{}, api.Config{RealtimeHeartbeat: 20 * time.Millisecond})
		f := e.realtimeFixture(t)
		keys := "/api/collections/users/records/" + f.ann + "/api-keys"
		a := e.do(t, call{Method: "POST", Path: keys, Token: f.annTok, Body: map[string]any{"name": "watcher",
			"scopes": []map[string]any{{"collection": "posts", "actions": []string{"view"}}}}})
		if a.Status != http.StatusCreated {
			t.Fatalf("create key: %d %s", a.Status, a.Body)
		}
		keyID, key := str(a.JSON(t)["id"]), str(a.JSON(t)["key"])
		if _, a := e.tryOpen(t, "subscribe=users", key, nil); a == nil || a.Status != http.StatusForbidden {
			t.Fatalf("a key without view on users opened a stream of users")
		}
		s := e.open(t, "subscribe=posts", key, nil)
		anns := str(e.mustCreate(t, "posts", map[string]any{"title": "ann's", "owner": f.ann})["id"])
		s.record(t, "create", "posts", anns)
		if a := e.do(t, call{Method: "DELETE", Path: keys + "/" + keyID, Token: f.annTok}); a.Status != http.StatusNoContent {
			t.Fatalf("revoke key: %d %s", a.Status, a.Body)
		}
		left := s.waitEnd(t)
		if len(left) == 0 || left[len(left)-1].Name != "error" || str(left[len(left)-1].JSON(t)["code"]) != "unauthenticated" {
			t.Fatalf("the stream ended with %v, want an error event with code unauthenticated", left)
		}
	})
}
