package api_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"loam"
	"loam/mail"
	"loam/mail/mailtest"
)

// mailEnv is an env whose App mails through a real SMTP server on
// 127.0.0.1, with links to https://app.example.com, a fake clock and
// generous throttles (tests of the throttles set their own).
type mailEnv struct {
	*env
	smtp  *mailtest.Server
	clock *fakeClock
}

func newMailEnv(t *testing.T, store string, throttle loam.Throttle) *mailEnv {
	t.Helper()
	srv := mailtest.Start(t, mailtest.Options{Username: "loam", Password: "smtp secret"})
	m, err := mail.New(mail.Config{Host: srv.Host, Port: srv.Port, Username: "loam", Password: "smtp secret",
		From: "Acme <noreply@acme.example>", AppName: "Acme"})
	if err != nil {
		t.Fatalf("mail.New: %v", err)
	}
	if throttle == (loam.Throttle{}) {
		throttle = loam.Throttle{FailuresPerIdentity: 50, FailuresPerIP: 500, MailsPerAddress: 50, MailsPerIP: 500}
	}
	clock := newFakeClock()
	e := startEnv(t, store, openStore(t, store), loam.Config{Mailer: m, AppURL: "https://app.example.com/",
		Clock: clock.Now, Throttle: throttle})
	return &mailEnv{env: e, smtp: srv, clock: clock}
}

// mailTo waits for mail number n (from 0) to the address.
func (e *mailEnv) mailTo(t *testing.T, to string, n int) *mailtest.Message {
	t.Helper()
	return e.smtp.WaitFor(t, to, n, 20*time.Second)
}

// noMailTo checks that the address got exactly n mails, once a mail asked
// for after them (to sentinel) has arrived: the sender sends in order.
func (e *mailEnv) noMailTo(t *testing.T, to string, n int, sentinel func() *mailtest.Message) {
	t.Helper()
	sentinel()
	count := 0
	for _, m := range e.smtp.Received() {
		for _, rcpt := range m.To {
			if strings.EqualFold(rcpt, to) {
				count++
			}
		}
	}
	if count != n {
		t.Errorf("%s got %d mails, want %d", to, count, n)
	}
}

var linkRe = regexp.MustCompile(`https://app\.example\.com/auth/([a-z_]+)/([a-z-]+)#token=([A-Za-z0-9._%-]+)`)

// followLink returns the token of the link a mail holds for action, after
// checking that the text and the HTML part both hold the link.
func followLink(t *testing.T, m *mailtest.Message, collection, action string) string {
	t.Helper()
	g := linkRe.FindStringSubmatch(m.Text)
	if g == nil || g[1] != collection || g[2] != action {
		t.Fatalf("the mail %q holds no %s link for %s:\n%s", m.Subject, action, collection, m.Text)
	}
	if !strings.Contains(m.HTML, `href="`+g[0]+`"`) {
		t.Errorf("the HTML part lacks the link %s:\n%s", g[0], m.HTML)
	}
	token, err := url.QueryUnescape(g[3])
	if err != nil {
		t.Fatal(err)
	}
	return token
}

var codeRe = regexp.MustCompile(`\b(\d{8})\b`)

func otpCode(t *testing.T, m *mailtest.Message) string {
	t.Helper()
	g := codeRe.FindStringSubmatch(m.Text)
	if g == nil || !strings.Contains(m.HTML, g[1]) || !strings.Contains(m.Subject, g[1]) {
		t.Fatalf("the mail holds no code in its subject, text and HTML: %q\n%s", m.Subject, m.Text)
	}
	return g[1]
}

// alter changes one character of a token at i.
func alter(token string, i int) string {
	b := []byte(token)
	if b[i] == 'a' {
		b[i] = 'b'
	} else {
		b[i] = 'a'
	}
	return string(b)
}

