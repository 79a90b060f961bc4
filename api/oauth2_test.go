package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"loam"
	"loam/api/internal/oidctest"
)

// The OAuth2 tests sign in through a real OpenID provider (zitadel's OP,
// api/internal/oidctest) on 127.0.0.1: Loam's start route gives the
// authorization URL, the provider's login form is posted as a browser
// would, and the provider's redirect is followed to Loam's callback.

const (
	oidcSecret = "loam-client-secret-42"
	appURL     = "http://app.example"
)

// oidcFixture is a Loam with a users collection whose provider "corp" is
// a running provider, and that provider.
type oidcFixture struct {
	*env
	clock *fakeClock
	op    *oidctest.Provider
}

// provider accounts: ann, cat and dan are new to Loam; bob has an
// unverified Loam account and eve a verified one with the same address;
// cat's address is not verified at the provider, and a Loam account has it.
var oidcUsers = []oidctest.User{
	{ID: "sub-ann", Username: "ann", Password: "pw", Email: "ann@corp.example", EmailVerified: true},
	{ID: "sub-bob", Username: "bob", Password: "pw", Email: "bob@corp.example", EmailVerified: true},
	{ID: "sub-cat", Username: "cat", Password: "pw", Email: "cat@corp.example", EmailVerified: false},
	{ID: "sub-dan", Username: "dan", Password: "pw", Email: "dan@corp.example", EmailVerified: true},
	{ID: "sub-eve", Username: "eve", Password: "pw", Email: "eve@corp.example", EmailVerified: true},
	{ID: "sub-fay", Username: "fay", Password: "pw", Email: "fay@corp.example", EmailVerified: true},
}

func newOIDCFixture(t *testing.T, store string) *oidcFixture {
	t.Helper()
	clock := newFakeClock()
	e := startEnv(t, store, openStore(t, store), loam.Config{Clock: clock.Now, AppURL: appURL + "/app"})
	return &oidcFixture{env: e, clock: clock, op: startProvider(t, e)}
}

// startProvider starts a provider that knows e's callback URL, and
// creates e's users collection with it as provider "corp" (and "other",
// configured but off).
func startProvider(t *testing.T, e *env) *oidctest.Provider {
	t.Helper()
	op := oidctest.Start(t, oidcUsers, []oidctest.Client{{ID: "loam", Secret: oidcSecret,
		RedirectURIs: []string{e.base + "/api/collections/users/auth/oauth2/corp/callback"}}})
	e.mustCreateCollection(t, `{"name":"users","type":"auth",
		"rules":{"list":"id = @request.auth.id","view":"id = @request.auth.id","create":"","update":null,"delete":null},
		"auth":{"methods":{"password":true,"oauth2":["corp"]},"oauth2Providers":[
			{"name":"corp","displayName":"Corp SSO","clientId":"loam","clientSecret":"`+oidcSecret+`","issuer":"`+op.Issuer+`"},
			{"name":"other","clientId":"x","issuer":"`+op.Issuer+`"}]}}`)
	return op
}

// TestOAuth2CallbackOnAnotherInstance: the state lives in the database, so
// the instance that serves the callback need not be the one that started
// the sign-in (both behind one host name, as behind a load balancer).
func TestOAuth2CallbackOnAnotherInstance(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			open := sharedDB(t, store)
			e := startEnv(t, store, open(), loam.Config{AppURL: appURL})
			f := &oidcFixture{env: e, op: startProvider(t, e)}
			e2 := instance(t, store, open(), loam.Config{AppURL: appURL})
			cb := f.login(t, "ann", "")
			host := strings.TrimPrefix(e.base, "http://")
			a := e2.do(t, call{Method: "GET", Path: cb, Headers: map[string]string{"Host": host}})
			if a.Status != http.StatusOK {
				t.Fatalf("the callback on the second instance: %d %s", a.Status, a.Body)
			}
			m := a.JSON(t)
			rec, _ := m["record"].(map[string]any)
			if f.status(t, "GET", "/api/collections/users/records/"+str(rec["id"]), str(m["token"])) != http.StatusOK {
				t.Errorf("the token from the second instance does not work on the first")
			}
			e.run(t, []scenario{{Name: "the state is used up on the first too", Method: "GET", Path: cb, Status: 400,
				Code: "validation_failed", Fields: errs{"state": "invalid"}, Unchanged: true}})
		})
	}
}

