package api_test

// The harness of the API tests: every test boots the real server on
// 127.0.0.1:0 over a fresh store, once per store (SQLite and PostgreSQL), and
// talks to it over HTTP only, the way clients do. Scenario tables in the style
// of PocketBase's tests/api.go state, per request, the expected status, error
// code and field error codes, and whether the database must be left unchanged.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loam"
	"loam/api"
	"loam/postgres"
	"loam/postgres/pgtest"
	"loam/sqlite"
	"loam/sqlstore"
)

const (
	superEmail    = "root@example.com"
	superPassword = "correct horse battery staple"
)

// env is one running Loam: an app over a fresh store, its HTTP server, and a
// superuser signed in through the API.
type env struct {
	store   string // "sqlite" or "postgres"
	app     *loam.App
	base    string // http://127.0.0.1:port
	client  *http.Client
	super   string // the superuser's token
	superID string // the superuser's record id
	// contract checks every answer against the OpenAPI document.
	contract *contract
}

// eachStore runs fn on both stores, as parallel subtests, each with its own env.
func eachStore(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, store))
		})
	}
}

// newEnv opens a fresh store, starts the app and the server, creates a
// superuser and signs it in. Everything stops in t.Cleanup.
func newEnv(t *testing.T, store string) *env {
	t.Helper()
	return startEnv(t, store, openStore(t, store), loam.Config{})
}

// openStore opens a fresh store of the given kind; the app closes it.
func openStore(t *testing.T, store string) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	switch store {
	case "sqlite":
		s, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "data.db")})
		if err != nil {
			t.Fatalf("sqlite.Open: %v", err)
		}
		return s
	case "postgres":
		s, err := postgres.Open(ctx, postgres.Config{URL: pgtest.URL(t), MaxConns: 4})
		if err != nil {
			t.Fatalf("postgres.Open: %v", err)
		}
		return s
	}
	t.Fatalf("unknown store %q", store)
	return nil
}

// startEnv is newEnv over a given store, with cfg (its Store is set here)
// and, when given, the server's config (its Addr is set here).
func startEnv(t *testing.T, store string, st loam.Store, cfg loam.Config, server ...api.Config) *env {
	t.Helper()
	ctx := context.Background()
	cfg.Store = st
	app, err := loam.New(cfg)
	if err != nil {
		st.Close()
		t.Fatalf("loam.New: %v", err)
	}
	if err := app.Start(ctx); err != nil {
		st.Close()
		t.Fatalf("app.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := app.Stop(); err != nil {
			t.Errorf("app.Stop: %v", err)
		}
	})
	su, err := app.UpsertSuperuser(ctx, superEmail, superPassword)
	if err != nil {
		t.Fatalf("UpsertSuperuser: %v", err)
	}
	e := serve(t, store, app, true, server...)
	e.superID = su.ID
	return e
}

// serve starts an API server for app and signs the superuser in through it.
// strict reports a failed server Stop (not for a second instance over a
// store the first one closes). server, when given, is the server's config
// (its Addr is set here).
func serve(t *testing.T, store string, app *loam.App, strict bool, server ...api.Config) *env {
	t.Helper()
	var cfg api.Config
	if len(server) > 0 {
		cfg = server[0]
	}
	cfg.Addr = "127.0.0.1:0"
	srv := api.New(app, cfg)
	if err := srv.Start(context.Background()); err != nil {
		t.Fatalf("server Start: %v", err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	e := &env{store: store, app: app, base: "http://" + srv.Addr(),
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, contract: newContract(app)}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil && strict {
			t.Errorf("server Stop: %v", err)
		}
	})
	e.super = e.signIn(t, loam.SuperusersCollection, superEmail, superPassword)
	return e
}

// signIn signs in through POST /api/collections/{c}/auth/password and returns the token.
func (e *env) signIn(t *testing.T, collection, identity, password string) string {
	t.Helper()
	a := e.do(t, call{Method: "POST", Path: "/api/collections/" + collection + "/auth/password",
		Body: map[string]string{"identity": identity, "password": password}})
	if a.Status != http.StatusOK {
		t.Fatalf("sign in to %s as %s: %d %s", collection, identity, a.Status, a.Body)
	}
	tok, _ := a.JSON(t)["token"].(string)
	if tok == "" {
		t.Fatalf("sign in to %s: no token in %s", collection, a.Body)
	}
	return tok
}

