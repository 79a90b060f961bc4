package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// staffUsers is an auth collection in which anyone signs up, users update
// themselves (not their role), moderators and admins update anyone, and
// the manage rule admits admins only.
const staffUsers = `{"name":"users","type":"auth","fields":[
	{"name":"nick","type":"text"},
	{"name":"role","type":"select","values":["admin","mod"]}],
 "rules":{"list":"","view":"","create":"@request.body.role = null",
	"update":"(id = @request.auth.id && @request.body.role = null) || @request.auth.role = \"admin\" || @request.auth.role = \"mod\"",
	"delete":null,
	"manage":"@request.auth.role = \"admin\""}}`

// staff creates staffUsers with ann and bob (signed up by themselves), an
// admin and a moderator (made by the superuser), all signed in.
type staff struct {
	ann, bob, admin, mod             string // ids
	annTok, bobTok, adminTok, modTok string
}

func (e *env) staff(t *testing.T) staff {
	t.Helper()
	e.mustCreateCollection(t, staffUsers)
	var s staff
	signUp := func(email string, token string, extra string) string {
		a := e.do(t, call{Method: "POST", Path: "/api/collections/users/records", Token: token,
			Body: `{"email":"` + email + `","password":"a long password"` + extra + `}`})
		if a.Status != http.StatusCreated {
			t.Fatalf("sign up %s: %d %s", email, a.Status, a.Body)
		}
		return str(a.JSON(t)["id"])
	}
	s.ann = signUp("ann@example.com", "", "")
	s.bob = signUp("bob@example.com", "", "")
	s.admin = signUp("admin@example.com", e.super, `,"role":"admin"`)
	s.mod = signUp("mod@example.com", e.super, `,"role":"mod"`)
	s.annTok = e.signIn(t, "users", "ann@example.com", "a long password")
	s.bobTok = e.signIn(t, "users", "bob@example.com", "a long password")
	s.adminTok = e.signIn(t, "users", "admin@example.com", "a long password")
	s.modTok = e.signIn(t, "users", "mod@example.com", "a long password")
	return s
}

