package api_test

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"loam"
	"loam/postgres"
	"loam/postgres/pgtest"
	"loam/sqlite"
	"loam/sqlstore"
)

// fakeClock is a clock tests move by hand (loam.Config.Clock).
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now().UTC().Truncate(time.Millisecond)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sharedDB returns a function that opens a store on one database, the same
// each call: two Apps over it are two instances of one deployment.
func sharedDB(t *testing.T, store string) func() *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	var url, path string
	if store == "postgres" {
		url = pgtest.URL(t)
	} else {
		path = filepath.Join(t.TempDir(), "data.db")
	}
	return func() *sqlstore.Store {
		var s *sqlstore.Store
		var err error
		if store == "postgres" {
			s, err = postgres.Open(ctx, postgres.Config{URL: url, MaxConns: 4})
		} else {
			s, err = sqlite.Open(ctx, sqlite.Config{Path: path})
		}
		if err != nil {
			t.Fatalf("open %s: %v", store, err)
		}
		return s
	}
}

// instance starts another App and server over st (a database another env
// already uses) and signs the superuser in there.
func instance(t *testing.T, store string, st loam.Store, cfg loam.Config) *env {
	t.Helper()
	ctx := context.Background()
	cfg.Store = st
	app, err := loam.New(cfg)
	if err != nil {
		t.Fatalf("loam.New: %v", err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatalf("app.Start: %v", err)
	}
	t.Cleanup(func() { _ = app.Stop() })
	return serve(t, store, app, false)
}

// sessionIDs lists the sessions a token sees (with a query such as
// "?recordId=...") and returns their ids and the current one's.
func (e *env) sessionIDs(t *testing.T, collection, token, query string) (ids []string, current string) {
	t.Helper()
	a := e.do(t, call{Method: "GET", Path: "/api/collections/" + collection + "/auth/sessions" + query, Token: token})
	if a.Status != 200 {
		t.Fatalf("list sessions: %d %s", a.Status, a.Body)
	}
	for _, it := range items(t, a.JSON(t)) {
		ids = append(ids, str(it["id"]))
		if it["current"] == true {
			current = str(it["id"])
		}
		if str(it["method"]) == "" || str(it["created"]) == "" || str(it["expires"]) == "" {
			t.Errorf("a session lacks method, created or expires: %v", it)
		}
	}
	return ids, current
}

// TestSessions: refresh rotates the token; logout ends one session; a user
// lists and ends their sessions, one or all; a superuser does it for them;
// nobody reaches another's session.
func TestSessions(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		annID, ann1 := e.signUp(t)
		ann2 := e.signIn(t, "users", "ann@example.com", "ann's long password")
		ann3 := e.signIn(t, "users", "ann@example.com", "ann's long password")
		bob := e.do(t, call{Method: "POST", Path: "/api/collections/users/records",
			Body: `{"email":"bob@example.com","password":"bob's long password"}`})
		if bob.Status != 201 {
			t.Fatalf("sign up bob: %d %s", bob.Status, bob.Body)
		}
		bob1 := e.signIn(t, "users", "bob@example.com", "bob's long password")
		auth := "/api/collections/users/auth/"
		me := auth + "sessions" // answers any session of users
		ids, current := e.sessionIDs(t, "users", ann1, "")
		if len(ids) != 3 || current == "" {
			t.Fatalf("ann's sessions: %v (current %q), want 3 with one current", ids, current)
		}
		bobIDs, _ := e.sessionIDs(t, "users", bob1, "")
		var refreshed string
		e.run(t, []scenario{
			{Name: "anonymous refresh", Method: "POST", Path: auth + "refresh", Status: 401, Code: "unauthenticated"},
			{Name: "a superuser token refreshes only in its collection", Method: "POST", Path: auth + "refresh", Token: e.super,
				Status: 403, Code: "forbidden"},
			{Name: "refresh", Method: "POST", Path: auth + "refresh", Token: ann1, Status: 200,
				Contains: []string{`"token":`, `"email":"ann@example.com"`}, Absent: []string{"$argon2", `"note"`},
				Check: func(t *testing.T, a *answer) { refreshed = str(a.JSON(t)["token"]) }},
			{Name: "the old token is over", Method: "GET", Path: me, Token: ann1, Status: 401, Code: "unauthenticated"},
			{Name: "a second refresh with the old token", Method: "POST", Path: auth + "refresh", Token: ann1, Status: 401,
				Code: "unauthenticated"},
		})
		e.run(t, []scenario{
			{Name: "the new token works", Method: "GET", Path: me, Token: refreshed, Status: 200},
			{Name: "the session keeps its id", Method: "GET", Path: auth + "sessions", Token: refreshed, Status: 200,
				Contains: []string{current}},
			{Name: "bob cannot end ann's session", Method: "DELETE", Path: auth + "sessions/" + current, Token: bob1,
				Status: 404, Code: "not_found"},
			{Name: "bob cannot list ann's sessions", Method: "GET", Path: auth + "sessions?recordId=" + annID, Token: bob1,
				Status: 403, Code: "forbidden", Absent: []string{current}},
			{Name: "bob cannot end all of ann's sessions", Method: "DELETE", Path: auth + "sessions?recordId=" + annID, Token: bob1,
				Status: 403, Code: "forbidden"},
			{Name: "ann's sessions survive bob", Method: "GET", Path: me, Token: refreshed, Status: 200},
			{Name: "ann logs out", Method: "POST", Path: auth + "logout", Token: refreshed, Status: 204},
			{Name: "that session is over", Method: "GET", Path: me, Token: refreshed, Status: 401, Code: "unauthenticated"},
			{Name: "her others go on", Method: "GET", Path: me, Token: ann2, Status: 200},
			{Name: "anonymous logout", Method: "POST", Path: auth + "logout", Status: 401, Code: "unauthenticated"},
		})
		ids, current = e.sessionIDs(t, "users", ann2, "")
		if len(ids) != 2 {
			t.Fatalf("ann's sessions after logout: %v, want 2", ids)
		}
		other := ids[0]
		if other == current {
			other = ids[1]
		}
		e.run(t, []scenario{
			{Name: "ann ends her other session", Method: "DELETE", Path: auth + "sessions/" + other, Token: ann2, Status: 204},
			{Name: "it is over", Method: "GET", Path: me, Token: ann3, Status: 401, Code: "unauthenticated"},
			{Name: "again", Method: "DELETE", Path: auth + "sessions/" + other, Token: ann2, Status: 404, Code: "not_found"},
			{Name: "ann ends bob's session by id", Method: "DELETE", Path: auth + "sessions/" + bobIDs[0], Token: ann2,
				Status: 404, Code: "not_found"},
			{Name: "bob goes on", Method: "GET", Path: me, Token: bob1, Status: 200},
			{Name: "the superuser lists ann's sessions", Method: "GET", Path: auth + "sessions?recordId=" + annID, Token: e.super,
				Status: 200, Contains: []string{current}, Absent: []string{`"current":true`}},
			{Name: "a superuser's own sessions", Method: "GET", Path: "/api/collections/_superusers/auth/sessions", Token: e.super,
				Status: 200, Contains: []string{`"current":true`}},
			{Name: "the superuser logs ann out everywhere", Method: "DELETE", Path: auth + "sessions?recordId=" + annID,
				Token: e.super, Status: 204},
			{Name: "ann's last session is over", Method: "GET", Path: me, Token: ann2, Status: 401, Code: "unauthenticated"},
			{Name: "bob logs out everywhere", Method: "DELETE", Path: auth + "sessions", Token: bob1, Status: 204},
			{Name: "bob's session is over", Method: "GET", Path: me, Token: bob1, Status: 401, Code: "unauthenticated"},
			{Name: "sessions of an unknown record", Method: "GET", Path: auth + "sessions?recordId=zzzzzzzzzzzzzzz", Token: e.super,
				Status: 404, Code: "not_found"},
			{Name: "sessions of a base collection", Method: "GET", Path: "/api/collections/nope/auth/sessions", Token: e.super,
				Status: 404, Code: "not_found"},
		})
	})
}