// call is one HTTP request. Body is sent as is when it is a string or
// []byte, JSON-encoded otherwise; with a body, Content-Type defaults to
// application/json (a Headers entry, even "", overrides it).
type call struct {
	Method  string
	Path    string
	Token   string
	Body    any
	Headers map[string]string
	// NoFollow answers a redirect itself instead of following it.
	NoFollow bool
}

// answer is an HTTP response, read whole.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as a JSON object (numbers as json.Number).
func (a *answer) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(a.Body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v: %q", a.Status, err, truncate(a.Body))
	}
	return m
}

func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "..."
	}
	return string(b)
}

// do sends a call. An answer the OpenAPI document does not describe fails
// the test, which goes on with the answer.
func (e *env) do(t *testing.T, c call) *answer {
	t.Helper()
	a, err := e.send(c)
	if isDrift(err) {
		t.Error(err)
	} else if err != nil {
		t.Fatal(err)
	}
	return a
}

// send is do for other goroutines than the test's: it returns the error, a
// *driftError with the answer when the document does not describe it.
func (e *env) send(c call) (*answer, error) {
	var body io.Reader
	ctype := ""
	switch b := c.Body.(type) {
	case nil:
	case string:
		body, ctype = strings.NewReader(b), "application/json"
	case []byte:
		body, ctype = bytes.NewReader(b), "application/json"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encode body: %w", err)
		}
		body, ctype = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(c.Method, e.base+c.Path, body)
	if err != nil {
		return nil, fmt.Errorf("new request %s %s: %w", c.Method, c.Path, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for k, v := range c.Headers {
		if k == "Host" {
			req.Host = v // as a load balancer in front of several instances would send it
			continue
		}
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	client := e.client
	if c.NoFollow {
		nf := *client
		nf.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		client = &nf
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", c.Method, c.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", c.Method, c.Path, err)
	}
	a := &answer{Status: resp.StatusCode, Header: resp.Header, Body: b}
	if err := e.contract.check(req, a); err != nil {
		return a, &driftError{method: c.Method, path: c.Path, status: a.Status, body: b, err: err}
	}
	return a, nil
}

// scenario is one request and what its answer must be.
type scenario struct {
	Name    string
	Method  string
	Path    string
	Token   string
	Body    any
	Headers map[string]string

	Status int
	// Code is the expected error code (answers of 400 and above).
	Code string
	// Fields are the expected field errors, field name to code, exactly ("*"
	// accepts any code); nil means the answer must have no errors member.
	Fields map[string]string
	// Contains and Absent are substrings the raw body must and must not hold.
	Contains []string
	Absent   []string
	// Unchanged asserts that the database (schema, every record, events) is
	// the same after the request as before it.
	Unchanged bool
	// Check runs extra assertions on the answer.
	Check func(t *testing.T, a *answer)
}

// run runs scenarios in order, each as a subtest, against e.
func (e *env) run(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			t.Helper()
			var before string
			if sc.Unchanged {
				before = e.snapshot(t)
			}
			a := e.do(t, call{Method: sc.Method, Path: sc.Path, Token: sc.Token, Body: sc.Body, Headers: sc.Headers})
			if a.Status != sc.Status {
				t.Errorf("%s %s: status %d, want %d; body %s", sc.Method, sc.Path, a.Status, sc.Status, truncate(a.Body))
			}
			switch {
			case sc.Status < 400 && sc.Code != "":
				t.Errorf("scenario %q expects code %q with a success status", sc.Name, sc.Code)
			case a.Status >= 400 && sc.Status >= 400:
				checkErrorBody(t, a, sc.Code, sc.Fields)
			case a.Status >= 400:
				checkErrorBody(t, a, str(a.JSON(t)["code"]), nil)
			}
			for _, s := range sc.Contains {
				if !bytes.Contains(a.Body, []byte(s)) {
					t.Errorf("body does not contain %q: %s", s, truncate(a.Body))
				}
			}
			for _, s := range sc.Absent {
				if bytes.Contains(a.Body, []byte(s)) {
					t.Errorf("body contains %q: %s", s, truncate(a.Body))
				}
			}
			if sc.Check != nil && !t.Failed() {
				sc.Check(t, a)
			}
			if sc.Unchanged {
				if after := e.snapshot(t); after != before {
					t.Errorf("the database changed:\n%s", diff(before, after))
				}
			}
		})
	}
}