// TestVerificationFlow: the request answers alike for every address; the
// mail's link verifies the record once; altered, replayed, expired and
// misdirected tokens fail and change nothing.
func TestVerificationFlow(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			e := newMailEnv(t, store, loam.Throttle{})
			annID, _ := e.signUp(t)
			auth := "/api/collections/users/auth/"
			ask := func(email string) *answer {
				return e.do(t, call{Method: "POST", Path: auth + "verify/request", Body: map[string]string{"email": email}})
			}
			known, unknown := ask("ANN@example.com"), ask("nobody@example.com")
			if known.Status != 204 || unknown.Status != 204 || string(known.Body) != string(unknown.Body) {
				t.Fatalf("verify/request: %d %q for an account, %d %q for none", known.Status, known.Body, unknown.Status, unknown.Body)
			}
			m := e.mailTo(t, "ann@example.com", 0)
			if !strings.Contains(m.Subject, "Acme") || m.Header.Get("From") != `"Acme" <noreply@acme.example>` {
				t.Errorf("subject %q, from %q", m.Subject, m.Header.Get("From"))
			}
			token := followLink(t, m, "users", "verify")
			id, secret, _ := strings.Cut(token, ".")
			confirm := auth + "verify/confirm"
			bad := func(name, token string) scenario {
				return scenario{Name: name, Method: "POST", Path: confirm, Body: map[string]string{"token": token},
					Status: 400, Code: "validation_failed", Fields: errs{"token": "invalid"}, Unchanged: true}
			}
			e.run(t, []scenario{
				bad("a token altered in its id", alter(token, 3)),
				bad("a token altered in its secret", alter(token, len(id)+1+len(secret)/2)),
				bad("a token cut short", token[:len(token)-1]),
				bad("the id alone", id),
				{Name: "a token for users on _superusers", Method: "POST", Path: "/api/collections/_superusers/auth/verify/confirm",
					Body: map[string]string{"token": token}, Status: 400, Code: "validation_failed", Fields: errs{"token": "invalid"},
					Unchanged: true},
				{Name: "no token", Method: "POST", Path: confirm, Body: `{}`, Status: 400, Code: "validation_failed",
					Fields: errs{"token": "required"}, Unchanged: true},
				{Name: "the link verifies ann", Method: "POST", Path: confirm, Body: map[string]string{"token": token}, Status: 204},
				bad("the same link again", token),
			})
			if v := e.mustGet(t, "users", annID)["verified"]; v != true {
				t.Fatalf("ann is not verified: %v", v)
			}
			// A verified record gets no mail, nor does an unknown address.
			ask("ann@example.com")
			e.noMailTo(t, "ann@example.com", 1, func() *mailtest.Message {
				e.do(t, call{Method: "POST", Path: "/api/collections/users/records",
					Body: `{"email":"bob@example.com","password":"bob's long password"}`})
				ask("bob@example.com")
				return e.mailTo(t, "bob@example.com", 0)
			})
			e.noMailTo(t, "nobody@example.com", 0, func() *mailtest.Message { return e.mailTo(t, "bob@example.com", 0) })
			// Bob's link expires after 72 hours.
			bobToken := followLink(t, e.mailTo(t, "bob@example.com", 0), "users", "verify")
			e.clock.Advance(loam.VerificationTTL)
			e.run(t, []scenario{bad("an expired link", bobToken)})
			// A link sent before the address changed does not verify the new one.
			ask("bob@example.com")
			bobToken = followLink(t, e.mailTo(t, "bob@example.com", 1), "users", "verify")
			bob := e.listIDs(t, "users", "filter="+url.QueryEscape(`email = "bob@example.com"`))[0]
			e.do(t, call{Method: "PATCH", Path: "/api/collections/users/records/" + bob, Token: e.super, Body: `{"email":"robert@example.com"}`})
			e.run(t, []scenario{bad("a link to an old address", bobToken)})
		})
	}
}

