package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"loam"
)

// keyEnv is an env with a fake clock, the users collection (ann signed
// in), and two open collections: posts, whose records point at tags.
type keyEnv struct {
	*env
	clock       *fakeClock
	annID, ann  string
	post, tag   string // a post and its tag
	annKeysPath string
}

func newKeyEnv(t *testing.T, store string) *keyEnv {
	t.Helper()
	clock := newFakeClock()
	e := &keyEnv{env: startEnv(t, store, openStore(t, store), loam.Config{Clock: clock.Now}), clock: clock}
	e.annID, e.ann = e.signUp(t)
	open := `"rules":{"list":"","view":"","create":"","update":"","delete":""}`
	e.mustCreateCollection(t, `{"name":"tags","fields":[{"name":"name","type":"text"}],`+open+`}`)
	e.mustCreateCollection(t, `{"name":"posts","fields":[{"name":"title","type":"text"},
		{"name":"tag","type":"relation","collection":"tags"}],`+open+`}`)
	e.tag = str(e.mustCreate(t, "tags", map[string]any{"name": "go"})["id"])
	e.post = str(e.mustCreate(t, "posts", map[string]any{"title": "hello", "tag": e.tag})["id"])
	e.annKeysPath = "/api/collections/users/records/" + e.annID + "/api-keys"
	return e
}

// makeKey makes a key at path with token and body, and returns its id and the key.
func (e *keyEnv) makeKey(t *testing.T, path, token string, body any) (id, key string) {
	t.Helper()
	a := e.do(t, call{Method: "POST", Path: path, Token: token, Body: body})
	if a.Status != 201 {
		t.Fatalf("make a key: %d %s", a.Status, a.Body)
	}
	m := a.JSON(t)
	key = str(m["key"])
	if !strings.HasPrefix(key, loam.APIKeyPrefix) || len(key) < 40 {
		t.Fatalf("the new key %q does not look like one", key)
	}
	if hint := str(m["hint"]); !strings.HasPrefix(hint, key[:5]) || !strings.HasSuffix(hint, key[len(key)-4:]) {
		t.Errorf("hint %q does not show the key's ends", hint)
	}
	return str(m["id"]), key
}