// TestAuthProtectedFields: verified and email change only for superusers
// and managers; a password for them, or for the record itself with its
// current password. Every refusal changes nothing, on both stores.
func TestAuthProtectedFields(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		s := e.staff(t)
		users := "/api/collections/users/records"
		rec := func(id string) string { return users + "/" + id }
		e.run(t, []scenario{
			{Name: "anonymous sign-up as verified", Method: "POST", Path: users,
				Body:   `{"email":"carl@example.com","password":"a long password","verified":true}`,
				Status: 401, Code: "unauthenticated", Unchanged: true},
			{Name: "a user creates a verified record", Method: "POST", Path: users, Token: s.annTok,
				Body:   `{"email":"carl@example.com","password":"a long password","verified":true}`,
				Status: 403, Code: "forbidden", Unchanged: true},
			{Name: "sign-up with verified false is fine", Method: "POST", Path: users,
				Body: `{"email":"carl@example.com","password":"a long password","verified":false}`, Status: 201,
				Contains: []string{`"verified":false`}},
			{Name: "a manager creates a verified record", Method: "POST", Path: users, Token: s.adminTok,
				Body: `{"email":"dora@example.com","password":"a long password","verified":true}`, Status: 201,
				Contains: []string{`"verified":true`}},
			{Name: "ann verifies herself", Method: "PATCH", Path: rec(s.ann), Token: s.annTok, Body: `{"verified":true}`,
				Status: 403, Code: "forbidden", Unchanged: true},
			{Name: "ann verifies herself in a batch", Method: "POST", Path: "/api/batch", Token: s.annTok,
				Body: map[string]any{"requests": []map[string]any{
					{"method": "PATCH", "url": rec(s.ann), "body": map[string]any{"nick": "a"}},
					{"method": "PATCH", "url": rec(s.ann), "body": map[string]any{"verified": true}}}},
				Status: 403, Code: "forbidden", Fields: errs{"requests.1": "forbidden"}, Unchanged: true},
			{Name: "ann changes her email directly", Method: "PATCH", Path: rec(s.ann), Token: s.annTok,
				Body: `{"email":"ann2@example.com"}`, Status: 403, Code: "forbidden", Unchanged: true},
			{Name: "ann changes her password without the old one", Method: "PATCH", Path: rec(s.ann), Token: s.annTok,
				Body: `{"password":"a new long password"}`, Status: 400, Code: "validation_failed",
				Fields: errs{"oldPassword": "required"}, Unchanged: true},
			{Name: "ann changes her password with a wrong old one", Method: "PATCH", Path: rec(s.ann), Token: s.annTok,
				Body: `{"password":"a new long password","oldPassword":"a wrong password"}`, Status: 400,
				Code: "validation_failed", Fields: errs{"oldPassword": "invalid"}, Unchanged: true},
			{Name: "ann sets another user's password", Method: "PATCH", Path: rec(s.bob), Token: s.annTok,
				Body: `{"password":"ann owns bob now","oldPassword":"a long password"}`, Status: 403, Code: "forbidden", Unchanged: true},
			{Name: "ann sets another user's email", Method: "PATCH", Path: rec(s.bob), Token: s.annTok,
				Body: `{"email":"ann-owns-bob@example.com"}`, Status: 403, Code: "forbidden", Unchanged: true},
			{Name: "ann changes her id", Method: "PATCH", Path: rec(s.ann), Token: s.annTok,
				Body: `{"id":"` + s.bob + `"}`, Status: 400, Code: "validation_failed", Fields: errs{"id": "read_only"}, Unchanged: true},
			{Name: "ann sends her unchanged email and verified state", Method: "PATCH", Path: rec(s.ann), Token: s.annTok,
				Body: `{"email":"ann@example.com","verified":false,"nick":"ann"}`, Status: 200,
				Contains: []string{`"email":"ann@example.com"`}},
			{Name: "a moderator updates bob's nick", Method: "PATCH", Path: rec(s.bob), Token: s.modTok,
				Body: `{"nick":"bobby"}`, Status: 200, Contains: []string{`"nick":"bobby"`}, Absent: []string{"bob@example.com"}},
			{Name: "a moderator sets bob's password, even with the old one", Method: "PATCH", Path: rec(s.bob), Token: s.modTok,
				Body: `{"password":"mod owns bob now","oldPassword":"a long password"}`, Status: 403, Code: "forbidden", Unchanged: true},
			{Name: "a moderator verifies bob", Method: "PATCH", Path: rec(s.bob), Token: s.modTok,
				Body: `{"verified":true}`, Status: 403, Code: "forbidden", Unchanged: true},
			{Name: "bob still signs in", Method: "GET", Path: rec(s.bob), Token: s.bobTok, Status: 200},
			{Name: "the manager verifies bob", Method: "PATCH", Path: rec(s.bob), Token: s.adminTok,
				Body: `{"verified":true}`, Status: 200, Contains: []string{`"verified":true`, `"email":"bob@example.com"`}},
			{Name: "the manager changes bob's email", Method: "PATCH", Path: rec(s.bob), Token: s.adminTok,
				Body: `{"email":"robert@example.com"}`, Status: 200, Contains: []string{`"email":"robert@example.com"`}},
			{Name: "the manager sets bob's password without the old one", Method: "PATCH", Path: rec(s.bob), Token: s.adminTok,
				Body: `{"password":"set by the admin"}`, Status: 200},
			{Name: "bob's sessions ended", Method: "GET", Path: rec(s.bob), Token: s.bobTok, Status: 401, Code: "unauthenticated"},
			{Name: "ann changes her password with the old one", Method: "PATCH", Path: rec(s.ann), Token: s.annTok,
				Body: `{"password":"ann's new password","oldPassword":"a long password"}`, Status: 200},
			{Name: "ann's sessions ended", Method: "GET", Path: rec(s.ann), Token: s.annTok, Status: 401, Code: "unauthenticated"},
		})
		e.signIn(t, "users", "robert@example.com", "set by the admin")
		e.signIn(t, "users", "ann@example.com", "ann's new password")
	})
}

