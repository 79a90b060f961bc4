package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"loam"
	"loam/jobs"
)

// builtinClient makes a client with the built-in kinds on app, allowing
// the given outbound hosts.
func builtinClient(t *testing.T, app *loam.App, hosts ...string) *jobs.Client {
	t.Helper()
	c := newClient(t, app, fast(jobs.Config{}))
	if err := c.RegisterBuiltins(jobs.BuiltinConfig{OutboundHosts: hosts}); err != nil {
		t.Fatal(err)
	}
	return c
}

// enqueueJSON enqueues a built-in job that must be accepted.
func enqueueJSON(t *testing.T, c *jobs.Client, kind, args string, o jobs.Opts) *loam.Job {
	t.Helper()
	e, err := c.EnqueueJSON(t.Context(), kind, json.RawMessage(args), o)
	if err != nil {
		t.Fatalf("EnqueueJSON %s %s: %v", kind, args, err)
	}
	return e.Job
}

// fieldErrors returns the field error codes of a validation error.
func fieldErrors(t *testing.T, err error) map[string]string {
	t.Helper()
	var e *loam.Error
	if !errors.As(err, &e) || e.Code != loam.CodeValidationFailed {
		t.Fatalf("error %v, want validation_failed", err)
	}
	out := map[string]string{}
	for k, v := range e.Fields {
		out[k] = v.Code
	}
	return out
}

// hostOf is the host:port of a test server.
func hostOf(t *testing.T, srv *httptest.Server) string {
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TestHTTPKind: "http" jobs reach the allowed hosts only, record the
// answer's status, and retry what is not 2xx.
func TestHTTPKind(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []*http.Request
	var bodies []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen, bodies = append(seen, r), append(bodies, string(b))
		mu.Unlock()
		switch r.URL.Path {
		case "/created":
			w.WriteHeader(http.StatusCreated)
		case "/fails":
			http.Error(w, "down", http.StatusBadGateway)
		case "/elsewhere":
			http.Redirect(w, r, "http://forbidden.example/x", http.StatusFound)
		}
	}))
	t.Cleanup(hook.Close)
	host := hostOf(t, hook)
	app := startApp(t, openStore(t, "sqlite", filepath.Join(t.TempDir(), "data.db")))
	c := builtinClient(t, app, host)
	start(t, c)

	ok := enqueueJSON(t, c, jobs.KindHTTP, `{"url":"`+hook.URL+`/created","headers":{"X-Signature":"abc"},"json":{"event":"paid","n":1}}`, jobs.Opts{})
	j := waitState(t, c, ok.ID, loam.JobCompleted)
	if string(j.Result) != `{"status":201}` && strings.ReplaceAll(string(j.Result), " ", "") != `{"status":201}` {
		t.Errorf("result %s, want the status 201", j.Result)
	}
	mu.Lock()
	r, body := seen[0], bodies[0]
	mu.Unlock()
	if r.Method != "POST" || r.Header.Get("X-Signature") != "abc" || r.Header.Get("Content-Type") != "application/json" ||
		strings.ReplaceAll(body, " ", "") != `{"event":"paid","n":1}` {
		t.Errorf("the hook got %s %v %q", r.Method, r.Header, body)
	}

	failing := enqueueJSON(t, c, jobs.KindHTTP, `{"method":"PUT","url":"`+hook.URL+`/fails?token=secret-123","body":"x"}`,
		jobs.Opts{MaxAttempts: 2})
	j = waitState(t, c, failing.ID, loam.JobDead)
	if len(j.Errors) != 2 || !strings.Contains(j.Errors[0].Error, "answered 502") {
		t.Errorf("errors of a failing hook: %+v, want two attempts answered 502", j.Errors)
	}
	for _, e := range j.Errors {
		if strings.Contains(e.Error, "secret-123") {
			t.Errorf("a recorded error shows the URL's query: %q", e.Error)
		}
	}

	redirected := enqueueJSON(t, c, jobs.KindHTTP, `{"method":"GET","url":"`+hook.URL+`/elsewhere"}`, jobs.Opts{MaxAttempts: 1})
	j = waitState(t, c, redirected.ID, loam.JobDead)
	if len(j.Errors) != 1 || !strings.Contains(j.Errors[0].Error, "not an allowed outbound host") {
		t.Errorf("a redirect to another host: errors %+v", j.Errors)
	}

	// A job for a host this worker does not allow (enqueued by a process
	// that does) is dead at once: no attempt could succeed.
	wide := builtinClient(t, app, "*")
	other := enqueueJSON(t, wide, jobs.KindHTTP, `{"url":"http://other.example/"}`, jobs.Opts{})
	j = waitState(t, c, other.ID, loam.JobDead)
	if j.Attempt != 1 || len(j.Errors) != 1 || !strings.Contains(j.Errors[0].Error, "not an allowed outbound host") {
		t.Errorf("a job for another host: attempt %d errors %+v", j.Attempt, j.Errors)
	}
	mu.Lock()
	for _, r := range seen {
		if r.Host != host {
			t.Errorf("a request reached %s", r.Host)
		}
	}
	mu.Unlock()
}