// start starts a sign-in through provider with POST and returns the
// authorization URL.
func (f *oidcFixture) start(t *testing.T, provider, redirect string) string {
	t.Helper()
	var body any
	if redirect != "" {
		body = map[string]string{"redirect": redirect}
	}
	a := f.do(t, call{Method: "POST", Path: "/api/collections/users/auth/oauth2/" + provider + "/start", Body: body})
	if a.Status != http.StatusOK {
		t.Fatalf("start: %d %s", a.Status, a.Body)
	}
	u := str(a.JSON(t)["url"])
	if !strings.HasPrefix(u, f.op.Issuer+"/") {
		t.Fatalf("start gave %q, not an URL of the provider", u)
	}
	return u
}

// login signs user in at the provider from a fresh start and returns the
// path and query of Loam's callback the provider sends the browser to.
func (f *oidcFixture) login(t *testing.T, user, redirect string) string {
	t.Helper()
	back, err := f.op.Login(context.Background(), f.start(t, "corp", redirect), user, "pw")
	if err != nil {
		t.Fatalf("login at the provider as %s: %v", user, err)
	}
	if !strings.HasPrefix(back.String(), f.base+"/") {
		t.Fatalf("the provider sent the browser to %s, not to Loam", back)
	}
	return back.RequestURI()
}

// signIn signs user in through the provider and returns the token and
// the record's id.
func (f *oidcFixture) signInAs(t *testing.T, user string) (token, id string) {
	t.Helper()
	a := f.do(t, call{Method: "GET", Path: f.login(t, user, "")})
	if a.Status != http.StatusOK {
		t.Fatalf("callback for %s: %d %s", user, a.Status, a.Body)
	}
	m := a.JSON(t)
	rec, _ := m["record"].(map[string]any)
	return str(m["token"]), str(rec["id"])
}

// links returns the providers and subjects linked to a record.
func (f *oidcFixture) links(t *testing.T, id string) []string {
	t.Helper()
	a := f.do(t, call{Method: "GET", Path: "/api/collections/users/records/" + id + "/external-auths", Token: f.super})
	if a.Status != http.StatusOK {
		t.Fatalf("external auths of %s: %d %s", id, a.Status, a.Body)
	}
	var out []string
	for _, it := range items(t, a.JSON(t)) {
		out = append(out, str(it["provider"])+"/"+str(it["subject"]))
	}
	return out
}

