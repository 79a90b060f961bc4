package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"loam"
	"loam/postgres"
	"loam/sqlite"
	"loam/sqlstore"
)

// The collections of the expand tests; every rule is "" (everyone) except
// in vaults and secrets, which are superusers only.
//
//	companies  name
//	people     (auth) name, company -> companies, mentor -> people, memo (hidden)
//	tags       label
//	vaults     code                                  (superusers only)
//	posts      title, author -> people, editors -> people (multi), tags -> tags (multi),
//	           note (hidden), locked -> vaults
//	comments   body, post -> posts, author -> people
//	likes      label, posts -> posts (multi)
//	secrets    code, post -> posts                   (superusers only)
var expandCollections = []string{
	`{"name":"companies","fields":[{"name":"name","type":"text"}],"rules":{"list":"","view":""}}`,
	`{"name":"people","type":"auth","fields":[{"name":"name","type":"text"},
		{"name":"company","type":"relation","collection":"companies"},
		{"name":"mentor","type":"relation","collection":"people"},
		{"name":"memo","type":"text","hidden":true}],"rules":{"list":"","view":""}}`,
	`{"name":"tags","fields":[{"name":"label","type":"text"}],"rules":{"list":"","view":""}}`,
	`{"name":"vaults","fields":[{"name":"code","type":"text"}]}`,
	`{"name":"posts","fields":[{"name":"title","type":"text"},
		{"name":"author","type":"relation","collection":"people"},
		{"name":"editors","type":"relation","collection":"people","multiple":true},
		{"name":"tags","type":"relation","collection":"tags","multiple":true},
		{"name":"note","type":"text","hidden":true},
		{"name":"locked","type":"relation","collection":"vaults"}],
		"rules":{"list":"","view":"","create":"","update":"","delete":""}}`,
	`{"name":"comments","fields":[{"name":"body","type":"text"},
		{"name":"post","type":"relation","collection":"posts","onDelete":"cascade"},
		{"name":"author","type":"relation","collection":"people"}],"rules":{"list":"","view":""}}`,
	`{"name":"likes","fields":[{"name":"label","type":"text"},
		{"name":"posts","type":"relation","collection":"posts","multiple":true}],"rules":{"list":"","view":""}}`,
	`{"name":"secrets","fields":[{"name":"code","type":"text"},{"name":"post","type":"relation","collection":"posts"}]}`,
}

// setupExpand creates the expand collections and these records, and
// returns their ids by name:
//
//	acme, globex                      companies
//	ann (acme), bob (globex, mentor ann), cid (mentor bob)   people
//	t1, t2; v1
//	p1 "one": author ann, editors [bob ann], tags [t2 t1], note n1, locked v1
//	p2 "two": nothing related
//	p3 "three": author bob
//	c1 (p1, bob), c2 (p1, cid), c3 (p3, ann)   comments
//	l1 [p1 p3], l2 [p1]                       likes
//	s1 (p1)                                   secrets
func (e *env) setupExpand(t *testing.T) map[string]string {
	t.Helper()
	for _, def := range expandCollections {
		e.mustCreateCollection(t, def)
	}
	ids := map[string]string{}
	add := func(name, collection string, body map[string]any) {
		for k, v := range body {
			if s, ok := v.(string); ok && strings.HasPrefix(s, "@") {
				body[k] = ids[s[1:]]
			}
			if l, ok := v.([]string); ok {
				for i, s := range l {
					l[i] = ids[strings.TrimPrefix(s, "@")]
				}
			}
		}
		ids[name] = str(e.mustCreate(t, collection, body)["id"])
	}
	person := func(name string, more map[string]any) map[string]any {
		body := map[string]any{"name": name, "email": name + "@example.com", "password": name + "'s long password", "memo": "m-" + name}
		for k, v := range more {
			body[k] = v
		}
		return body
	}
	add("acme", "companies", map[string]any{"name": "acme"})
	add("globex", "companies", map[string]any{"name": "globex"})
	add("ann", "people", person("ann", map[string]any{"company": "@acme"}))
	add("bob", "people", person("bob", map[string]any{"company": "@globex", "mentor": "@ann"}))
	add("cid", "people", person("cid", map[string]any{"mentor": "@bob"}))
	add("t1", "tags", map[string]any{"label": "t1"})
	add("t2", "tags", map[string]any{"label": "t2"})
	add("v1", "vaults", map[string]any{"code": "v-1"})
	add("p1", "posts", map[string]any{"title": "one", "author": "@ann", "editors": []string{"@bob", "@ann"},
		"tags": []string{"@t2", "@t1"}, "note": "n1", "locked": "@v1"})
	add("p2", "posts", map[string]any{"title": "two"})
	add("p3", "posts", map[string]any{"title": "three", "author": "@bob"})
	add("c1", "comments", map[string]any{"body": "c-1", "post": "@p1", "author": "@bob"})
	add("c2", "comments", map[string]any{"body": "c-2", "post": "@p1", "author": "@cid"})
	add("c3", "comments", map[string]any{"body": "c-3", "post": "@p3", "author": "@ann"})
	add("l1", "likes", map[string]any{"label": "l-1", "posts": []string{"@p1", "@p3"}})
	add("l2", "likes", map[string]any{"label": "l-2", "posts": []string{"@p1"}})
	add("s1", "secrets", map[string]any{"code": "s-1", "post": "@p1"})
	return ids
}

