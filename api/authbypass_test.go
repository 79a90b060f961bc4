package api_test

import (
	"testing"
)

// TestAuthBypass: the parts of the bypass suite about identities and
// tokens. A user tries to take another's id, to write with altered,
// revoked or logged-out tokens; each attempt fails with the right status
// and changes nothing, on both stores. (Setting one's own verified,
// another's password or email: TestAuthProtectedFields; expired tokens:
// TestSessionExpiry; altered, replayed and expired flow tokens: the flow
// tests.)
func TestAuthBypass(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		s := e.staff(t)
		users := "/api/collections/users/records"
		auth := "/api/collections/users/auth/"
		rec := func(id string) string { return users + "/" + id }
		var sc []scenario
		// A session token altered by one character, anywhere, is no token.
		for _, i := range []int{0, len(s.annTok) / 2, len(s.annTok) - 1} {
			sc = append(sc, scenario{Name: "an altered token writes", Method: "PATCH", Path: rec(s.ann), Token: alter(s.annTok, i),
				Body: `{"nick":"forged"}`, Status: 401, Code: "unauthenticated", Unchanged: true})
		}
		sc = append(sc,
			scenario{Name: "a token with a character more", Method: "GET", Path: auth + "sessions", Token: s.annTok + "a",
				Status: 401, Code: "unauthenticated"},
			scenario{Name: "a superuser's altered token", Method: "POST", Path: "/api/collections", Token: alter(e.super, 5),
				Body: `{"name":"evil"}`, Status: 401, Code: "unauthenticated", Unchanged: true},
			// Ids: taking another's at sign-up, on update, through a batch upsert.
			scenario{Name: "sign up with bob's id", Method: "POST", Path: users,
				Body:   `{"id":"` + s.bob + `","email":"eve@example.com","password":"eve's long password"}`,
				Status: 409, Code: "conflict", Fields: errs{"id": "unique"}, Unchanged: true},
			scenario{Name: "ann takes bob's id", Method: "PATCH", Path: rec(s.ann), Token: s.annTok, Body: `{"id":"` + s.bob + `"}`,
				Status: 400, Code: "validation_failed", Fields: errs{"id": "read_only"}, Unchanged: true},
			scenario{Name: "ann writes bob's record", Method: "PATCH", Path: rec(s.bob), Token: s.annTok, Body: `{"nick":"mine"}`,
				Status: 403, Code: "forbidden", Unchanged: true},
			scenario{Name: "ann upserts bob's record in a batch", Method: "POST", Path: "/api/batch", Token: s.annTok,
				Body: map[string]any{"requests": []map[string]any{{"method": "PUT", "url": rec(s.bob),
					"body": map[string]any{"email": "ann-owns@example.com", "password": "a long password"}}}},
				Status: 403, Code: "forbidden", Fields: errs{"requests.0": "forbidden"}, Unchanged: true},
			scenario{Name: "ann makes herself admin", Method: "PATCH", Path: rec(s.ann), Token: s.annTok, Body: `{"role":"admin"}`,
				Status: 403, Code: "forbidden", Unchanged: true},
			// A logged-out token and a revoked one write nothing.
			scenario{Name: "bob logs out", Method: "POST", Path: auth + "logout", Token: s.bobTok, Status: 204},
			scenario{Name: "bob's logged-out token writes", Method: "PATCH", Path: rec(s.bob), Token: s.bobTok, Body: `{"nick":"ghost"}`,
				Status: 401, Code: "unauthenticated", Unchanged: true},
			scenario{Name: "bob's logged-out token refreshes", Method: "POST", Path: auth + "refresh", Token: s.bobTok,
				Status: 401, Code: "unauthenticated", Unchanged: true},
			scenario{Name: "the superuser revokes the moderator", Method: "DELETE", Path: auth + "sessions?recordId=" + s.mod,
				Token: e.super, Status: 204},
			scenario{Name: "the revoked moderator writes", Method: "PATCH", Path: rec(s.ann), Token: s.modTok, Body: `{"nick":"x"}`,
				Status: 401, Code: "unauthenticated", Unchanged: true},
			scenario{Name: "the revoked moderator in a batch", Method: "POST", Path: "/api/batch", Token: s.modTok,
				Body:   map[string]any{"requests": []map[string]any{{"method": "PATCH", "url": rec(s.ann), "body": map[string]any{"nick": "x"}}}},
				Status: 401, Code: "unauthenticated", Unchanged: true},
			// A user's token is no superuser's, even for superuser routes of its own collection.
			scenario{Name: "ann impersonates bob", Method: "POST", Path: auth + "impersonate/" + s.bob, Token: s.annTok,
				Status: 403, Code: "forbidden", Unchanged: true},
			scenario{Name: "the manager impersonates bob", Method: "POST", Path: auth + "impersonate/" + s.bob, Token: s.adminTok,
				Status: 403, Code: "forbidden", Unchanged: true},
			scenario{Name: "ann logs the admin out everywhere", Method: "DELETE", Path: auth + "sessions?recordId=" + s.admin,
				Token: s.annTok, Status: 403, Code: "forbidden", Unchanged: true},
			scenario{Name: "the admin's session lives on", Method: "GET", Path: auth + "sessions", Token: s.adminTok, Status: 200},
		)
		e.run(t, sc)
	})
}
