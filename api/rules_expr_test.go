package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// notesRules are rules in the filter language: a note is seen by its owner,
// by the users it is shared with, and by everyone when public; only its
// owner changes or deletes it, and may not give it away.
const notesRules = `{"name":"notes","fields":[
	{"name":"title","type":"text"},
	{"name":"owner","type":"relation","collection":"users"},
	{"name":"shared","type":"relation","collection":"users","multiple":true},
	{"name":"public","type":"bool"}],
 "rules":{
	"list":"owner = @request.auth.id || shared ?= @request.auth.id || public = true",
	"view":"owner = @request.auth.id || shared ?= @request.auth.id || public = true",
	"create":"@request.auth.id != \"\" && owner = @request.auth.id",
	"update":"owner = @request.auth.id && (@request.body.owner = null || @request.body.owner = @request.auth.id)",
	"delete":"owner = @request.auth.id"}}`

// TestExpressionRules: rules written in the filter language decide, per
// record, what each caller may list, view, create, update and delete, and
// no parameter (filter, sort, expand, aggregate, batch) gets around them.
func TestExpressionRules(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ann, annTok := e.signUp(t)
		a := e.do(t, call{Method: "POST", Path: "/api/collections/users/records",
			Body: `{"email":"bob@example.com","password":"bob's long password"}`})
		if a.Status != http.StatusCreated {
			t.Fatalf("sign up bob: %d %s", a.Status, a.Body)
		}
		bob := str(a.JSON(t)["id"])
		bobTok := e.signIn(t, "users", "bob@example.com", "bob's long password")
		e.mustCreateCollection(t, notesRules)
		e.mustCreateCollection(t, `{"name":"pins","fields":[{"name":"note","type":"relation","collection":"notes"}],
			"rules":{"list":"","view":""}}`)

		create := func(tok string, body map[string]any) *answer {
			return e.do(t, call{Method: "POST", Path: "/api/collections/notes/records", Token: tok, Body: body})
		}
		mine := create(annTok, map[string]any{"title": "ann's own", "owner": ann})
		if mine.Status != http.StatusCreated {
			t.Fatalf("ann creates her note: %d %s", mine.Status, mine.Body)
		}
		private := str(mine.JSON(t)["id"])
		shared := str(create(annTok, map[string]any{"title": "ann shares", "owner": ann, "shared": []string{bob}}).JSON(t)["id"])
		public := str(create(annTok, map[string]any{"title": "ann publishes", "owner": ann, "public": true}).JSON(t)["id"])
		bobs := str(create(bobTok, map[string]any{"title": "bob's own", "owner": bob}).JSON(t)["id"])
		pin := str(e.mustCreate(t, "pins", map[string]any{"note": private})["id"])

		notes := "/api/collections/notes/records"
		ids := func(want ...string) func(t *testing.T, a *answer) {
			return func(t *testing.T, a *answer) {
				got := items2ids(t, a.JSON(t))
				slices.Sort(got)
				want = slices.Clone(want)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("ids %v, want %v", got, want)
				}
			}
		}
		note := func(id string) string { return notes + "/" + id }
		e.run(t, []scenario{
			{Name: "anonymous lists the public note", Method: "GET", Path: notes, Status: 200, Check: ids(public)},
			{Name: "bob lists his, the shared and the public", Method: "GET", Path: notes, Token: bobTok, Status: 200,
				Check: ids(bobs, shared, public)},
			{Name: "ann lists hers", Method: "GET", Path: notes, Token: annTok, Status: 200, Check: ids(private, shared, public)},
			{Name: "the superuser lists all", Method: "GET", Path: notes, Token: e.super, Status: 200,
				Check: ids(private, shared, public, bobs)},
			{Name: "a filter narrows but never widens", Method: "GET", Path: notes + "?filter=" + url.QueryEscape(`owner = "`+ann+`"`),
				Token: bobTok, Status: 200, Check: ids(shared, public)},
			{Name: "sorting by a relation path shows nothing more", Method: "GET", Path: notes + "?sort=owner.nick", Token: bobTok,
				Status: 200, Check: ids(bobs, shared, public)},
			{Name: "totals count what the rule lets through", Method: "GET", Path: notes + "?perPage=1", Token: bobTok, Status: 200,
				Contains: []string{`"totalItems":3`}},
			{Name: "aggregates count what the rule lets through", Method: "GET", Path: "/api/collections/notes/aggregate",
				Token: bobTok, Status: 200, Contains: []string{`"count":3`}},
			{Name: "bob cannot view ann's private note", Method: "GET", Path: note(private), Token: bobTok, Status: 404, Code: "not_found"},
			{Name: "anonymous cannot view it either", Method: "GET", Path: note(private), Status: 404, Code: "not_found"},
			{Name: "bob views the shared note", Method: "GET", Path: note(shared), Token: bobTok, Status: 200},
			{Name: "expand leaves out what the view rule hides", Method: "GET", Path: "/api/collections/pins/records/" + pin + "?expand=note",
				Token: bobTok, Status: 200, Absent: []string{"ann's own", `"expand":{"note"`}},
			{Name: "the owner sees it through expand", Method: "GET", Path: "/api/collections/pins/records/" + pin + "?expand=note",
				Token: annTok, Status: 200, Contains: []string{"ann's own"}},
			{Name: "a filter cannot read through a relation what the rule hides", Method: "GET",
				Path: "/api/collections/pins/records?filter=" + url.QueryEscape(`note.title ~ "ann's own"`), Token: bobTok,
				Status: 200, Contains: []string{`"totalItems":0`}},
			{Name: "the owner's filter reads through it", Method: "GET",
				Path: "/api/collections/pins/records?filter=" + url.QueryEscape(`note.title ~ "ann's own"`), Token: annTok,
				Status: 200, Contains: []string{`"totalItems":1`}},
			{Name: "@collection sees only what the rule lets through", Method: "GET",
				Path: "/api/collections/pins/records?filter=" + url.QueryEscape(`@collection.notes.title ?= "ann's own"`), Token: bobTok,
				Status: 200, Contains: []string{`"totalItems":0`}},
			{Name: "a group key read through a relation is missing when hidden", Method: "GET",
				Path: "/api/collections/pins/aggregate?groupBy=note.title", Token: bobTok, Status: 200,
				Contains: []string{`{"group":{"note.title":null},"count":1}`}, Absent: []string{"ann's own"}},
			{Name: "a back-relation shows only what the rule lets through", Method: "GET",
				Path: "/api/collections/users/records/" + ann + "?expand=notes_via_owner", Token: e.super, Status: 200,
				Contains: []string{"ann's own"}},
			{Name: "anonymous may not create", Method: "POST", Path: notes, Body: map[string]any{"title": "x"}, Status: 401,
				Code: "unauthenticated", Unchanged: true},
			{Name: "bob may not create a note for ann", Method: "POST", Path: notes, Token: bobTok,
				Body: map[string]any{"title": "forged", "owner": ann}, Status: 403, Code: "forbidden", Unchanged: true},
			{Name: "bob may not update the shared note", Method: "PATCH", Path: note(shared), Token: bobTok,
				Body: map[string]any{"title": "mine now"}, Status: 403, Code: "forbidden", Unchanged: true},
			{Name: "bob may not update a note he cannot see", Method: "PATCH", Path: note(private), Token: bobTok,
				Body: map[string]any{"title": "mine now"}, Status: 404, Code: "not_found", Unchanged: true},
			{Name: "ann may not give her note away", Method: "PATCH", Path: note(private), Token: annTok,
				Body: map[string]any{"owner": bob}, Status: 403, Code: "forbidden", Unchanged: true},
			{Name: "ann updates her note", Method: "PATCH", Path: note(private), Token: annTok,
				Body: map[string]any{"title": "ann's, edited"}, Status: 200, Contains: []string{"ann's, edited"}},
			{Name: "bob may not delete the shared note", Method: "DELETE", Path: note(shared), Token: bobTok, Status: 403,
				Code: "forbidden", Unchanged: true},
			{Name: "bob may not delete a note he cannot see", Method: "DELETE", Path: note(private), Token: bobTok, Status: 404,
				Code: "not_found", Unchanged: true},
			{Name: "a batch cannot get around the update rule", Method: "POST", Path: "/api/batch", Token: bobTok,
				Body: map[string]any{"requests": []map[string]any{
					{"method": "PATCH", "url": note(bobs), "body": map[string]any{"title": "fine"}},
					{"method": "PATCH", "url": note(shared), "body": map[string]any{"title": "not fine"}}}},
				Status: 403, Code: "forbidden", Fields: map[string]string{"requests.1": "forbidden"}, Unchanged: true},
			{Name: "ann deletes her note", Method: "DELETE", Path: note(private), Token: annTok, Status: 204},
		})
		t.Run("a rule stops compiling when its field is dropped", func(t *testing.T) {
			a := e.do(t, call{Method: "GET", Path: "/api/collections/notes", Token: e.super})
			def := a.JSON(t)
			var fields []any
			for _, f := range def["fields"].([]any) {
				if f.(map[string]any)["name"] != "public" {
					fields = append(fields, f)
				}
			}
			a = e.do(t, call{Method: "PATCH", Path: "/api/collections/notes", Token: e.super, Body: map[string]any{"fields": fields}})
			if a.Status != 400 || !strings.Contains(string(a.Body), "rules.list") || !strings.Contains(string(a.Body), "public") {
				t.Errorf("dropping a field a rule names: %d %s", a.Status, a.Body)
			}
		})
	})
}
