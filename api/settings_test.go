package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"loam"
	"loam/mail"
	"loam/mail/mailtest"
)

// settingsBody reads GET /api/settings as the superuser.
func (e *env) settingsBody(t *testing.T) string {
	t.Helper()
	a := e.do(t, call{Method: "GET", Path: "/api/settings", Token: e.super})
	if a.Status != http.StatusOK {
		t.Fatalf("GET /api/settings: %d %s", a.Status, a.Body)
	}
	return string(a.Body)
}

// patchSettings changes the settings as the superuser; it fails unless 200.
func (e *env) patchSettings(t *testing.T, body string) map[string]any {
	t.Helper()
	a := e.do(t, call{Method: "PATCH", Path: "/api/settings", Token: e.super, Body: body})
	if a.Status != http.StatusOK {
		t.Fatalf("PATCH /api/settings %s: %d %s", body, a.Status, a.Body)
	}
	return a.JSON(t)
}

// TestSettings: superusers read and change the settings; others get 401
// or 403; the SMTP password is never answered; every bad value is a field
// error and nothing changes; null returns a member to its default.
func TestSettings(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		_, user := e.signUp(t)
		defaults := e.settingsBody(t)
		for _, want := range []string{`"port":587`, `"tls":"auto"`, `"passwordSet":false`, `"rateLimits":[]`,
			`"corsOrigins":[]`, `"trustedProxies":[]`, `"outboundHosts":[]`} {
			if !strings.Contains(defaults, want) {
				t.Errorf("the default settings lack %s: %s", want, defaults)
			}
		}
		unchanged := func(t *testing.T, a *answer) {
			if got := e.settingsBody(t); got != defaults {
				t.Errorf("the settings changed:\n%s\nwant\n%s", got, defaults)
			}
		}
		bad := func(name, body string, fields map[string]string) scenario {
			return scenario{Name: name, Method: "PATCH", Path: "/api/settings", Token: e.super, Body: body,
				Status: 400, Code: "validation_failed", Fields: fields, Check: unchanged}
		}
		e.run(t, []scenario{
			{Name: "anonymous read", Method: "GET", Path: "/api/settings", Status: 401, Code: "unauthenticated"},
			{Name: "user read", Method: "GET", Path: "/api/settings", Token: user, Status: 403, Code: "forbidden"},
			{Name: "anonymous change", Method: "PATCH", Path: "/api/settings", Body: `{"corsOrigins":["*"]}`,
				Status: 401, Code: "unauthenticated", Check: unchanged},
			{Name: "user change", Method: "PATCH", Path: "/api/settings", Token: user, Body: `{"corsOrigins":["*"]}`,
				Status: 403, Code: "forbidden", Check: unchanged},
			{Name: "user test mail", Method: "POST", Path: "/api/settings/test-email", Token: user, Body: `{"to":"a@example.com"}`,
				Status: 403, Code: "forbidden"},
			{Name: "not JSON", Method: "PATCH", Path: "/api/settings", Token: e.super, Body: `{"smtp":`,
				Status: 400, Code: "invalid_json", Check: unchanged},
			{Name: "not an object", Method: "PATCH", Path: "/api/settings", Token: e.super, Body: `[]`,
				Status: 400, Code: "invalid_json", Check: unchanged},
			bad("an unknown setting", `{"nope":1}`, errs{"nope": "unknown_field"}),
			bad("an unknown smtp member", `{"smtp":{"server":"x"}}`, errs{"smtp.server": "unknown_field"}),
			bad("smtp not an object", `{"smtp":"mail.example.com"}`, errs{"smtp": "invalid_type"}),
			bad("a port of the wrong type", `{"smtp":{"port":"25"}}`, errs{"smtp.port": "invalid_type"}),
			bad("a port too small", `{"smtp":{"port":0}}`, errs{"smtp.port": "too_small"}),
			bad("a port too large", `{"smtp":{"port":70000}}`, errs{"smtp.port": "too_large"}),
			bad("a TLS mode nobody knows", `{"smtp":{"tls":"ssl"}}`, errs{"smtp.tls": "invalid_choice"}),
			bad("a host with a scheme", `{"smtp":{"host":"smtp://mail.example.com"},"sender":{"address":"a@example.com"}}`,
				errs{"smtp.host": "invalid"}),
			bad("a host without a sender", `{"smtp":{"host":"mail.example.com"}}`, errs{"sender.address": "required"}),
			bad("a sender that is no address", `{"sender":{"address":"Acme <a@example.com>"}}`, errs{"sender.address": "invalid_email"}),
			bad("a name on two lines", `{"sender":{"name":"a\r\nBcc: x@example.com"}}`, errs{"sender.name": "invalid"}),
			bad("an app URL of another scheme", `{"appURL":"ftp://app.example.com"}`, errs{"appURL": "invalid_url"}),
			bad("an origin with a path", `{"corsOrigins":["https://app.example.com","https://app.example.com/x"]}`,
				errs{"corsOrigins.1": "invalid_url"}),
			bad("an origin in capitals", `{"corsOrigins":["https://App.example.com"]}`, errs{"corsOrigins.0": "invalid_url"}),
			bad("a list of numbers", `{"corsOrigins":[1]}`, errs{"corsOrigins": "invalid_type"}),
			bad("a proxy that is no CIDR", `{"trustedProxies":["10.0.0.0/33","proxy.example.com"]}`,
				errs{"trustedProxies.0": "invalid", "trustedProxies.1": "invalid"}),
			bad("an outbound URL", `{"outboundHosts":["https://hooks.example.com/"]}`, errs{"outboundHosts.0": "invalid"}),
			bad("a rate limit of 0", `{"rateLimits":[{"route":"/api/health","max":0,"window":"1m"}]}`,
				errs{"rateLimits.0.max": "too_small"}),
			bad("a window too short", `{"rateLimits":[{"route":"/api/health","max":1,"window":"10ms"}]}`,
				errs{"rateLimits.0.window": "too_small"}),
			bad("a window that is no duration", `{"rateLimits":[{"route":"/api/health","max":1,"window":"a minute"}]}`,
				errs{"rateLimits.0.window": "invalid"}),
			bad("a key nobody knows", `{"rateLimits":[{"route":"/api/health","max":1,"window":"1m","by":"user"}]}`,
				errs{"rateLimits.0.by": "invalid_choice"}),
			bad("a route without a path", `{"rateLimits":[{"route":"GET api","max":1,"window":"1m"}]}`,
				errs{"rateLimits.0.route": "invalid"}),
			bad("a method nobody knows", `{"rateLimits":[{"route":"FETCH /api","max":1,"window":"1m"}]}`,
				errs{"rateLimits.0.route": "invalid"}),
			bad("the same rule twice", `{"rateLimits":[{"route":"/api/health","max":1,"window":"1m"},{"route":"/api/health","max":2,"window":"1m"}]}`,
				errs{"rateLimits.1": "unique"}),
			bad("a rule with a member nobody knows", `{"rateLimits":[{"route":"/api/health","max":1,"window":"1m","per":"ip"}]}`,
				errs{"rateLimits": "invalid_type"}),
			bad("every problem at once", `{"appURL":"x","smtp":{"port":0,"tls":"x"}}`,
				errs{"appURL": "invalid_url", "smtp.port": "too_small", "smtp.tls": "invalid_choice"}),
		})
		set := `{"appURL":"https://app.example.com/","smtp":{"host":"mail.example.com","port":2525,"username":"loam",
			"password":"smtp secret","tls":"starttls"},"sender":{"name":"Acme","address":"noreply@acme.example"},
			"rateLimits":[{"route":"POST /api/collections/*/records","max":60,"window":"1m"}],
			"corsOrigins":["https://app.example.com","*"],"trustedProxies":["10.0.0.0/8","::1"],
			"outboundHosts":["hooks.example.com","*.example.org"]}`
		e.run(t, []scenario{{Name: "change them all", Method: "PATCH", Path: "/api/settings", Token: e.super, Body: set,
			Status: 200, Absent: []string{"smtp secret", `"password"`},
			Contains: []string{`"appURL":"https://app.example.com"`, `"passwordSet":true`, `"port":2525`, `"tls":"starttls"`,
				`"by":"ip"`, `"trustedProxies":["10.0.0.0/8","::1"]`, `"address":"noreply@acme.example"`}}})
		after := e.settingsBody(t)
		if strings.Contains(after, "smtp secret") || !strings.Contains(after, `"passwordSet":true`) {
			t.Errorf("GET after the change: %s", after)
		}
		got := e.patchSettings(t, `{"smtp":{"port":null,"username":"other"}}`)
		smtp := got["smtp"].(map[string]any)
		if num(smtp["port"]) != "587" || smtp["username"] != "other" || smtp["passwordSet"] != true || smtp["host"] != "mail.example.com" {
			t.Errorf("null returns the port to its default, the rest of smtp stays: %v", smtp)
		}
		got = e.patchSettings(t, `{"smtp":null,"sender":null,"corsOrigins":null}`)
		if got["smtp"].(map[string]any)["host"] != "" || len(got["corsOrigins"].([]any)) != 0 || len(got["outboundHosts"].([]any)) != 2 {
			t.Errorf("null returns whole members to their defaults, the others stay: %v", got)
		}
	})
}

