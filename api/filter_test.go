package api_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"loam"
)

// TestListFilter runs filters through the API on both stores: the answer
// holds exactly the records the filter names, totals count the filtered
// list, and a bad filter answers 400 invalid_filter with its position.
func TestListFilter(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ann := e.setupPosts(t)
		bob := str(e.mustCreate(t, "authors", map[string]any{"name": "Bob"})["id"])
		mk := func(body map[string]any) string { return str(e.mustCreate(t, "posts", body)["id"]) }
		hello := mk(map[string]any{"title": "Hello Go", "views": 10, "published": true, "author": ann, "tags": []string{"a", "b"}, "secret": "s1"})
		world := mk(map[string]any{"title": "world", "views": 3, "author": bob, "readers": []string{ann, bob}, "due": "2026-01-02T00:00:00Z"})
		pct := mk(map[string]any{"title": "100% done", "views": 0, "tags": []string{"c"}, "meta": []any{1, "x"}})
		bare := mk(map[string]any{"title": "bare"})
		list := "/api/collections/posts/records?perPage=100&filter="
		want := func(ids ...string) func(t *testing.T, a *answer) {
			return func(t *testing.T, a *answer) {
				m := a.JSON(t)
				got := items2ids(t, m)
				slices.Sort(got)
				ids = slices.Clone(ids)
				slices.Sort(ids)
				if !slices.Equal(got, ids) {
					t.Errorf("ids %v, want %v", got, ids)
				}
				if num(m["totalItems"]) != fmt.Sprint(len(ids)) {
					t.Errorf("totalItems %v, want %d", m["totalItems"], len(ids))
				}
			}
		}
		f := func(s string) string { return list + url.QueryEscape(s) }
		e.run(t, []scenario{
			{Name: "number", Method: "GET", Path: f(`views > 2`), Status: 200, Check: want(hello, world)},
			{Name: "and, or, parentheses", Method: "GET", Path: f(`views >= 3 && (published = true || title ~ "WOR")`), Status: 200, Check: want(hello, world)},
			{Name: "negation is true where there is no value", Method: "GET", Path: f(`!(due > "2026-01-01")`), Status: 200, Check: want(hello, pct, bare)},
			{Name: "!= includes no value", Method: "GET", Path: f(`author != "` + ann + `"`), Status: 200, Check: want(world, pct, bare)},
			{Name: "= null", Method: "GET", Path: f(`author = null`), Status: 200, Check: want(pct, bare)},
			{Name: "an empty string is no value", Method: "GET", Path: f(`author = ""`), Status: 200, Check: want(pct, bare)},
			{Name: "contains escapes %", Method: "GET", Path: f(`title ~ "0%"`), Status: 200, Check: want(pct)},
			{Name: "contains folds case", Method: "GET", Path: f(`title ~ "hello"`), Status: 200, Check: want(hello)},
			{Name: ":lower", Method: "GET", Path: f(`title:lower = "hello go"`), Status: 200, Check: want(hello)},
			{Name: "relation path", Method: "GET", Path: f(`author.name = "Bob"`), Status: 200, Check: want(world)},
			{Name: "multi relation, any of", Method: "GET", Path: f(`readers.name ?= "ann"`), Status: 200, Check: want(world)},
			{Name: "back-relation from authors", Method: "GET",
				Path: "/api/collections/authors/records?filter=" + url.QueryEscape(`posts_via_author.views ?> 5`), Status: 200, Check: want(ann)},
			{Name: "multi select, any of", Method: "GET", Path: f(`tags ?= "b"`), Status: 200, Check: want(hello)},
			{Name: ":length", Method: "GET", Path: f(`tags:length = 1`), Status: 200, Check: want(pct)},
			{Name: "json array elements", Method: "GET", Path: f(`meta ?= 1`), Status: 200, Check: want(pct)},
			{Name: "@now", Method: "GET", Path: f(`created <= @now && due < @now`), Status: 200, Check: want(world)},
			{Name: "@request.auth.id of an anonymous caller", Method: "GET", Path: f(`@request.auth.id = ""`), Status: 200, Check: want(hello, world, pct, bare)},
			{Name: "hidden field as superuser", Method: "GET", Path: f(`secret = "s1"`), Token: e.super, Status: 200, Check: want(hello)},
			{Name: "hidden field anonymously", Method: "GET", Path: f(`secret = "s1"`), Status: 400, Code: "invalid_filter"},
			{Name: "a value is never SQL", Method: "GET", Path: f(`title = "'; DROP TABLE posts; --"`), Status: 200, Check: want()},
			{Name: "parse error with its position", Method: "GET", Path: f(`views >`), Status: 400, Code: "invalid_filter",
				Contains: []string{"at character 8", "expected a field, a value or an @ name"}, Unchanged: true},
			{Name: "type error", Method: "GET", Path: f(`views ~ "a"`), Status: 400, Code: "invalid_filter", Contains: []string{"text"}},
			{Name: "unknown field", Method: "GET", Path: f(`nope = 1`), Status: 400, Code: "invalid_filter", Contains: []string{`has no field \"nope\"`}},
			{Name: "plain = on a multi-valued path", Method: "GET", Path: f(`readers.name = "ann"`), Status: 400, Code: "invalid_filter",
				Contains: []string{"?="}},
			{Name: "too long", Method: "GET", Path: f(strings.Repeat("views > 1 && ", 700) + "views > 1"), Status: 400, Code: "invalid_filter"},
		})
		_ = bare
	})
}