func TestOAuth2Flow(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			f := newOIDCFixture(t, store)

			// A new account signs up, verified, and its token works.
			token, ann := f.signInAs(t, "ann")
			got := f.mustGet(t, "users", ann)
			if got["email"] != "ann@corp.example" || got["verified"] != true {
				t.Errorf("the new record is %v, want ann@corp.example, verified", got)
			}
			if ids := f.listIDs(t, "users", ""); len(ids) != 1 {
				t.Errorf("users after ann's first sign-in: %v, want one", ids)
			}
			a := f.do(t, call{Method: "GET", Path: "/api/collections/users/records", Token: token})
			if a.Status != http.StatusOK || len(items(t, a.JSON(t))) != 1 || items(t, a.JSON(t))[0]["id"] != ann {
				t.Errorf("ann's token on the records list: %d %s", a.Status, a.Body)
			}
			if l := f.links(t, ann); len(l) != 1 || l[0] != "corp/sub-ann" {
				t.Errorf("ann's links %v, want corp/sub-ann", l)
			}

			// The second sign-in finds the same record through the link.
			if _, again := f.signInAs(t, "ann"); again != ann {
				t.Errorf("ann's second sign-in gave record %s, want %s", again, ann)
			}
			if n := f.count(t, "users"); n != 1 {
				t.Errorf("users after ann's second sign-in: %d, want 1", n)
			}

			// A verified Loam account with the provider's verified address is
			// linked, and keeps its password.
			eve := str(f.mustCreate(t, "users", map[string]any{"email": "eve@corp.example", "password": "eve's long password",
				"verified": true})["id"])
			eveToken, id := f.signInAs(t, "eve")
			if id != eve {
				t.Errorf("eve signed in as %s, want her record %s", id, eve)
			}
			if l := f.links(t, eve); len(l) != 1 || l[0] != "corp/sub-eve" {
				t.Errorf("eve's links %v", l)
			}
			f.signIn(t, "users", "eve@corp.example", "eve's long password")

			// An unverified one is linked, becomes verified, and loses the
			// password someone else may have set.
			bob := str(f.mustCreate(t, "users", map[string]any{"email": "bob@corp.example", "password": "squatter's password"})["id"])
			squatter := f.signIn(t, "users", "bob@corp.example", "squatter's password")
			if _, id := f.signInAs(t, "bob"); id != bob {
				t.Errorf("bob signed in as %s, want %s", id, bob)
			}
			if got := f.mustGet(t, "users", bob); got["verified"] != true {
				t.Errorf("bob after the provider's sign-in: %v, want verified", got)
			}
			f.run(t, []scenario{
				{Name: "the old password is gone", Method: "POST", Path: "/api/collections/users/auth/password",
					Body:   map[string]string{"identity": "bob@corp.example", "password": "squatter's password"},
					Status: 401, Code: "unauthenticated"},
				{Name: "and its sessions", Method: "GET", Path: "/api/collections/users/auth/sessions", Token: squatter,
					Status: 401, Code: "unauthenticated"},
			})

			// An address the provider did not verify links nothing; the
			// account that has it stays as it was.
			f.mustCreate(t, "users", map[string]any{"email": "cat@corp.example", "password": "cat's long password"})
			before := f.snapshot(t)
			a = f.do(t, call{Method: "GET", Path: f.login(t, "cat", "")})
			if a.Status != http.StatusConflict {
				t.Errorf("cat (unverified at the provider): %d %s, want 409", a.Status, a.Body)
			}
			if after := f.snapshot(t); after != before {
				t.Errorf("cat's refused sign-in changed the database:\n%s", diff(before, after))
			}

			// States: tampered, reused, of another provider, expired.
			cb := f.login(t, "dan", "")
			u, _ := url.Parse(cb)
			q := u.Query()
			state := q.Get("state")
			q.Set("state", state+"x")
			tampered := u.Path + "?" + q.Encode()
			q.Set("state", "")
			empty := u.Path + "?" + q.Encode()
			f.run(t, []scenario{
				{Name: "a tampered state", Method: "GET", Path: tampered, Status: 400, Code: "validation_failed",
					Fields: errs{"state": "invalid"}, Unchanged: true},
				{Name: "no state", Method: "GET", Path: empty, Status: 400, Code: "validation_failed",
					Fields: errs{"state": "invalid"}, Unchanged: true},
				{Name: "a state at another provider's callback", Method: "POST",
					Path: "/api/collections/users/auth/oauth2/other/callback", Body: map[string]string{"state": state, "code": q.Get("code")},
					Status: 400, Code: "validation_failed", Fields: errs{"state": "invalid"}, Unchanged: true},
				// That try used the state up, like any other: the code is worthless now.
				{Name: "the state is gone", Method: "GET", Path: cb, Status: 400, Code: "validation_failed",
					Fields: errs{"state": "invalid"}, Unchanged: true},
			})
			cb = f.login(t, "dan", "")
			if a := f.do(t, call{Method: "GET", Path: cb}); a.Status != http.StatusOK {
				t.Fatalf("dan's sign-in: %d %s", a.Status, a.Body)
			}
			f.run(t, []scenario{{Name: "a reused state", Method: "GET", Path: cb, Status: 400, Code: "validation_failed",
				Fields: errs{"state": "invalid"}, Unchanged: true}})

			// ID tokens with another nonce or audience are refused.
			for _, tw := range []struct {
				name  string
				twist oidctest.Twist
			}{{"another nonce", oidctest.Twist{Nonce: "not-the-sign-in's"}}, {"another audience", oidctest.Twist{ClientID: "someone-else"}},
				{"another authorized party", oidctest.Twist{ClientID: "someone-else", KeepAudience: true}}} {
				cb := f.login(t, "fay", "")
				f.op.Twist(tw.twist)
				f.run(t, []scenario{{Name: "an ID token with " + tw.name, Method: "GET", Path: cb, Status: 401,
					Code: "unauthenticated", Unchanged: true}})
				f.op.Twist(oidctest.Twist{})
			}

			// The provider's refusal.
			start := f.start(t, "corp", "")
			su, _ := url.Parse(start)
			f.run(t, []scenario{{Name: "the provider refused", Method: "GET",
				Path:   "/api/collections/users/auth/oauth2/corp/callback?error=access_denied&state=" + url.QueryEscape(su.Query().Get("state")),
				Status: 401, Code: "unauthenticated", Unchanged: true}})

			// Redirects: to the app's origin with the token in the fragment;
			// elsewhere refused before anything is stored.
			a = f.do(t, call{Method: "GET", Path: f.login(t, "ann", appURL+"/signed-in?x=1"), NoFollow: true})
			loc, _ := url.Parse(a.Header.Get("Location"))
			if a.Status != http.StatusSeeOther || loc == nil || loc.Scheme+"://"+loc.Host+loc.Path != appURL+"/signed-in" {
				t.Fatalf("callback of a sign-in with redirect: %d, Location %q", a.Status, a.Header.Get("Location"))
			}
			frag, _ := url.ParseQuery(loc.Fragment)
			if frag.Get("record") != ann || f.status(t, "GET", "/api/collections/users/records/"+ann, frag.Get("token")) != 200 {
				t.Errorf("the redirect's fragment %q: want ann's id and a token that works", loc.Fragment)
			}
			// A failure after a good state goes to the redirect too, with the error.
			su, _ = url.Parse(f.start(t, "corp", appURL+"/signed-in"))
			a = f.do(t, call{Method: "GET", NoFollow: true,
				Path: "/api/collections/users/auth/oauth2/corp/callback?error=access_denied&state=" + url.QueryEscape(su.Query().Get("state"))})
			loc, _ = url.Parse(a.Header.Get("Location"))
			if frag, _ := url.ParseQuery(loc.Fragment); a.Status != http.StatusSeeOther || frag.Get("error") != "unauthenticated" ||
				frag.Get("token") != "" || frag.Get("message") == "" {
				t.Errorf("a refused sign-in with redirect: %d, Location %q", a.Status, a.Header.Get("Location"))
			}
			startPath := "/api/collections/users/auth/oauth2/corp/start"
			var bad []scenario
			for _, r := range []string{"https://evil.example/x", "http://app.example.evil.com/", "//evil.example/",
				"/relative", "javascript:alert(1)", "http://app.example/x#frag", "http://user@app.example/"} {
				bad = append(bad,
					scenario{Name: "POST redirect " + r, Method: "POST", Path: startPath, Body: map[string]string{"redirect": r},
						Status: 400, Code: "validation_failed", Fields: errs{"redirect": "invalid_url"}, Unchanged: true},
					scenario{Name: "GET redirect " + r, Method: "GET", Path: startPath + "?redirect=" + url.QueryEscape(r),
						Status: 400, Code: "validation_failed", Fields: errs{"redirect": "invalid_url"}, Unchanged: true})
			}
			f.run(t, bad)

			// GET start sends the browser to the provider.
			a = f.do(t, call{Method: "GET", Path: startPath + "?redirect=" + url.QueryEscape(appURL+"/"), NoFollow: true})
			if a.Status != http.StatusFound || !strings.HasPrefix(a.Header.Get("Location"), f.op.Issuer+"/") {
				t.Errorf("GET start: %d, Location %q", a.Status, a.Header.Get("Location"))
			}
			for _, p := range []string{"code_challenge_method=S256", "code_challenge=", "nonce=", "state="} {
				if !strings.Contains(a.Header.Get("Location"), p) {
					t.Errorf("the authorization URL has no %s: %s", p, a.Header.Get("Location"))
				}
			}

			// A script's GET start answers with JSON.
			f.run(t, []scenario{{Name: "GET start asking for JSON", Method: "GET", Path: startPath,
				Headers: map[string]string{"Accept": "application/json"}, Status: 200, Contains: []string{`"url":"` + f.op.Issuer + "/"}}})

			// Providers that are off, or not there.
			f.run(t, []scenario{
				{Name: "a provider that is off", Method: "POST", Path: "/api/collections/users/auth/oauth2/other/start",
					Status: 403, Code: "forbidden", Unchanged: true},
				{Name: "a provider that is not there", Method: "GET", Path: "/api/collections/users/auth/oauth2/nope/start",
					Status: 404, Code: "not_found", Unchanged: true},
				{Name: "a base collection", Method: "GET", Path: "/api/collections/_nope/auth/oauth2/corp/start",
					Status: 404, Code: "not_found", Unchanged: true},
				{Name: "methods list the provider that is on", Method: "GET", Path: "/api/collections/users/auth/methods",
					Status: 200, Contains: []string{`"providers":[{"name":"corp","displayName":"Corp SSO","startUrl":"/api/collections/users/auth/oauth2/corp/start"}]`}},
			})

			// Sign-up is closed when the create rule is null: nothing is created.
			f.do(t, call{Method: "PATCH", Path: "/api/collections/users", Token: f.super, Body: `{"rules":{"create":null}}`})
			f.run(t, []scenario{{Name: "closed sign-up", Method: "GET", Path: f.login(t, "fay", ""), Status: 403,
				Code: "forbidden", Unchanged: true}})

			// A record lists and unlinks its provider accounts; others cannot.
			links := "/api/collections/users/records/" + ann + "/external-auths"
			a = f.do(t, call{Method: "GET", Path: links, Token: token})
			list := items(t, a.JSON(t))
			if a.Status != http.StatusOK || len(list) != 1 || list[0]["provider"] != "corp" || list[0]["subject"] != "sub-ann" {
				t.Fatalf("ann's own links: %d %s", a.Status, a.Body)
			}
			linkID := str(list[0]["id"])
			f.run(t, []scenario{
				{Name: "another user cannot list them", Method: "GET", Path: links, Token: eveToken, Status: 403, Code: "forbidden"},
				{Name: "nor anonymous callers", Method: "GET", Path: links, Status: 401, Code: "unauthenticated"},
				{Name: "nor unlink them", Method: "DELETE", Path: links + "/" + linkID, Token: eveToken, Status: 403,
					Code: "forbidden", Unchanged: true},
				{Name: "a link of another record", Method: "DELETE", Path: "/api/collections/users/records/" + eve +
					"/external-auths/" + linkID, Token: eveToken, Status: 404, Code: "not_found", Unchanged: true},
				{Name: "ann unlinks hers", Method: "DELETE", Path: links + "/" + linkID, Token: token, Status: 204},
				{Name: "it is gone", Method: "GET", Path: links, Token: token, Status: 200, Contains: []string{`{"items":[]}`}},
				{Name: "once", Method: "DELETE", Path: links + "/" + linkID, Token: token, Status: 404, Code: "not_found"},
			})
			// Her verified address links her again at the next sign-in.
			if _, again := f.signInAs(t, "ann"); again != ann {
				t.Errorf("ann after unlinking signed in as %s, want %s", again, ann)
			}
			if l := f.links(t, ann); len(l) != 1 {
				t.Errorf("ann's links after signing in again: %v", l)
			}

			// An expired state is refused.
			cb = f.login(t, "ann", "")
			f.clock.Advance(loam.OAuth2StateTTL + time.Second)
			f.run(t, []scenario{{Name: "an expired state", Method: "GET", Path: cb, Status: 400, Code: "validation_failed",
				Fields: errs{"state": "invalid"}, Unchanged: true}})
		})
	}
}

