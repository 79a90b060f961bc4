package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// signUp creates a users auth collection anyone may sign up to, signs a user
// up anonymously and in, and returns the user's id and token.
func (e *env) signUp(t *testing.T) (id, token string) {
	t.Helper()
	e.mustCreateCollection(t, `{"name":"users","type":"auth","fields":[{"name":"nick","type":"text"},
		{"name":"note","type":"text","hidden":true}],
		"rules":{"list":null,"view":null,"create":"","update":null,"delete":null}}`)
	a := e.do(t, call{Method: "POST", Path: "/api/collections/users/records",
		Body: `{"email":"ann@example.com","password":"ann's long password","passwordConfirm":"ann's long password","nick":"ann","note":"n"}`})
	if a.Status != http.StatusCreated {
		t.Fatalf("sign up: %d %s", a.Status, a.Body)
	}
	for _, leak := range []string{"password", "$argon2", `"note"`} {
		if strings.Contains(string(a.Body), leak) {
			t.Errorf("the sign-up answer holds %q: %s", leak, a.Body)
		}
	}
	id = str(a.JSON(t)["id"])
	return id, e.signIn(t, "users", "ann@example.com", "ann's long password")
}

// TestRules: a null rule admits superusers only (401 for anonymous callers,
// 403 for signed-in users) on every records route; an empty rule admits
// everyone. Refusals change nothing.
func TestRules(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		userID, user := e.signUp(t)
		e.mustCreateCollection(t, `{"name":"locked","fields":[{"name":"title","type":"text"}]}`)
		e.mustCreateCollection(t, `{"name":"open","fields":[{"name":"title","type":"text"}],
			"rules":{"list":"","view":"","create":"","update":"","delete":""}}`)
		locked := str(e.mustCreate(t, "locked", map[string]any{"title": "l"})["id"])

		var sc []scenario
		for _, who := range []struct {
			name, token string
			status      int
			code        string
		}{{"anonymous", "", 401, "unauthenticated"}, {"user", user, 403, "forbidden"}} {
			lp := "/api/collections/locked/records"
			sc = append(sc,
				scenario{Name: who.name + " lists locked", Method: "GET", Path: lp, Token: who.token,
					Status: who.status, Code: who.code, Absent: []string{locked}},
				scenario{Name: who.name + " views locked", Method: "GET", Path: lp + "/" + locked, Token: who.token,
					Status: who.status, Code: who.code, Absent: []string{`"title"`}},
				scenario{Name: who.name + " creates locked", Method: "POST", Path: lp, Token: who.token, Body: `{"title":"x"}`,
					Status: who.status, Code: who.code, Unchanged: true},
				scenario{Name: who.name + " updates locked", Method: "PATCH", Path: lp + "/" + locked, Token: who.token,
					Body: `{"title":"x"}`, Status: who.status, Code: who.code, Unchanged: true},
				scenario{Name: who.name + " deletes locked", Method: "DELETE", Path: lp + "/" + locked, Token: who.token,
					Status: who.status, Code: who.code, Unchanged: true},
				scenario{Name: who.name + " lists users", Method: "GET", Path: "/api/collections/users/records", Token: who.token,
					Status: who.status, Code: who.code, Absent: []string{"ann@example.com"}},
				scenario{Name: who.name + " updates a user", Method: "PATCH", Path: "/api/collections/users/records/" + userID,
					Token: who.token, Body: `{"nick":"mallory"}`, Status: who.status, Code: who.code, Unchanged: true},
				scenario{Name: who.name + " lists superusers", Method: "GET", Path: "/api/collections/_superusers/records",
					Token: who.token, Status: who.status, Code: who.code, Absent: []string{superEmail}},
				scenario{Name: who.name + " creates a superuser", Method: "POST", Path: "/api/collections/_superusers/records",
					Token: who.token, Body: `{"email":"evil@example.com","password":"evil long password"}`,
					Status: who.status, Code: who.code, Unchanged: true},
				scenario{Name: who.name + " changes the superuser's password", Method: "PATCH",
					Path: "/api/collections/_superusers/records/" + e.superID, Token: who.token,
					Body: `{"password":"evil long password"}`, Status: who.status, Code: who.code, Unchanged: true},
				scenario{Name: who.name + " lists collections", Method: "GET", Path: "/api/collections", Token: who.token,
					Status: who.status, Code: who.code},
				scenario{Name: who.name + " creates a collection", Method: "POST", Path: "/api/collections", Token: who.token,
					Body: `{"name":"mine"}`, Status: who.status, Code: who.code, Unchanged: true},
				scenario{Name: who.name + " deletes a collection", Method: "DELETE", Path: "/api/collections/open", Token: who.token,
					Status: who.status, Code: who.code, Unchanged: true},
			)
		}
		// Missing records behind a null rule do not tell anonymous callers more.
		sc = append(sc, scenario{Name: "anonymous views a missing locked record", Method: "GET",
			Path: "/api/collections/locked/records/zzzzzzzzzzzzzzz", Status: 401, Code: "unauthenticated"})
		// An empty rule is open to everyone.
		for _, who := range []struct{ name, token string }{{"anonymous", ""}, {"user", user}} {
			op := "/api/collections/open/records"
			var id string
			sc = append(sc,
				scenario{Name: who.name + " creates open", Method: "POST", Path: op, Token: who.token, Body: `{"title":"o"}`,
					Status: 201, Check: func(t *testing.T, a *answer) { id = str(a.JSON(t)["id"]) }},
				scenario{Name: who.name + " lists open", Method: "GET", Path: op, Token: who.token, Status: 200,
					Contains: []string{`"title":"o"`}},
			)
			// The paths below need the id the create answered, so they run in their own step.
			sc = append(sc, scenario{Name: who.name + " views, updates, deletes open", Method: "GET", Path: op, Token: who.token,
				Status: 200, Check: func(t *testing.T, _ *answer) {
					p := op + "/" + id
					for _, c := range []call{{Method: "GET", Path: p}, {Method: "PATCH", Path: p, Body: `{"title":"p"}`},
						{Method: "DELETE", Path: p}} {
						c.Token = who.token
						if a := e.do(t, c); a.Status >= 300 {
							t.Errorf("%s %s on an open collection: %d %s", c.Method, p, a.Status, a.Body)
						}
					}
				}})
		}
		// The superuser may do all of it.
		sc = append(sc,
			scenario{Name: "superuser lists locked", Method: "GET", Path: "/api/collections/locked/records", Token: e.super,
				Status: 200, Contains: []string{locked}},
			scenario{Name: "superuser updates locked", Method: "PATCH", Path: "/api/collections/locked/records/" + locked,
				Token: e.super, Body: `{"title":"s"}`, Status: 200},
			scenario{Name: "superuser deletes locked", Method: "DELETE", Path: "/api/collections/locked/records/" + locked,
				Token: e.super, Status: 204},
			// A deleted user's token stops working at once.
			scenario{Name: "superuser deletes the user", Method: "DELETE", Path: "/api/collections/users/records/" + userID,
				Token: e.super, Status: 204},
			scenario{Name: "the deleted user's token", Method: "GET", Path: "/api/collections/open/records", Token: user,
				Status: 401, Code: "unauthenticated"},
		)
		e.run(t, sc)
	})
}