// at follows object keys (string) and list indexes (int) into decoded JSON;
// it fails the test when the path does not exist.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for i, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: %v is not an object", path[:i], v)
			}
			if v, ok = m[k]; !ok {
				t.Fatalf("at %v: no key %q in %v", path[:i], k, m)
			}
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("at %v: no item %d in %v", path[:i], k, v)
			}
			v = l[k]
		}
	}
	return v
}

// keysOf returns the sorted keys of a decoded JSON object.
func keysOf(t *testing.T, v any) []string {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%v is not an object", v)
	}
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// idsAt returns the ids of the list of records at path.
func idsAt(t *testing.T, v any, path ...any) []string {
	t.Helper()
	l, ok := at(t, v, path...).([]any)
	if !ok {
		t.Fatalf("at %v: not a list", path)
	}
	out := []string{}
	for _, x := range l {
		out = append(out, str(at(t, x, "id")))
	}
	return out
}

// recordKeys are the keys of a whole posts record, sorted.
var postKeys = []string{"author", "collectionName", "created", "editors", "id", "locked", "tags", "title", "updated"}

// TestExpand: single and multi relations, back-relations over single and
// multi relations, nesting, and the limits and errors of expand.
func TestExpand(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ids := e.setupExpand(t)
		p1 := "/api/collections/posts/records/" + ids["p1"]
		p2 := "/api/collections/posts/records/" + ids["p2"]
		p3 := "/api/collections/posts/records/" + ids["p3"]
		check := func(f func(t *testing.T, m map[string]any)) func(t *testing.T, a *answer) {
			return func(t *testing.T, a *answer) { f(t, a.JSON(t)) }
		}
		want := func(t *testing.T, what string, got, want any) {
			t.Helper()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s = %#v, want %#v", what, got, want)
			}
		}
		bad := func(name, path, says string) scenario {
			return scenario{Name: name, Method: "GET", Path: path, Status: 400, Code: "invalid_query",
				Check: func(t *testing.T, a *answer) {
					if msg := str(a.JSON(t)["message"]); !strings.Contains(msg, says) {
						t.Errorf("message %q does not say %q", msg, says)
					}
				}}
		}
		e.run(t, []scenario{
			{Name: "a single relation", Method: "GET", Path: p1 + "?expand=author", Status: 200,
				Absent: []string{"$argon2", `"password"`, `"memo"`, `"note"`},
				Check: check(func(t *testing.T, m map[string]any) {
					want(t, "post keys", keysOf(t, m), append(slices.Clone(postKeys[:2]), "created", "editors", "expand", "id",
						"locked", "tags", "title", "updated"))
					want(t, "expand keys", keysOf(t, m["expand"]), []string{"author"})
					want(t, "author id", at(t, m, "expand", "author", "id"), ids["ann"])
					want(t, "author name", at(t, m, "expand", "author", "name"), "ann")
					want(t, "author collectionName", at(t, m, "expand", "author", "collectionName"), "people")
					want(t, "author company (not expanded)", at(t, m, "expand", "author", "company"), ids["acme"])
				})},
			{Name: "hidden fields inside expand, as superuser", Method: "GET", Path: p1 + "?expand=author", Token: e.super,
				Status: 200, Absent: []string{"$argon2", `"password"`},
				Check: check(func(t *testing.T, m map[string]any) {
					want(t, "memo", at(t, m, "expand", "author", "memo"), "m-ann")
					want(t, "note", at(t, m, "note"), "n1")
				})},
			{Name: "a multi relation keeps the relation's order", Method: "GET", Path: p1 + "?expand=editors,tags", Status: 200,
				Check: check(func(t *testing.T, m map[string]any) {
					want(t, "editors", idsAt(t, m, "expand", "editors"), []string{ids["bob"], ids["ann"]})
					want(t, "tags", idsAt(t, m, "expand", "tags"), []string{ids["t2"], ids["t1"]})
					want(t, "label", at(t, m, "expand", "tags", 0, "label"), "t2")
				})},
			{Name: "a back-relation", Method: "GET", Path: p1 + "?expand=comments_via_post", Status: 200,
				Check: check(func(t *testing.T, m map[string]any) {
					want(t, "comments", idsAt(t, m, "expand", "comments_via_post"), []string{ids["c1"], ids["c2"]})
					want(t, "body", at(t, m, "expand", "comments_via_post", 1, "body"), "c-2")
				})},
			{Name: "a back-relation over a multi relation", Method: "GET", Path: p1 + "?expand=likes_via_posts", Status: 200,
				Check: check(func(t *testing.T, m map[string]any) {
					want(t, "likes", idsAt(t, m, "expand", "likes_via_posts"), []string{ids["l1"], ids["l2"]})
				})},
			{Name: "a back-relation with one record", Method: "GET", Path: p3 + "?expand=likes_via_posts,comments_via_post", Status: 200,
				Check: check(func(t *testing.T, m map[string]any) {
					want(t, "likes", idsAt(t, m, "expand", "likes_via_posts"), []string{ids["l1"]})
					want(t, "comments", idsAt(t, m, "expand", "comments_via_post"), []string{ids["c3"]})
				})},
			{Name: "three levels through a back-relation", Method: "GET", Path: p1 + "?expand=comments_via_post.author.company",
				Status: 200, Check: check(func(t *testing.T, m map[string]any) {
					c1 := at(t, m, "expand", "comments_via_post", 0)
					want(t, "c1 author", at(t, c1, "expand", "author", "id"), ids["bob"])
					want(t, "c1 author's company", at(t, c1, "expand", "author", "expand", "company", "name"), "globex")
					c2 := at(t, m, "expand", "comments_via_post", 1)
					want(t, "c2 author", at(t, c2, "expand", "author", "id"), ids["cid"])
					want(t, "c2 author's expand (no company)", at(t, c2, "expand", "author", "expand"), map[string]any{})
				})},
			{Name: "four levels through a relation to the same collection", Method: "GET",
				Path: "/api/collections/comments/records/" + ids["c2"] + "?expand=author.mentor.mentor.company", Status: 200,
				Check: check(func(t *testing.T, m map[string]any) {
					want(t, "cid", at(t, m, "expand", "author", "name"), "cid")
					want(t, "bob", at(t, m, "expand", "author", "expand", "mentor", "name"), "bob")
					want(t, "ann", at(t, m, "expand", "author", "expand", "mentor", "expand", "mentor", "name"), "ann")
					want(t, "acme", at(t, m, "expand", "author", "expand", "mentor", "expand", "mentor", "expand", "company", "name"), "acme")
				})},
			{Name: "paths merge", Method: "GET", Path: p3 + "?expand=author.company,editors,author.mentor&expand=tags", Status: 200,
				Check: check(func(t *testing.T, m map[string]any) {
					want(t, "expand keys", keysOf(t, m["expand"]), []string{"author", "editors", "tags"})
					want(t, "author's expand", keysOf(t, at(t, m, "expand", "author", "expand")), []string{"company", "mentor"})
					want(t, "author's company", at(t, m, "expand", "author", "expand", "company", "name"), "globex")
					want(t, "author's mentor", at(t, m, "expand", "author", "expand", "mentor", "name"), "ann")
					if _, has := at(t, m, "expand", "author", "expand", "mentor").(map[string]any)["expand"]; has {
						t.Errorf("the mentor expands nothing, but has an expand key")
					}
				})},
			{Name: "a missing single target is absent, an empty list is []", Method: "GET",
				Path: p2 + "?expand=author,editors,comments_via_post", Status: 200,
				Check: check(func(t *testing.T, m map[string]any) {
					want(t, "expand", m["expand"], map[string]any{"editors": []any{}, "comments_via_post": []any{}})
				})},
			{Name: "six levels", Method: "GET",
				Path: "/api/collections/comments/records/" + ids["c2"] + "?expand=post.author.mentor.mentor.mentor.mentor", Status: 200},
			bad("seven levels", p1+"?expand=comments_via_post.author.mentor.mentor.mentor.mentor.mentor", "at most 6"),
			bad("an unknown relation", p1+"?expand=nope", `"nope"`),
			bad("an unknown relation deeper", p1+"?expand=author.nope", `people has no relation field "nope"`),
			bad("a field that is not a relation", p1+"?expand=title", "posts.title is a text field"),
			bad("a back-relation from no collection", p1+"?expand=nope_via_post", `no collection "nope"`),
			bad("a back-relation over no field", p1+"?expand=comments_via_nope", `comments has no field "nope"`),
			bad("a back-relation pointing elsewhere", p1+"?expand=comments_via_author", "comments.author is not a relation to posts"),
			bad("a back-relation over a text field", p1+"?expand=comments_via_body", "comments.body is not a relation to posts"),
			bad("an empty entry", p1+"?expand=author,,editors", "empty entry"),
			bad("an empty name", p1+"?expand=author..company", "empty name"),
			bad("SQL", p1+"?expand="+url.QueryEscape(`author";DROP TABLE posts;--`), "is not a name"),
			bad("on a list", "/api/collections/posts/records?expand=nope", `"nope"`),
			{Name: "an empty expand expands nothing", Method: "GET", Path: p1 + "?expand=", Status: 200,
				Check: check(func(t *testing.T, m map[string]any) { want(t, "keys", keysOf(t, m), postKeys) })},
		})
		// Lists expand every item with the same queries.
		e.run(t, []scenario{{Name: "a list", Method: "GET", Path: "/api/collections/posts/records?expand=author,comments_via_post",
			Status: 200, Check: check(func(t *testing.T, m map[string]any) {
				its := items(t, m)
				if len(its) != 3 {
					t.Fatalf("%d items, want 3", len(its))
				}
				want(t, "p1 author", at(t, its[0], "expand", "author", "name"), "ann")
				want(t, "p1 comments", idsAt(t, its[0], "expand", "comments_via_post"), []string{ids["c1"], ids["c2"]})
				want(t, "p2 expand", its[1]["expand"], map[string]any{"comments_via_post": []any{}})
				want(t, "p3 author", at(t, its[2], "expand", "author", "name"), "bob")
				want(t, "p3 comments", idsAt(t, its[2], "expand", "comments_via_post"), []string{ids["c3"]})
			})}})
	})
}