// TestListCursor pages through a filtered list sorted by a relation path
// with cursors, and compares the result with one big page.
func TestListCursor(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.setupPosts(t)
		var authors []string
		for _, n := range []string{"cy", "al", "bo"} {
			authors = append(authors, str(e.mustCreate(t, "authors", map[string]any{"name": n})["id"]))
		}
		for i := range 23 {
			body := map[string]any{"title": fmt.Sprintf("p%02d", i), "views": i % 4}
			if i%5 != 0 {
				body["author"] = authors[i%3]
			}
			e.mustCreate(t, "posts", body)
		}
		for _, sortBy := range []string{"", "-views", "author.name,-title", "-author.name", "created"} {
			t.Run("sort="+sortBy, func(t *testing.T) {
				base := "/api/collections/posts/records?filter=" + url.QueryEscape(`views != 2`) + "&sort=" + url.QueryEscape(sortBy)
				whole := items2ids(t, e.do(t, call{Method: "GET", Path: base + "&perPage=100"}).JSON(t))
				var got []string
				cursor := ""
				for range 20 {
					path := base + "&perPage=4&skipTotal=1"
					if cursor != "" {
						path += "&cursor=" + url.QueryEscape(cursor)
					}
					a := e.do(t, call{Method: "GET", Path: path})
					if a.Status != 200 {
						t.Fatalf("%s: %d %s", path, a.Status, a.Body)
					}
					m := a.JSON(t)
					got = append(got, items2ids(t, m)...)
					next := str(m["nextCursor"])
					if next == "" {
						break
					}
					if cursor != "" && num(m["page"]) != "-1" {
						t.Errorf("a cursor's page is %v, want -1", m["page"])
					}
					cursor = next
				}
				if !slices.Equal(got, whole) {
					t.Errorf("by cursor %v\n  in one page %v", got, whole)
				}
			})
		}
		list := "/api/collections/posts/records"
		first := e.do(t, call{Method: "GET", Path: list + "?perPage=2&sort=-views"}).JSON(t)
		cur := url.QueryEscape(str(first["nextCursor"]))
		e.run(t, []scenario{
			{Name: "cursor with page", Method: "GET", Path: list + "?sort=-views&page=2&cursor=" + cur, Status: 400, Code: "invalid_query"},
			{Name: "cursor of another sort", Method: "GET", Path: list + "?sort=views&cursor=" + cur, Status: 400, Code: "invalid_query"},
			{Name: "cursor with @random", Method: "GET", Path: list + "?sort=@random&cursor=" + cur, Status: 400, Code: "invalid_query"},
			{Name: "a damaged cursor", Method: "GET", Path: list + "?sort=-views&cursor=" + cur[:len(cur)-3], Status: 400, Code: "invalid_query"},
			{Name: "an empty cursor", Method: "GET", Path: list + "?cursor=", Status: 400, Code: "invalid_query"},
			{Name: "a random order has no cursor", Method: "GET", Path: list + "?sort=@random&perPage=2", Status: 200, Absent: []string{"nextCursor"}},
			{Name: "a last page has no cursor", Method: "GET", Path: list + "?perPage=100", Status: 200, Absent: []string{"nextCursor"}},
			{Name: "sort by a multi relation path", Method: "GET", Path: list + "?sort=readers.name", Status: 400, Code: "invalid_sort"},
			{Name: "sort by json", Method: "GET", Path: list + "?sort=meta", Status: 400, Code: "invalid_sort"},
		})
	})
}

