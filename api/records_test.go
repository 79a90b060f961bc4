package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"loam"
)

var (
	idRe   = regexp.MustCompile(`^[a-z0-9]{15}$`)
	timeRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
)

// setupPosts creates the authors and posts collections (every field type)
// and one author; it returns the author's id.
func (e *env) setupPosts(t *testing.T) string {
	t.Helper()
	e.mustCreateCollection(t, allTypesAuthors)
	e.mustCreateCollection(t, allTypesPosts)
	return str(e.mustCreate(t, "authors", map[string]any{"name": "ann"})["id"])
}

// TestRecordsCRUD: create answers 201 with Location and ETag; reads carry the
// ETag and honour If-None-Match; PATCH and DELETE honour If-Match.
func TestRecordsCRUD(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.setupPosts(t)
		a := e.do(t, call{Method: "POST", Path: "/api/collections/posts/records", Token: e.super, Body: `{"title":"hello"}`})
		if a.Status != http.StatusCreated {
			t.Fatalf("create: %d %s", a.Status, a.Body)
		}
		rec := a.JSON(t)
		id := str(rec["id"])
		if !idRe.MatchString(id) {
			t.Errorf("id %q does not match %s", id, idRe)
		}
		if loc := a.Header.Get("Location"); loc != "/api/collections/posts/records/"+id {
			t.Errorf("Location %q", loc)
		}
		etag := a.Header.Get("ETag")
		if len(etag) < 3 || etag[0] != '"' || etag[len(etag)-1] != '"' {
			t.Errorf("ETag %q is not a quoted entity tag", etag)
		}
		if rec["collectionName"] != "posts" || rec["title"] != "hello" || rec["status"] != "draft" {
			t.Errorf("created record: %s", a.Body)
		}
		for _, k := range []string{"created", "updated", "createdAt", "updatedAt"} {
			if !timeRe.MatchString(str(rec[k])) {
				t.Errorf("%s = %v, want RFC 3339 UTC with milliseconds", k, rec[k])
			}
		}
		if ct := a.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q", ct)
		}
		path := "/api/collections/posts/records/" + id
		stale := `"` + id + `-0"`
		e.run(t, []scenario{
			{Name: "get carries the same ETag", Method: "GET", Path: path, Token: e.super, Status: 200,
				Check: func(t *testing.T, a *answer) {
					if a.Header.Get("ETag") != etag {
						t.Errorf("GET ETag %q, create gave %q", a.Header.Get("ETag"), etag)
					}
					if got := a.JSON(t); !reflect.DeepEqual(got, rec) {
						t.Errorf("GET %v\ncreate %v", got, rec)
					}
				}},
			{Name: "If-None-Match current", Method: "GET", Path: path, Token: e.super,
				Headers: map[string]string{"If-None-Match": etag}, Status: 304,
				Check: func(t *testing.T, a *answer) {
					if len(a.Body) != 0 || a.Header.Get("ETag") != etag {
						t.Errorf("304: ETag %q body %q", a.Header.Get("ETag"), a.Body)
					}
				}},
			{Name: "If-None-Match other", Method: "GET", Path: path, Token: e.super,
				Headers: map[string]string{"If-None-Match": stale}, Status: 200},
			{Name: "PATCH with a stale If-Match", Method: "PATCH", Path: path, Token: e.super,
				Headers: map[string]string{"If-Match": stale}, Body: `{"title":"changed"}`,
				Status: 412, Code: "precondition_failed", Unchanged: true},
			{Name: "DELETE with a stale If-Match", Method: "DELETE", Path: path, Token: e.super,
				Headers: map[string]string{"If-Match": stale}, Status: 412, Code: "precondition_failed", Unchanged: true},
		})

		// A PATCH with the current ETag succeeds and moves it.
		a = e.do(t, call{Method: "PATCH", Path: path, Token: e.super, Body: `{"title":"changed"}`,
			Headers: map[string]string{"If-Match": etag}})
		if a.Status != 200 {
			t.Fatalf("PATCH with the current ETag: %d %s", a.Status, a.Body)
		}
		etag2 := a.Header.Get("ETag")
		patched := a.JSON(t)
		if etag2 == "" || etag2 == etag {
			t.Errorf("ETag after PATCH %q (before %q): it must change", etag2, etag)
		}
		if patched["title"] != "changed" || patched["created"] != rec["created"] || patched["createdAt"] != rec["createdAt"] {
			t.Errorf("patched: %v", patched)
		}
		if str(patched["updated"]) <= str(rec["updated"]) || str(patched["updatedAt"]) <= str(rec["updatedAt"]) {
			t.Errorf("updated did not move: %v -> %v", rec["updated"], patched["updated"])
		}
		e.run(t, []scenario{{Name: "If-Match * matches any version", Method: "PATCH", Path: path, Token: e.super,
			Headers: map[string]string{"If-Match": "*"}, Body: `{"slug":"star"}`, Status: 200,
			Check: func(t *testing.T, a *answer) { etag2 = a.Header.Get("ETag") }}})
		e.run(t, []scenario{
			{Name: "GET after PATCH carries the new ETag", Method: "GET", Path: path, Token: e.super, Status: 200,
				Check: func(t *testing.T, a *answer) {
					if a.Header.Get("ETag") != etag2 {
						t.Errorf("ETag %q, PATCH answered %q", a.Header.Get("ETag"), etag2)
					}
				}},
			{Name: "the first ETag is stale now", Method: "PATCH", Path: path, Token: e.super,
				Headers: map[string]string{"If-Match": etag}, Body: `{"title":"again"}`,
				Status: 412, Code: "precondition_failed", Unchanged: true},
			{Name: "DELETE with the first ETag", Method: "DELETE", Path: path, Token: e.super,
				Headers: map[string]string{"If-Match": etag}, Status: 412, Code: "precondition_failed", Unchanged: true},
			{Name: "DELETE with the current ETag", Method: "DELETE", Path: path, Token: e.super,
				Headers: map[string]string{"If-Match": etag2}, Status: 204,
				Check: func(t *testing.T, a *answer) {
					if len(a.Body) != 0 {
						t.Errorf("204 with a body %q", a.Body)
					}
				}},
			{Name: "GET a deleted record", Method: "GET", Path: path, Token: e.super, Status: 404, Code: "not_found"},
			{Name: "DELETE a deleted record", Method: "DELETE", Path: path, Token: e.super, Status: 404, Code: "not_found", Unchanged: true},
			{Name: "PATCH a deleted record", Method: "PATCH", Path: path, Token: e.super, Body: `{"title":"x"}`,
				Status: 404, Code: "not_found", Unchanged: true},
			{Name: "GET an id that looks like SQL", Method: "GET",
				Path: "/api/collections/posts/records/x'%20OR%20'1'%3D'1", Token: e.super, Status: 404, Code: "not_found"},
			{Name: "DELETE an id that looks like SQL", Method: "DELETE",
				Path: "/api/collections/posts/records/x'%20OR%20'1'%3D'1", Token: e.super, Status: 404, Code: "not_found",
				Unchanged: true},
		})
	})
}