// checkErrorBody checks the JSON error object of API.md: a JSON content
// type, status, code, message, and errors exactly when fields are at fault.
func checkErrorBody(t *testing.T, a *answer, code string, fields map[string]string) {
	t.Helper()
	if ct := a.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error answer has Content-Type %q, want application/json", ct)
	}
	m := a.JSON(t)
	for k := range m {
		if k == "mfaId" && code == loam.CodeMFARequired {
			continue
		}
		if k != "status" && k != "code" && k != "message" && k != "errors" {
			t.Errorf("error body has an unexpected member %q: %s", k, a.Body)
		}
	}
	if s, _ := m["status"].(json.Number); s.String() != fmt.Sprint(a.Status) {
		t.Errorf("error body status %v, want %d (the HTTP status)", m["status"], a.Status)
	}
	if got, _ := m["code"].(string); got != code {
		t.Errorf("error code %q, want %q; body %s", got, code, truncate(a.Body))
	}
	if msg, _ := m["message"].(string); msg == "" {
		t.Errorf("error body has no message: %s", a.Body)
	}
	errs, has := m["errors"]
	if fields == nil {
		if has {
			t.Errorf("error body has errors, want none: %s", truncate(a.Body))
		}
		return
	}
	em, ok := errs.(map[string]any)
	if !ok {
		t.Errorf("error body has no errors object, want %v: %s", fields, truncate(a.Body))
		return
	}
	got := map[string]string{}
	for k, v := range em {
		fe, _ := v.(map[string]any)
		c, _ := fe["code"].(string)
		if msg, _ := fe["message"].(string); msg == "" {
			t.Errorf("errors.%s has no message", k)
		}
		got[k] = c
	}
	want := maps.Clone(fields)
	for k, v := range want {
		if v == "*" {
			if c, ok := got[k]; ok {
				want[k] = c
			}
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("field errors %v, want %v", got, fields)
	}
}

// snapshot renders everything a write could change: the stored schema and
// its version, the app's live schema, every record of every collection, and
// the events.
func (e *env) snapshot(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	cols, version, err := e.app.Store().Collections(ctx)
	if err != nil {
		t.Fatalf("snapshot: collections: %v", err)
	}
	type table struct {
		Collection *loam.Collection
		Records    []*loam.Record
		Error      string `json:",omitempty"`
	}
	var tables []table
	for _, c := range cols {
		list, err := e.app.Store().ListRecords(ctx, c, loam.RecordQuery{Page: 1, PerPage: 1 << 20})
		if err != nil {
			// A collection the store cannot read is part of the state (and a bug
			// some test reports); it must not stop the snapshot.
			tables = append(tables, table{c, nil, err.Error()})
			continue
		}
		tables = append(tables, table{c, list.Items, ""})
	}
	events, err := e.app.Store().Events(ctx, 0, 1<<20)
	if err != nil {
		t.Fatalf("snapshot: events: %v", err)
	}
	b, err := json.Marshal(map[string]any{"version": version, "tables": tables, "events": events,
		"live": e.app.Schema().Collections(), "liveVersion": e.app.Schema().Version})
	if err != nil {
		t.Fatalf("snapshot: encode: %v", err)
	}
	return string(b)
}

// diff shows where two snapshots first differ, with some context.
func diff(before, after string) string {
	i := 0
	for i < len(before) && i < len(after) && before[i] == after[i] {
		i++
	}
	from := max(0, i-300)
	cut := func(s string) string {
		return s[from:min(len(s), i+500)]
	}
	return "before: ..." + cut(before) + "...\nafter:  ..." + cut(after) + "..."
}

// count returns the number of records of a collection, read from the store.
func (e *env) count(t *testing.T, collection string) int64 {
	t.Helper()
	c := e.app.Schema().Collection(collection)
	if c == nil {
		t.Fatalf("count: no collection %q", collection)
	}
	list, err := e.app.Store().ListRecords(context.Background(), c, loam.RecordQuery{Page: 1, PerPage: 1})
	if err != nil {
		t.Fatalf("count %s: %v", collection, err)
	}
	return list.TotalItems
}

