package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// allTypesAuthors and allTypesPosts are collections with every field type.
const allTypesAuthors = `{"name":"authors","fields":[{"name":"name","type":"text","required":true}],
 "rules":{"list":"","view":"","create":null,"update":null,"delete":null}}`

const allTypesPosts = `{"name":"posts","type":"base","fields":[
 {"name":"title","type":"text","required":true,"min":1,"max":20,"pattern":"^[^!]*$"},
 {"name":"slug","type":"text","unique":true},
 {"name":"views","type":"number","integer":true,"min":0},
 {"name":"score","type":"number"},
 {"name":"published","type":"bool"},
 {"name":"contact","type":"email"},
 {"name":"site","type":"url"},
 {"name":"due","type":"date"},
 {"name":"status","type":"select","values":["draft","live"],"default":"draft"},
 {"name":"tags","type":"select","values":["a","b","c"],"multiple":true,"max":2},
 {"name":"meta","type":"json"},
 {"name":"author","type":"relation","collection":"authors","onDelete":"cascade"},
 {"name":"readers","type":"relation","collection":"authors","multiple":true},
 {"name":"secret","type":"text","hidden":true},
 {"name":"createdAt","type":"autodate","onCreate":true},
 {"name":"updatedAt","type":"autodate","onCreate":true,"onUpdate":true}],
 "indexes":[{"name":"posts_views","fields":["views"]}],
 "rules":{"list":"","view":"","create":"","update":"","delete":""}}`