// TestAPIKeyScopes: a key acts as its record, only within its scopes: per
// collection and action, through aggregates, expands, relation paths and
// batches; it never manages keys or sessions.
func TestAPIKeyScopes(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			e := newKeyEnv(t, store)
			_, readPosts := e.makeKey(t, e.annKeysPath, e.ann, map[string]any{"name": "reader",
				"scopes": []map[string]any{{"collection": "posts", "actions": []string{"list", "view"}}}})
			_, writePosts := e.makeKey(t, e.annKeysPath, e.ann, map[string]any{"name": "writer",
				"scopes": []map[string]any{{"collection": "posts", "actions": []string{"create", "update", "delete"}},
					{"collection": "tags", "actions": []string{"view"}}}})
			posts, tags := "/api/collections/posts/records", "/api/collections/tags/records"
			type try struct {
				action, method, path, body string
			}
			tries := []try{
				{"list", "GET", posts, ""},
				{"view", "GET", posts + "/" + e.post, ""},
				{"create", "POST", posts, `{"title":"new"}`},
				{"update", "PATCH", posts + "/" + e.post, `{"title":"changed"}`},
				{"list", "GET", tags, ""},
				{"view", "GET", tags + "/" + e.tag, ""},
				{"create", "POST", tags, `{"name":"new"}`},
				{"list", "GET", "/api/collections/posts/aggregate?count=1", ""},
			}
			allowed := map[string]map[string]bool{ // key -> "METHOD path" -> allowed
				readPosts:  {"GET " + posts: true, "GET " + posts + "/" + e.post: true, "GET /api/collections/posts/aggregate?count=1": true},
				writePosts: {"POST " + posts: true, "PATCH " + posts + "/" + e.post: true, "GET " + tags + "/" + e.tag: true},
			}
			var sc []scenario
			for key, ok := range allowed {
				for _, tr := range tries {
					s := scenario{Name: fmt.Sprintf("%s %s with %s", tr.method, tr.path, key[:7]), Method: tr.method,
						Path: tr.path, Token: key, Status: 403, Code: "forbidden", Unchanged: true}
					if tr.body != "" {
						s.Body = tr.body
					}
					if ok[tr.method+" "+tr.path] {
						s.Status, s.Code, s.Unchanged = map[string]int{"GET": 200, "POST": 201, "PATCH": 200}[tr.method], "", false
					}
					sc = append(sc, s)
				}
			}
			e.run(t, sc)
			e.run(t, []scenario{
				{Name: "expanding a collection out of scope", Method: "GET", Path: posts + "/" + e.post + "?expand=tag",
					Token: readPosts, Status: 403, Code: "forbidden"},
				{Name: "a write that expands out of scope writes nothing", Method: "POST", Path: posts + "?expand=tag",
					Token: readPosts, Body: `{"title":"x","tag":"` + e.tag + `"}`, Status: 403, Code: "forbidden", Unchanged: true},
				{Name: "a relation path out of scope matches nothing", Method: "GET", Path: posts + "?filter=" +
					strings.ReplaceAll(`tag.name="go"`, `"`, "%22"), Token: readPosts, Status: 200, Contains: []string{`"totalItems":0`}},
				{Name: "a relation path in scope", Method: "GET", Path: posts + "?filter=" +
					strings.ReplaceAll(`tag.name="go"`, `"`, "%22"), Token: e.ann, Status: 200, Contains: []string{`"totalItems":1`}},
				{Name: "a batch out of scope", Method: "POST", Path: "/api/batch", Token: readPosts,
					Body:   map[string]any{"requests": []map[string]any{{"method": "POST", "url": posts, "body": map[string]any{"title": "b"}}}},
					Status: 403, Code: "forbidden", Fields: errs{"requests.0": "forbidden"}, Unchanged: true},
				{Name: "a delete out of scope", Method: "DELETE", Path: posts + "/" + e.post, Token: readPosts,
					Status: 403, Code: "forbidden", Unchanged: true},
				{Name: "a delete in scope", Method: "DELETE", Path: posts + "/" + e.post, Token: writePosts, Status: 204},
				// A key is no session.
				{Name: "a key lists keys", Method: "GET", Path: e.annKeysPath, Token: readPosts, Status: 403, Code: "forbidden"},
				{Name: "a key makes a key", Method: "POST", Path: e.annKeysPath, Token: readPosts,
					Body: `{"name":"more","scopes":[{"collection":"posts","actions":["delete"]}]}`, Status: 403, Code: "forbidden"},
				{Name: "a key refreshes", Method: "POST", Path: "/api/collections/users/auth/refresh", Token: readPosts,
					Status: 403, Code: "forbidden"},
				{Name: "a key logs out", Method: "POST", Path: "/api/collections/users/auth/logout", Token: readPosts,
					Status: 403, Code: "forbidden"},
				{Name: "a key lists sessions", Method: "GET", Path: "/api/collections/users/auth/sessions", Token: readPosts,
					Status: 403, Code: "forbidden"},
				{Name: "a key enrols MFA", Method: "POST", Path: "/api/collections/users/auth/mfa/totp/enroll", Token: readPosts,
					Status: 403, Code: "forbidden"},
			})
		})
	}
}