// TestSettingsAcrossInstances: a change made on one instance is in force
// there at once, and on another instance of the same database at its next
// version check, at most SettingsCheck later (the clock is a fake one).
func TestSettingsAcrossInstances(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			open := sharedDB(t, store)
			e := startEnv(t, store, open(), loam.Config{Clock: clock.Now})
			e2 := instance(t, store, open(), loam.Config{Clock: clock.Now})
			origin := map[string]string{"Origin": "https://app.example.com"}
			allowed := func(e *env) string {
				return e.do(t, call{Method: "GET", Path: "/api/health", Headers: origin}).Header.Get("Access-Control-Allow-Origin")
			}
			if a, b := allowed(e), allowed(e2); a != "" || b != "" {
				t.Fatalf("an origin is allowed before any setting: %q %q", a, b)
			}
			e.patchSettings(t, `{"corsOrigins":["https://app.example.com"]}`)
			if got := allowed(e); got != "https://app.example.com" {
				t.Errorf("the instance that changed the settings: Access-Control-Allow-Origin %q", got)
			}
			if got := allowed(e2); got != "" {
				t.Errorf("the other instance changed before its check was due: %q", got)
			}
			clock.Advance(loam.SettingsCheck)
			if got := allowed(e2); got != "https://app.example.com" {
				t.Errorf("the other instance, a check later: Access-Control-Allow-Origin %q", got)
			}
			// Changes made on both merge: the second reads the first's.
			e2.patchSettings(t, `{"trustedProxies":["10.0.0.1"]}`)
			body := e.settingsBody(t)
			if !strings.Contains(body, `"corsOrigins":["https://app.example.com"]`) || !strings.Contains(body, `"10.0.0.1"`) {
				t.Errorf("after changes on both instances: %s", body)
			}
		})
	}
}