// TestOAuth2StartThrottle: each start stores a state, so one client
// address may start only so many sign-ins in a window.
func TestOAuth2StartThrottle(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, store, openStore(t, store), loam.Config{Throttle: loam.Throttle{OAuth2StartsPerIP: 2}})
			f := &oidcFixture{env: e, op: startProvider(t, e)}
			f.start(t, "corp", "")
			f.start(t, "corp", "")
			f.run(t, []scenario{{Name: "the third start", Method: "POST", Path: "/api/collections/users/auth/oauth2/corp/start",
				Status: 429, Code: "rate_limited", Unchanged: true, Check: func(t *testing.T, a *answer) {
					if a.Header.Get("Retry-After") == "" {
						t.Error("a rate_limited answer without Retry-After")
					}
				}}})
		})
	}
}

// TestOAuth2WithMFA: the provider is a first factor; a record with a
// second factor on gets mfa_required, and .../auth/mfa/verify finishes.
func TestOAuth2WithMFA(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			f := newOIDCFixture(t, store)
			token, _ := f.signInAs(t, "ann")
			f.run(t, []scenario{{Name: "mfa on", Method: "PATCH", Path: "/api/collections/users", Token: f.super,
				Body: `{"auth":{"methods":{"password":true,"oauth2":["corp"],"mfa":true}}}`, Status: 200}})
			base := "/api/collections/users/auth/mfa/"
			a := f.do(t, call{Method: "POST", Path: base + "totp/enroll", Token: token})
			if a.Status != 200 {
				t.Fatalf("enroll: %d %s", a.Status, a.Body)
			}
			secret := str(a.JSON(t)["secret"])
			if a := f.do(t, call{Method: "POST", Path: base + "totp/confirm", Token: token,
				Body: map[string]string{"code": totpCode(t, secret, f.clock)}}); a.Status != 200 {
				t.Fatalf("confirm: %d %s", a.Status, a.Body)
			}
			f.clock.Advance(30 * time.Second)
			a = f.do(t, call{Method: "GET", Path: f.login(t, "ann", "")})
			m := a.JSON(t)
			if a.Status != 401 || m["code"] != loam.CodeMFARequired || str(m["mfaId"]) == "" {
				t.Fatalf("the provider's sign-in with MFA on: %d %s, want 401 mfa_required with an mfaId", a.Status, a.Body)
			}
			a = f.do(t, call{Method: "POST", Path: base + "verify",
				Body: map[string]string{"mfaId": str(m["mfaId"]), "code": totpCode(t, secret, f.clock)}})
			if a.Status != 200 || str(a.JSON(t)["token"]) == "" {
				t.Fatalf("mfa verify after the provider: %d %s", a.Status, a.Body)
			}
		})
	}
}