// TestAPIKeyLifecycle: a key is shown once; its owner and superusers list
// and revoke it, nobody else; altered, revoked and expired keys are
// refused; last use moves at most once a minute; a password change keeps
// keys; a deleted owner takes its keys along; the auth rule applies.
func TestAPIKeyLifecycle(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			e := newKeyEnv(t, store)
			scope := []map[string]any{{"collection": "posts", "actions": []string{"list"}}}
			e.run(t, []scenario{
				{Name: "anonymous", Method: "POST", Path: e.annKeysPath, Body: `{"name":"k"}`, Status: 401, Code: "unauthenticated"},
				{Name: "no name, no scope", Method: "POST", Path: e.annKeysPath, Token: e.ann, Body: `{}`, Status: 400,
					Code: "validation_failed", Fields: errs{"name": "required", "scopes": "required"}, Unchanged: true},
				{Name: "bad scopes", Method: "POST", Path: e.annKeysPath, Token: e.ann, Body: `{"name":"k","scopes":[
					{"collection":"nope","actions":["list"]},{"collection":"posts","actions":["read"]},{"collection":"tags","actions":[]}],
					"system":["jobs"],"expires":"2000-01-01T00:00:00Z"}`, Status: 400, Code: "validation_failed",
					Fields: errs{"scopes.0.collection": "not_found", "scopes.1.actions": "invalid_choice", "scopes.2.actions": "required",
						"system.0": "invalid", "expires": "invalid_date"}, Unchanged: true},
				{Name: "wrong types", Method: "POST", Path: e.annKeysPath, Token: e.ann, Body: `{"name":1,"scopes":"posts","expires":"soon"}`,
					Status: 400, Code: "validation_failed", Fields: errs{"name": "invalid_type", "scopes": "invalid_type", "expires": "invalid_date"}},
				{Name: "an unknown member", Method: "POST", Path: e.annKeysPath, Token: e.ann, Body: `{"name":"k","owner":"x"}`,
					Status: 400, Code: "unknown_field", Fields: errs{"owner": "unknown_field"}},
			})
			keyID, key := e.makeKey(t, e.annKeysPath, e.ann, map[string]any{"name": "ci", "scopes": scope})
			one := e.annKeysPath + "/" + keyID
			a := e.do(t, call{Method: "POST", Path: "/api/collections/users/records",
				Body: `{"email":"bob@example.com","password":"bob's long password"}`})
			bobID := str(a.JSON(t)["id"])
			bob := e.signIn(t, "users", "bob@example.com", "bob's long password")
			bobKeys := "/api/collections/users/records/" + bobID + "/api-keys"
			_, bobKey := e.makeKey(t, bobKeys, e.super, map[string]any{"name": "made by a superuser", "scopes": scope})
			e.run(t, []scenario{
				{Name: "the key works", Method: "GET", Path: "/api/collections/posts/records", Token: key, Status: 200},
				{Name: "the owner lists keys without the key", Method: "GET", Path: e.annKeysPath, Token: e.ann, Status: 200,
					Contains: []string{`"name":"ci"`, `"hint":`}, Absent: []string{key, key[3:]}},
				{Name: "the owner reads one without the key", Method: "GET", Path: one, Token: e.ann, Status: 200,
					Contains: []string{`"scopes":[{"collection":"posts","actions":["list"]}]`, `"system":[]`, `"expires":null`},
					Absent:   []string{key, key[3:]}},
				{Name: "a superuser lists them", Method: "GET", Path: e.annKeysPath, Token: e.super, Status: 200, Absent: []string{key}},
				{Name: "bob lists ann's keys", Method: "GET", Path: e.annKeysPath, Token: bob, Status: 403, Code: "forbidden"},
				{Name: "bob reads ann's key through his record", Method: "GET", Path: bobKeys + "/" + keyID, Token: bob,
					Status: 404, Code: "not_found"},
				{Name: "bob revokes ann's key", Method: "DELETE", Path: one, Token: bob, Status: 403, Code: "forbidden"},
				{Name: "a key with a character more", Method: "GET", Path: "/api/collections/posts/records", Token: key + "a",
					Status: 401, Code: "unauthenticated"},
			})
			for _, i := range []int{3, len(key) / 2, len(key) - 1} {
				e.run(t, []scenario{{Name: fmt.Sprintf("altered at %d", i), Method: "POST", Path: "/api/collections/posts/records",
					Token: alter(key, i), Body: `{"title":"forged"}`, Status: 401, Code: "unauthenticated", Unchanged: true}})
			}

			// Last use: written on first use, not again within a minute.
			lastUsed := func() string {
				t.Helper()
				a := e.do(t, call{Method: "GET", Path: one, Token: e.ann})
				return str(a.JSON(t)["lastUsed"])
			}
			first := string(loam.AppendTime(nil, e.clock.Now()))
			if got := lastUsed(); got != first {
				t.Errorf("lastUsed %q, want %q (the first use)", got, first)
			}
			e.clock.Advance(40 * time.Second)
			e.do(t, call{Method: "GET", Path: "/api/collections/posts/records", Token: key})
			if got := lastUsed(); got != first {
				t.Errorf("lastUsed %q 40 s later, want %q still", got, first)
			}
			e.clock.Advance(30 * time.Second)
			e.do(t, call{Method: "GET", Path: "/api/collections/posts/records", Token: key})
			if got, want := lastUsed(), string(loam.AppendTime(nil, e.clock.Now())); got != want {
				t.Errorf("lastUsed %q 70 s later, want %q", got, want)
			}

			// A password change keeps keys; the auth rule stops them.
			e.run(t, []scenario{
				{Name: "ann's password changes", Method: "PATCH", Path: "/api/collections/users/records/" + e.annID, Token: e.super,
					Body: `{"password":"a brand new password"}`, Status: 200},
				{Name: "the key still works", Method: "GET", Path: "/api/collections/posts/records", Token: key, Status: 200},
				{Name: "an auth rule", Method: "PATCH", Path: "/api/collections/users", Token: e.super,
					Body: `{"fields":[{"name":"disabled","type":"bool","hidden":true}],"auth":{"rule":"disabled != true"}}`, Status: 200},
				{Name: "ann is disabled", Method: "PATCH", Path: "/api/collections/users/records/" + e.annID, Token: e.super,
					Body: `{"disabled":true}`, Status: 200},
				{Name: "her key stops", Method: "GET", Path: "/api/collections/posts/records", Token: key, Status: 401, Code: "unauthenticated"},
				{Name: "ann is enabled", Method: "PATCH", Path: "/api/collections/users/records/" + e.annID, Token: e.super,
					Body: `{"disabled":false}`, Status: 200},
				{Name: "her key works again", Method: "GET", Path: "/api/collections/posts/records", Token: key, Status: 200},
			})

			// Revocation holds at once.
			ann := e.signIn(t, "users", "ann@example.com", "a brand new password")
			e.run(t, []scenario{
				{Name: "revoke", Method: "DELETE", Path: one, Token: ann, Status: 204},
				{Name: "the revoked key", Method: "GET", Path: "/api/collections/posts/records", Token: key, Status: 401, Code: "unauthenticated"},
				{Name: "revoke again", Method: "DELETE", Path: one, Token: ann, Status: 404, Code: "not_found"},
			})

			// An expiring key stops at its time.
			expires := string(loam.AppendTime(nil, e.clock.Now().Add(time.Hour)))
			_, brief := e.makeKey(t, e.annKeysPath, ann, map[string]any{"name": "brief", "scopes": scope, "expires": expires})
			e.run(t, []scenario{{Name: "before it expires", Method: "GET", Path: "/api/collections/posts/records", Token: brief, Status: 200}})
			e.clock.Advance(time.Hour)
			e.run(t, []scenario{{Name: "once expired", Method: "GET", Path: "/api/collections/posts/records", Token: brief,
				Status: 401, Code: "unauthenticated"}})

			// Deleting bob deletes his keys.
			e.run(t, []scenario{
				{Name: "bob's key works", Method: "GET", Path: "/api/collections/posts/records", Token: bobKey, Status: 200},
				{Name: "bob is deleted", Method: "DELETE", Path: "/api/collections/users/records/" + bobID, Token: e.super, Status: 204},
				{Name: "bob's key is refused", Method: "GET", Path: "/api/collections/posts/records", Token: bobKey,
					Status: 401, Code: "unauthenticated"},
			})
			if keys, err := e.app.Store().APIKeys(context.Background(), "users", bobID); err != nil || len(keys) != 0 {
				t.Errorf("bob's keys after his deletion: %v, %v; want none", keys, err)
			}
		})
	}
}

