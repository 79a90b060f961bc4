package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestBadInputChangesNothing: every malformed, mistyped or oversized write is
// refused with its stable code, and the database (schema, records, events)
// is exactly as before.
func TestBadInputChangesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		author := e.setupPosts(t)
		rec := e.mustCreate(t, "posts", map[string]any{"title": "existing", "slug": "s"})
		list := "/api/collections/posts/records"
		one := list + "/" + str(rec["id"])
		bad := func(name, body string, code string, fields errs) scenario {
			return scenario{Name: name, Method: "POST", Path: list, Token: e.super, Body: body,
				Status: http.StatusBadRequest, Code: code, Fields: fields, Unchanged: true}
		}
		wrong := func(name, body string, fields errs) scenario {
			return bad(name, body, "validation_failed", fields)
		}
		huge := `{"title":"` + strings.Repeat("a", 1<<20) + `"}`
		justUnder := `{"secret":"` + strings.Repeat("a", 1<<20-100) + `","title":"` + strings.Repeat("b", 21) + `"}`

		sc := []scenario{
			// Not JSON, or not a JSON object.
			bad("malformed JSON", `{"title":`, "invalid_json", nil),
			bad("trailing comma", `{"title":"x",}`, "invalid_json", nil),
			bad("single quotes", `{'title':'x'}`, "invalid_json", nil),
			bad("two JSON values", `{"title":"x"} {"title":"y"}`, "invalid_json", nil),
			bad("empty body", ``, "invalid_json", nil),
			bad("a JSON array", `[{"title":"x"}]`, "invalid_json", nil),
			bad("an empty array", `[]`, "invalid_json", nil),
			bad("a JSON string", `"title"`, "invalid_json", nil),
			bad("a JSON number", `42`, "invalid_json", nil),
			bad("JSON null", `null`, "invalid_json", nil),
			bad("JSON true", `true`, "invalid_json", nil),
			bad("invalid UTF-8 in a value", "{\"title\":\"caf\xe9\"}", "invalid_json", nil),
			bad("invalid UTF-8 in a key", "{\"t\xffitle\":\"x\"}", "invalid_json", nil),
			bad("overlong UTF-8", "{\"title\":\"\xc0\xaf\"}", "invalid_json", nil),
			bad("a UTF-16 surrogate in UTF-8", "{\"title\":\"\xed\xa0\x80\"}", "invalid_json", nil),
			// Too large, wrong media type.
			{Name: "a body over 1 MiB", Method: "POST", Path: list, Token: e.super, Body: huge,
				Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Unchanged: true},
			{Name: "a body just under 1 MiB is read", Method: "POST", Path: list, Token: e.super, Body: justUnder,
				Status: 400, Code: "validation_failed", Fields: errs{"title": "too_long"}, Unchanged: true},
			{Name: "text/plain", Method: "POST", Path: list, Token: e.super, Body: `{"title":"x"}`,
				Headers: map[string]string{"Content-Type": "text/plain"}, Status: 415, Code: "unsupported_media_type", Unchanged: true},
			{Name: "no Content-Type", Method: "POST", Path: list, Token: e.super, Body: `{"title":"x"}`,
				Headers: map[string]string{"Content-Type": ""}, Status: 415, Code: "unsupported_media_type", Unchanged: true},
			{Name: "a form", Method: "POST", Path: list, Token: e.super, Body: `title=x`,
				Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, Status: 415,
				Code: "unsupported_media_type", Unchanged: true},
			{Name: "JSON in Latin-1", Method: "POST", Path: list, Token: e.super, Body: `{"title":"x"}`,
				Headers: map[string]string{"Content-Type": "application/json; charset=iso-8859-1"}, Status: 415,
				Code: "unsupported_media_type", Unchanged: true},
			{Name: "PATCH text/plain", Method: "PATCH", Path: one, Token: e.super, Body: `{"title":"x"}`,
				Headers: map[string]string{"Content-Type": "text/plain"}, Status: 415, Code: "unsupported_media_type", Unchanged: true},
			// Unknown collections.
			{Name: "create in an unknown collection", Method: "POST", Path: "/api/collections/nope/records", Token: e.super,
				Body: `{"title":"x"}`, Status: 404, Code: "not_found", Unchanged: true},
			{Name: "list an unknown collection", Method: "GET", Path: "/api/collections/nope/records", Token: e.super,
				Status: 404, Code: "not_found"},
			{Name: "get from an unknown collection", Method: "GET", Path: "/api/collections/nope/records/" + str(rec["id"]),
				Token: e.super, Status: 404, Code: "not_found"},
			{Name: "update in an unknown collection", Method: "PATCH", Path: "/api/collections/nope/records/" + str(rec["id"]),
				Token: e.super, Body: `{"title":"x"}`, Status: 404, Code: "not_found", Unchanged: true},
			{Name: "delete in an unknown collection", Method: "DELETE", Path: "/api/collections/nope/records/" + str(rec["id"]),
				Token: e.super, Status: 404, Code: "not_found", Unchanged: true},
			{Name: "a collection name that looks like SQL", Method: "POST",
				Path: "/api/collections/posts%22%3B%20DROP%20TABLE%20posts%3B%20--/records", Token: e.super,
				Body: `{"title":"x"}`, Status: 404, Code: "not_found", Unchanged: true},
			// Unknown fields.
			bad("an unknown field", `{"title":"x","nope":1}`, "unknown_field", errs{"nope": "unknown_field"}),
			bad("a field name that looks like SQL", `{"title\"; DROP TABLE posts; --":"x"}`, "unknown_field",
				errs{`title"; DROP TABLE posts; --`: "unknown_field", "title": "required"}),
			bad("a field name with a quote and a valid title", `{"title":"x","slug\" = 'a'; --":"y"}`, "unknown_field",
				errs{`slug" = 'a'; --`: "unknown_field"}),
			bad("field names are case-sensitive", `{"Title":"x"}`, "unknown_field",
				errs{"Title": "unknown_field", "title": "required"}),
			bad("an unknown field and a bad one", `{"nope":1,"views":"x","title":"x"}`, "unknown_field",
				errs{"nope": "unknown_field", "views": "invalid_type"}),
			// Wrong types, per field type.
			wrong("text given a number", `{"title":5}`, errs{"title": "invalid_type"}),
			wrong("text given an object", `{"title":{"a":1}}`, errs{"title": "invalid_type"}),
			wrong("text given a list", `{"title":["a"]}`, errs{"title": "invalid_type"}),
			wrong("integer given a string", `{"title":"x","views":"5"}`, errs{"views": "invalid_type"}),
			wrong("integer given a fraction", `{"title":"x","views":1.5}`, errs{"views": "invalid_type"}),
			wrong("number given a bool", `{"title":"x","score":true}`, errs{"score": "invalid_type"}),
			wrong("number given a list", `{"title":"x","score":[1]}`, errs{"score": "invalid_type"}),
			wrong("bool given a string", `{"title":"x","published":"true"}`, errs{"published": "invalid_type"}),
			wrong("bool given a number", `{"title":"x","published":1}`, errs{"published": "invalid_type"}),
			wrong("email given a number", `{"title":"x","contact":5}`, errs{"contact": "invalid_type"}),
			wrong("url given a list", `{"title":"x","site":[]}`, errs{"site": "invalid_type"}),
			wrong("date given a number", `{"title":"x","due":1700000000}`, errs{"due": "invalid_type"}),
			wrong("select given a number", `{"title":"x","status":1}`, errs{"status": "invalid_type"}),
			wrong("multi select given an object", `{"title":"x","tags":{"a":true}}`, errs{"tags": "invalid_type"}),
			wrong("multi select given numbers", `{"title":"x","tags":[1]}`, errs{"tags": "invalid_type"}),
			wrong("relation given a number", `{"title":"x","author":5}`, errs{"author": "invalid_type"}),
			wrong("relation given a short id", `{"title":"x","author":"short"}`, errs{"author": "invalid_type"}),
			wrong("multi relation given an object", `{"title":"x","readers":{"id":"`+author+`"}}`, errs{"readers": "invalid_type"}),
			// Ranges.
			wrong("a number out of range", `{"title":"x","score":1e400}`, errs{"score": "too_large"}),
			wrong("a negative number out of range", `{"title":"x","score":-1e400}`, errs{"score": "too_small"}),
			wrong("an integer beyond 2^53", `{"title":"x","views":9007199254740993}`, errs{"views": "too_large"}),
			wrong("an integer far beyond 2^53", `{"title":"x","views":1e20}`, errs{"views": "too_large"}),
			wrong("an integer out of range", `{"title":"x","views":1e400}`, errs{"views": "too_large"}),
			wrong("below min", `{"title":"x","views":-1}`, errs{"views": "too_small"}),
			// Strings.
			wrong("text with NUL", `{"title":"a\u0000b"}`, errs{"title": "invalid_type"}),
			wrong("email with NUL", `{"title":"x","contact":"a\u0000@example.com"}`, errs{"contact": "invalid_type"}),
			wrong("json with NUL", `{"title":"x","meta":{"k":"a\u0000b"}}`, errs{"meta": "invalid_type"}),
			wrong("text too long", `{"title":"`+strings.Repeat("x", 21)+`"}`, errs{"title": "too_long"}),
			wrong("text too long in characters", `{"title":"`+strings.Repeat("é", 21)+`"}`, errs{"title": "too_long"}),
			wrong("an empty required text", `{"title":""}`, errs{"title": "required"}),
			wrong("a missing required text", `{"slug":"x"}`, errs{"title": "required"}),
			wrong("a null required text", `{"title":null}`, errs{"title": "required"}),
			wrong("pattern mismatch", `{"title":"hey!"}`, errs{"title": "pattern"}),
			wrong("select value not in values", `{"title":"x","status":"archived"}`, errs{"status": "invalid_choice"}),
			wrong("select value in another case", `{"title":"x","status":"LIVE"}`, errs{"status": "invalid_choice"}),
			wrong("multi select value not in values", `{"title":"x","tags":["a","z"]}`, errs{"tags": "invalid_choice"}),
			wrong("multi select over max", `{"title":"x","tags":["a","b","c"]}`, errs{"tags": "too_long"}),
			wrong("email invalid", `{"title":"x","contact":"not an email"}`, errs{"contact": "invalid_email"}),
			wrong("email with a name", `{"title":"x","contact":"Ann <ann@example.com>"}`, errs{"contact": "invalid_email"}),
			wrong("url invalid", `{"title":"x","site":"not a url"}`, errs{"site": "invalid_url"}),
			wrong("url javascript", `{"title":"x","site":"javascript:alert(1)"}`, errs{"site": "invalid_url"}),
			wrong("url without host", `{"title":"x","site":"https://"}`, errs{"site": "invalid_url"}),
			wrong("date invalid", `{"title":"x","due":"yesterday"}`, errs{"due": "invalid_date"}),
			wrong("date without time", `{"title":"x","due":"2026-11-25"}`, errs{"due": "invalid_date"}),
			wrong("date month 13", `{"title":"x","due":"2026-13-01T00:00:00Z"}`, errs{"due": "invalid_date"}),
			wrong("relation to a missing record", `{"title":"x","author":"zzzzzzzzzzzzzzz"}`, errs{"author": "not_found"}),
			// Every field error at once.
			wrong("three bad fields", `{"title":5,"views":"x","contact":"nope"}`,
				errs{"title": "invalid_type", "views": "invalid_type", "contact": "invalid_email"}),
			wrong("many bad fields", `{"title":"hey!","views":-1,"score":"x","published":"no","site":"ftp://x","due":"soon",
				"status":"x","tags":["z"],"created":"2026-01-01T00:00:00.000Z"}`,
				errs{"title": "pattern", "views": "too_small", "score": "invalid_type", "published": "invalid_type",
					"site": "invalid_url", "due": "invalid_date", "status": "invalid_choice", "tags": "invalid_choice",
					"created": "read_only"}),
			// The same refusals on PATCH leave the record as it was.
			{Name: "PATCH malformed JSON", Method: "PATCH", Path: one, Token: e.super, Body: `{"title":`,
				Status: 400, Code: "invalid_json", Unchanged: true},
			{Name: "PATCH a JSON array", Method: "PATCH", Path: one, Token: e.super, Body: `[]`,
				Status: 400, Code: "invalid_json", Unchanged: true},
			{Name: "PATCH invalid UTF-8", Method: "PATCH", Path: one, Token: e.super, Body: "{\"title\":\"\xff\"}",
				Status: 400, Code: "invalid_json", Unchanged: true},
			{Name: "PATCH over 1 MiB", Method: "PATCH", Path: one, Token: e.super, Body: huge,
				Status: 413, Code: "body_too_large", Unchanged: true},
			{Name: "PATCH an unknown field", Method: "PATCH", Path: one, Token: e.super, Body: `{"title":"y","nope":1}`,
				Status: 400, Code: "unknown_field", Fields: errs{"nope": "unknown_field"}, Unchanged: true},
			{Name: "PATCH three bad fields", Method: "PATCH", Path: one, Token: e.super, Body: `{"title":5,"views":"x","contact":"nope"}`,
				Status: 400, Code: "validation_failed",
				Fields: errs{"title": "invalid_type", "views": "invalid_type", "contact": "invalid_email"}, Unchanged: true},
			{Name: "PATCH a required field to empty", Method: "PATCH", Path: one, Token: e.super, Body: `{"title":""}`,
				Status: 400, Code: "validation_failed", Fields: errs{"title": "required"}, Unchanged: true},
			{Name: "PATCH a unique value to a good one and a bad one", Method: "PATCH", Path: one, Token: e.super,
				Body: `{"slug":"new","views":"x"}`, Status: 400, Code: "validation_failed", Fields: errs{"views": "invalid_type"},
				Unchanged: true},
			// Collections refuse bad bodies the same way.
			{Name: "collection malformed JSON", Method: "POST", Path: "/api/collections", Token: e.super, Body: `{"name":`,
				Status: 400, Code: "invalid_json", Unchanged: true},
			{Name: "collection as a JSON array", Method: "POST", Path: "/api/collections", Token: e.super,
				Body: `[{"name":"x"}]`, Status: 400, Code: "invalid_json", Unchanged: true},
			{Name: "collection PATCH as a JSON array", Method: "PATCH", Path: "/api/collections/posts", Token: e.super,
				Body: `[]`, Status: 400, Code: "invalid_json", Unchanged: true},
			{Name: "collection in text/plain", Method: "POST", Path: "/api/collections", Token: e.super, Body: `{"name":"x"}`,
				Headers: map[string]string{"Content-Type": "text/plain"}, Status: 415, Code: "unsupported_media_type", Unchanged: true},
			{Name: "collection over 1 MiB", Method: "POST", Path: "/api/collections", Token: e.super,
				Body:   `{"name":"x","fields":[{"name":"` + strings.Repeat("f", 1<<20) + `","type":"text"}]}`,
				Status: 413, Code: "body_too_large", Unchanged: true},
			{Name: "collection with invalid UTF-8", Method: "POST", Path: "/api/collections", Token: e.super,
				Body: "{\"name\":\"x\xff\"}", Status: 400, Code: "invalid_json", Unchanged: true},
			{Name: "sign-in with malformed JSON", Method: "POST", Path: "/api/collections/_superusers/auth/password",
				Body: `{"identity":`, Status: 400, Code: "invalid_json", Unchanged: true},
			{Name: "sign-in with a wrong type", Method: "POST", Path: "/api/collections/_superusers/auth/password",
				Body: `{"identity":5,"password":"x"}`, Status: 400, Code: "validation_failed",
				Fields: errs{"identity": "invalid_type"}, Unchanged: true},
		}
		e.run(t, sc)

		// After all that, the one record is as it was, and a good write works.
		if got := e.mustGet(t, "posts", str(rec["id"])); got["title"] != "existing" || got["updated"] != rec["updated"] {
			t.Errorf("the record changed: %v", got)
		}
		if n := e.count(t, "posts"); n != 1 {
			t.Errorf("%d posts, want 1", n)
		}
		e.run(t, []scenario{
			{Name: "JSON with a UTF-8 charset", Method: "POST", Path: list, Token: e.super, Body: `{"title":"ok"}`,
				Headers: map[string]string{"Content-Type": "application/json; charset=UTF-8"}, Status: 201},
			{Name: "20 characters of é", Method: "POST", Path: list, Token: e.super,
				Body: `{"title":"` + strings.Repeat("é", 20) + `"}`, Status: 201},
			{Name: "an integer at 2^53-1", Method: "POST", Path: list, Token: e.super,
				Body: `{"title":"x","views":9007199254740991}`, Status: 201, Contains: []string{`"views":9007199254740991`}},
			{Name: "an integer written as 3.0", Method: "POST", Path: list, Token: e.super,
				Body: `{"title":"x","views":3.0}`, Status: 201, Contains: []string{`"views":3,`}},
			{Name: "json with an escaped backslash-u text", Method: "POST", Path: list, Token: e.super,
				Body: `{"title":"x","meta":{"code":"\\u0000 is NUL"}}`, Status: 201},
		})
		// JSON values PostgreSQL's jsonb cannot hold (lone surrogate escapes,
		// numbers beyond numeric's range) are refused with invalid_type, or
		// kept; never a 500.
		for _, v := range []string{`{"k":"\ud800"}`, `"\udc00"`, `1e1000000`, `-1e-1000000`} {
			a := e.do(t, call{Method: "POST", Path: list, Token: e.super, Body: `{"title":"x","meta":` + v + `}`})
			switch a.Status {
			case 201:
			case 400:
				checkErrorBody(t, a, "validation_failed", errs{"meta": "invalid_type"})
			default:
				t.Errorf("json value %s: %d %s", v, a.Status, a.Body)
			}
		}
	})
}