// TestRecordsEveryType writes and reads back a value of every field type.
func TestRecordsEveryType(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ann := e.setupPosts(t)
		bob := str(e.mustCreate(t, "authors", map[string]any{"name": "bob"})["id"])
		body := fmt.Sprintf(`{"title":"Ünïcode ok","slug":"s-1","views":9007199254740991,"score":-2.5e-3,
			"published":true,"contact":"ann@example.com","site":"https://example.com/a?b=c#d",
			"due":"2026-11-25T10:15:30.123456+02:00","status":"live","tags":["b","a","b"],
			"meta":{"k":[1,2.5,{"z":null}],"s":"<&>"},"author":%q,"readers":[%q,%q],"secret":"s3cret"}`, ann, ann, bob)
		created := e.mustCreate(t, "posts", json.RawMessage(body))
		got := e.mustGet(t, "posts", str(created["id"]))
		if !reflect.DeepEqual(got, created) {
			t.Errorf("GET differs from the create answer:\nget    %v\ncreate %v", got, created)
		}
		want := map[string]any{
			"title": "Ünïcode ok", "slug": "s-1", "views": json.Number("9007199254740991"), "published": true,
			"contact": "ann@example.com", "site": "https://example.com/a?b=c#d", "due": "2026-11-25T08:15:30.123Z",
			"status": "live", "tags": []any{"b", "a"}, "author": ann, "readers": []any{ann, bob}, "secret": "s3cret",
		}
		for k, v := range want {
			if !reflect.DeepEqual(got[k], v) {
				t.Errorf("%s = %#v, want %#v", k, got[k], v)
			}
		}
		if f, err := got["score"].(json.Number).Float64(); err != nil || f != -2.5e-3 {
			t.Errorf("score = %v", got["score"])
		}
		var meta, wantMeta any
		metaRaw, _ := json.Marshal(got["meta"])
		json.Unmarshal(metaRaw, &meta)
		json.Unmarshal([]byte(`{"k":[1,2.5,{"z":null}],"s":"<&>"}`), &wantMeta)
		if !reflect.DeepEqual(meta, wantMeta) {
			t.Errorf("meta = %s", metaRaw)
		}
		// Empty values read back as null (and [] for multi-valued fields).
		empty := e.mustCreate(t, "posts", map[string]any{"title": "empty"})
		for _, k := range []string{"slug", "views", "score", "contact", "site", "due", "meta", "author", "secret"} {
			if v, ok := empty[k]; !ok || v != nil {
				t.Errorf("empty %s = %#v, want null", k, v)
			}
		}
		if empty["published"] != false || !reflect.DeepEqual(empty["tags"], []any{}) || !reflect.DeepEqual(empty["readers"], []any{}) {
			t.Errorf("empty record: %v", empty)
		}
		// A PATCH can clear values with null.
		a := e.do(t, call{Method: "PATCH", Path: "/api/collections/posts/records/" + str(created["id"]), Token: e.super,
			Body: `{"views":null,"tags":[],"author":null,"meta":null,"published":false}`})
		if a.Status != 200 {
			t.Fatalf("clear: %d %s", a.Status, a.Body)
		}
		cleared := e.mustGet(t, "posts", str(created["id"]))
		if cleared["views"] != nil || cleared["author"] != nil || cleared["meta"] != nil || cleared["published"] != false ||
			!reflect.DeepEqual(cleared["tags"], []any{}) || cleared["title"] != "Ünïcode ok" {
			t.Errorf("cleared: %v", cleared)
		}
	})
}