// TestCollectionsNeedSuperuser: every collections route answers 401 without
// a token and with a bad one, and changes nothing.
func TestCollectionsNeedSuperuser(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"posts","fields":[{"name":"title","type":"text"}]}`)
		def := `{"name":"other","fields":[{"name":"title","type":"text"}]}`
		var sc []scenario
		for _, tok := range []struct{ name, token string }{{"no token", ""}, {"bad token", "not-a-real-token"}} {
			sc = append(sc,
				scenario{Name: tok.name + " list", Method: "GET", Path: "/api/collections", Token: tok.token,
					Status: 401, Code: "unauthenticated", Absent: []string{"_superusers"}},
				scenario{Name: tok.name + " create", Method: "POST", Path: "/api/collections", Token: tok.token, Body: def,
					Status: 401, Code: "unauthenticated", Unchanged: true},
				scenario{Name: tok.name + " get", Method: "GET", Path: "/api/collections/posts", Token: tok.token,
					Status: 401, Code: "unauthenticated", Absent: []string{"title"}},
				scenario{Name: tok.name + " patch", Method: "PATCH", Path: "/api/collections/posts", Token: tok.token,
					Body: `{"name":"renamed"}`, Status: 401, Code: "unauthenticated", Unchanged: true},
				scenario{Name: tok.name + " delete", Method: "DELETE", Path: "/api/collections/posts", Token: tok.token,
					Status: 401, Code: "unauthenticated", Unchanged: true},
			)
		}
		sc = append(sc,
			scenario{Name: "not a bearer token", Method: "GET", Path: "/api/collections",
				Headers: map[string]string{"Authorization": "Basic cm9vdDpyb290"}, Status: 401, Code: "unauthenticated"},
			scenario{Name: "bad token on a write", Method: "DELETE", Path: "/api/collections/posts",
				Headers: map[string]string{"Authorization": "Bearer " + e.super + "x"}, Status: 401, Code: "unauthenticated", Unchanged: true},
		)
		e.run(t, sc)
	})
}

// TestCollectionsCRUD creates a collection with every field type, reads,
// lists, changes and deletes collections as a superuser.
func TestCollectionsCRUD(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		authors := e.mustCreateCollection(t, allTypesAuthors)
		if f := field(authors, "name"); f == nil || f["required"] != true {
			t.Errorf("authors: %v", authors)
		}
		posts := e.mustCreateCollection(t, allTypesPosts)
		if id := str(posts["id"]); len(id) != 15 {
			t.Errorf("collection id %q, want 15 characters", id)
		}
		if posts["name"] != "posts" || posts["type"] != "base" {
			t.Errorf("created collection: %v", posts)
		}
		wantTypes := map[string]string{"title": "text", "slug": "text", "views": "number", "score": "number",
			"published": "bool", "contact": "email", "site": "url", "due": "date", "status": "select", "tags": "select",
			"meta": "json", "author": "relation", "readers": "relation", "secret": "text", "createdAt": "autodate",
			"updatedAt": "autodate"}
		if got := fieldNames(t, posts); len(got) != len(wantTypes) {
			t.Errorf("fields %v, want %d", got, len(wantTypes))
		}
		ids := map[string]bool{}
		for name, typ := range wantTypes {
			f := field(posts, name)
			if f == nil {
				t.Errorf("no field %q in %v", name, fieldNames(t, posts))
				continue
			}
			if f["type"] != typ {
				t.Errorf("field %s type %v, want %s", name, f["type"], typ)
			}
			if id := str(f["id"]); len(id) != 15 || ids[id] {
				t.Errorf("field %s id %q: want a distinct 15-character id", name, id)
			} else {
				ids[id] = true
			}
		}
		if f := field(posts, "readers"); f["onDelete"] != "setNull" || f["multiple"] != true {
			t.Errorf("readers relation: %v (onDelete defaults to setNull)", f)
		}
		if f := field(posts, "secret"); f["hidden"] != true {
			t.Errorf("secret: %v", f)
		}
		rules, _ := posts["rules"].(map[string]any)
		if len(rules) != 5 || rules["list"] != "" {
			t.Errorf("rules %v", rules)
		}
		if _, ok := posts["auth"]; ok {
			t.Errorf("a base collection has auth options: %v", posts["auth"])
		}

		e.run(t, []scenario{
			{Name: "get", Method: "GET", Path: "/api/collections/posts", Token: e.super, Status: 200,
				Check: func(t *testing.T, a *answer) {
					got := a.JSON(t)
					if got["id"] != posts["id"] || !slices.Equal(fieldNames(t, got), fieldNames(t, posts)) {
						t.Errorf("get: %s", a.Body)
					}
				}},
			{Name: "list", Method: "GET", Path: "/api/collections", Token: e.super, Status: 200,
				Check: func(t *testing.T, a *answer) {
					var names []string
					for _, c := range items(t, a.JSON(t)) {
						names = append(names, str(c["name"]))
						if _, ok := c["indexes"].([]any); !ok {
							t.Errorf("%s: indexes %v, want a list", c["name"], c["indexes"])
						}
					}
					if !slices.Equal(names, []string{"_superusers", "authors", "posts"}) {
						t.Errorf("collections %v", names)
					}
				}},
			{Name: "get unknown", Method: "GET", Path: "/api/collections/nope", Token: e.super, Status: 404, Code: "not_found"},
			{Name: "patch unknown", Method: "PATCH", Path: "/api/collections/nope", Token: e.super, Body: `{"rules":{}}`,
				Status: 404, Code: "not_found", Unchanged: true},
			{Name: "delete unknown", Method: "DELETE", Path: "/api/collections/nope", Token: e.super, Status: 404,
				Code: "not_found", Unchanged: true},
			{Name: "create twice", Method: "POST", Path: "/api/collections", Token: e.super, Body: allTypesAuthors,
				Status: 409, Code: "conflict", Fields: errs{"name": "unique"}, Unchanged: true},
			{Name: "create a name differing in case", Method: "POST", Path: "/api/collections", Token: e.super,
				Body:   strings.Replace(allTypesAuthors, `"authors"`, `"Authors"`, 1),
				Status: 409, Code: "conflict", Fields: errs{"name": "unique"}, Unchanged: true},
			{Name: "patch rules", Method: "PATCH", Path: "/api/collections/authors", Token: e.super,
				Body: `{"rules":{"create":""}}`, Status: 200, Check: func(t *testing.T, a *answer) {
					r := a.JSON(t)["rules"].(map[string]any)
					if r["create"] != "" || r["update"] != nil || r["list"] != "" {
						t.Errorf("rules after patch: %v", r)
					}
				}},
			{Name: "anonymous may now create authors", Method: "POST", Path: "/api/collections/authors/records",
				Body: `{"name":"anon"}`, Status: 201},
			{Name: "rename to a taken name", Method: "PATCH", Path: "/api/collections/authors", Token: e.super,
				Body: `{"name":"posts"}`, Status: 409, Code: "conflict", Fields: errs{"name": "unique"}, Unchanged: true},
			{Name: "patch the type of a collection", Method: "PATCH", Path: "/api/collections/authors", Token: e.super,
				Body: `{"type":"auth"}`, Status: 400, Code: "invalid_schema", Fields: errs{"type": "*"}, Unchanged: true},
			{Name: "patch with an unknown key", Method: "PATCH", Path: "/api/collections/authors", Token: e.super,
				Body: `{"colour":"red"}`, Status: 400, Code: "invalid_schema", Fields: errs{"colour": "unknown_field"}, Unchanged: true},
			{Name: "create with an unknown key", Method: "POST", Path: "/api/collections", Token: e.super,
				Body: `{"name":"x","colour":"red"}`, Status: 400, Code: "invalid_schema", Unchanged: true},
			{Name: "a rule that does not parse", Method: "POST", Path: "/api/collections", Token: e.super,
				Body: `{"name":"x","rules":{"list":"@request.auth.id !="}}`, Status: 400, Code: "invalid_schema",
				Fields: errs{"rules.list": "invalid"}, Contains: []string{"at character 20"}, Unchanged: true},
			{Name: "a rule naming an unknown field", Method: "POST", Path: "/api/collections", Token: e.super,
				Body: `{"name":"x","fields":[{"name":"a","type":"text"}],"rules":{"view":"b = 1","delete":"a = 1"}}`, Status: 400,
				Code: "invalid_schema", Fields: errs{"rules.view": "invalid", "rules.delete": "invalid"}, Unchanged: true},
			{Name: "a rule breaking on patch", Method: "PATCH", Path: "/api/collections/authors", Token: e.super,
				Body: `{"rules":{"list":"name ~ 1"}}`, Status: 400, Code: "invalid_schema", Fields: errs{"rules.list": "invalid"}, Unchanged: true},
			{Name: "a password field in a base collection", Method: "POST", Path: "/api/collections", Token: e.super,
				Body: `{"name":"x","fields":[{"name":"pw","type":"password"}]}`, Status: 400, Code: "invalid_schema",
				Fields: errs{"fields.0": "*"}, Unchanged: true},
			{Name: "an unknown field type", Method: "POST", Path: "/api/collections", Token: e.super,
				Body: `{"name":"x","fields":[{"name":"f","type":"blob"}]}`, Status: 400, Code: "invalid_schema",
				Fields: errs{"fields.0": "*"}, Unchanged: true},
			{Name: "a select without values", Method: "POST", Path: "/api/collections", Token: e.super,
				Body: `{"name":"x","fields":[{"name":"f","type":"select"}]}`, Status: 400, Code: "invalid_schema",
				Fields: errs{"fields.0": "*"}, Unchanged: true},
			{Name: "an invalid pattern", Method: "POST", Path: "/api/collections", Token: e.super,
				Body: `{"name":"x","fields":[{"name":"f","type":"text","pattern":"("}]}`, Status: 400, Code: "invalid_schema",
				Fields: errs{"fields.0": "*"}, Unchanged: true},
			{Name: "an index over an unknown field", Method: "POST", Path: "/api/collections", Token: e.super,
				Body:   `{"name":"x","fields":[{"name":"f","type":"text"}],"indexes":[{"name":"ix","fields":["g"]}]}`,
				Status: 400, Code: "invalid_schema", Fields: errs{"indexes.0.fields": "*"}, Unchanged: true},
			{Name: "a default of the wrong type", Method: "POST", Path: "/api/collections", Token: e.super,
				Body: `{"name":"x","fields":[{"name":"n","type":"number","default":"ten"}]}`, Status: 400, Code: "invalid_schema",
				Fields: errs{"fields.0": "*"}, Unchanged: true},
			{Name: "the superusers collection cannot change", Method: "PATCH", Path: "/api/collections/_superusers",
				Token: e.super, Body: `{"rules":{"list":""}}`, Status: 400, Code: "invalid_schema", Unchanged: true},
			{Name: "the superusers collection cannot be deleted", Method: "DELETE", Path: "/api/collections/_superusers",
				Token: e.super, Status: 400, Code: "invalid_schema", Unchanged: true},
			{Name: "delete authors, which posts reference", Method: "DELETE", Path: "/api/collections/authors",
				Token: e.super, Status: 409, Code: "conflict", Unchanged: true},
			{Name: "delete posts", Method: "DELETE", Path: "/api/collections/posts", Token: e.super, Status: 204,
				Check: func(t *testing.T, a *answer) {
					if len(a.Body) != 0 {
						t.Errorf("204 with a body: %s", a.Body)
					}
				}},
			{Name: "posts is gone", Method: "GET", Path: "/api/collections/posts", Token: e.super, Status: 404, Code: "not_found"},
			{Name: "its records route is gone", Method: "GET", Path: "/api/collections/posts/records", Token: e.super,
				Status: 404, Code: "not_found"},
			{Name: "authors can go now", Method: "DELETE", Path: "/api/collections/authors", Token: e.super, Status: 204},
			{Name: "a collection can be made again under a deleted name", Method: "POST", Path: "/api/collections",
				Token: e.super, Body: allTypesAuthors, Status: 201},
		})
	})
}

// TestCollectionNames: invalid collection, field and index names are
// refused with 400 invalid_schema and create nothing; names reach SQL only
// quoted, so none of them can change the database.
func TestCollectionNames(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"posts","fields":[{"name":"title","type":"text"}]}`)
		e.mustCreate(t, "posts", map[string]any{"title": "keep me"})
		long := strings.Repeat("a", 64)
		var sc []scenario
		for _, name := range []string{long, "1abc", "a-b", `x"; DROP TABLE posts; --`, "posts; DROP TABLE posts", "_x",
			"", "a b", "ünïcode", "collections", "health", "sqlite_master"} {
			body, _ := json.Marshal(map[string]any{"name": name, "fields": []any{map[string]any{"name": "f", "type": "text"}}})
			sc = append(sc, scenario{Name: "collection " + name, Method: "POST", Path: "/api/collections", Token: e.super,
				Body: body, Status: 400, Code: "invalid_schema", Fields: errs{"name": "*"}, Unchanged: true})
		}
		for _, name := range []string{long, "1abc", "a-b", `title"; DROP TABLE posts; --`, "_x", "", "id", "created",
			"updated", "collectionName", "expand", "rowid", "oid", "select"} {
			body, _ := json.Marshal(map[string]any{"name": "other", "fields": []any{map[string]any{"name": name, "type": "text"}}})
			sc = append(sc, scenario{Name: "field " + name, Method: "POST", Path: "/api/collections", Token: e.super,
				Body: body, Status: 400, Code: "invalid_schema", Fields: errs{"fields.0.name": "*"}, Unchanged: true})
		}
		for _, name := range []string{"a-b", `ix"; DROP TABLE posts; --`, "_ix", long} {
			body, _ := json.Marshal(map[string]any{"name": "other", "fields": []any{map[string]any{"name": "f", "type": "text"}},
				"indexes": []any{map[string]any{"name": name, "fields": []string{"f"}}}})
			sc = append(sc, scenario{Name: "index " + name, Method: "POST", Path: "/api/collections", Token: e.super,
				Body: body, Status: 400, Code: "invalid_schema", Fields: errs{"indexes.0.name": "*"}, Unchanged: true})
		}
		sc = append(sc,
			scenario{Name: "two fields differing in case", Method: "POST", Path: "/api/collections", Token: e.super,
				Body:   `{"name":"other","fields":[{"name":"Title","type":"text"},{"name":"title","type":"text"}]}`,
				Status: 400, Code: "invalid_schema", Fields: errs{"fields.1.name": "*"}, Unchanged: true},
			scenario{Name: "rename to an invalid name", Method: "PATCH", Path: "/api/collections/posts", Token: e.super,
				Body: `{"name":"x\"; DROP TABLE posts; --"}`, Status: 400, Code: "invalid_schema", Fields: errs{"name": "*"},
				Unchanged: true},
			scenario{Name: "rename to a reserved name", Method: "PATCH", Path: "/api/collections/posts", Token: e.super,
				Body: `{"name":"_posts"}`, Status: 400, Code: "invalid_schema", Fields: errs{"name": "*"}, Unchanged: true},
			scenario{Name: "a SQL-like name in the path", Method: "GET",
				Path: "/api/collections/posts%22%3B%20DROP%20TABLE%20posts%3B%20--", Token: e.super,
				Status: 404, Code: "not_found", Unchanged: true},
			scenario{Name: "delete through a SQL-like name in the path", Method: "DELETE",
				Path: "/api/collections/posts%22%3B%20DROP%20TABLE%20posts%3B%20--", Token: e.super,
				Status: 404, Code: "not_found", Unchanged: true},
		)
		e.run(t, sc)

		// 63 characters is the longest name, for collections and fields alike.
		name63, field63 := "c"+strings.Repeat("x", 62), "f"+strings.Repeat("y", 62)
		def, _ := json.Marshal(map[string]any{"name": name63, "fields": []any{
			map[string]any{"name": field63, "type": "text", "unique": true}}})
		e.mustCreateCollection(t, string(def))
		rec := e.mustCreate(t, name63, map[string]any{field63: "v"})
		if got := e.mustGet(t, name63, str(rec["id"])); got[field63] != "v" {
			t.Errorf("63-character names: %v", got)
		}
		if got := e.mustGet(t, "posts", e.listIDs(t, "posts", "")[0]); got["title"] != "keep me" {
			t.Errorf("posts after the name attempts: %v", got)
		}
	})
}