// mailSettingsEnv is an env whose mails go through the SMTP server of its
// settings, with two real SMTP servers to choose from.
func mailSettingsEnv(t *testing.T, store string) (*env, *mailtest.Server, *mailtest.Server) {
	t.Helper()
	a := mailtest.Start(t, mailtest.Options{})
	b := mailtest.Start(t, mailtest.Options{Username: "loam", Password: "smtp secret"})
	e := startEnv(t, store, openStore(t, store), loam.Config{MailTransport: mail.FromSettings,
		Throttle: loam.Throttle{MailsPerAddress: 50, MailsPerIP: 500},
		Settings: loam.Settings{AppURL: "https://app.example.com", SMTP: loam.SMTPSettings{Host: a.Host, Port: a.Port},
			Sender: loam.SenderSettings{Name: "Acme", Address: "noreply@acme.example"}}})
	return e, a, b
}

// TestTestEmail: the test mail goes through the SMTP server of the
// settings in force: the flags' server first, then the one a PATCH names
// (with its password); so do the auth flows' mails and the mail jobs.
// A server that refuses answers 503 saying why.
func TestTestEmail(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			testTestEmail(t, store)
		})
	}
}

func testTestEmail(t *testing.T, store string) {
	e, a, b := mailSettingsEnv(t, store)
	e.run(t, []scenario{
		{Name: "no address", Method: "POST", Path: "/api/settings/test-email", Token: e.super, Body: `{}`,
			Status: 400, Code: "validation_failed", Fields: errs{"to": "required"}},
		{Name: "a bad address", Method: "POST", Path: "/api/settings/test-email", Token: e.super, Body: `{"to":"ann"}`,
			Status: 400, Code: "validation_failed", Fields: errs{"to": "invalid_email"}},
		{Name: "a header in the address", Method: "POST", Path: "/api/settings/test-email", Token: e.super,
			Body: `{"to":"ann@example.com\r\nBcc: eve@example.com"}`, Status: 400, Code: "validation_failed",
			Fields: errs{"to": "invalid_email"}},
		{Name: "another member", Method: "POST", Path: "/api/settings/test-email", Token: e.super,
			Body: `{"to":"ann@example.com","cc":"x"}`, Status: 400, Code: "validation_failed", Fields: errs{"cc": "unknown_field"}},
		{Name: "anonymous", Method: "POST", Path: "/api/settings/test-email", Body: `{"to":"ann@example.com"}`,
			Status: 401, Code: "unauthenticated"},
		{Name: "through the flags' server", Method: "POST", Path: "/api/settings/test-email", Token: e.super,
			Body: `{"to":"ann@example.com"}`, Status: 204},
	})
	m := a.WaitFor(t, "ann@example.com", 0, 20*time.Second)
	if !strings.Contains(m.Subject, "test") || !strings.Contains(m.Header.Get("From"), "noreply@acme.example") {
		t.Errorf("the test mail: subject %q, from %q", m.Subject, m.Header.Get("From"))
	}
	e.run(t, []scenario{
		{Name: "a server that wants a password", Method: "PATCH", Path: "/api/settings", Token: e.super,
			Body: `{"smtp":{"port":` + strconv.Itoa(b.Port) + `}}`, Status: 200},
		{Name: "refused without it", Method: "POST", Path: "/api/settings/test-email", Token: e.super,
			Body: `{"to":"bob@example.com"}`, Status: 503, Code: "unavailable"},
		{Name: "with the password", Method: "PATCH", Path: "/api/settings", Token: e.super,
			Body: `{"smtp":{"username":"loam","password":"smtp secret"}}`, Status: 200, Absent: []string{"smtp secret"}},
		{Name: "through the new server", Method: "POST", Path: "/api/settings/test-email", Token: e.super,
			Body: `{"to":"bob@example.com"}`, Status: 204},
	})
	b.WaitFor(t, "bob@example.com", 0, 20*time.Second)
	// The auth flows and the mail jobs use the new server too.
	e.mustCreateCollection(t, `{"name":"users","type":"auth","fields":[],"rules":{"list":null,"view":null,"create":"","update":null,"delete":null},
		"auth":{"methods":{"password":true,"otp":true}}}`)
	e.mustCreate(t, "users", map[string]any{"email": "cy@example.com", "password": "cy's long password"})
	e.run(t, []scenario{{Name: "a one-time code", Method: "POST", Path: "/api/collections/users/auth/otp/request",
		Body: `{"email":"cy@example.com"}`, Status: 200}})
	b.WaitFor(t, "cy@example.com", 0, 20*time.Second)
	if err := e.app.MessageSender().SendMessage(t.Context(), &loam.Message{To: []string{"dee@example.com"}, Subject: "job",
		Text: "x"}); err != nil {
		t.Fatalf("the mail jobs' sender: %v", err)
	}
	b.WaitFor(t, "dee@example.com", 0, 20*time.Second)
	for _, got := range a.Received() {
		for _, to := range got.To {
			if to != "ann@example.com" {
				t.Errorf("the first server got a mail to %s after the change", to)
			}
		}
	}
	e.run(t, []scenario{
		{Name: "no SMTP host", Method: "PATCH", Path: "/api/settings", Token: e.super, Body: `{"smtp":{"host":""}}`, Status: 200},
		{Name: "then no test mail", Method: "POST", Path: "/api/settings/test-email", Token: e.super,
			Body: `{"to":"bob@example.com"}`, Status: 400, Code: "validation_failed", Fields: errs{"smtp.host": "required"}},
	})
	if err := e.app.MessageSender().SendMessage(t.Context(), &loam.Message{To: []string{"dee@example.com"}, Subject: "job",
		Text: "x"}); err != loam.ErrNoMessageSender {
		t.Errorf("a mail job without an SMTP host: %v, want ErrNoMessageSender", err)
	}
}