// TestPasswordResetFlow: the mail's link sets a new password once and ends
// every session; a refused password leaves the link usable; older links die.
func TestPasswordResetFlow(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			e := newMailEnv(t, store, loam.Throttle{})
			annID, ann := e.signUp(t)
			auth := "/api/collections/users/auth/"
			ask := func(email string) *answer {
				return e.do(t, call{Method: "POST", Path: auth + "reset/request", Body: map[string]string{"email": email}})
			}
			if a, b := ask("ann@example.com"), ask("nobody@example.com"); a.Status != 204 || b.Status != 204 || string(a.Body) != string(b.Body) {
				t.Fatalf("reset/request: %d %q for an account, %d %q for none", a.Status, a.Body, b.Status, b.Body)
			}
			first := followLink(t, e.mailTo(t, "ann@example.com", 0), "users", "reset")
			ask("ann@example.com")
			token := followLink(t, e.mailTo(t, "ann@example.com", 1), "users", "reset")
			confirm := auth + "reset/confirm"
			e.run(t, []scenario{
				{Name: "a short password", Method: "POST", Path: confirm, Body: map[string]string{"token": token, "password": "short"},
					Status: 400, Code: "validation_failed", Fields: errs{"password": "too_short"}, Unchanged: true},
				{Name: "a confirmation that does not match", Method: "POST", Path: confirm,
					Body:   map[string]string{"token": token, "password": "ann's new password", "passwordConfirm": "something else"},
					Status: 400, Code: "validation_failed", Fields: errs{"passwordConfirm": "invalid"}, Unchanged: true},
				{Name: "an unknown member", Method: "POST", Path: confirm,
					Body:   map[string]any{"token": token, "password": "ann's new password", "verified": true},
					Status: 400, Code: "unknown_field", Fields: errs{"verified": "unknown_field"}, Unchanged: true},
				{Name: "ann's session still works", Method: "GET", Path: auth + "sessions", Token: ann, Status: 200},
				{Name: "the link sets the password", Method: "POST", Path: confirm,
					Body: map[string]string{"token": token, "password": "ann's new password", "passwordConfirm": "ann's new password"}, Status: 204},
				{Name: "every session ended", Method: "GET", Path: auth + "sessions", Token: ann, Status: 401, Code: "unauthenticated"},
				{Name: "the used link again", Method: "POST", Path: confirm, Body: map[string]string{"token": token, "password": "mallory's password"},
					Status: 400, Code: "validation_failed", Fields: errs{"token": "invalid"}, Unchanged: true},
				{Name: "the older link died with it", Method: "POST", Path: confirm,
					Body: map[string]string{"token": first, "password": "mallory's password"}, Status: 400, Code: "validation_failed",
					Fields: errs{"token": "invalid"}, Unchanged: true},
				{Name: "the old password is over", Method: "POST", Path: auth + "password",
					Body: `{"identity":"ann@example.com","password":"ann's long password"}`, Status: 401, Code: "unauthenticated"},
			})
			e.signIn(t, "users", "ann@example.com", "ann's new password")
			if v := e.mustGet(t, "users", annID)["verified"]; v != true {
				t.Errorf("a reset through the mailbox should verify ann: %v", v)
			}
			// A link works for an hour only.
			ask("ann@example.com")
			late := followLink(t, e.mailTo(t, "ann@example.com", 2), "users", "reset")
			e.clock.Advance(loam.ResetTTL)
			e.run(t, []scenario{{Name: "an expired link", Method: "POST", Path: confirm,
				Body: map[string]string{"token": late, "password": "too late a password"}, Status: 400, Code: "validation_failed",
				Fields: errs{"token": "invalid"}, Unchanged: true}})
		})
	}
}