// TestCollectionNamesReservedByADatabase: a name that one of the databases
// reserves is either refused with 400 invalid_schema, or accepted into a
// collection that works; never a 500, never a collection that cannot be read.
// SQLite reserves table names starting with sqlite_; PostgreSQL resolves
// pg_catalog names (pg_user, pg_class, pg_tables) before the public schema
// and reserves the system column names ctid, xmin, xmax, cmin, cmax, tableoid.
func TestCollectionNamesReservedByADatabase(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		type tc struct{ collection, field string }
		var cases []tc
		for _, n := range []string{"sqlite_x", "sqlite_stat1", "pg_user", "pg_class", "pg_tables"} {
			cases = append(cases, tc{n, "f"})
		}
		for _, n := range []string{"xmin", "xmax", "cmin", "cmax", "ctid", "tableoid"} {
			cases = append(cases, tc{"other_" + n, n})
		}
		for _, c := range cases {
			body, _ := json.Marshal(map[string]any{"name": c.collection, "fields": []any{map[string]any{"name": c.field, "type": "text"}},
				"rules": map[string]any{"list": "", "create": ""}})
			a := e.do(t, call{Method: "POST", Path: "/api/collections", Token: e.super, Body: body})
			switch a.Status {
			case 400:
				if code := str(a.JSON(t)["code"]); code != "invalid_schema" {
					t.Errorf("%s.%s: 400 %s, want invalid_schema", c.collection, c.field, code)
				}
			case 201:
				path := "/api/collections/" + c.collection + "/records"
				if a := e.do(t, call{Method: "POST", Path: path, Body: map[string]any{c.field: "v"}}); a.Status != 201 {
					t.Errorf("%s.%s was accepted, but creating a record answers %d %s", c.collection, c.field, a.Status, a.Body)
				}
				if a := e.do(t, call{Method: "GET", Path: path}); a.Status != 200 {
					t.Errorf("%s.%s was accepted, but listing answers %d %s", c.collection, c.field, a.Status, a.Body)
				}
			default:
				t.Errorf("%s.%s: %d %s, want 400 invalid_schema (or a working collection)", c.collection, c.field, a.Status, a.Body)
			}
		}
	})
}