// TestRecordsList: paging, perPage default and clamp, sort, skipTotal, and
// refused parameters.
func TestRecordsList(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.setupPosts(t)
		type post struct {
			id, title string
			views     int
		}
		var posts []post
		for i := range 35 {
			p := post{title: fmt.Sprintf("t%02d", (i*13)%35), views: i % 7}
			posts = append(posts, post{id: str(e.mustCreate(t, "posts", map[string]any{"title": p.title, "views": p.views,
				"secret": "x"})["id"]), title: p.title, views: p.views})
		}
		ids := func(ps []post) []string {
			var out []string
			for _, p := range ps {
				out = append(out, p.id)
			}
			return out
		}
		byID := slices.Clone(posts)
		sort.Slice(byID, func(i, j int) bool { return byID[i].id < byID[j].id })
		byViewsTitle := slices.Clone(posts)
		sort.Slice(byViewsTitle, func(i, j int) bool {
			a, b := byViewsTitle[i], byViewsTitle[j]
			if a.views != b.views {
				return a.views > b.views
			}
			return a.title < b.title
		})
		list := "/api/collections/posts/records"
		page := func(items int, page, perPage, total, pages int, order []string) func(t *testing.T, a *answer) {
			return func(t *testing.T, a *answer) {
				m := a.JSON(t)
				got := items2ids(t, m)
				if len(got) != items || num(m["page"]) != fmt.Sprint(page) || num(m["perPage"]) != fmt.Sprint(perPage) ||
					num(m["totalItems"]) != fmt.Sprint(total) || num(m["totalPages"]) != fmt.Sprint(pages) {
					t.Errorf("items %d page %v perPage %v totalItems %v totalPages %v; want %d %d %d %d %d",
						len(got), m["page"], m["perPage"], m["totalItems"], m["totalPages"], items, page, perPage, total, pages)
				}
				if order != nil && !slices.Equal(got, order) {
					t.Errorf("order %v\nwant  %v", got, order)
				}
			}
		}
		e.run(t, []scenario{
			{Name: "default page", Method: "GET", Path: list, Status: 200, Check: page(30, 1, 30, 35, 2, ids(byID[:30]))},
			{Name: "page 2", Method: "GET", Path: list + "?page=2", Status: 200, Check: page(5, 2, 30, 35, 2, ids(byID[30:]))},
			{Name: "past the end", Method: "GET", Path: list + "?page=3", Status: 200, Check: page(0, 3, 30, 35, 2, nil)},
			{Name: "perPage 10 page 4", Method: "GET", Path: list + "?perPage=10&page=4", Status: 200,
				Check: page(5, 4, 10, 35, 4, ids(byID[30:]))},
			{Name: "perPage 1000 is clamped to 500", Method: "GET", Path: list + "?perPage=1000", Status: 200,
				Check: page(35, 1, 500, 35, 1, ids(byID))},
			{Name: "a huge perPage is clamped to 500", Method: "GET", Path: list + "?perPage=99999999999999999999999", Status: 200,
				Check: page(35, 1, 500, 35, 1, nil)},
			{Name: "sort -views,title", Method: "GET", Path: list + "?sort=-views,title&perPage=100", Status: 200,
				Check: page(35, 1, 100, 35, 1, ids(byViewsTitle))},
			{Name: "sort -views,title page 2", Method: "GET", Path: list + "?sort=-views,title&perPage=10&page=2", Status: 200,
				Check: page(10, 2, 10, 35, 4, ids(byViewsTitle[10:20]))},
			{Name: "sort by -id", Method: "GET", Path: list + "?sort=-id&perPage=5", Status: 200,
				Check: page(5, 1, 5, 35, 7, []string{byID[34].id, byID[33].id, byID[32].id, byID[31].id, byID[30].id})},
			{Name: "skipTotal", Method: "GET", Path: list + "?skipTotal=1", Status: 200, Check: page(30, 1, 30, -1, -1, ids(byID[:30]))},
			{Name: "sort by an unknown field", Method: "GET", Path: list + "?sort=nope", Status: 400, Code: "invalid_sort"},
			{Name: "sort by a second unknown field", Method: "GET", Path: list + "?sort=title,-nope", Status: 400, Code: "invalid_sort"},
			{Name: "sort that looks like SQL", Method: "GET", Path: list + "?sort=title%3B%20DROP%20TABLE%20posts", Status: 400,
				Code: "invalid_sort", Unchanged: true},
			{Name: "sort with a quote", Method: "GET", Path: list + "?sort=-title%22--", Status: 400, Code: "invalid_sort"},
			{Name: "sort by a lone minus", Method: "GET", Path: list + "?sort=-", Status: 400, Code: "invalid_sort"},
			{Name: "sort by a json field", Method: "GET", Path: list + "?sort=meta", Status: 400, Code: "invalid_sort"},
			{Name: "sort by a multi-valued field", Method: "GET", Path: list + "?sort=tags", Status: 400, Code: "invalid_sort"},
			{Name: "sort by a hidden field, anonymously", Method: "GET", Path: list + "?sort=secret", Status: 400, Code: "invalid_sort"},
			{Name: "sort by a hidden field, as superuser", Method: "GET", Path: list + "?sort=secret", Token: e.super, Status: 200},
			{Name: "page 0", Method: "GET", Path: list + "?page=0", Status: 400, Code: "invalid_query"},
			{Name: "page abc", Method: "GET", Path: list + "?page=abc", Status: 400, Code: "invalid_query"},
			{Name: "perPage 0", Method: "GET", Path: list + "?perPage=0", Status: 400, Code: "invalid_query"},
			{Name: "perPage -5", Method: "GET", Path: list + "?perPage=-5", Status: 400, Code: "invalid_query"},
			{Name: "skipTotal maybe", Method: "GET", Path: list + "?skipTotal=maybe", Status: 400, Code: "invalid_query"},
			{Name: "hidden fields are not listed anonymously", Method: "GET", Path: list, Status: 200, Absent: []string{`"secret"`}},
			{Name: "hidden fields are listed to superusers", Method: "GET", Path: list, Token: e.super, Status: 200,
				Contains: []string{`"secret":"x"`}},
		})
	})
}