// TestImpersonate: a superuser signs in as a user, logged; the session is
// the user's, cannot be refreshed, and nobody else may open one.
func TestImpersonate(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		annID, ann := e.signUp(t)
		path := "/api/collections/users/auth/impersonate/" + annID
		var token string
		e.run(t, []scenario{
			{Name: "anonymous", Method: "POST", Path: path, Status: 401, Code: "unauthenticated", Unchanged: true},
			{Name: "a user", Method: "POST", Path: path, Token: ann, Status: 403, Code: "forbidden", Unchanged: true},
			{Name: "an unknown record", Method: "POST", Path: "/api/collections/users/auth/impersonate/zzzzzzzzzzzzzzz",
				Token: e.super, Status: 404, Code: "not_found", Unchanged: true},
			{Name: "a bad duration", Method: "POST", Path: path, Token: e.super, Body: `{"duration":-5}`,
				Status: 400, Code: "validation_failed", Fields: errs{"duration": "invalid_type"}},
			{Name: "the superuser", Method: "POST", Path: path, Token: e.super, Body: `{"duration":600}`, Status: 200,
				Contains: []string{`"token":`, `"email":"ann@example.com"`, `"note":"n"`},
				Check:    func(t *testing.T, a *answer) { token = str(a.JSON(t)["token"]) }},
		})
		a := e.do(t, call{Method: "GET", Path: "/api/collections/users/auth/sessions", Token: token})
		if a.Status != 200 {
			t.Fatalf("sessions: %d %s", a.Status, a.Body)
		}
		var expires string
		for _, it := range items(t, a.JSON(t)) {
			if it["current"] == true {
				if it["method"] != "impersonate" {
					t.Errorf("the impersonation session has method %v", it["method"])
				}
				expires = str(it["expires"])
			}
		}
		if exp, err := loam.ParseTime(expires); err != nil || time.Until(exp) > 11*time.Minute {
			t.Errorf("an impersonation of 600 s expires %q", expires)
		}
		e.run(t, []scenario{
			{Name: "the token acts as ann", Method: "PATCH", Path: "/api/collections/users/records/" + annID, Token: token,
				Body: `{"nick":"impersonated"}`, Status: 403, Code: "forbidden"}, // users' update rule is null
			{Name: "it reads as ann", Method: "GET", Path: "/api/collections/users/auth/sessions", Token: token, Status: 200},
			{Name: "it cannot be refreshed", Method: "POST", Path: "/api/collections/users/auth/refresh", Token: token,
				Status: 403, Code: "forbidden"},
			{Name: "it is not a superuser", Method: "GET", Path: "/api/collections", Token: token, Status: 403, Code: "forbidden"},
		})
	})
}