// patchFields sends PATCH with the given fields list.
func (e *env) patchFields(t *testing.T, collection string, fields []map[string]any) *answer {
	t.Helper()
	return e.do(t, call{Method: "PATCH", Path: "/api/collections/" + collection, Token: e.super,
		Body: map[string]any{"fields": fields}})
}

// fieldsOf returns a collection's fields as editable maps.
func (e *env) fieldsOf(t *testing.T, collection string) []map[string]any {
	t.Helper()
	a := e.do(t, call{Method: "GET", Path: "/api/collections/" + collection, Token: e.super})
	if a.Status != http.StatusOK {
		t.Fatalf("get collection %s: %d %s", collection, a.Status, a.Body)
	}
	var out []map[string]any
	for _, f := range a.JSON(t)["fields"].([]any) {
		out = append(out, f.(map[string]any))
	}
	return out
}

func findField(fields []map[string]any, name string) map[string]any {
	for _, f := range fields {
		if f["name"] == name {
			return f
		}
	}
	return nil
}

func without(fields []map[string]any, name string) []map[string]any {
	var out []map[string]any
	for _, f := range fields {
		if f["name"] != name {
			out = append(out, f)
		}
	}
	return out
}

// TestCollectionPatch: PATCH fields is the whole new list matched by id;
// changes keep the data; changes that existing rows violate are refused with
// 409 naming the field, and nothing changes.
func TestCollectionPatch(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"posts","fields":[
			{"name":"title","type":"text"},{"name":"slug","type":"text"},{"name":"summary","type":"text"},
			{"name":"views","type":"number","integer":true},{"name":"gone","type":"text"}],
			"rules":{"list":"","view":"","create":"","update":"","delete":""}}`)
		p1 := e.mustCreate(t, "posts", map[string]any{"title": "one", "slug": "same", "summary": "s", "views": 1, "gone": "g1"})
		p2 := e.mustCreate(t, "posts", map[string]any{"title": "two", "slug": "same", "views": 2, "gone": "g2"})
		id1, id2 := str(p1["id"]), str(p2["id"])

		t.Run("rename a field keeps its data", func(t *testing.T) {
			fs := e.fieldsOf(t, "posts")
			findField(fs, "title")["name"] = "headline"
			if a := e.patchFields(t, "posts", fs); a.Status != 200 {
				t.Fatalf("rename: %d %s", a.Status, a.Body)
			}
			got := e.mustGet(t, "posts", id1)
			if got["headline"] != "one" {
				t.Errorf("after rename: %v", got)
			}
			if _, ok := got["title"]; ok {
				t.Errorf("the old name is still answered: %v", got)
			}
			if got["views"] != json.Number("1") || got["gone"] != "g1" || got["slug"] != "same" {
				t.Errorf("other fields after rename: %v", got)
			}
		})
		t.Run("add a field", func(t *testing.T) {
			fs := append(e.fieldsOf(t, "posts"), map[string]any{"name": "rating", "type": "number", "default": 3})
			a := e.patchFields(t, "posts", fs)
			if a.Status != 200 {
				t.Fatalf("add: %d %s", a.Status, a.Body)
			}
			if f := field(a.JSON(t), "rating"); f == nil || len(str(f["id"])) != 15 {
				t.Errorf("added field: %v", f)
			}
			got := e.mustGet(t, "posts", id2)
			if got["rating"] != json.Number("3") || got["headline"] != "two" {
				t.Errorf("after add (existing rows get the default): %v", got)
			}
		})
		t.Run("drop a field drops its data", func(t *testing.T) {
			if a := e.patchFields(t, "posts", without(e.fieldsOf(t, "posts"), "gone")); a.Status != 200 {
				t.Fatalf("drop: %d %s", a.Status, a.Body)
			}
			got := e.mustGet(t, "posts", id1)
			if _, ok := got["gone"]; ok || got["headline"] != "one" {
				t.Errorf("after drop: %v", got)
			}
			a := e.do(t, call{Method: "PATCH", Path: "/api/collections/posts/records/" + id1, Token: e.super,
				Body: `{"gone":"back"}`})
			if a.Status != 400 || str(a.JSON(t)["code"]) != "unknown_field" {
				t.Errorf("writing a dropped field: %d %s", a.Status, a.Body)
			}
			// A new field under the old name starts empty.
			fs := append(e.fieldsOf(t, "posts"), map[string]any{"name": "gone", "type": "text"})
			if a := e.patchFields(t, "posts", fs); a.Status != 200 {
				t.Fatalf("re-add: %d %s", a.Status, a.Body)
			}
			if got := e.mustGet(t, "posts", id1); got["gone"] != nil {
				t.Errorf("a re-added field kept the dropped data: %v", got["gone"])
			}
		})

		fs := e.fieldsOf(t, "posts")
		with := func(name string, change func(f map[string]any)) []map[string]any {
			out := make([]map[string]any, len(fs))
			for i, f := range fs {
				c := map[string]any{}
				for k, v := range f {
					c[k] = v
				}
				if c["name"] == name {
					change(c)
				}
				out[i] = c
			}
			return out
		}
		idx := func(name string) string {
			for i, f := range fs {
				if f["name"] == name {
					return fmt.Sprintf("fields.%d", i)
				}
			}
			t.Fatalf("no field %s", name)
			return ""
		}
		uniqueSlug := with("slug", func(f map[string]any) { f["unique"] = true })
		e.run(t, []scenario{
			{Name: "unique over duplicates", Method: "PATCH", Path: "/api/collections/posts", Token: e.super,
				Body: map[string]any{"fields": uniqueSlug}, Status: 409, Code: "conflict", Fields: errs{"slug": "unique"},
				Unchanged: true},
			{Name: "a unique index over duplicates", Method: "PATCH", Path: "/api/collections/posts", Token: e.super,
				Body:   map[string]any{"indexes": []any{map[string]any{"name": "slug_u", "fields": []string{"slug"}, "unique": true}}},
				Status: 409, Code: "conflict", Fields: errs{"slug": "unique"}, Unchanged: true},
			{Name: "required over empty values", Method: "PATCH", Path: "/api/collections/posts", Token: e.super,
				Body:   map[string]any{"fields": with("summary", func(f map[string]any) { f["required"] = true })},
				Status: 409, Code: "conflict", Fields: errs{"summary": "required"}, Unchanged: true},
			{Name: "a new required field without a default", Method: "PATCH", Path: "/api/collections/posts", Token: e.super,
				Body:   map[string]any{"fields": append(with("", nil), map[string]any{"name": "body", "type": "text", "required": true})},
				Status: 409, Code: "conflict", Fields: errs{"body": "required"}, Unchanged: true},
			{Name: "a new unique field whose default repeats over existing rows", Method: "PATCH", Path: "/api/collections/posts",
				Token:  e.super,
				Body:   map[string]any{"fields": append(with("", nil), map[string]any{"name": "code", "type": "text", "unique": true, "default": "x"})},
				Status: 409, Code: "conflict", Fields: errs{"code": "unique"}, Unchanged: true},
			{Name: "a good change and a bad one together change nothing", Method: "PATCH", Path: "/api/collections/posts",
				Token: e.super,
				Body: map[string]any{"fields": append(with("slug", func(f map[string]any) { f["unique"] = true }),
					map[string]any{"name": "extra", "type": "text", "unique": true}),
					"rules": map[string]any{"list": nil}},
				Status: 409, Code: "conflict", Fields: errs{"slug": "unique"}, Unchanged: true},
			{Name: "change a field's type", Method: "PATCH", Path: "/api/collections/posts", Token: e.super,
				Body:   map[string]any{"fields": with("summary", func(f map[string]any) { f["type"] = "number" })},
				Status: 400, Code: "invalid_schema", Fields: errs{idx("summary"): "*"}, Unchanged: true},
			{Name: "make a number an integer", Method: "PATCH", Path: "/api/collections/posts", Token: e.super,
				Body:   map[string]any{"fields": with("rating", func(f map[string]any) { f["integer"] = true })},
				Status: 400, Code: "invalid_schema", Fields: errs{idx("rating"): "*"}, Unchanged: true},
			{Name: "rename a field to an invalid name", Method: "PATCH", Path: "/api/collections/posts", Token: e.super,
				Body:   map[string]any{"fields": with("summary", func(f map[string]any) { f["name"] = `s"; DROP TABLE posts; --` })},
				Status: 400, Code: "invalid_schema", Fields: errs{idx("summary") + ".name": "*"}, Unchanged: true},
			{Name: "fields that are not a list", Method: "PATCH", Path: "/api/collections/posts", Token: e.super,
				Body: `{"fields":{"name":"x"}}`, Status: 400, Code: "invalid_schema", Fields: errs{"fields": "*"}, Unchanged: true},
		})

		// Once the duplicates are gone, the same change succeeds and is enforced.
		if a := e.do(t, call{Method: "PATCH", Path: "/api/collections/posts/records/" + id2, Token: e.super,
			Body: `{"slug":"other"}`}); a.Status != 200 {
			t.Fatalf("fix duplicate: %d %s", a.Status, a.Body)
		}
		if a := e.patchFields(t, "posts", uniqueSlug); a.Status != 200 {
			t.Fatalf("unique slug: %d %s", a.Status, a.Body)
		}
		e.run(t, []scenario{{Name: "the new unique field is enforced", Method: "POST", Path: "/api/collections/posts/records",
			Token: e.super, Body: `{"slug":"same"}`, Status: 409, Code: "conflict", Fields: errs{"slug": "unique"}, Unchanged: true}})
	})
}