// TestExpandRules: relations into collections whose view rule refuses the
// caller are left out silently, and nothing named inside them is checked;
// hidden fields stay hidden and passwords never render, inside expand too.
func TestExpandRules(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ids := e.setupExpand(t)
		_, user := e.signUp(t)
		p1 := "/api/collections/posts/records/" + ids["p1"]
		var sc []scenario
		for _, who := range []struct{ name, token string }{{"anonymous", ""}, {"a user", user}} {
			sc = append(sc,
				scenario{Name: who.name + ": a superusers-only target is left out", Method: "GET",
					Path: p1 + "?expand=locked,author", Token: who.token, Status: 200, Absent: []string{"v-1", `"locked":{`},
					Check: func(t *testing.T, a *answer) {
						if ks := keysOf(t, a.JSON(t)["expand"]); !slices.Equal(ks, []string{"author"}) {
							t.Errorf("expand keys %v, want [author]", ks)
						}
					}},
				scenario{Name: who.name + ": a superusers-only back-relation is left out", Method: "GET",
					Path: p1 + "?expand=secrets_via_post", Token: who.token, Status: 200, Absent: []string{"s-1", "secrets_via_post"}},
				scenario{Name: who.name + ": names inside them are not checked", Method: "GET",
					Path: p1 + "?expand=locked.nope,secrets_via_nope.x&fields=id,expand.locked.nope", Token: who.token, Status: 200,
					Check: func(t *testing.T, a *answer) {
						if got := string(a.Body); got != `{"id":"`+ids["p1"]+`","expand":{}}` {
							t.Errorf("body %s", got)
						}
					}},
				scenario{Name: who.name + ": hidden fields stay hidden inside expand", Method: "GET",
					Path: p1 + "?expand=author,comments_via_post.author", Token: who.token, Status: 200,
					Absent: []string{"m-ann", "m-bob", `"memo"`, "$argon2", `"password"`}},
				scenario{Name: who.name + ": a hidden field named in fields is unknown", Method: "GET",
					Path: p1 + "?expand=author&fields=expand.author.memo", Token: who.token, Status: 400, Code: "invalid_query"},
				scenario{Name: who.name + ": a hidden field named at the top is unknown", Method: "GET",
					Path: p1 + "?fields=id,note", Token: who.token, Status: 400, Code: "invalid_query"},
			)
		}
		sc = append(sc,
			scenario{Name: "superuser: the targets are there", Method: "GET", Path: p1 + "?expand=locked,secrets_via_post",
				Token: e.super, Status: 200, Contains: []string{`"code":"v-1"`, `"code":"s-1"`}},
			scenario{Name: "superuser: names inside them are checked", Method: "GET", Path: p1 + "?expand=locked.nope",
				Token: e.super, Status: 400, Code: "invalid_query"},
			scenario{Name: "superuser: hidden fields inside expand", Method: "GET", Path: p1 + "?expand=author&fields=expand.author.memo",
				Token: e.super, Status: 200, Check: func(t *testing.T, a *answer) {
					if got := string(a.Body); got != `{"expand":{"author":{"memo":"m-ann"}}}` {
						t.Errorf("body %s", got)
					}
				}},
			scenario{Name: "superuser: passwords are never returned", Method: "GET", Path: p1 + "?expand=author&fields=expand.author.password",
				Token: e.super, Status: 400, Code: "invalid_query"},
			scenario{Name: "superuser: no password hash anywhere", Method: "GET",
				Path: "/api/collections/comments/records?expand=author.mentor,post.editors", Token: e.super, Status: 200,
				Absent: []string{"$argon2", `"password"`}},
		)
		e.run(t, sc)
	})
}

