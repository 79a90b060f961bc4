package api_test

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

// TestListInjection: filter, sort and cursor text that tries to reach SQL is
// refused with its stable code and changes nothing; SQL inside a filter's
// string literal is only a value, and LIKE's wildcards in a value match
// themselves.
func TestListInjection(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.setupPosts(t)
		pct := str(e.mustCreate(t, "posts", map[string]any{"title": "50%", "secret": "s"})["id"])
		plain := str(e.mustCreate(t, "posts", map[string]any{"title": "a_b"})["id"])
		list := func(params ...string) string {
			v := url.Values{}
			for i := 0; i+1 < len(params); i += 2 {
				v.Set(params[i], params[i+1])
			}
			return "/api/collections/posts/records?" + v.Encode()
		}
		refused := func(name, param, value, code string) scenario {
			return scenario{Name: name, Method: "GET", Path: list(param, value), Token: e.super,
				Status: 400, Code: code, Unchanged: true}
		}
		found := func(name, filter string, ids ...string) scenario {
			return scenario{Name: name, Method: "GET", Path: list("filter", filter), Token: e.super, Status: 200,
				Unchanged: true, Check: func(t *testing.T, a *answer) {
					t.Helper()
					items, _ := a.JSON(t)["items"].([]any)
					var got []string
					for _, it := range items {
						m, _ := it.(map[string]any)
						got = append(got, str(m["id"]))
					}
					if strings.Join(got, ",") != strings.Join(ids, ",") {
						t.Errorf("filter %s: items %v, want %v", filter, got, ids)
					}
				}}
		}
		// A cursor is base64url of JSON; its values go as parameters, and
		// values of the wrong type for their key are refused.
		cursor := func(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }
		e.run(t, []scenario{
			refused("filter: statement after a comparison", "filter", `title = "x"; DROP TABLE posts`, "invalid_filter"),
			refused("filter: SQL OR", "filter", `title = 'x' OR 1=1`, "invalid_filter"),
			refused("filter: quote and paren", "filter", `title') OR 1=1--`, "invalid_filter"),
			refused("filter: double quote", "filter", `title = "x" OR "1"="1`, "invalid_filter"),
			refused("filter: line comment", "filter", `title = "x" -- comment`, "invalid_filter"),
			refused("filter: block comment", "filter", `title = "x" /* c */`, "invalid_filter"),
			refused("filter: SQL function", "filter", `lower(title) = "x"`, "invalid_filter"),
			refused("filter: subquery", "filter", `views > (SELECT 1)`, "invalid_filter"),
			refused("filter: column of another table", "filter", `_superusers.email = "x"`, "invalid_filter"),
			refused("filter: a password hash", "filter", `@collection._superusers.password ?= "x"`, "invalid_filter"),
			refused("filter: a bare @request name", "filter", `@request.body.x`, "invalid_filter"),
			refused("filter: @request as a path", "filter", `@request.body.x.y = 1`, "invalid_filter"),
			refused("filter: too long", "filter", `title = "`+strings.Repeat("x", 9000)+`"`, "invalid_filter"),
			refused("filter: too deep", "filter", strings.Repeat("(", 40)+`title = "x"`+strings.Repeat(")", 40), "invalid_filter"),
			refused("filter: NUL outside a string", "filter", "title = \"x\"\x00", "invalid_filter"),
			refused("filter: NUL inside a string", "filter", "title = \"a\x00b\"", "invalid_filter"),
			refused("filter: invalid UTF-8", "filter", "title = \"\xff\"", "invalid_filter"),
			refused("sort: statement", "sort", `title;DROP TABLE posts`, "invalid_sort"),
			refused("sort: quote", "sort", `title') OR 1=1--`, "invalid_sort"),
			refused("sort: double quote", "sort", `"title"`, "invalid_sort"),
			refused("sort: direction word", "sort", `title DESC`, "invalid_sort"),
			refused("sort: comment", "sort", `title--`, "invalid_sort"),
			refused("sort: subquery", "sort", `(SELECT 1)`, "invalid_sort"),
			refused("sort: @request", "sort", `@request.body.x`, "invalid_sort"),
			refused("sort: a password through a relation", "sort", `author.password`, "invalid_sort"),
			refused("sort: too long", "sort", strings.Repeat("a", 5000), "invalid_sort"),
			refused("sort: too many keys", "sort", "title,views,score,due,status,slug,created,updated,id", "invalid_sort"),
			refused("sort: NUL", "sort", "title\x00", "invalid_sort"),
			refused("expand: statement", "expand", `author;DROP TABLE posts`, "invalid_query"),
			refused("expand: quote", "expand", `author') OR 1=1--`, "invalid_query"),
			refused("expand: a table name", "expand", `_superusers_via_id`, "invalid_query"),
			refused("expand: subquery", "expand", `(SELECT 1)`, "invalid_query"),
			refused("expand: too deep", "expand", strings.Repeat("author.", 7)+"author", "invalid_query"),
			refused("fields: statement", "fields", `id;DROP TABLE posts`, "invalid_query"),
			refused("fields: quote", "fields", `id,"title"`, "invalid_query"),
			refused("fields: SQL expression", "fields", `id,count(*)`, "invalid_query"),
			refused("fields: a password through expand", "fields", `expand.author.password`, "invalid_query"),
			refused("fields: NUL", "fields", "id\x00", "invalid_query"),
			refused("cursor: not base64", "cursor", `' OR 1=1--`, "invalid_query"),
			refused("cursor: a value of the wrong type", "cursor", cursor(`{"s":"views","v":["1; DROP TABLE posts"],"i":"aaaaaaaaaaaaaaa"}`), "invalid_query"),
			refused("cursor: an id that is no id", "cursor", cursor(`{"s":"","v":[],"i":"x' OR '1'='1"}`), "invalid_query"),
			{Name: "cursor: SQL in a text value is a value", Method: "GET",
				Path:  list("sort", "title", "cursor", cursor(`{"s":"title","v":["'; DROP TABLE posts; --"],"i":"aaaaaaaaaaaaaaa"}`)),
				Token: e.super, Status: 200, Unchanged: true},
			// Values are values.
			found("SQL in a string is a value", `title = "'; DROP TABLE posts; --"`),
			found("a quoted identifier is a string", `"title" = title`),
			found("a quote in a string", `title = 'a\'b' || title = "a\"b"`),
			found("a percent matches itself", `title ~ "%"`, pct),
			found("an underscore matches itself", `title ~ "_"`, plain),
			found("a backslash matches itself", `title ~ "\\"`),
			found("a hidden field for a superuser", `secret = "s"`, pct),
			{Name: "a hidden field for anyone else", Method: "GET", Path: list("filter", `secret = "s"`),
				Status: 400, Code: "invalid_filter", Unchanged: true},
		})
	})
}