// TestSecretsAreNeverAnswered: passwords (and their hashes) never appear in
// an answer; hidden fields only appear to superusers.
func TestSecretsAreNeverAnswered(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		userID, user := e.signUp(t)
		e.mustCreateCollection(t, `{"name":"locked","fields":[{"name":"title","type":"text"}]}`)
		a := e.do(t, call{Method: "PATCH", Path: "/api/collections/users", Token: e.super,
			Body: `{"rules":{"list":"","view":""}}`})
		if a.Status != 200 {
			t.Fatalf("open users: %d %s", a.Status, a.Body)
		}
		never := []string{`"password"`, "$argon2", superPassword, "ann's long password"}
		noSecret := append([]string{`"note"`}, never...)
		users := "/api/collections/users/records"
		supers := "/api/collections/_superusers/records"
		e.run(t, []scenario{
			{Name: "anonymous lists users", Method: "GET", Path: users, Status: 200, Contains: []string{`"nick":"ann"`}, Absent: noSecret},
			{Name: "anonymous views a user", Method: "GET", Path: users + "/" + userID, Status: 200, Absent: noSecret},
			{Name: "the user views themself", Method: "GET", Path: users + "/" + userID, Token: user, Status: 200, Absent: noSecret},
			{Name: "superuser lists users", Method: "GET", Path: users, Token: e.super, Status: 200,
				Contains: []string{`"note":"n"`}, Absent: never},
			{Name: "superuser views a user", Method: "GET", Path: users + "/" + userID, Token: e.super, Status: 200,
				Contains: []string{`"note":"n"`}, Absent: never},
			{Name: "superuser updates a user", Method: "PATCH", Path: users + "/" + userID, Token: e.super,
				Body: `{"password":"another long password","nick":"ann2"}`, Status: 200, Absent: []string{`"password"`, "$argon2", "another"}},
			{Name: "a user sign-in", Method: "POST", Path: "/api/collections/users/auth/password",
				Body: `{"identity":"ann@example.com","password":"another long password"}`, Status: 200,
				Contains: []string{`"token":`, `"nick":"ann2"`}, Absent: noSecret},
			{Name: "superusers list", Method: "GET", Path: supers, Token: e.super, Status: 200,
				Contains: []string{superEmail}, Absent: never},
			{Name: "superuser view", Method: "GET", Path: supers + "/" + e.superID, Token: e.super, Status: 200, Absent: never},
			{Name: "superuser sign-in", Method: "POST", Path: "/api/collections/_superusers/auth/password",
				Body: `{"identity":"` + superEmail + `","password":"` + superPassword + `"}`, Status: 200,
				Contains: []string{superEmail}, Absent: []string{`"password"`, "$argon2"}},
			{Name: "a wrong password", Method: "POST", Path: "/api/collections/_superusers/auth/password",
				Body: `{"identity":"` + superEmail + `","password":"wrong password"}`, Status: 401, Code: "unauthenticated",
				Absent: never},
			{Name: "an unknown identity", Method: "POST", Path: "/api/collections/_superusers/auth/password",
				Body: `{"identity":"nobody@example.com","password":"` + superPassword + `"}`, Status: 401, Code: "unauthenticated"},
			{Name: "a user's password does not sign in as superuser", Method: "POST", Path: "/api/collections/_superusers/auth/password",
				Body: `{"identity":"ann@example.com","password":"another long password"}`, Status: 401, Code: "unauthenticated"},
			{Name: "password sign-in on a base collection", Method: "POST", Path: "/api/collections/locked/auth/password",
				Body: `{"identity":"a","password":"b"}`, Status: 404, Code: "not_found"},
			{Name: "sorting users by password", Method: "GET", Path: users + "?sort=password", Token: e.super, Status: 400,
				Code: "invalid_sort"},
			{Name: "sorting users by a hidden field, anonymously", Method: "GET", Path: users + "?sort=note", Status: 400,
				Code: "invalid_sort"},
		})
		// The superuser create answer holds no password either.
		a = e.do(t, call{Method: "POST", Path: supers, Token: e.super,
			Body: `{"email":"second@example.com","password":"second long password"}`})
		if a.Status != 201 {
			t.Fatalf("create a superuser: %d %s", a.Status, a.Body)
		}
		for _, s := range []string{`"password"`, "$argon2", "second long password"} {
			if strings.Contains(string(a.Body), s) {
				t.Errorf("the superuser create answer holds %q: %s", s, a.Body)
			}
		}
	})
}