// TestOTPFlow: a one-time code signs in once; wrong, replayed, expired and
// exhausted codes do not; a request answers alike for every address.
func TestOTPFlow(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			e := newMailEnv(t, store, loam.Throttle{})
			annID, _ := e.signUp(t)
			auth := "/api/collections/users/auth/"
			request := func(email string) string {
				t.Helper()
				a := e.do(t, call{Method: "POST", Path: auth + "otp/request", Body: map[string]string{"email": email}})
				if a.Status != 200 {
					t.Fatalf("otp/request %s: %d %s", email, a.Status, a.Body)
				}
				id := str(a.JSON(t)["otpId"])
				if len(a.JSON(t)) != 1 || !loam.ValidID(id) {
					t.Fatalf("otp/request answered %s", a.Body)
				}
				return id
			}
			e.run(t, []scenario{{Name: "otp is off", Method: "POST", Path: auth + "otp/request", Body: `{"email":"ann@example.com"}`,
				Status: 403, Code: "forbidden"}})
			e.do(t, call{Method: "PATCH", Path: "/api/collections/users", Token: e.super,
				Body: `{"auth":{"methods":{"password":true,"otp":true}}}`})
			otpID := request("Ann@Example.com")
			ghost := request("nobody@example.com")
			code := otpCode(t, e.mailTo(t, "ann@example.com", 0))
			verify := auth + "otp/verify"
			wrongCode := "00000000"
			if code == wrongCode {
				wrongCode = "00000001"
			}
			fail := func(name, id, code string) scenario {
				return scenario{Name: name, Method: "POST", Path: verify, Body: map[string]string{"otpId": id, "code": code},
					Status: 401, Code: "unauthenticated", Unchanged: true}
			}
			e.run(t, []scenario{
				fail("a wrong code", otpID, wrongCode),
				fail("the code under another id", ghost, code),
				fail("the code under an altered id", alter(otpID, 4), code),
				fail("an unknown address's id", ghost, wrongCode),
				{Name: "the code signs in", Method: "POST", Path: verify, Body: map[string]string{"otpId": otpID, "code": code},
					Status: 200, Contains: []string{`"token":`, `"verified":true`}},
				fail("the code again", otpID, code),
			})
			if v := e.mustGet(t, "users", annID)["verified"]; v != true {
				t.Errorf("a code from the mailbox should verify ann: %v", v)
			}
			// Five tries: the fifth wrong one ends the code.
			otpID = request("ann@example.com")
			code = otpCode(t, e.mailTo(t, "ann@example.com", 1))
			for range loam.MaxTokenAttempts {
				e.do(t, call{Method: "POST", Path: verify, Body: map[string]string{"otpId": otpID, "code": wrongCode}})
			}
			e.run(t, []scenario{fail("the right code after five wrong ones", otpID, code)})
			// Five minutes.
			otpID = request("ann@example.com")
			code = otpCode(t, e.mailTo(t, "ann@example.com", 2))
			e.clock.Advance(loam.OTPTTL)
			e.run(t, []scenario{fail("an expired code", otpID, code)})
		})
	}
}