// TestAPIKeySystemAreas: superusers' keys reach jobs, schedules and
// collections only when their scopes name the area; users' keys never.
func TestAPIKeySystemAreas(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			e := newKeyEnv(t, store)
			mine := "/api/collections/_superusers/records/" + e.superID + "/api-keys"
			_, jobsKey := e.makeKey(t, mine, e.super, map[string]any{"name": "ops", "system": []string{"jobs"}})
			_, postsKey := e.makeKey(t, mine, e.super, map[string]any{"name": "posts",
				"scopes": []map[string]any{{"collection": "posts", "actions": []string{"list"}}}})
			_, schemaKey := e.makeKey(t, mine, e.super, map[string]any{"name": "schema", "system": []string{"collections"}})
			e.run(t, []scenario{
				{Name: "a key with jobs lists jobs", Method: "GET", Path: "/api/jobs", Token: jobsKey, Status: 200},
				{Name: "and schedules", Method: "GET", Path: "/api/schedules", Token: jobsKey, Status: 200},
				{Name: "a key without jobs", Method: "GET", Path: "/api/jobs", Token: postsKey, Status: 403, Code: "forbidden"},
				{Name: "nor schedules", Method: "GET", Path: "/api/schedules", Token: postsKey, Status: 403, Code: "forbidden"},
				{Name: "the jobs key lists no posts", Method: "GET", Path: "/api/collections/posts/records", Token: jobsKey,
					Status: 403, Code: "forbidden"},
				{Name: "the jobs key reads no collections", Method: "GET", Path: "/api/collections", Token: jobsKey,
					Status: 403, Code: "forbidden"},
				{Name: "the collections key does", Method: "GET", Path: "/api/collections", Token: schemaKey, Status: 200},
				{Name: "the collections key changes no schema without the area", Method: "POST", Path: "/api/collections",
					Token: postsKey, Body: `{"name":"evil"}`, Status: 403, Code: "forbidden", Unchanged: true},
				{Name: "a superuser's key impersonates nobody", Method: "POST",
					Path: "/api/collections/users/auth/impersonate/" + e.annID, Token: schemaKey, Status: 403, Code: "forbidden"},
				{Name: "a superuser's key ends no sessions", Method: "DELETE",
					Path: "/api/collections/users/auth/sessions?recordId=" + e.annID, Token: schemaKey, Status: 403, Code: "forbidden"},
				{Name: "a superuser's key manages no keys", Method: "GET", Path: e.annKeysPath, Token: schemaKey,
					Status: 403, Code: "forbidden"},
				{Name: "a user's key cannot reach an area", Method: "POST", Path: e.annKeysPath, Token: e.ann,
					Body: `{"name":"ops","system":["jobs"]}`, Status: 400, Code: "validation_failed", Fields: errs{"system.0": "invalid"}},
				{Name: "an unknown area", Method: "POST", Path: mine, Token: e.super,
					Body: `{"name":"ops","system":["everything"]}`, Status: 400, Code: "validation_failed",
					Fields: errs{"system.0": "invalid_choice"}},
			})
		})
	}
}