func urlq(s string) string {
	r := strings.NewReplacer(" ", "%20", `"`, "%22", "=", "%3D", "&", "%26")
	return r.Replace(s)
}

func items2ids(t *testing.T, m map[string]any) []string {
	t.Helper()
	var ids []string
	for _, it := range items(t, m) {
		ids = append(ids, str(it["id"]))
	}
	return ids
}

// TestRecordsDefaultOrderIsCreationOrder: ids are time-ordered and the
// default order is id ascending, which API.md calls creation order; records
// created one after the other must list in that order, even within one
// millisecond.
func TestRecordsDefaultOrderIsCreationOrder(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"notes","fields":[{"name":"n","type":"number"}]}`)
		var created []string
		for i := range 40 {
			created = append(created, str(e.mustCreate(t, "notes", map[string]any{"n": i})["id"]))
		}
		if got := e.listIDs(t, "notes", "perPage=100"); !slices.Equal(got, created) {
			t.Errorf("default order is not creation order:\nlisted  %v\ncreated %v", got, created)
		}
	})
}

// TestRecordsSortIsTheSameOnBothStores: text sorts by code point, and a
// missing value sorts the same way on SQLite and PostgreSQL (first in
// ascending order, as SQLite and PocketBase do).
func TestRecordsSortIsTheSameOnBothStores(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"words","fields":[{"name":"w","type":"text"},{"name":"n","type":"number"}]}`)
		ids := map[string]string{}
		for i, w := range []string{"b", "B", "a", "A", "é", "Z", "", "aa"} {
			body := map[string]any{"w": w}
			if w != "" {
				body["n"] = i
			}
			ids[w] = str(e.mustCreate(t, "words", body)["id"])
		}
		order := func(ws ...string) []string {
			var out []string
			for _, w := range ws {
				out = append(out, ids[w])
			}
			return out
		}
		if got, want := e.listIDs(t, "words", "sort=w"), order("", "A", "B", "Z", "a", "aa", "b", "é"); !slices.Equal(got, want) {
			t.Errorf("sort=w: %v, want %v (code point order, no value first)", got, want)
		}
		if got, want := e.listIDs(t, "words", "sort=-n"), order("aa", "Z", "é", "A", "a", "B", "b", ""); !slices.Equal(got, want) {
			t.Errorf("sort=-n: %v, want %v (no value last when descending)", got, want)
		}
	})
}