// TestBuiltinArgumentsAreChecked: EnqueueJSON refuses bad arguments of the
// built-in kinds, naming the member at fault, and stores nothing.
func TestBuiltinArgumentsAreChecked(t *testing.T) {
	t.Parallel()
	app := startApp(t, openStore(t, "sqlite", filepath.Join(t.TempDir(), "data.db")))
	c := builtinClient(t, app, "hooks.example.com", "*.example.org", "127.0.0.1:8080")
	cases := []struct {
		kind, args string
		field      string
		code       string
	}{
		{"http", `{"url":"https://elsewhere.example/"}`, "args.url", loam.FieldInvalid},
		{"http", `{"url":"https://example.org/"}`, "args.url", loam.FieldInvalid}, // *.example.org is its subdomains
		{"http", `{"url":"http://127.0.0.1:9090/"}`, "args.url", loam.FieldInvalid},
		{"http", `{"url":"ftp://hooks.example.com/"}`, "args.url", loam.FieldInvalidURL},
		{"http", `{"url":"https://user:pw@hooks.example.com/"}`, "args.url", loam.FieldInvalidURL},
		{"http", `{"url":"/relative"}`, "args.url", loam.FieldInvalidURL},
		{"http", `{}`, "args.url", loam.FieldRequired},
		{"http", `{"url":"https://hooks.example.com/","method":"TRACE"}`, "args.method", loam.FieldInvalidChoice},
		{"http", `{"url":"https://hooks.example.com/","headers":{"Host":"x"}}`, "args.headers", loam.FieldInvalid},
		{"http", `{"url":"https://hooks.example.com/","headers":{"X-A":"a\r\nB: c"}}`, "args.headers", loam.FieldInvalid},
		{"http", `{"url":"https://hooks.example.com/","body":"a","json":{}}`, "args.body", loam.FieldInvalid},
		{"http", `{"url":"https://hooks.example.com/","extra":1}`, "args", loam.FieldInvalidType},
		{"http", `[1]`, "args", loam.FieldInvalidType},
		{"mail", `{"subject":"hi","text":"x"}`, "args.to", loam.FieldRequired},
		{"mail", `{"to":["not an address"],"subject":"hi","text":"x"}`, "args.to", loam.FieldInvalidEmail},
		{"mail", `{"to":["a@example.com"],"bcc":["b@"],"subject":"hi","text":"x"}`, "args.bcc", loam.FieldInvalidEmail},
		{"mail", `{"to":["a@example.com"],"subject":"hi\r\nBcc: x@example.com","text":"x"}`, "args.subject", loam.FieldInvalid},
		{"mail", `{"to":["a@example.com"],"subject":"hi"}`, "args.text", loam.FieldRequired},
		{"nosuch", `{}`, "kind", loam.FieldInvalidChoice},
	}
	for _, tc := range cases {
		_, err := c.EnqueueJSON(t.Context(), tc.kind, json.RawMessage(tc.args), jobs.Opts{})
		if got := fieldErrors(t, err); len(got) != 1 || got[tc.field] != tc.code {
			t.Errorf("%s %s: field errors %v, want %s: %s", tc.kind, tc.args, got, tc.field, tc.code)
		}
	}
	for _, ok := range []string{`{"url":"https://hooks.example.com/x"}`, `{"url":"https://HOOKS.example.com:8443/x"}`,
		`{"url":"https://a.b.example.org/"}`, `{"url":"http://127.0.0.1:8080/x","method":"DELETE"}`} {
		enqueueJSON(t, c, jobs.KindHTTP, ok, jobs.Opts{})
	}
	if _, err := jobs.ParseAllowlist([]string{"https://x.example/"}); err == nil {
		t.Error("ParseAllowlist took a URL")
	}
	if _, err := jobs.ParseAllowlist([]string{"x.example:port"}); err == nil {
		t.Error("ParseAllowlist took a bad port")
	}
}

// sender records the messages it is given.
type sender struct {
	mu   sync.Mutex
	sent []*loam.Message
}

func (s *sender) SendMessage(ctx context.Context, m *loam.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, m)
	return nil
}

// TestMailKind: "mail" jobs go through the app's MessageSender; without
// one they fail, saying so, and retry.
func TestMailKind(t *testing.T) {
	t.Parallel()
	args := `{"to":["Ada <ada@example.com>"],"cc":["bob@example.com"],"replyTo":"team@example.com","subject":"Welcome","text":"Hello","html":"<p>Hello</p>"}`
	t.Run("sent", func(t *testing.T) {
		t.Parallel()
		s := &sender{}
		store := openStore(t, "sqlite", filepath.Join(t.TempDir(), "data.db"))
		app, err := loam.New(loam.Config{Store: store, SchemaPoll: -1, MessageSender: s})
		if err != nil {
			t.Fatal(err)
		}
		if err := app.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { app.Stop() })
		c := builtinClient(t, app)
		start(t, c)
		j := enqueueJSON(t, c, jobs.KindMail, args, jobs.Opts{})
		waitState(t, c, j.ID, loam.JobCompleted)
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.sent) != 1 {
			t.Fatalf("%d messages sent, want 1", len(s.sent))
		}
		m := s.sent[0]
		if m.To[0] != "Ada <ada@example.com>" || m.Cc[0] != "bob@example.com" || m.ReplyTo != "team@example.com" ||
			m.Subject != "Welcome" || m.Text != "Hello" || m.HTML != "<p>Hello</p>" {
			t.Errorf("sent %+v", m)
		}
	})
	t.Run("no sender", func(t *testing.T) {
		t.Parallel()
		app := startApp(t, openStore(t, "sqlite", filepath.Join(t.TempDir(), "data.db")))
		c := builtinClient(t, app)
		start(t, c)
		j := enqueueJSON(t, c, jobs.KindMail, args, jobs.Opts{MaxAttempts: 2})
		j = waitState(t, c, j.ID, loam.JobDead)
		if len(j.Errors) != 2 || j.Errors[0].Error != loam.ErrNoMessageSender.Error() {
			t.Errorf("errors %+v, want two attempts failing with %q", j.Errors, loam.ErrNoMessageSender)
		}
	})
}