// TestAPIKeyRevocationAcrossInstances: a key revoked on one instance is
// refused on another at once.
func TestAPIKeyRevocationAcrossInstances(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			open := sharedDB(t, store)
			e := startEnv(t, store, open(), loam.Config{})
			annID, ann := e.signUp(t)
			e.mustCreateCollection(t, `{"name":"notes","fields":[{"name":"text","type":"text"}],"rules":{"list":""}}`)
			e2 := instance(t, store, open(), loam.Config{}) // started after the schema change: it knows notes
			ke := &keyEnv{env: e}
			path := "/api/collections/users/records/" + annID + "/api-keys"
			keyID, key := ke.makeKey(t, path, ann, map[string]any{"name": "k",
				"scopes": []map[string]any{{"collection": "notes", "actions": []string{"list"}}}})
			me := "/api/collections/notes/records"
			e2.run(t, []scenario{{Name: "the second instance takes the key", Method: "GET", Path: me, Token: key, Status: 200}})
			e.run(t, []scenario{{Name: "the first revokes it", Method: "DELETE", Path: path + "/" + keyID, Token: ann, Status: 204}})
			e2.run(t, []scenario{{Name: "the second refuses it", Method: "GET", Path: me, Token: key, Status: 401,
				Code: "unauthenticated"}})
		})
	}
}