// TestFields: fields projects answers, at the top and inside expanded
// records, with * for every key of a level; unknown names are refused.
func TestFields(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ids := e.setupExpand(t)
		p1 := "/api/collections/posts/records/" + ids["p1"]
		body := func(want string) func(t *testing.T, a *answer) {
			return func(t *testing.T, a *answer) {
				t.Helper()
				if got := string(a.Body); got != want {
					t.Errorf("body\n got %s\nwant %s", got, want)
				}
			}
		}
		q := func(s string) string { return p1 + "?" + s }
		bad := func(name, query, says string) scenario {
			return scenario{Name: name, Method: "GET", Path: q(query), Status: 400, Code: "invalid_query",
				Check: func(t *testing.T, a *answer) {
					if msg := str(a.JSON(t)["message"]); !strings.Contains(msg, says) {
						t.Errorf("message %q does not say %q", msg, says)
					}
				}}
		}
		e.run(t, []scenario{
			{Name: "top-level fields", Method: "GET", Path: q("fields=title,id"), Status: 200,
				Check: body(`{"id":"` + ids["p1"] + `","title":"one"}`)},
			{Name: "fields inside expand", Method: "GET", Path: q("expand=author&fields=id,expand.author.name"), Status: 200,
				Check: body(`{"id":"` + ids["p1"] + `","expand":{"author":{"name":"ann"}}}`)},
			{Name: "fields inside a list", Method: "GET", Path: q("expand=editors&fields=expand.editors.name"), Status: 200,
				Check: body(`{"expand":{"editors":[{"name":"bob"},{"name":"ann"}]}}`)},
			{Name: "fields three levels down", Method: "GET",
				Path: q("expand=comments_via_post.author.company&fields=expand.comments_via_post.body," +
					"expand.comments_via_post.expand.author.expand.company.name"), Status: 200,
				Check: body(`{"expand":{"comments_via_post":[{"body":"c-1","expand":{"author":{"expand":{"company":{"name":"globex"}}}}},` +
					`{"body":"c-2","expand":{"author":{"expand":{}}}}]}}`)},
			{Name: "* with a part of expand", Method: "GET", Path: q("expand=author,tags&fields=*,expand.author.name"), Status: 200,
				Check: func(t *testing.T, a *answer) {
					m := a.JSON(t)
					if ks := keysOf(t, m); !slices.Equal(ks, []string{"author", "collectionName", "created", "editors", "expand",
						"id", "locked", "tags", "title", "updated"}) {
						t.Errorf("keys %v", ks)
					}
					// Named more precisely, expand holds only what is named (as in PocketBase).
					if got := m["expand"]; !reflect.DeepEqual(got, map[string]any{"author": map[string]any{"name": "ann"}}) {
						t.Errorf("expand %v", got)
					}
				}},
			{Name: "* inside expand", Method: "GET", Path: q("expand=tags&fields=id,expand.tags.*"), Status: 200,
				Check: func(t *testing.T, a *answer) {
					tag := at(t, a.JSON(t), "expand", "tags", 0)
					if ks := keysOf(t, tag); !slices.Equal(ks, []string{"collectionName", "created", "id", "label", "updated"}) {
						t.Errorf("tag keys %v", ks)
					}
				}},
			{Name: "expand whole", Method: "GET", Path: q("expand=tags&fields=title,expand"), Status: 200,
				Check: func(t *testing.T, a *answer) {
					m := a.JSON(t)
					if ks := keysOf(t, m); !slices.Equal(ks, []string{"expand", "title"}) || len(keysOf(t, at(t, m, "expand", "tags", 0))) != 5 {
						t.Errorf("answer %s", a.Body)
					}
				}},
			{Name: "* alone is everything", Method: "GET", Path: q("fields=*"), Status: 200,
				Check: func(t *testing.T, a *answer) {
					if ks := keysOf(t, a.JSON(t)); !slices.Equal(ks, postKeys) {
						t.Errorf("keys %v", ks)
					}
				}},
			{Name: "fields on a list applies to each item", Method: "GET",
				Path: "/api/collections/posts/records?fields=title&perPage=2", Status: 200,
				Check: func(t *testing.T, a *answer) {
					m := a.JSON(t)
					if !reflect.DeepEqual(m["items"], []any{map[string]any{"title": "one"}, map[string]any{"title": "two"}}) ||
						num(m["totalItems"]) != "3" || num(m["perPage"]) != "2" {
						t.Errorf("list %s", a.Body)
					}
				}},
			{Name: "fields without expand keeps If-None-Match", Method: "GET", Path: q("fields=id"), Status: 200},
			bad("an unknown field", "fields=id,nope", `posts has no field "nope"`),
			bad("an unknown field inside expand", "expand=author&fields=expand.author.nope", `people has no field "nope"`),
			bad("expand not requested", "fields=expand.author.name", "nothing is expanded in posts records"),
			bad("a relation not expanded", "expand=author&fields=expand.editors", `"editors" is not expanded`),
			bad("parts of a plain field", "fields=title.x", "posts.title has no keys to select inside it"),
			bad("a star before a name", "fields=*.id", "must come last"),
			bad("an empty entry", "fields=id,,title", "empty entry"),
			bad("a trailing dot", "fields=id.", "empty name"),
			bad("a modifier", "fields=title:excerpt(200,true)", "modifiers"),
			bad("on a list", "fields=nope", `posts has no field "nope"`),
		})
	})
}

