package api

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"loam"
)

func FuzzParseListQuery(f *testing.F) {
	for _, s := range []string{
		"", "page=1", "page=0", "page=-1", "page=1000000", "page=1000001", "page=abc", "page=+2", "page= 2",
		"perPage=30", "perPage=0", "perPage=500", "perPage=501", "perPage=99999999999999999999999", "perPage=-5",
		"perPage=1e3", "perPage=", "page=2&page=3", "skipTotal=1", "skipTotal=true", "skipTotal=yes", "skipTotal=",
		"sort=-created,title", "sort=+title", "sort=-", "sort=,", "sort=a,,b", "sort=%20-created%20", "sort=--x",
		"sort=a,b,c,d,e,f,g,h", "sort=a,b,c,d,e,f,g,h,i", "sort=" + strings.Repeat("x", 64), "sort=title;DROP TABLE x",
		"filter=x", "expand=a", "fields=a", "cursor=x", "cursor=", "cursor=x&page=2", "sort=author.name,-@random", "%zz", "page=%", "a=1&&b=2;c=3", "sort=%E2%80%A8",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest(http.MethodGet, "/api/collections/posts/records", nil)
		r.URL.RawQuery = raw
		q, err := parseListQuery(r)
		if err != nil {
			if c := loam.CodeOf(err); c != loam.CodeInvalidQuery && c != loam.CodeInvalidSort && c != loam.CodeInvalidFilter {
				t.Fatalf("%q: error code %q", raw, c)
			}
			return
		}
		if q.PerPage < 1 || q.PerPage > MaxPerPage {
			t.Fatalf("%q: perPage %d", raw, q.PerPage)
		}
		if q.Page < 1 || q.Page > 1_000_000 {
			t.Fatalf("%q: page %d", raw, q.Page)
		}
		if len(q.Sort) > 8 {
			t.Fatalf("%q: %d sort keys", raw, len(q.Sort))
		}
		for _, k := range q.Sort {
			if k.Field == "" || len(k.Field) > 8*loam.MaxNameLength {
				t.Fatalf("%q: sort field %q", raw, k.Field)
			}
		}
	})
}

func FuzzReadObject(f *testing.F) {
	for _, tc := range []struct {
		body, ct string
		limit    uint16
	}{
		{`{}`, "application/json", 0},
		{`{"title":"x","n":1}`, "application/json; charset=utf-8", 0},
		{` {"a":[1,2]} `, "application/json;charset=UTF-8", 0},
		{`{"a":1}`, "application/json; charset=latin1", 0},
		{`{"a":1}`, "text/plain", 0},
		{`{"a":1}`, "", 0},
		{`{"a":1}`, "application/json; foo", 0},
		{`{"a":1}`, "APPLICATION/JSON", 0},
		{`{"a":1}`, "application/json", 3},
		{`[1,2]`, "application/json", 0},
		{`null`, "application/json", 0},
		{`"x"`, "application/json", 0},
		{`{"a":1}{"b":2}`, "application/json", 0},
		{`{"a":1,"a":2}`, "application/json", 0},
		{"{\"a\":\"\xff\"}", "application/json", 0},
		{"\xef\xbb\xbf{}", "application/json", 0},
		{`{"a":"\ud800"}`, "application/json", 0},
		{`{"a":1`, "application/json", 0},
		{``, "application/json", 0},
		{`{"a":{"b":{"c":[[[[[]]]]]}}}`, "application/json", 0},
	} {
		f.Add([]byte(tc.body), tc.ct, tc.limit)
	}
	f.Fuzz(func(t *testing.T, body []byte, ct string, limit uint16) {
		r := httptest.NewRequest(http.MethodPost, "/api/collections/posts/records", bytes.NewReader(body))
		r.Header.Set("Content-Type", ct)
		if limit > 0 {
			r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, int64(limit))
		}
		m, err := readObject(r)
		if err != nil {
			switch c := loam.CodeOf(err); c {
			case loam.CodeInvalidJSON, loam.CodeUnsupportedMediaType, loam.CodeBodyTooLarge:
			default:
				t.Fatalf("error code %q: %v", c, err)
			}
			if m != nil {
				t.Fatalf("an error with keys %v", m)
			}
			return
		}
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			t.Fatalf("accepted content type %q", ct)
		}
		if limit > 0 && len(body) > int(limit) {
			t.Fatalf("accepted %d bytes over a limit of %d", len(body), limit)
		}
		if !utf8.Valid(body) || !json.Valid(body) {
			t.Fatalf("accepted a body that is not UTF-8 JSON: %q", body)
		}
		if tb := bytes.TrimSpace(body); len(tb) == 0 || tb[0] != '{' {
			t.Fatalf("accepted a body that is not an object: %q", body)
		}
		if m == nil {
			t.Fatalf("accepted %q without a map", body)
		}
		for k, v := range m {
			if !utf8.ValidString(k) || !json.Valid(v) {
				t.Fatalf("key %q value %q", k, v)
			}
		}
	})
}