// TestCollectionRelations: relation targets must exist; a referenced
// collection cannot be deleted; renaming and rebuilding keep relations.
func TestCollectionRelations(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"posts","fields":[{"name":"title","type":"text"}]}`)
		e.mustCreateCollection(t, `{"name":"comments","fields":[{"name":"body","type":"text"},
			{"name":"post","type":"relation","collection":"posts","onDelete":"cascade"}]}`)
		e.run(t, []scenario{
			{Name: "relation to a missing collection", Method: "POST", Path: "/api/collections", Token: e.super,
				Body:   `{"name":"likes","fields":[{"name":"post","type":"relation","collection":"ghosts"}]}`,
				Status: 400, Code: "invalid_schema", Fields: errs{"fields.0.collection": "not_found"}, Unchanged: true},
			{Name: "relation without a target", Method: "POST", Path: "/api/collections", Token: e.super,
				Body:   `{"name":"likes","fields":[{"name":"post","type":"relation"}]}`,
				Status: 400, Code: "invalid_schema", Fields: errs{"fields.0": "*"}, Unchanged: true},
			{Name: "relation with an unknown onDelete", Method: "POST", Path: "/api/collections", Token: e.super,
				Body:   `{"name":"likes","fields":[{"name":"post","type":"relation","collection":"posts","onDelete":"explode"}]}`,
				Status: 400, Code: "invalid_schema", Fields: errs{"fields.0": "*"}, Unchanged: true},
			{Name: "delete a referenced collection", Method: "DELETE", Path: "/api/collections/posts", Token: e.super,
				Status: 409, Code: "conflict", Unchanged: true},
			{Name: "a self relation", Method: "POST", Path: "/api/collections", Token: e.super,
				Body:   `{"name":"nodes","fields":[{"name":"parent","type":"relation","collection":"nodes","onDelete":"cascade"}]}`,
				Status: 201},
			{Name: "a collection related to itself can be deleted", Method: "DELETE", Path: "/api/collections/nodes",
				Token: e.super, Status: 204},
		})

		post := e.mustCreate(t, "posts", map[string]any{"title": "p"})
		pid := str(post["id"])
		for range 3 {
			e.mustCreate(t, "comments", map[string]any{"body": "c", "post": pid})
		}
		// Changing the referenced table (SQLite rebuilds it) must not fire the cascade.
		fs := e.fieldsOf(t, "posts")
		findField(fs, "title")["name"] = "headline"
		fs = append(fs, map[string]any{"name": "body", "type": "text", "required": true, "default": "-"})
		if a := e.patchFields(t, "posts", fs); a.Status != 200 {
			t.Fatalf("patch posts: %d %s", a.Status, a.Body)
		}
		if n := e.count(t, "comments"); n != 3 {
			t.Fatalf("changing posts removed comments: %d left, want 3", n)
		}
		// Changing the referencing table keeps its links.
		cfs := e.fieldsOf(t, "comments")
		findField(cfs, "body")["name"] = "text"
		if a := e.patchFields(t, "comments", cfs); a.Status != 200 {
			t.Fatalf("patch comments: %d %s", a.Status, a.Body)
		}
		// Renaming the target collection follows in the relation.
		a := e.do(t, call{Method: "PATCH", Path: "/api/collections/posts", Token: e.super, Body: `{"name":"articles"}`})
		if a.Status != 200 || a.JSON(t)["name"] != "articles" {
			t.Fatalf("rename posts: %d %s", a.Status, a.Body)
		}
		if st := e.status(t, "GET", "/api/collections/posts", e.super); st != 404 {
			t.Errorf("old name still answers: %d", st)
		}
		c := e.do(t, call{Method: "GET", Path: "/api/collections/comments", Token: e.super}).JSON(t)
		if f := field(c, "post"); f["collection"] != "articles" {
			t.Errorf("relation after rename: %v", f)
		}
		if got := e.mustGet(t, "articles", pid); got["headline"] != "p" || got["body"] != "-" {
			t.Errorf("renamed collection's record: %v", got)
		}
		if n := e.count(t, "comments"); n != 3 {
			t.Fatalf("renaming posts removed comments: %d left", n)
		}
		// The cascade still works after all that.
		if a := e.do(t, call{Method: "DELETE", Path: "/api/collections/articles/records/" + pid, Token: e.super}); a.Status != 204 {
			t.Fatalf("delete post: %d %s", a.Status, a.Body)
		}
		if n := e.count(t, "comments"); n != 0 {
			t.Errorf("cascade after the changes left %d comments", n)
		}
	})
}

// TestAuthCollection: an auth collection gets the system fields email,
// emailVisibility, verified and password; they cannot be redefined.
func TestAuthCollection(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		c := e.mustCreateCollection(t, `{"name":"users","type":"auth","fields":[{"name":"nick","type":"text"}]}`)
		want := map[string]string{"email": "email", "emailVisibility": "bool", "verified": "bool", "password": "password", "nick": "text"}
		names := fieldNames(t, c)
		if len(names) != len(want) {
			t.Errorf("auth fields %v, want %v", names, want)
		}
		for n, typ := range want {
			f := field(c, n)
			if f == nil || f["type"] != typ {
				t.Errorf("auth field %s: %v, want type %s", n, f, typ)
			}
		}
		if f := field(c, "email"); f["unique"] != true || f["required"] != true {
			t.Errorf("email: %v", f)
		}
		if f := field(c, "password"); f["hidden"] != true {
			t.Errorf("password: %v", f)
		}
		auth, _ := c["auth"].(map[string]any)
		if ids, _ := auth["identityFields"].([]any); len(ids) != 1 || ids[0] != "email" {
			t.Errorf("auth options: %v", c["auth"])
		}
		// A PATCH cannot drop or retype the system fields.
		fs := without(e.fieldsOf(t, "users"), "password")
		findField(fs, "email")["type"] = "text"
		a := e.patchFields(t, "users", fs)
		if a.Status == 200 {
			got := a.JSON(t)
			if f := field(got, "password"); f == nil || f["type"] != "password" {
				t.Errorf("PATCH dropped the password field: %v", fieldNames(t, got))
			}
			if f := field(got, "email"); f == nil || f["type"] != "email" {
				t.Errorf("PATCH retyped email: %v", f)
			}
		} else if a.Status != 400 {
			t.Errorf("PATCH of system fields: %d %s", a.Status, a.Body)
		}
		e.run(t, []scenario{
			{Name: "sign-up needs email and password", Method: "POST", Path: "/api/collections/users/records", Token: e.super,
				Body: `{"nick":"x"}`, Status: 400, Code: "validation_failed",
				Fields: errs{"email": "required", "password": "required"}, Unchanged: true},
			{Name: "a short password", Method: "POST", Path: "/api/collections/users/records", Token: e.super,
				Body: `{"email":"a@example.com","password":"short"}`, Status: 400, Code: "validation_failed",
				Fields: errs{"password": "too_short"}, Unchanged: true},
			{Name: "passwordConfirm must match", Method: "POST", Path: "/api/collections/users/records", Token: e.super,
				Body:   `{"email":"a@example.com","password":"long enough pw","passwordConfirm":"something else"}`,
				Status: 400, Code: "validation_failed", Fields: errs{"passwordConfirm": "*"}, Unchanged: true},
			{Name: "an invalid email", Method: "POST", Path: "/api/collections/users/records", Token: e.super,
				Body:   `{"email":"not an email","password":"long enough pw"}`,
				Status: 400, Code: "validation_failed", Fields: errs{"email": "invalid_email"}, Unchanged: true},
			{Name: "a wrong identity", Method: "POST", Path: "/api/collections/_superusers/auth/password",
				Body: `{"identity":"nobody@example.com","password":"wrong password"}`, Status: 401, Code: "unauthenticated"},
			{Name: "password sign-in on a missing collection", Method: "POST", Path: "/api/collections/nope/auth/password",
				Body: `{"identity":"a@example.com","password":"x"}`, Status: 404, Code: "not_found"},
			{Name: "sign-in without a password", Method: "POST", Path: "/api/collections/users/auth/password",
				Body: `{"identity":"a@example.com"}`, Status: 400, Code: "validation_failed", Fields: errs{"password": "required"}},
		})
	})
}

// TestCollectionPatchNameShuffles: fields are matched by id, so a PATCH may
// swap two fields' names, or rename a field and add a new one under its old
// name, in one change; the data follows the ids on both stores.
func TestCollectionPatchNameShuffles(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"swaps","fields":[{"name":"a","type":"text"},{"name":"b","type":"text"}]}`)
		e.mustCreateCollection(t, `{"name":"readds","fields":[{"name":"a","type":"text"}]}`)
		s := str(e.mustCreate(t, "swaps", map[string]any{"a": "A", "b": "B"})["id"])
		r := str(e.mustCreate(t, "readds", map[string]any{"a": "A"})["id"])

		fs := e.fieldsOf(t, "swaps")
		findField(fs, "a")["name"], findField(fs, "b")["name"] = "b", "a"
		if a := e.patchFields(t, "swaps", fs); a.Status != 200 {
			t.Errorf("swap two names: %d %s", a.Status, a.Body)
		} else if got := e.mustGet(t, "swaps", s); got["a"] != "B" || got["b"] != "A" {
			t.Errorf("after the swap: a=%v b=%v, want a=B b=A", got["a"], got["b"])
		}

		fs = e.fieldsOf(t, "readds")
		findField(fs, "a")["name"] = "old_a"
		fs = append([]map[string]any{{"name": "a", "type": "text"}}, fs...)
		if a := e.patchFields(t, "readds", fs); a.Status != 200 {
			t.Errorf("rename a and add a new a: %d %s", a.Status, a.Body)
		} else if got := e.mustGet(t, "readds", r); got["old_a"] != "A" || got["a"] != nil {
			t.Errorf("after rename and re-add: old_a=%v a=%v, want A and null", got["old_a"], got["a"])
		}
	})
}