// TestExpandOnWrites: create and update answer with expand and fields when
// asked; a bad parameter refuses the write before anything changes, after
// the rules.
func TestExpandOnWrites(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ids := e.setupExpand(t)
		list := "/api/collections/posts/records"
		var created string
		e.run(t, []scenario{
			{Name: "create with expand and fields", Method: "POST", Path: list + "?expand=author,editors&fields=id,title,expand.author.name,expand.editors.name",
				Body: map[string]any{"title": "new", "author": ids["ann"], "editors": []string{ids["cid"], ids["bob"]}}, Status: 201,
				Check: func(t *testing.T, a *answer) {
					created = str(a.JSON(t)["id"])
					want := `{"id":"` + created + `","title":"new","expand":{"author":{"name":"ann"},"editors":[{"name":"cid"},{"name":"bob"}]}}`
					if string(a.Body) != want || a.Header.Get("Location") != list+"/"+created || a.Header.Get("ETag") == "" {
						t.Errorf("answer %s (Location %q, ETag %q), want %s", a.Body, a.Header.Get("Location"), a.Header.Get("ETag"), want)
					}
				}},
			{Name: "create with an unknown relation", Method: "POST", Path: list + "?expand=nope", Body: map[string]any{"title": "x"},
				Status: 400, Code: "invalid_query", Unchanged: true},
			{Name: "create with an unknown field", Method: "POST", Path: list + "?fields=nope", Body: map[string]any{"title": "x"},
				Status: 400, Code: "invalid_query", Unchanged: true},
			{Name: "the create rule comes first", Method: "POST", Path: "/api/collections/vaults/records?expand=nope&fields=nope",
				Body: map[string]any{"code": "x"}, Status: 401, Code: "unauthenticated", Unchanged: true},
		})
		path := list + "/" + created
		e.run(t, []scenario{
			{Name: "update with expand", Method: "PATCH", Path: path + "?expand=author.company&fields=expand.author.expand.company.name",
				Body: map[string]any{"author": ids["bob"]}, Status: 200,
				Check: func(t *testing.T, a *answer) {
					if want := `{"expand":{"author":{"expand":{"company":{"name":"globex"}}}}}`; string(a.Body) != want {
						t.Errorf("answer %s, want %s", a.Body, want)
					}
				}},
			{Name: "update with a bad expand", Method: "PATCH", Path: path + "?expand=author..company",
				Body: map[string]any{"title": "changed"}, Status: 400, Code: "invalid_query", Unchanged: true},
			{Name: "update with a bad fields", Method: "PATCH", Path: path + "?fields=expand.author",
				Body: map[string]any{"title": "changed"}, Status: 400, Code: "invalid_query", Unchanged: true},
			{Name: "the update rule comes first", Method: "PATCH", Path: "/api/collections/vaults/records/" + ids["v1"] + "?expand=nope",
				Body: map[string]any{"code": "x"}, Status: 401, Code: "unauthenticated", Unchanged: true},
			{Name: "the view rule comes first", Method: "GET", Path: "/api/collections/vaults/records/" + ids["v1"] + "?fields=nope",
				Status: 401, Code: "unauthenticated"},
			{Name: "the list rule comes first", Method: "GET", Path: "/api/collections/vaults/records?fields=nope",
				Status: 401, Code: "unauthenticated"},
		})
	})
}