// TestRecordIDs: a client may choose a valid id on create; ids, created,
// updated and collectionName are read-only otherwise.
func TestRecordIDs(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.setupPosts(t)
		const mine = "abcdefghij12345"
		list := "/api/collections/posts/records"
		e.run(t, []scenario{
			{Name: "a client-chosen id", Method: "POST", Path: list, Token: e.super, Body: `{"id":"` + mine + `","title":"mine"}`,
				Status: 201, Check: func(t *testing.T, a *answer) {
					if a.JSON(t)["id"] != mine || a.Header.Get("Location") != list+"/"+mine {
						t.Errorf("client id: %s (Location %s)", a.Body, a.Header.Get("Location"))
					}
				}},
			{Name: "the same id again", Method: "POST", Path: list, Token: e.super, Body: `{"id":"` + mine + `","title":"dup"}`,
				Status: 409, Code: "conflict", Fields: errs{"id": "unique"}, Unchanged: true},
		})
		var sc []scenario
		for _, bad := range []string{`"short"`, `"ABCDEFGHIJ12345"`, `"abcdefghij123456"`, `"abcdefghij1234-"`, `123456789012345`,
			`null`, `"x'; DROP TABLE posts; --"`, `""`} {
			sc = append(sc, scenario{Name: "id " + bad, Method: "POST", Path: list, Token: e.super,
				Body: `{"id":` + bad + `,"title":"x"}`, Status: 400, Code: "validation_failed", Fields: errs{"id": "invalid_type"},
				Unchanged: true})
		}
		path := list + "/" + mine
		sc = append(sc,
			scenario{Name: "created on create", Method: "POST", Path: list, Token: e.super,
				Body: `{"title":"x","created":"2020-01-01T00:00:00.000Z"}`, Status: 400, Code: "validation_failed",
				Fields: errs{"created": "read_only"}, Unchanged: true},
			scenario{Name: "updated on create", Method: "POST", Path: list, Token: e.super,
				Body: `{"title":"x","updated":"2020-01-01T00:00:00.000Z"}`, Status: 400, Code: "validation_failed",
				Fields: errs{"updated": "read_only"}, Unchanged: true},
			scenario{Name: "collectionName on create", Method: "POST", Path: list, Token: e.super,
				Body: `{"title":"x","collectionName":"authors"}`, Status: 400, Code: "validation_failed",
				Fields: errs{"collectionName": "read_only"}, Unchanged: true},
			scenario{Name: "an autodate field on create", Method: "POST", Path: list, Token: e.super,
				Body: `{"title":"x","createdAt":"2020-01-01T00:00:00.000Z"}`, Status: 400, Code: "validation_failed",
				Fields: errs{"createdAt": "read_only"}, Unchanged: true},
			scenario{Name: "created on update", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"created":"2020-01-01T00:00:00.000Z"}`, Status: 400, Code: "validation_failed",
				Fields: errs{"created": "read_only"}, Unchanged: true},
			scenario{Name: "updated on update", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"updated":"2020-01-01T00:00:00.000Z","title":"y"}`, Status: 400, Code: "validation_failed",
				Fields: errs{"updated": "read_only"}, Unchanged: true},
			scenario{Name: "another id on update", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"id":"zzzzzzzzzzzzzzz"}`, Status: 400, Code: "validation_failed", Fields: errs{"id": "read_only"}, Unchanged: true},
			scenario{Name: "the same id on update is fine", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"id":"` + mine + `","title":"same"}`, Status: 200, Contains: []string{`"title":"same"`}},
		)
		e.run(t, sc)
	})
}