// TestAuthMethodsAndRule: the methods listing; a method that is off is
// refused; the auth rule disables a user at once, on every request.
func TestAuthMethodsAndRule(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		annID, ann := e.signUp(t)
		e.run(t, []scenario{
			{Name: "methods, anonymously", Method: "GET", Path: "/api/collections/users/auth/methods", Status: 200,
				Contains: []string{`"password":{"enabled":true,"identityFields":["email"]}`, `"otp":{"enabled":false,`,
					`"oauth2":{"enabled":false,"providers":[]}`, `"mfa":{"enabled":false}`}},
			{Name: "methods of a base collection", Method: "GET", Path: "/api/collections/nope/auth/methods", Status: 404, Code: "not_found"},
			{Name: "add a disabled field and an auth rule", Method: "PATCH", Path: "/api/collections/users", Token: e.super,
				Body: `{"fields":[{"name":"nick","type":"text"},{"name":"note","type":"text","hidden":true},
					{"name":"disabled","type":"bool","hidden":true}],"auth":{"rule":"disabled != true"}}`, Status: 200},
			{Name: "ann still works", Method: "GET", Path: "/api/collections/users/auth/sessions", Token: ann, Status: 200},
			{Name: "the superuser disables ann", Method: "PATCH", Path: "/api/collections/users/records/" + annID, Token: e.super,
				Body: `{"disabled":true}`, Status: 200},
			{Name: "ann's token stops at once", Method: "GET", Path: "/api/collections/users/auth/sessions", Token: ann,
				Status: 401, Code: "unauthenticated"},
			{Name: "ann cannot sign in", Method: "POST", Path: "/api/collections/users/auth/password",
				Body: `{"identity":"ann@example.com","password":"ann's long password"}`, Status: 403, Code: "forbidden"},
			{Name: "nor be impersonated", Method: "POST", Path: "/api/collections/users/auth/impersonate/" + annID,
				Token: e.super, Status: 403, Code: "forbidden"},
			{Name: "a wrong password answers as ever", Method: "POST", Path: "/api/collections/users/auth/password",
				Body: `{"identity":"ann@example.com","password":"not ann's password"}`, Status: 401, Code: "unauthenticated"},
			{Name: "turn password sign-in off", Method: "PATCH", Path: "/api/collections/users", Token: e.super,
				Body: `{"auth":{"rule":"","methods":{"otp":true}}}`, Status: 200},
			{Name: "password sign-in is refused", Method: "POST", Path: "/api/collections/users/auth/password",
				Body: `{"identity":"ann@example.com","password":"ann's long password"}`, Status: 403, Code: "forbidden"},
			{Name: "the listing says so", Method: "GET", Path: "/api/collections/users/auth/methods", Status: 200,
				Contains: []string{`"password":{"enabled":false`, `"otp":{"enabled":true,"duration":300}`}},
			{Name: "ann's session is back: the rule no longer excludes her", Method: "GET",
				Path: "/api/collections/users/auth/sessions", Token: ann, Status: 200},
		})
	})
}