// TestExpandETags: a record's ETag stays its version with expand (If-Match
// keeps working), but If-None-Match cannot answer 304 for expanded related
// records that change on their own; a list's ETag covers what it expanded.
func TestExpandETags(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ids := e.setupExpand(t)
		p1 := "/api/collections/posts/records/" + ids["p1"]
		plain := e.do(t, call{Method: "GET", Path: p1})
		tag := plain.Header.Get("ETag")
		listPath := "/api/collections/posts/records?expand=author"
		before := e.do(t, call{Method: "GET", Path: listPath}).Header.Get("ETag")
		e.run(t, []scenario{
			{Name: "fields only: 304", Method: "GET", Path: p1 + "?fields=id", Headers: map[string]string{"If-None-Match": tag},
				Status: 304},
			{Name: "with expand: the same ETag, always 200", Method: "GET", Path: p1 + "?expand=author",
				Headers: map[string]string{"If-None-Match": tag}, Status: 200,
				Check: func(t *testing.T, a *answer) {
					if a.Header.Get("ETag") != tag {
						t.Errorf("ETag %q, want the record's %q", a.Header.Get("ETag"), tag)
					}
				}},
			{Name: "an expanded record changes", Method: "PATCH", Path: "/api/collections/people/records/" + ids["ann"],
				Token: e.super, Body: map[string]any{"name": "anna"}, Status: 200},
			{Name: "the expanded answer shows it", Method: "GET", Path: p1 + "?expand=author",
				Headers: map[string]string{"If-None-Match": tag}, Status: 200, Contains: []string{`"name":"anna"`}},
			{Name: "the list's ETag moved", Method: "GET", Path: listPath, Headers: map[string]string{"If-None-Match": before},
				Status: 200, Check: func(t *testing.T, a *answer) {
					if a.Header.Get("ETag") == before {
						t.Errorf("list ETag %q did not change", before)
					}
				}},
		})
	})
}