// TestSuperuserPasswordChangeEndsSessions: changing a superuser's password
// through the API ends every session of that superuser, at once.
func TestSuperuserPasswordChangeEndsSessions(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		other := e.signIn(t, "_superusers", superEmail, superPassword) // a second session
		path := "/api/collections/_superusers/records/" + e.superID
		e.run(t, []scenario{
			{Name: "a short password is refused", Method: "PATCH", Path: path, Token: e.super, Body: `{"password":"short"}`,
				Status: 400, Code: "validation_failed", Fields: errs{"password": "too_short"}, Unchanged: true},
			{Name: "the sessions still work", Method: "GET", Path: "/api/collections", Token: other, Status: 200},
			{Name: "change the password", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"password":"a brand new password"}`, Status: 200, Absent: []string{`"password"`, "$argon2"}},
			{Name: "the token that changed it is over", Method: "GET", Path: "/api/collections", Token: e.super,
				Status: 401, Code: "unauthenticated"},
			{Name: "the other session is over", Method: "GET", Path: "/api/collections", Token: other,
				Status: 401, Code: "unauthenticated"},
			{Name: "the old password is refused", Method: "POST", Path: "/api/collections/_superusers/auth/password",
				Body: `{"identity":"` + superEmail + `","password":"` + superPassword + `"}`, Status: 401, Code: "unauthenticated"},
		})
		fresh := e.signIn(t, "_superusers", superEmail, "a brand new password")
		e.run(t, []scenario{
			{Name: "the new password signs in", Method: "GET", Path: "/api/collections", Token: fresh, Status: 200},
			{Name: "changing another field keeps the session", Method: "PATCH", Path: path, Token: fresh,
				Body: `{"emailVisibility":true}`, Status: 200},
			{Name: "the session survived", Method: "GET", Path: "/api/collections", Token: fresh, Status: 200},
		})
	})
}