// TestSessionExpiry: a token past its lifetime answers 401 and cannot be
// refreshed; a refresh gives a new lifetime. The clock is a fake one.
func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			e := startEnv(t, store, openStore(t, store), loam.Config{Clock: clock.Now})
			_, ann := e.signUp(t)
			e.do(t, call{Method: "PATCH", Path: "/api/collections/users", Token: e.super, Body: `{"auth":{"tokenTTL":3600}}`})
			fresh := e.signIn(t, "users", "ann@example.com", "ann's long password") // lives an hour
			clock.Advance(50 * time.Minute)
			a := e.do(t, call{Method: "POST", Path: "/api/collections/users/auth/refresh", Token: fresh})
			if a.Status != 200 {
				t.Fatalf("refresh: %d %s", a.Status, a.Body)
			}
			refreshed := str(a.JSON(t)["token"])
			clock.Advance(20 * time.Minute) // fresh's hour is over; refreshed has 40 minutes left
			sessions := "/api/collections/users/auth/sessions"
			e.run(t, []scenario{
				{Name: "the refreshed token lives on", Method: "GET", Path: sessions, Token: refreshed, Status: 200},
				{Name: "the first token (14 days) too", Method: "GET", Path: sessions, Token: ann, Status: 200},
			})
			clock.Advance(41 * time.Minute)
			e.run(t, []scenario{
				{Name: "an expired token", Method: "GET", Path: sessions, Token: refreshed, Status: 401, Code: "unauthenticated"},
				{Name: "an expired token cannot refresh", Method: "POST", Path: "/api/collections/users/auth/refresh",
					Token: refreshed, Status: 401, Code: "unauthenticated", Unchanged: true},
			})
		})
	}
}