// TestExpandBackRelationCap: a back-relation lists at most 1000 records per
// record, its first by id.
func TestExpandBackRelationCap(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ids := e.setupExpand(t)
		ctx := t.Context()
		var made []string
		for i := range loam.MaxBackRelations + 2 {
			body, err := loam.JSONBody(map[string]any{"body": fmt.Sprint(i), "post": ids["p2"]})
			if err != nil {
				t.Fatal(err)
			}
			rec, err := e.app.CreateRecord(ctx, loam.System, "comments", body)
			if err != nil {
				t.Fatalf("comment %d: %v", i, err)
			}
			made = append(made, rec.ID)
		}
		slices.Sort(made)
		a := e.do(t, call{Method: "GET", Path: "/api/collections/posts/records?expand=comments_via_post&fields=id,expand.comments_via_post.id&perPage=3"})
		if a.Status != http.StatusOK {
			t.Fatalf("list: %d %s", a.Status, a.Body)
		}
		its := items(t, a.JSON(t))
		if got := idsAt(t, its[1], "expand", "comments_via_post"); !slices.Equal(got, made[:loam.MaxBackRelations]) {
			t.Errorf("p2's comments: %d, want the first %d by id", len(got), loam.MaxBackRelations)
		}
		if got := idsAt(t, its[0], "expand", "comments_via_post"); !slices.Equal(got, []string{ids["c1"], ids["c2"]}) {
			t.Errorf("p1's comments: %v, want c1 and c2 (the cap is per record)", got)
		}
	})
}

// countingDB counts the statements a store runs outside write transactions
// (every read).
// countingDB counts the statements run through it, except those on the
// event log: the server's realtime hub reads that on its own schedule,
// whatever the request being measured.
type countingDB struct {
	sqlstore.DB
	n atomic.Int64
}

func (d *countingDB) count(query string) {
	if !strings.Contains(query, "_events") {
		d.n.Add(1)
	}
}

func (d *countingDB) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	d.count(query)
	return d.DB.Query(ctx, query, args...)
}

func (d *countingDB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	d.count(query)
	return d.DB.Exec(ctx, query, args...)
}

// SchemaChanged passes the store's notice on to a statement-caching DB.
func (d *countingDB) SchemaChanged() {
	if sc, ok := d.DB.(sqlstore.SchemaChanger); ok {
		sc.SchemaChanged()
	}
}