// lastEvent returns the sequence of the newest event (0 when none).
func (e *env) lastEvent(t *testing.T) int64 {
	t.Helper()
	events := e.eventsAfter(t, 0)
	if len(events) == 0 {
		return 0
	}
	return events[len(events)-1].Seq
}

// eventsAfter returns the events after seq.
func (e *env) eventsAfter(t *testing.T, seq int64) []loam.Event {
	t.Helper()
	events, err := e.app.Store().Events(context.Background(), seq, 1<<20)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	return events
}

// mustCreateCollection creates a collection as the superuser; def is JSON.
func (e *env) mustCreateCollection(t *testing.T, def string) map[string]any {
	t.Helper()
	a := e.do(t, call{Method: "POST", Path: "/api/collections", Token: e.super, Body: def})
	if a.Status != http.StatusCreated {
		t.Fatalf("create collection: %d %s\n%s", a.Status, a.Body, def)
	}
	return a.JSON(t)
}

// mustCreate creates a record as the superuser and returns it.
func (e *env) mustCreate(t *testing.T, collection string, body any) map[string]any {
	t.Helper()
	a := e.do(t, call{Method: "POST", Path: "/api/collections/" + collection + "/records", Token: e.super, Body: body})
	if a.Status != http.StatusCreated {
		t.Fatalf("create %s record: %d %s", collection, a.Status, a.Body)
	}
	return a.JSON(t)
}

// mustGet reads a record as the superuser; it fails unless the answer is 200.
func (e *env) mustGet(t *testing.T, collection, id string) map[string]any {
	t.Helper()
	a := e.do(t, call{Method: "GET", Path: "/api/collections/" + collection + "/records/" + id, Token: e.super})
	if a.Status != http.StatusOK {
		t.Fatalf("get %s/%s: %d %s", collection, id, a.Status, a.Body)
	}
	return a.JSON(t)
}

// status returns the status of a request (for existence checks).
func (e *env) status(t *testing.T, method, path, token string) int {
	t.Helper()
	return e.do(t, call{Method: method, Path: path, Token: token}).Status
}

// listIDs lists a collection as the superuser with the given query and
// returns the ids of the items in order.
func (e *env) listIDs(t *testing.T, collection, query string) []string {
	t.Helper()
	a := e.do(t, call{Method: "GET", Path: "/api/collections/" + collection + "/records?" + query, Token: e.super})
	if a.Status != http.StatusOK {
		t.Fatalf("list %s?%s: %d %s", collection, query, a.Status, a.Body)
	}
	var ids []string
	for _, it := range items(t, a.JSON(t)) {
		ids = append(ids, it["id"].(string))
	}
	return ids
}

// items returns the items of a list answer.
func items(t *testing.T, m map[string]any) []map[string]any {
	t.Helper()
	raw, ok := m["items"].([]any)
	if !ok {
		t.Fatalf("list answer has no items array: %v", m)
	}
	out := make([]map[string]any, len(raw))
	for i, it := range raw {
		out[i], ok = it.(map[string]any)
		if !ok {
			t.Fatalf("item %d is not an object: %v", i, it)
		}
	}
	return out
}

// num renders a decoded JSON number (or anything) for comparisons.
func num(v any) string { return fmt.Sprint(v) }

// str returns v as a string, or "" when it is not one.
func str(v any) string { s, _ := v.(string); return s }

// fieldNames returns the names of a collection answer's fields, in order.
func fieldNames(t *testing.T, c map[string]any) []string {
	t.Helper()
	var names []string
	fs, _ := c["fields"].([]any)
	for _, f := range fs {
		names = append(names, str(f.(map[string]any)["name"]))
	}
	return names
}

// field returns the field called name of a collection answer, or nil.
func field(c map[string]any, name string) map[string]any {
	fs, _ := c["fields"].([]any)
	for _, f := range fs {
		if m := f.(map[string]any); m["name"] == name {
			return m
		}
	}
	return nil
}

// errs shortens field error maps in scenario tables.
type errs = map[string]string
