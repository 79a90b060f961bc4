package cli_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"loam/cli"
	"loam/mail/mailtest"
)

// served is a `loam serve` running in-process.
type served struct {
	lines  <-chan string
	cancel context.CancelFunc
	done   chan int
	stderr *bytes.Buffer // read only after done
}

func startServe(t *testing.T, b backend, extra ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &served{lines: lineReader(pr), cancel: cancel, done: make(chan int, 1), stderr: &bytes.Buffer{}}
	args := b.cmd(append([]string{"serve", "--http", "127.0.0.1:0"}, extra...)...)
	go func() {
		code := cli.Main(ctx, args, strings.NewReader(""), pw, s.stderr)
		pw.Close()
		s.done <- code
	}()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// line returns the next stdout line; if the command ended instead, it fails
// the test with what it printed on stderr.
func (s *served) line(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-s.lines:
		if ok {
			return l
		}
		code := <-s.done
		s.done <- code
		t.Fatalf("serve ended early with exit %d:\n%s", code, s.stderr)
	case <-time.After(30 * time.Second):
		t.Fatal("serve printed no line within 30s")
	}
	return ""
}

// stop cancels the command's context and returns its exit code and the rest of stdout.
func (s *served) stop(t *testing.T) (int, []string) {
	t.Helper()
	s.cancel()
	var rest []string
	for l := range s.lines {
		rest = append(rest, l)
	}
	select {
	case code := <-s.done:
		s.done <- code
		return code, rest
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop within 30s of its context ending")
	}
	return 0, nil
}

var servingRe = regexp.MustCompile(`^Loam is serving (http://127\.0\.0\.1:\d+/api/) \(data: (.+)\)$`)