// TestExpandQueryCount: expanding costs one query per relation of the expand
// tree, whatever the page size: a list is 1 query, +1 for the total unless
// skipped, +1 per relation.
func TestExpandQueryCount(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			inner := openStore(t, store)
			db := &countingDB{DB: inner.DB()}
			var d sqlstore.Dialect = sqlite.Dialect{}
			migrations := sqlite.Migrations()
			if store == "postgres" {
				d, migrations = postgres.Dialect{}, postgres.Migrations()
			}
			// No schema polling: nothing but the requests reads the database.
			e := startEnv(t, store, sqlstore.New(db, d, migrations), loam.Config{SchemaPoll: -1})
			for _, def := range []string{
				`{"name":"companies","fields":[{"name":"name","type":"text"}],"rules":{"list":"","view":""}}`,
				`{"name":"writers","fields":[{"name":"name","type":"text"},{"name":"company","type":"relation","collection":"companies"}],
					"rules":{"list":"","view":""}}`,
				`{"name":"posts","fields":[{"name":"title","type":"text"},{"name":"author","type":"relation","collection":"writers"},
					{"name":"editors","type":"relation","collection":"writers","multiple":true}],"rules":{"list":"","view":""}}`,
				`{"name":"comments","fields":[{"name":"body","type":"text"},{"name":"post","type":"relation","collection":"posts"},
					{"name":"author","type":"relation","collection":"writers"}],"rules":{"list":"","view":""}}`,
			} {
				e.mustCreateCollection(t, def)
			}
			var companies, writers, posts []string
			for i := range 3 {
				companies = append(companies, str(e.mustCreate(t, "companies", map[string]any{"name": fmt.Sprint("c", i)})["id"]))
			}
			for i := range 10 {
				writers = append(writers, str(e.mustCreate(t, "writers", map[string]any{"name": fmt.Sprint("w", i),
					"company": companies[i%3]})["id"]))
			}
			for i := range 25 {
				posts = append(posts, str(e.mustCreate(t, "posts", map[string]any{"title": fmt.Sprint("p", i),
					"author": writers[i%10], "editors": []string{writers[(i+1)%10], writers[(i+2)%10]}})["id"]))
			}
			for i := range 60 {
				e.mustCreate(t, "comments", map[string]any{"body": fmt.Sprint("c", i), "post": posts[i%25], "author": writers[(i+3)%10]})
			}
			// deep checks that every item has its expansions all the way down.
			deep := func(t *testing.T, its []map[string]any, path ...any) {
				t.Helper()
				for _, it := range its {
					at(t, it, path...)
				}
			}
			for _, tt := range []struct {
				name    string
				path    string
				queries int64
				items   int
				check   []any
			}{
				{"three levels, a page of 50", "/api/collections/comments/records?expand=post.author.company&perPage=50", 1 + 1 + 3, 50,
					[]any{"expand", "post", "expand", "author", "expand", "company", "name"}},
				{"three levels, a page of 5", "/api/collections/comments/records?expand=post.author.company&perPage=5", 1 + 1 + 3, 5,
					[]any{"expand", "post", "expand", "author", "expand", "company", "name"}},
				{"three levels, no total", "/api/collections/comments/records?expand=post.author.company&perPage=50&skipTotal=1",
					1 + 3, 50, []any{"expand", "post", "expand", "author", "expand", "company", "name"}},
				{"a back-relation, a multi relation and nesting", "/api/collections/posts/records?expand=comments_via_post.author.company,editors&perPage=25",
					1 + 1 + 4, 25, []any{"expand", "comments_via_post", 1, "expand", "author", "expand", "company", "name"}},
				{"the same on a page of 3", "/api/collections/posts/records?expand=comments_via_post.author.company,editors&perPage=3",
					1 + 1 + 4, 3, []any{"expand", "editors", 1, "name"}},
				{"one record", "/api/collections/comments/records?expand=post.author.company&perPage=1&skipTotal=1", 1 + 3, 1,
					[]any{"expand", "post", "expand", "author", "expand", "company", "name"}},
			} {
				t.Run(tt.name, func(t *testing.T) {
					before := db.n.Load()
					a := e.do(t, call{Method: "GET", Path: tt.path})
					got := db.n.Load() - before
					if a.Status != http.StatusOK {
						t.Fatalf("%d %s", a.Status, a.Body)
					}
					its := items(t, a.JSON(t))
					if len(its) != tt.items {
						t.Fatalf("%d items, want %d", len(its), tt.items)
					}
					deep(t, its, tt.check...)
					if got != tt.queries {
						t.Errorf("%s: %d queries, want %d", tt.path, got, tt.queries)
					}
				})
			}
			id := posts[0]
			before := db.n.Load()
			a := e.do(t, call{Method: "GET", Path: "/api/collections/posts/records/" + id + "?expand=author.company,comments_via_post.post"})
			if got := db.n.Load() - before; a.Status != http.StatusOK || got != 1+4 {
				t.Errorf("get with four relations: %d, %d queries, want 200 and 5: %s", a.Status, got, truncate(a.Body))
			}
		})
	}
}