// FuzzAppendShaped renders an expanded post, with a fuzzed expand and
// fields, as an anonymous caller and as a superuser: the answer is always
// one JSON object, holds only selected keys, and never a password or (for
// the anonymous caller) a hidden field.
func FuzzAppendShaped(f *testing.F) {
	for _, s := range [][2]string{
		{"", ""}, {"author", ""}, {"author,comments_via_post.author", "id,expand.comments_via_post.expand.author.name"},
		{"author", "*,expand.author.name"}, {"author", "expand"}, {"comments_via_post", "expand.*"}, {"", "title,note"},
		{"author.mentor", "expand.author.expand.mentor.*"}, {"locked", "expand.locked.code"}, {"author", "expand.author.password"},
	} {
		f.Add(s[0], s[1])
	}
	everyone := ""
	open := loam.Rules{List: &everyone, View: &everyone}
	rel := func(name, target string, multiple bool) loam.Field {
		return loam.Field{Name: name, Type: loam.TypeRelation, Collection: target, Multiple: multiple}
	}
	cols := []*loam.Collection{
		{Name: "people", Type: loam.CollectionAuth, Rules: open, Fields: []loam.Field{
			{Name: "email", Type: loam.TypeEmail}, {Name: "password", Type: loam.TypePassword, Hidden: true},
			{Name: "name", Type: loam.TypeText}, rel("mentor", "people", false), {Name: "memo", Type: loam.TypeText, Hidden: true}}},
		{Name: "vaults", Fields: []loam.Field{{Name: "code", Type: loam.TypeText}}},
		{Name: "posts", Rules: open, Fields: []loam.Field{{Name: "title", Type: loam.TypeText}, rel("author", "people", false),
			{Name: "note", Type: loam.TypeText, Hidden: true}, rel("locked", "vaults", false)}},
		{Name: "comments", Rules: open, Fields: []loam.Field{{Name: "body", Type: loam.TypeText}, rel("post", "posts", false),
			rel("author", "people", true)}},
	}
	for _, c := range cols {
		if err := c.Validate(); err != nil {
			f.Fatal(err)
		}
	}
	schema := loam.NewSchema(1, cols)
	rec := func(id, coll string, data map[string]any) *loam.Record {
		return &loam.Record{ID: id, Collection: coll, Data: data, Created: loam.Now(), Updated: loam.Now()}
	}
	ann := rec("ann000000000000", "people", map[string]any{"email": "a@example.com", "password": "$argon2id$secret",
		"name": "ann", "memo": "MEMO"})
	bob := rec("bob000000000000", "people", map[string]any{"email": "b@example.com", "password": "$argon2id$secret",
		"name": "bob", "mentor": ann.ID, "memo": "MEMO"})
	vault := rec("v00000000000000", "vaults", map[string]any{"code": "CODE"})
	post := rec("p00000000000000", "posts", map[string]any{"title": "t", "author": bob.ID, "note": "NOTE", "locked": vault.ID})
	comment := rec("c00000000000000", "comments", map[string]any{"body": "b", "post": post.ID, "author": []string{ann.ID, bob.ID}})
	bob.Expand = map[string][]*loam.Record{"mentor": {ann}}
	comment.Expand = map[string][]*loam.Record{"author": {ann, bob}, "post": {post}}
	post.Expand = map[string][]*loam.Record{"author": {bob}, "comments_via_post": {comment}, "locked": {vault}}
	f.Fuzz(func(t *testing.T, expand, fields string) {
		for _, who := range []*loam.Principal{nil, {Collection: loam.SuperusersCollection}} {
			nodes, err := loam.ParseExpand(schema, cols[2], who, expand)
			if err != nil {
				return
			}
			sel, err := loam.ParseFields(cols[2], nodes, who, fields)
			if err != nil {
				return
			}
			b := appendShaped(nil, cols[2], post, who.IsSuperuser(), &loam.ReadOptions{Expand: nodes, Fields: sel})
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("expand %q fields %q: not a JSON object: %v: %s", expand, fields, err, b)
			}
			for _, leak := range []string{"$argon2", `"password"`} {
				if bytes.Contains(b, []byte(leak)) {
					t.Fatalf("expand %q fields %q: the answer holds %s: %s", expand, fields, leak, b)
				}
			}
			// MEMO and NOTE are hidden fields; CODE is in a superusers-only collection.
			for _, leak := range []string{"MEMO", "NOTE", "CODE"} {
				if !who.IsSuperuser() && bytes.Contains(b, []byte(leak)) {
					t.Fatalf("expand %q fields %q: %s reached an anonymous caller: %s", expand, fields, leak, b)
				}
			}
			for k := range m {
				if ok, _ := sel.Pick(k); !ok {
					t.Fatalf("expand %q fields %q: key %q is not selected: %s", expand, fields, k, b)
				}
			}
		}
	})
}