// TestRequestValuesInFilters: @request.query.* and @request.method read the
// request, in a list filter and in the list rule alike.
func TestRequestValuesInFilters(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"pages","fields":[{"name":"lang","type":"text"}],
			"rules":{"list":"lang = @request.query.lang || @request.query.lang = \"\"","view":""}}`)
		for _, l := range []string{"en", "fr", "fr"} {
			e.mustCreate(t, "pages", map[string]any{"lang": l})
		}
		list := "/api/collections/pages/records"
		e.run(t, []scenario{
			{Name: "the rule reads the query", Method: "GET", Path: list + "?lang=fr", Status: 200, Contains: []string{`"totalItems":2`}},
			{Name: "without it, everything", Method: "GET", Path: list, Status: 200, Contains: []string{`"totalItems":3`}},
			{Name: "a filter reads the query too", Method: "GET", Path: list + "?want=en&filter=" + url.QueryEscape(`lang = @request.query.want`),
				Status: 200, Contains: []string{`"totalItems":1`}},
			{Name: "and the method", Method: "GET", Path: list + "?filter=" + url.QueryEscape(`@request.method = "GET"`),
				Status: 200, Contains: []string{`"totalItems":3`}},
			{Name: "aggregates take their own parameters only", Method: "GET", Path: "/api/collections/pages/aggregate?lang=en",
				Status: 400, Code: "invalid_query"},
			{Name: "which the rule reads too", Method: "GET", Path: "/api/collections/pages/aggregate?count=1", Status: 200,
				Contains: []string{`"count":3`}},
		})
	})
}

// TestDeepFilteredPages: pages past the deferred-join offset (SQLite reads
// them through a subquery over ids) hold the same records, with a filter and
// a sort, as the slices of one big page.
func TestDeepFilteredPages(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"rows","fields":[{"name":"n","type":"number","integer":true},{"name":"k","type":"number","integer":true}],
			"rules":{"list":""}}`)
		for i := range 700 {
			body, err := loam.JSONBody(map[string]any{"n": i, "k": i % 5})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.app.CreateRecord(t.Context(), loam.System, "rows", body); err != nil {
				t.Fatal(err)
			}
		}
		q := "/api/collections/rows/records?skipTotal=1&sort=-k&filter=" + url.QueryEscape(`k != 2`)
		whole := items2ids(t, e.do(t, call{Method: "GET", Path: q + "&perPage=500"}).JSON(t))
		whole = append(whole, items2ids(t, e.do(t, call{Method: "GET", Path: q + "&perPage=500&page=2"}).JSON(t))...)
		if len(whole) != 560 {
			t.Fatalf("%d records match, want 560", len(whole))
		}
		for _, page := range []int{7, 8, 11} { // offsets 300, 350, 500
			got := items2ids(t, e.do(t, call{Method: "GET", Path: fmt.Sprintf("%s&perPage=50&page=%d", q, page)}).JSON(t))
			want := whole[(page-1)*50 : min(page*50, len(whole))]
			if !slices.Equal(got, want) {
				t.Errorf("page %d: %d ids, differing from the slice of one big page", page, len(got))
			}
		}
	})
}