// TestAuthEmailVisibility: an auth record's email is answered to superusers,
// to the record itself and to managers, and to others only when
// emailVisibility is set, in every kind of answer; others cannot filter,
// sort or group by it.
func TestAuthEmailVisibility(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		s := e.staff(t)
		e.mustCreateCollection(t, `{"name":"posts","fields":[{"name":"title","type":"text"},
			{"name":"author","type":"relation","collection":"users"}],
			"rules":{"list":"","view":"","create":"","update":null,"delete":null}}`)
		post := str(e.mustCreate(t, "posts", map[string]any{"title": "by bob", "author": s.bob})["id"])
		users := "/api/collections/users/records"
		q := url.QueryEscape
		e.run(t, []scenario{
			{Name: "anonymous lists users", Method: "GET", Path: users, Status: 200,
				Absent: []string{"@example.com", `"email"`}, Contains: []string{`"emailVisibility":false`}},
			{Name: "ann lists users", Method: "GET", Path: users, Token: s.annTok, Status: 200,
				Contains: []string{"ann@example.com"}, Absent: []string{"bob@example.com", "admin@example.com"}},
			{Name: "ann views herself", Method: "GET", Path: users + "/" + s.ann, Token: s.annTok, Status: 200,
				Contains: []string{`"email":"ann@example.com"`}},
			{Name: "ann views bob", Method: "GET", Path: users + "/" + s.bob, Token: s.annTok, Status: 200,
				Absent: []string{`"email"`}},
			{Name: "ann asks for bob's email by fields", Method: "GET", Path: users + "/" + s.bob + "?fields=id,email", Token: s.annTok,
				Status: 200, Absent: []string{`"email"`}, Contains: []string{`"id"`}},
			{Name: "ann reads bob through expand", Method: "GET", Path: "/api/collections/posts/records/" + post + "?expand=author",
				Token: s.annTok, Status: 200, Contains: []string{`"expand":{"author":{`}, Absent: []string{"bob@example.com"}},
			{Name: "ann reads bob through a back-relation", Method: "GET", Path: "/api/collections/posts/records?expand=author",
				Token: s.annTok, Status: 200, Absent: []string{"bob@example.com"}},
			{Name: "a moderator does not manage", Method: "GET", Path: users + "/" + s.bob, Token: s.modTok, Status: 200,
				Absent: []string{"bob@example.com"}},
			{Name: "the manager sees every email", Method: "GET", Path: users, Token: s.adminTok, Status: 200,
				Contains: []string{"ann@example.com", "bob@example.com", "mod@example.com"}},
			{Name: "the manager sees it through expand", Method: "GET", Path: "/api/collections/posts/records/" + post + "?expand=author",
				Token: s.adminTok, Status: 200, Contains: []string{"bob@example.com"}},
			{Name: "the superuser sees every email", Method: "GET", Path: users, Token: e.super, Status: 200,
				Contains: []string{"ann@example.com", "bob@example.com"}},
			{Name: "ann filters by bob's email", Method: "GET", Path: users + "?filter=" + q(`email = "bob@example.com"`),
				Token: s.annTok, Status: 400, Code: "invalid_filter"},
			{Name: "ann filters by a prefix of emails", Method: "GET", Path: users + "?filter=" + q(`email ~ "b%"`),
				Token: s.annTok, Status: 400, Code: "invalid_filter"},
			{Name: "ann sorts by email", Method: "GET", Path: users + "?sort=email", Token: s.annTok, Status: 400, Code: "invalid_sort"},
			{Name: "ann groups by email", Method: "GET", Path: "/api/collections/users/aggregate?groupBy=email", Token: s.annTok,
				Status: 400, Code: "invalid_query"},
			{Name: "ann filters posts by the author's email", Method: "GET",
				Path: "/api/collections/posts/records?filter=" + q(`author.email = "bob@example.com"`), Token: s.annTok,
				Status: 400, Code: "invalid_filter"},
			{Name: "ann sorts posts by the author's email", Method: "GET", Path: "/api/collections/posts/records?sort=author.email",
				Token: s.annTok, Status: 400, Code: "invalid_sort"},
			{Name: "ann reads emails through @collection", Method: "GET",
				Path: "/api/collections/posts/records?filter=" + q(`@collection.users.email ?= "bob@example.com"`), Token: s.annTok,
				Status: 400, Code: "invalid_filter"},
			{Name: "ann's filter may use her own email", Method: "GET",
				Path: users + "?filter=" + q(`id = @request.auth.id && @request.auth.email = "ann@example.com"`), Token: s.annTok,
				Status: 200, Contains: []string{`"totalItems":1`}},
			{Name: "the superuser filters by email", Method: "GET", Path: users + "?filter=" + q(`email = "BOB@example.com" || email ~ "bob@"`),
				Token: e.super, Status: 200, Contains: []string{`"totalItems":1`}},
			{Name: "bob shows his email", Method: "PATCH", Path: users + "/" + s.bob, Token: s.bobTok,
				Body: `{"emailVisibility":true}`, Status: 200},
			{Name: "now ann sees it", Method: "GET", Path: users + "/" + s.bob, Token: s.annTok, Status: 200,
				Contains: []string{`"email":"bob@example.com"`}},
			{Name: "and anonymous callers in lists", Method: "GET", Path: users, Status: 200,
				Contains: []string{"bob@example.com"}, Absent: []string{"ann@example.com"}},
		})
		// A moderator's update answer withholds what the moderator may not see.
		a := e.do(t, call{Method: "PATCH", Path: users + "/" + s.ann, Token: s.modTok, Body: `{"nick":"annie"}`})
		if a.Status != 200 || strings.Contains(string(a.Body), "ann@example.com") {
			t.Errorf("a moderator's update of ann: %d %s", a.Status, a.Body)
		}
	})
}