// TestLoginThrottle: failed sign-ins are counted per identity and per
// client address in the database: past the limit the answer is 429 with
// Retry-After, even for the right password, on every instance, until the
// window ends.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			cfg := loam.Config{Clock: clock.Now, Throttle: loam.Throttle{Window: 10 * time.Minute,
				FailuresPerIdentity: 3, FailuresPerIP: 6}}
			open := sharedDB(t, store)
			e := startEnv(t, store, open(), cfg)
			_, _ = e.signUp(t)
			e2 := instance(t, store, open(), cfg) // another instance on the same database
			pw := "/api/collections/users/auth/password"
			wrong := `{"identity":"ann@example.com","password":"a wrong password"}`
			right := `{"identity":"ANN@example.com","password":"ann's long password"}`
			limited := func(t *testing.T, a *answer) {
				s, err := strconv.Atoi(a.Header.Get("Retry-After"))
				if err != nil || s <= 0 || s > 600 {
					t.Errorf("Retry-After %q, want 1..600 seconds", a.Header.Get("Retry-After"))
				}
			}
			e.run(t, []scenario{
				{Name: "a right password resets the count", Method: "POST", Path: pw, Body: wrong, Status: 401, Code: "unauthenticated"},
				{Name: "right", Method: "POST", Path: pw, Body: right, Status: 200},
				{Name: "wrong 1", Method: "POST", Path: pw, Body: wrong, Status: 401, Code: "unauthenticated"},
				{Name: "wrong 2", Method: "POST", Path: pw, Body: wrong, Status: 401, Code: "unauthenticated"},
			})
			e2.run(t, []scenario{
				{Name: "wrong 3, on the other instance", Method: "POST", Path: pw, Body: wrong, Status: 401, Code: "unauthenticated"},
				{Name: "then even the right password waits", Method: "POST", Path: pw, Body: right, Status: 429,
					Code: "rate_limited", Check: limited},
			})
			e.run(t, []scenario{
				{Name: "on both instances", Method: "POST", Path: pw, Body: right, Status: 429, Code: "rate_limited", Check: limited},
				{Name: "another identity still signs in", Method: "POST", Path: "/api/collections/_superusers/auth/password",
					Body: `{"identity":"` + superEmail + `","password":"` + superPassword + `"}`, Status: 200},
			})
			// The address's own limit: failures over several identities add up.
			for i := range 2 {
				a := e.do(t, call{Method: "POST", Path: pw, Body: `{"identity":"nobody` + strconv.Itoa(i) + `@example.com","password":"x"}`})
				if a.Status != 401 && a.Status != 429 {
					t.Fatalf("unknown identity: %d %s", a.Status, a.Body)
				}
			}
			e.run(t, []scenario{
				{Name: "past the address's limit, any identity waits", Method: "POST", Path: "/api/collections/_superusers/auth/password",
					Body: `{"identity":"` + superEmail + `","password":"` + superPassword + `"}`, Status: 429, Code: "rate_limited",
					Check: limited},
			})
			clock.Advance(10 * time.Minute)
			e2.run(t, []scenario{
				{Name: "the window is over", Method: "POST", Path: pw, Body: right, Status: 200},
			})
		})
	}
}

// TestRevocationAcrossInstances: a session ended on one instance is over
// on another at once: every request reads the database.
func TestRevocationAcrossInstances(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			open := sharedDB(t, store)
			e := startEnv(t, store, open(), loam.Config{})
			annID, ann := e.signUp(t)
			e.run(t, []scenario{{Name: "an auth rule", Method: "PATCH", Path: "/api/collections/users", Token: e.super,
				Body: `{"fields":[{"name":"disabled","type":"bool","hidden":true}],"auth":{"rule":"disabled != true"}}`, Status: 200}})
			e2 := instance(t, store, open(), loam.Config{})
			me := "/api/collections/users/auth/sessions"
			other := e.signIn(t, "users", "ann@example.com", "ann's long password")
			if a := e2.do(t, call{Method: "GET", Path: "/api/collections/users/auth/sessions", Token: ann}); a.Status != 200 {
				t.Fatalf("ann on the second instance: %d %s", a.Status, a.Body)
			}
			e.run(t, []scenario{{Name: "ann logs out on the first", Method: "POST", Path: "/api/collections/users/auth/logout",
				Token: ann, Status: 204}})
			e2.run(t, []scenario{
				{Name: "the second refuses that token", Method: "GET", Path: "/api/collections/users/auth/sessions", Token: ann,
					Status: 401, Code: "unauthenticated"},
				{Name: "the superuser ends the rest there", Method: "DELETE",
					Path: "/api/collections/users/auth/sessions?recordId=" + annID, Token: e2.super, Status: 204},
			})
			e.run(t, []scenario{{Name: "the first refuses the other", Method: "GET", Path: me, Token: other,
				Status: 401, Code: "unauthenticated"}})
			// Disabled on one instance, refused on the other at once.
			third := e2.signIn(t, "users", "ann@example.com", "ann's long password")
			e.run(t, []scenario{{Name: "the superuser disables ann on the first", Method: "PATCH",
				Path: "/api/collections/users/records/" + annID, Token: e.super, Body: `{"disabled":true}`, Status: 200}})
			e2.run(t, []scenario{{Name: "the second refuses her", Method: "GET", Path: me, Token: third,
				Status: 401, Code: "unauthenticated"}})
		})
	}
}