func TestCLIServe(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		s := startServe(t, b)
		first := s.line(t)
		m := servingRe.FindStringSubmatch(first)
		if m == nil {
			t.Fatalf("first line %q is not the URL line", first)
		}
		base, data := m[1], m[2]
		wantData := map[string]string{"sqlite": "SQLite " + b.flags[1] + "/data.db", "postgres": "PostgreSQL " + b.flags[1]}[b.name]
		if data != wantData {
			t.Fatalf("data: got %q, want %q", data, wantData)
		}
		if l := s.line(t); !strings.Contains(l, "No superuser yet") {
			t.Fatalf("want the first-superuser hint, got %q", l)
		}
		if l := s.line(t); !strings.Contains(l, "loam superuser create") || !strings.Contains(l, b.flags[0]+" '"+b.flags[1]+"'") {
			t.Fatalf("the hint must repeat %s so it reaches the same database, got %q", b.flags[0], l)
		}
		for _, path := range []string{"health", "ready"} {
			resp, err := http.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"ok"`) {
				t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
			}
		}
		code, rest := s.stop(t)
		if code != 0 {
			t.Fatalf("serve exited %d after its context ended:\n%s", code, s.stderr)
		}
		if len(rest) != 0 {
			t.Fatalf("unexpected stdout after the hint: %q", rest)
		}
		if !strings.Contains(s.stderr.String(), "msg=stopped") {
			t.Fatalf("serve did not log stopped:\n%s", s.stderr)
		}
		for _, msg := range []string{`msg="jobs worker started"`, `msg="jobs scheduler started"`, `msg="jobs stopped"`} {
			if !strings.Contains(s.stderr.String(), msg) {
				t.Fatalf("serve must run the job worker; no %s in:\n%s", msg, s.stderr)
			}
		}
		if _, err := http.Get(base + "health"); err == nil {
			t.Fatal("the server still answers after serve returned")
		}

		// With a superuser, no hint.
		if r := run(t, b.cmd("superuser", "create", "boss@example.com", "a long password")...); r.code != 0 {
			t.Fatalf("superuser create: %s", r)
		}
		s = startServe(t, b, "--log-format", "json")
		if l := s.line(t); !servingRe.MatchString(l) {
			t.Fatalf("first line %q is not the URL line", l)
		}
		code, rest = s.stop(t)
		if code != 0 || len(rest) != 0 {
			t.Fatalf("with a superuser: exit %d, extra stdout %q (want 0 and none)\n%s", code, rest, s.stderr)
		}
		if !strings.Contains(s.stderr.String(), `"msg":"stopped"`) {
			t.Fatalf("--log-format json: want a JSON stopped line:\n%s", s.stderr)
		}
	})
}

// TestCLIServeRoles: --roles picks what the process runs; without api it
// serves no HTTP and says what it runs.
func TestCLIServeRoles(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "sqlite")
	s := startServe(t, b, "--roles", "worker, scheduler", "--http", "127.0.0.1:1")
	if l := s.line(t); l != "Loam is running the worker and scheduler (data: SQLite "+b.flags[1]+"/data.db)" {
		t.Fatalf("first line %q", l)
	}
	code, rest := s.stop(t)
	if code != 0 || len(rest) != 0 {
		t.Fatalf("exit %d, extra stdout %q\n%s", code, rest, s.stderr)
	}
	for _, msg := range []string{`msg="jobs worker started"`, `msg="jobs scheduler started"`} {
		if !strings.Contains(s.stderr.String(), msg) {
			t.Errorf("no %s in:\n%s", msg, s.stderr)
		}
	}
	s = startServe(t, b, "--roles", "api")
	if l := s.line(t); !servingRe.MatchString(l) {
		t.Fatalf("first line %q is not the URL line", l)
	}
	s.line(t) // the first-superuser hint
	s.line(t)
	if code, _ := s.stop(t); code != 0 {
		t.Fatalf("--roles api: exit %d\n%s", code, s.stderr)
	}
	if strings.Contains(s.stderr.String(), "jobs worker started") || strings.Contains(s.stderr.String(), "jobs scheduler started") {
		t.Errorf("--roles api started jobs:\n%s", s.stderr)
	}
	for _, bad := range [][]string{{"--roles", "web"}, {"--roles", ","}, {"--outbound-hosts", "https://hooks.example.com/"},
		{"--oauth2-redirects", "app.example/done"}} {
		if r := run(t, b.cmd(append([]string{"serve"}, bad...)...)...); r.code != 2 || !strings.Contains(r.stderr, bad[0]) {
			t.Errorf("serve %v: want exit 2 naming %s, got %s", bad, bad[0], r)
		}
	}
}

func TestCLIServeAddressInUse(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "sqlite")
	s := startServe(t, b)
	m := servingRe.FindStringSubmatch(s.line(t))
	if m == nil {
		t.Fatal("no URL line")
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(m[1], "http://"), "/api/")
	other := newBackend(t, "sqlite")
	r := run(t, other.cmd("serve", "--http", addr)...)
	if r.code != 1 || !strings.Contains(r.stderr, addr) {
		t.Fatalf("serve on a busy address: want exit 1 naming %s, got %s", addr, r)
	}
}

// TestCLIServeHidesPassword: what serve prints on stdout (often kept in
// logs) must not hold the database password.
func TestCLIServeHidesPassword(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "postgres")
	u, err := url.Parse(b.flags[1])
	if err != nil {
		t.Fatal(err)
	}
	const secret = "s3cret-Pa55"
	if _, has := u.User.Password(); has || u.User == nil {
		t.Skip("LOAM_TEST_POSTGRES already carries a password or no user")
	}
	u.User = url.UserPassword(u.User.Username(), secret) // trust auth ignores it
	b.flags[1] = u.String()
	s := startServe(t, b)
	first := s.line(t)
	if !servingRe.MatchString(first) || !strings.Contains(first, ":xxxxx@") {
		t.Fatalf("the URL line must show the database with its password masked, got %q", first)
	}
	out := []string{first, s.line(t), s.line(t)} // the URL and the two lines of the first-superuser hint
	_, rest := s.stop(t)
	out = append(out, rest...)
	for _, l := range out {
		if strings.Contains(l, secret) {
			t.Errorf("stdout shows the database password: %q", l)
		}
	}
}

// TestCLIServeMailFlags: mail flags that cannot work stop serve at once
// with a usage error (exit 2), before it listens.
func TestCLIServeMailFlags(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "sqlite")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--smtp-host", "127.0.0.1"}, "--mail-from is required"},
		{[]string{"--smtp-host", "127.0.0.1", "--mail-from", "x@example.com", "--smtp-port", "smtp"}, "--smtp-port"},
		{[]string{"--smtp-host", "127.0.0.1", "--mail-from", "not an address"}, "not an address"},
	} {
		r := run(t, b.cmd(append([]string{"serve", "--http", "127.0.0.1:0"}, tc.args...)...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("serve %v: want exit 2 saying %q, got %s", tc.args, tc.want, r)
		}
	}
}

// TestCLIServeSendsMail: serve with the mail flags sends the auth flows'
// mails through the SMTP server they name, with links to --app-url.
func TestCLIServeSendsMail(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "sqlite")
	if r := run(t, b.cmd("superuser", "create", "boss@example.com", "a long password")...); r.code != 0 {
		t.Fatalf("superuser create: %s", r)
	}
	smtpd := mailtest.Start(t, mailtest.Options{Username: "loam", Password: "smtp secret"})
	s := startServe(t, b, "--smtp-host", smtpd.Host, "--smtp-port", strconv.Itoa(smtpd.Port), "--smtp-username", "loam",
		"--smtp-password", "smtp secret", "--mail-from", "Acme <noreply@acme.example>", "--app-url", "https://acme.example")
	m := servingRe.FindStringSubmatch(s.line(t))
	if m == nil {
		t.Fatal("no URL line")
	}
	resp, err := http.Post(m[1]+"collections/_superusers/auth/reset/request", "application/json",
		strings.NewReader(`{"email":"boss@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("reset/request: %d", resp.StatusCode)
	}
	mail := smtpd.WaitFor(t, "boss@example.com", 0, 20*time.Second)
	if !strings.Contains(mail.Text, "https://acme.example/auth/_superusers/reset#token=") {
		t.Errorf("the mail holds no link to --app-url:\n%s", mail.Text)
	}
}

// TestCLIServeSettingsPrecedence: the flags are the defaults of the shared
// settings; a PATCH of /api/settings overrides them (here the SMTP server
// and the outbound hosts), and null brings the flag's value back.
func TestCLIServeSettingsPrecedence(t *testing.T) {
	t.Parallel()
	b := newBackend(t, "sqlite")
	if r := run(t, b.cmd("superuser", "create", "boss@example.com", "a long password")...); r.code != 0 {
		t.Fatalf("superuser create: %s", r)
	}
	first := mailtest.Start(t, mailtest.Options{})
	second := mailtest.Start(t, mailtest.Options{})
	s := startServe(t, b, "--smtp-host", first.Host, "--smtp-port", strconv.Itoa(first.Port),
		"--mail-from", "Acme <noreply@acme.example>", "--outbound-hosts", "hooks.example.com")
	m := servingRe.FindStringSubmatch(s.line(t))
	if m == nil {
		t.Fatal("no URL line")
	}
	base := m[1]
	do := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	status, body := do("POST", "collections/_superusers/auth/password", "", `{"identity":"boss@example.com","password":"a long password"}`)
	tok := regexp.MustCompile(`"token":"([^"]+)"`).FindStringSubmatch(body)
	if status != 200 || tok == nil {
		t.Fatalf("sign in: %d %s", status, body)
	}
	if status, body = do("GET", "settings", tok[1], ""); status != 200 ||
		!strings.Contains(body, `"port":`+strconv.Itoa(first.Port)) || !strings.Contains(body, `"outboundHosts":["hooks.example.com"]`) ||
		!strings.Contains(body, `"address":"noreply@acme.example"`) {
		t.Fatalf("the flags' settings: %d %s", status, body)
	}
	if status, body = do("PATCH", "settings", tok[1], `{"smtp":{"port":`+strconv.Itoa(second.Port)+`},"outboundHosts":["*"]}`); status != 200 {
		t.Fatalf("PATCH: %d %s", status, body)
	}
	if status, body = do("POST", "settings/test-email", tok[1], `{"to":"ann@example.com"}`); status != 204 {
		t.Fatalf("test mail: %d %s", status, body)
	}
	second.WaitFor(t, "ann@example.com", 0, 20*time.Second)
	if status, body = do("PATCH", "settings", tok[1], `{"smtp":{"port":null},"outboundHosts":null}`); status != 200 ||
		!strings.Contains(body, `"port":`+strconv.Itoa(first.Port)) || !strings.Contains(body, `"outboundHosts":["hooks.example.com"]`) {
		t.Fatalf("back to the flags: %d %s", status, body)
	}
	if status, body = do("POST", "settings/test-email", tok[1], `{"to":"bob@example.com"}`); status != 204 {
		t.Fatalf("test mail: %d %s", status, body)
	}
	first.WaitFor(t, "bob@example.com", 0, 20*time.Second)
}