// TestRecordsUnique: a unique violation answers 409 naming the field and
// writes nothing; records without a value do not collide.
func TestRecordsUnique(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.setupPosts(t)
		first := e.mustCreate(t, "posts", map[string]any{"title": "one", "slug": "taken"})
		second := e.mustCreate(t, "posts", map[string]any{"title": "two", "slug": "free"})
		list := "/api/collections/posts/records"
		e.run(t, []scenario{
			{Name: "create with a taken value", Method: "POST", Path: list, Token: e.super, Body: `{"title":"x","slug":"taken"}`,
				Status: 409, Code: "conflict", Fields: errs{"slug": "unique"}, Unchanged: true},
			{Name: "update to a taken value", Method: "PATCH", Path: list + "/" + str(second["id"]), Token: e.super,
				Body: `{"slug":"taken","title":"changed"}`, Status: 409, Code: "conflict", Fields: errs{"slug": "unique"}, Unchanged: true},
			{Name: "a record keeps its own value", Method: "PATCH", Path: list + "/" + str(first["id"]), Token: e.super,
				Body: `{"slug":"taken","title":"one again"}`, Status: 200},
			{Name: "values differing in case are distinct", Method: "POST", Path: list, Token: e.super,
				Body: `{"title":"x","slug":"TAKEN"}`, Status: 201},
			{Name: "no value, twice", Method: "POST", Path: list, Token: e.super, Body: `{"title":"x"}`, Status: 201},
			{Name: "no value, thrice", Method: "POST", Path: list, Token: e.super, Body: `{"title":"x","slug":""}`, Status: 201},
		})
		// A unique index over two fields refuses the same pair only.
		e.mustCreateCollection(t, `{"name":"pairs","fields":[{"name":"a","type":"text"},{"name":"b","type":"number"}],
			"indexes":[{"name":"pairs_ab","fields":["a","b"],"unique":true}]}`)
		e.mustCreate(t, "pairs", map[string]any{"a": "x", "b": 1})
		pairs := "/api/collections/pairs/records"
		e.run(t, []scenario{
			{Name: "the same pair", Method: "POST", Path: pairs, Token: e.super, Body: `{"a":"x","b":1}`,
				Status: 409, Code: "conflict", Fields: errs{"a": "unique", "b": "unique"}, Unchanged: true},
			{Name: "another pair", Method: "POST", Path: pairs, Token: e.super, Body: `{"a":"x","b":2}`, Status: 201},
			{Name: "a pair with no value", Method: "POST", Path: pairs, Token: e.super, Body: `{"a":"x"}`, Status: 201},
			{Name: "the same pair with no value", Method: "POST", Path: pairs, Token: e.super, Body: `{"a":"x"}`, Status: 201},
		})
	})
}