// TestEmailChangeFlow: a signed-in user asks; the link, with the account's
// password, moves the address, verifies it and ends every session.
func TestEmailChangeFlow(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			e := newMailEnv(t, store, loam.Throttle{})
			annID, ann := e.signUp(t)
			e.do(t, call{Method: "POST", Path: "/api/collections/users/records", Body: `{"email":"bob@example.com","password":"bob's long password"}`})
			auth := "/api/collections/users/auth/"
			req := auth + "email-change/request"
			e.run(t, []scenario{
				{Name: "anonymous", Method: "POST", Path: req, Body: `{"newEmail":"x@example.com"}`, Status: 401, Code: "unauthenticated"},
				{Name: "a superuser token", Method: "POST", Path: req, Token: e.super, Body: `{"newEmail":"x@example.com"}`,
					Status: 403, Code: "forbidden"},
				{Name: "not an address", Method: "POST", Path: req, Token: ann, Body: `{"newEmail":"not an address"}`,
					Status: 400, Code: "validation_failed", Fields: errs{"newEmail": "invalid_email"}},
				{Name: "ask for the new address", Method: "POST", Path: req, Token: ann, Body: `{"newEmail":"ann.new@example.com"}`, Status: 204},
				{Name: "ask for bob's address", Method: "POST", Path: req, Token: ann, Body: `{"newEmail":"bob@example.com"}`, Status: 204},
			})
			token := followLink(t, e.mailTo(t, "ann.new@example.com", 0), "users", "email-change")
			taken := followLink(t, e.mailTo(t, "bob@example.com", 0), "users", "email-change")
			confirm := auth + "email-change/confirm"
			e.run(t, []scenario{
				{Name: "a wrong password", Method: "POST", Path: confirm, Body: map[string]string{"token": token, "password": "wrong password"},
					Status: 400, Code: "validation_failed", Fields: errs{"password": "invalid"}, Unchanged: true},
				{Name: "bob's address is taken", Method: "POST", Path: confirm,
					Body: map[string]string{"token": taken, "password": "ann's long password"}, Status: 409, Code: "conflict",
					Fields: errs{"email": "unique"}, Unchanged: true},
				{Name: "the link moves the address", Method: "POST", Path: confirm,
					Body: map[string]string{"token": token, "password": "ann's long password"}, Status: 204},
				{Name: "every session ended", Method: "GET", Path: auth + "sessions", Token: ann, Status: 401, Code: "unauthenticated"},
				{Name: "the link again", Method: "POST", Path: confirm, Body: map[string]string{"token": token, "password": "ann's long password"},
					Status: 400, Code: "validation_failed", Fields: errs{"token": "invalid"}, Unchanged: true},
				{Name: "the other link died with it", Method: "POST", Path: confirm,
					Body: map[string]string{"token": taken, "password": "ann's long password"}, Status: 400, Code: "validation_failed",
					Fields: errs{"token": "invalid"}, Unchanged: true},
			})
			rec := e.mustGet(t, "users", annID)
			if rec["email"] != "ann.new@example.com" || rec["verified"] != true {
				t.Errorf("after the change: email %v, verified %v", rec["email"], rec["verified"])
			}
			e.signIn(t, "users", "ann.new@example.com", "ann's long password")
			if a := e.do(t, call{Method: "POST", Path: auth + "password", Body: `{"identity":"ann@example.com","password":"ann's long password"}`}); a.Status != 401 {
				t.Errorf("the old address still signs in: %d", a.Status)
			}
		})
	}
}

// TestMailThrottle: requests for mails are counted per address (with an
// account or not, alike) and per client address, across kinds.
func TestMailThrottle(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			e := newMailEnv(t, store, loam.Throttle{Window: time.Hour, FailuresPerIdentity: 50, FailuresPerIP: 500,
				MailsPerAddress: 2, MailsPerIP: 7})
			e.signUp(t)
			auth := "/api/collections/users/auth/"
			for _, email := range []string{"ann@example.com", "nobody@example.com"} {
				var got []int
				for _, path := range []string{"verify/request", "reset/request", "reset/request"} {
					a := e.do(t, call{Method: "POST", Path: auth + path, Body: map[string]string{"email": email}})
					got = append(got, a.Status)
					if a.Status == http.StatusTooManyRequests && a.Header.Get("Retry-After") == "" {
						t.Errorf("a 429 without Retry-After")
					}
				}
				if got[0] != 204 || got[1] != 204 || got[2] != 429 {
					t.Errorf("%s: statuses %v, want [204 204 429]", email, got)
				}
			}
			// Three more addresses: the client address reaches its 7 (2+2+2, then 1).
			var last int
			for _, email := range []string{"c@example.com", "d@example.com", "e@example.com", "f@example.com"} {
				last = e.do(t, call{Method: "POST", Path: auth + "reset/request", Body: map[string]string{"email": email}}).Status
			}
			if last != 429 {
				t.Errorf("the client address's 8th mail request answered %d, want 429", last)
			}
			e.clock.Advance(time.Hour)
			if a := e.do(t, call{Method: "POST", Path: auth + "reset/request", Body: `{"email":"ann@example.com"}`}); a.Status != 204 {
				t.Errorf("after the window: %d %s", a.Status, a.Body)
			}
		})
	}
}
