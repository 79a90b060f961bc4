package expr

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// evalData is a handful of records whose every value a test below reads:
//
//	users    u1 name Σ, age 3, tags [a b]; u2 name ab; u3 nothing
//	posts    p1 title a, views 1, labels [a], meta [..6 elements..], author u1, readers [u1 u2]
//	         p2 title B, views 2, rating 2.5, labels [A b], meta {"a":1}, author u2, readers [u3]
//	         p3 title ς, meta "a"
//	         p4 nothing
//	         p5 title 50%, views 3, meta [], author u3
//	comments c1 on p1, body x, likes 1; c2 on p1; c3 on p2, body Ab, likes 3
var evalData = &memData{recs: map[string][]mapRecord{
	"users": {
		{"id": "u1", "name": "Σ", "age": int64(3), "tags": []string{"a", "b"}},
		{"id": "u2", "name": "ab"},
		{"id": "u3"},
	},
	"posts": {
		{"id": "p1", "title": "a", "views": int64(1), "labels": []string{"a"},
			"meta": json.RawMessage(`["a",1,true,null,[2],{"a":1}]`), "author": "u1", "readers": []string{"u1", "u2"}},
		{"id": "p2", "title": "B", "views": int64(2), "rating": 2.5, "labels": []string{"A", "b"},
			"meta": json.RawMessage(`{"a":1}`), "author": "u2", "readers": []string{"u3"}},
		{"id": "p3", "title": "ς", "meta": json.RawMessage(`"a"`)},
		{"id": "p4"},
		{"id": "p5", "title": "50%", "views": int64(3), "meta": json.RawMessage(`[]`), "author": "u3"},
	},
	"comments": {
		{"id": "c1", "post": "p1", "body": "x", "likes": int64(1)},
		{"id": "c2", "post": "p1"},
		{"id": "c3", "post": "p2", "body": "Ab", "likes": int64(3)},
	},
}}

// TestEval states the language's semantics by example, independently of
// the SQL compilers: which of the posts above each filter accepts. (The
// differential test in storetest holds the stores to Eval; this holds Eval,
// and the checker and Bind before it, to the documented meaning.)
func TestEval(t *testing.T) {
	t.Parallel()
	tests := []struct{ src, want string }{
		// A missing value equals only a missing value; orderings and ~ are
		// false for it; != and !~ are the negations. "" is no value.
		{`title = "a"`, "p1"},
		{`title != "a"`, "p2 p3 p4 p5"},
		{`title > "a"`, "p3"}, // code point order: "B" and "50%" sort before "a"
		{`title < "a"`, "p2 p5"},
		{`title = null`, "p4"},
		{`title = ""`, "p4"},
		{`title != null`, "p1 p2 p3 p5"},
		{`title != ""`, "p1 p2 p3 p5"},
		// ~ contains, with case folded on both sides; wildcards are text.
		{`title ~ "A"`, "p1"},
		{`title ~ "σ"`, "p3"},
		{`title ~ "%"`, "p5"},
		{`title ~ "_"`, ""},
		{`title !~ "a"`, "p2 p3 p4 p5"},
		{`title ~ ""`, ""},
		{`title !~ ""`, "p1 p2 p3 p4 p5"},
		// A value on the left of ~ is the text that contains the field.
		{`"ab" ~ title`, "p1 p2"},
		{`"ab" !~ title`, "p3 p4 p5"},
		{`@request.query.q ~ title`, "p1 p2"},
		{`"" ~ title`, ""},
		{`"ab" ?~ labels`, "p1 p2"},
		{`"ab" ?!~ labels`, ""},
		{`title:lower = "b"`, "p2"},
		{`title:lower = "B"`, ""}, // the value is not folded
		// Numbers; a value on the left of an ordering flips it.
		{`views > 1`, "p2 p5"},
		{`views != 1`, "p2 p3 p4 p5"},
		{`1 < views`, "p2 p5"},
		{`2 >= views`, "p1 p2"},
		{`views = 2.5`, ""},
		{`rating = 2.5`, "p2"},
		{`!(views > 1)`, "p1 p3 p4"},
		{`views > 1 || title = "a"`, "p1 p2 p5"},
		{`views > 1 && title ~ "5"`, "p5"},
		// Lists: any-of; = null is "holds nothing".
		{`labels ?= "a"`, "p1"},
		{`labels ?= "A"`, "p2"},
		{`labels:lower ?= "a"`, "p1 p2"},
		{`labels ?!= "a"`, "p2"},
		{`labels = null`, "p3 p4 p5"},
		{`labels != null`, "p1 p2"},
		{`labels:length = 2`, "p2"},
		{`labels:length = 0`, "p3 p4 p5"},
		// JSON elements match values of their own JSON type only.
		{`meta ?= "a"`, "p1"},
		{`meta ?= 1`, "p1"},
		{`meta ?= true`, "p1"},
		{`meta ?= "1"`, ""},
		{`meta ?!= "a"`, "p1"},
		{`meta ?> 0`, "p1"},
		{`meta ?< "b"`, "p1"},
		{`meta = null`, "p4"},
		{`meta != null`, "p1 p2 p3 p5"},
		{`meta:length = 0`, "p2 p3 p4 p5"},
		{`meta:length = 6`, "p1"},
		// Relations.
		{`author.name = "Σ"`, "p1"},
		{`author.name ~ "ς"`, "p1"},
		{`author.name = null`, "p3 p4 p5"},
		{`readers.name ?= "ab"`, "p1"},
		{`readers.name ?!= "ab"`, "p1 p2"},
		{`readers:length = 2`, "p1"},
		{`comments_via_post.likes ?> 2`, "p2"},
		{`comments_via_post:length = 2`, "p1"},
		{`comments_via_post:length = 0`, "p3 p4 p5"},
		{`comments_via_post.body ?~ "ab"`, "p2"},
		{`@collection.users.name ?= title`, "p4"}, // u3 has no name, nor has p4 a title
		// Back from a related record: posts by the same author, or that the
		// author reads.
		{`author.posts_via_author:length = 1`, "p1 p2 p5"},
		{`author.posts_via_author.title ?= "B"`, "p2"},
		{`author.posts_via_readers.title ?= "a"`, "p1 p2"},
		{`readers.posts_via_author.views ?> 1`, "p1 p2"},
		{`comments_via_post.post.title ?= "B"`, "p2"},
		// Two paths.
		{`views > author.age`, ""},
		{`views < author.age`, "p1"},
		{`title = author.name`, "p4"},
		{`title != author.name`, "p1 p2 p3 p5"},
	}
	env := &Env{Now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), Query: map[string]string{"q": "XAB"}}
	for _, tt := range tests {
		c, err := ParseCheck(tt.src, schema, "posts", Options{Request: true})
		if err != nil {
			t.Errorf("ParseCheck(%q): %v", tt.src, err)
			continue
		}
		b := Bind(c, env)
		var got []string
		for _, r := range evalData.recs["posts"] {
			if Eval(b, r, evalData) {
				got = append(got, r["id"].(string))
			}
		}
		if want := strings.Fields(tt.want); !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", tt.src, got, want)
		}
	}
}