// TestRecordRelations: a relation to a missing record answers 400 with
// not_found; deleting a referenced record follows onDelete.
func TestRecordRelations(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"parents","fields":[{"name":"name","type":"text"}]}`)
		for _, c := range []struct{ name, opts string }{
			{"cascades", `"onDelete":"cascade"`}, {"nulls", `"onDelete":"setNull"`}, {"restricts", `"onDelete":"restrict"`},
			{"multis", `"multiple":true`},
		} {
			e.mustCreateCollection(t, `{"name":"`+c.name+`","fields":[{"name":"label","type":"text"},
				{"name":"up","type":"relation","collection":"parents",`+c.opts+`}]}`)
		}
		p1 := str(e.mustCreate(t, "parents", map[string]any{"name": "p1"})["id"])
		p2 := str(e.mustCreate(t, "parents", map[string]any{"name": "p2"})["id"])
		p3 := str(e.mustCreate(t, "parents", map[string]any{"name": "p3"})["id"])
		const ghost = "zzzzzzzzzzzzzzz"
		e.run(t, []scenario{
			{Name: "relation to a missing record", Method: "POST", Path: "/api/collections/cascades/records", Token: e.super,
				Body: `{"up":"` + ghost + `"}`, Status: 400, Code: "validation_failed", Fields: errs{"up": "not_found"}, Unchanged: true},
			{Name: "multi relation with one missing record", Method: "POST", Path: "/api/collections/multis/records", Token: e.super,
				Body: `{"up":["` + p1 + `","` + ghost + `"]}`, Status: 400, Code: "validation_failed",
				Fields: errs{"up": "not_found"}, Unchanged: true},
			{Name: "relation that is not an id", Method: "POST", Path: "/api/collections/cascades/records", Token: e.super,
				Body: `{"up":"x' OR '1'='1"}`, Status: 400, Code: "validation_failed", Fields: errs{"up": "invalid_type"},
				Unchanged: true},
			{Name: "relation to a record of another collection", Method: "POST", Path: "/api/collections/cascades/records",
				Token: e.super, Body: `{"up":"` + e.superID + `"}`, Status: 400, Code: "validation_failed",
				Fields: errs{"up": "not_found"}, Unchanged: true},
		})
		kid := func(c, label string, parent any) string {
			return str(e.mustCreate(t, c, map[string]any{"label": label, "up": parent})["id"])
		}
		cascade := kid("cascades", "c", p1)
		other := kid("cascades", "other", p2)
		null := kid("nulls", "n", p1)
		nullBefore := e.do(t, call{Method: "GET", Path: "/api/collections/nulls/records/" + null, Token: e.super})
		multi := kid("multis", "m", []string{p1, p3})
		restrict := kid("restricts", "r", p2)

		if a := e.do(t, call{Method: "DELETE", Path: "/api/collections/parents/records/" + p1, Token: e.super}); a.Status != 204 {
			t.Fatalf("delete p1: %d %s", a.Status, a.Body)
		}
		if st := e.status(t, "GET", "/api/collections/cascades/records/"+cascade, e.super); st != 404 {
			t.Errorf("cascade: the child answers %d, want 404", st)
		}
		e.mustGet(t, "cascades", other)
		n := e.do(t, call{Method: "GET", Path: "/api/collections/nulls/records/" + null, Token: e.super})
		if got := n.JSON(t); got["up"] != nil || got["label"] != "n" {
			t.Errorf("setNull: %v", got)
		}
		if n.Header.Get("ETag") == nullBefore.Header.Get("ETag") {
			t.Errorf("setNull changed the record but not its ETag %s", n.Header.Get("ETag"))
		}
		if got := e.mustGet(t, "multis", multi); !reflect.DeepEqual(got["up"], []any{p3}) {
			t.Errorf("multi setNull: up = %v, want [%s]", got["up"], p3)
		}
		e.run(t, []scenario{
			{Name: "restrict", Method: "DELETE", Path: "/api/collections/parents/records/" + p2, Token: e.super,
				Status: 409, Code: "conflict", Unchanged: true},
		})
		if a := e.do(t, call{Method: "DELETE", Path: "/api/collections/restricts/records/" + restrict, Token: e.super}); a.Status != 204 {
			t.Fatalf("delete the restricting child: %d %s", a.Status, a.Body)
		}
		if a := e.do(t, call{Method: "DELETE", Path: "/api/collections/parents/records/" + p2, Token: e.super}); a.Status != 204 {
			t.Errorf("delete p2 once nothing restricts it: %d %s", a.Status, a.Body)
		}
		if st := e.status(t, "GET", "/api/collections/cascades/records/"+other, e.super); st != 404 {
			t.Errorf("cascade of p2: %d", st)
		}
	})
}

// TestDatesOutsideTheRange: a date that is valid in its offset but falls
// outside years 0001-9999 once in UTC must be refused with invalid_date (or
// stored and read back as RFC 3339); it must never make the record, or the
// list of its collection, unreadable.
func TestDatesOutsideTheRange(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		for i, d := range []string{"9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+01:00"} {
			name := fmt.Sprintf("events%d", i)
			e.mustCreateCollection(t, `{"name":"`+name+`","fields":[{"name":"at","type":"date"}],
				"rules":{"list":"","view":"","create":"","update":"","delete":""}}`)
			path := "/api/collections/" + name + "/records"
			a := e.do(t, call{Method: "POST", Path: path, Body: map[string]any{"at": d}})
			switch a.Status {
			case 400:
				checkErrorBody(t, a, "validation_failed", errs{"at": "invalid_date"})
			case 201:
				id := str(a.JSON(t)["id"])
				if g := e.do(t, call{Method: "GET", Path: path + "/" + id}); g.Status != 200 {
					t.Errorf("date %s was accepted, but the record reads as %d %s", d, g.Status, g.Body)
				} else if at := str(g.JSON(t)["at"]); !timeRe.MatchString(at) {
					t.Errorf("date %s was accepted, but reads back as %q, which is not RFC 3339", d, at)
				}
				if l := e.do(t, call{Method: "GET", Path: path}); l.Status != 200 {
					t.Errorf("date %s was accepted, but the list answers %d %s", d, l.Status, l.Body)
				}
			default:
				t.Errorf("date %s: %d %s", d, a.Status, a.Body)
			}
		}
	})
}

// TestMultiRelationFieldNames: onDelete works on a multi relation whatever
// its field is called, including names that are also the columns of
// SQLite's json_each (key, value, type, atom, id, parent, fullkey, path).
func TestMultiRelationFieldNames(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"parents","fields":[{"name":"name","type":"text"}]}`)
		for _, name := range []string{"parent", "value", "key"} {
			t.Run(name, func(t *testing.T) {
				for _, mode := range []string{"setNull", "cascade", "restrict"} {
					coll := name + "_" + strings.ToLower(mode)
					e.mustCreateCollection(t, `{"name":"`+coll+`","fields":[{"name":"`+name+
						`","type":"relation","collection":"parents","multiple":true,"onDelete":"`+mode+`"}]}`)
				}
				p1 := str(e.mustCreate(t, "parents", map[string]any{"name": "p1"})["id"])
				p2 := str(e.mustCreate(t, "parents", map[string]any{"name": "p2"})["id"])
				n := str(e.mustCreate(t, name+"_setnull", map[string]any{name: []string{p1, p2}})["id"])
				c := str(e.mustCreate(t, name+"_cascade", map[string]any{name: []string{p1}})["id"])
				r := str(e.mustCreate(t, name+"_restrict", map[string]any{name: []string{p2}})["id"])
				e.run(t, []scenario{{Name: "restrict", Method: "DELETE", Path: "/api/collections/parents/records/" + p2,
					Token: e.super, Status: 409, Code: "conflict", Unchanged: true}})
				if a := e.do(t, call{Method: "DELETE", Path: "/api/collections/parents/records/" + p1, Token: e.super}); a.Status != 204 {
					t.Fatalf("delete p1: %d %s", a.Status, a.Body)
				}
				if got := e.mustGet(t, name+"_setnull", n); !reflect.DeepEqual(got[name], []any{p2}) {
					t.Errorf("setNull: %s = %v, want [%s]", name, got[name], p2)
				}
				if st := e.status(t, "GET", "/api/collections/"+name+"_cascade/records/"+c, e.super); st != 404 {
					t.Errorf("cascade: the child answers %d, want 404", st)
				}
				e.mustGet(t, name+"_restrict", r)
			})
		}
	})
}

// TestHooksOverHTTP: a hook that rejects with a *loam.Error becomes that
// JSON error; any other error becomes a 500 that does not leak its cause;
// neither writes anything.
func TestHooksOverHTTP(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.setupPosts(t)
		e.app.OnRecordCreate("posts").Bind(func(ev *hookEvent) error {
			switch ev.Record.Get("title") {
			case "reject":
				return rejectErr()
			case "crash":
				return fmt.Errorf("database password is hunter2")
			case "rewrite":
				ev.Record.Set("slug", "taken")
			}
			return ev.Next()
		})
		e.mustCreate(t, "posts", map[string]any{"title": "first", "slug": "taken"})
		list := "/api/collections/posts/records"
		e.run(t, []scenario{
			{Name: "a hook rejects", Method: "POST", Path: list, Token: e.super, Body: `{"title":"reject"}`,
				Status: 400, Code: "validation_failed", Fields: errs{"title": "invalid_choice"}, Unchanged: true},
			{Name: "a hook fails", Method: "POST", Path: list, Token: e.super, Body: `{"title":"crash"}`,
				Status: 500, Code: "internal", Absent: []string{"hunter2"}, Unchanged: true},
			{Name: "a hook's change is still checked", Method: "POST", Path: list, Token: e.super, Body: `{"title":"rewrite"}`,
				Status: 409, Code: "conflict", Fields: errs{"slug": "unique"}, Unchanged: true},
			{Name: "other records pass", Method: "POST", Path: list, Token: e.super, Body: `{"title":"fine"}`, Status: 201},
		})
	})
}

type hookEvent = loam.RecordEvent

func rejectErr() error {
	return &loam.Error{Code: loam.CodeValidationFailed, Message: "rejected by a hook",
		Fields: map[string]loam.FieldError{"title": {Code: loam.FieldInvalidChoice, Message: "not this title"}}}
}

// TestListETag: a list answer carries an ETag that changes with its content,
// and If-None-Match with the current one answers 304.
func TestListETag(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"notes","fields":[{"name":"n","type":"number"}],"rules":{"list":"","view":"","create":""}}`)
		e.mustCreate(t, "notes", map[string]any{"n": 1})
		first := e.do(t, call{Method: "GET", Path: "/api/collections/notes/records"})
		tag := first.Header.Get("ETag")
		if first.Status != http.StatusOK || tag == "" {
			t.Fatalf("list: %d, ETag %q", first.Status, tag)
		}
		same := e.do(t, call{Method: "GET", Path: "/api/collections/notes/records", Headers: map[string]string{"If-None-Match": tag}})
		if same.Status != http.StatusNotModified || len(same.Body) != 0 {
			t.Fatalf("If-None-Match with the current tag: %d %q", same.Status, same.Body)
		}
		e.mustCreate(t, "notes", map[string]any{"n": 2})
		changed := e.do(t, call{Method: "GET", Path: "/api/collections/notes/records", Headers: map[string]string{"If-None-Match": tag}})
		if changed.Status != http.StatusOK || changed.Header.Get("ETag") == tag {
			t.Fatalf("after a create: %d, ETag %q (was %q)", changed.Status, changed.Header.Get("ETag"), tag)
		}
	})
}
