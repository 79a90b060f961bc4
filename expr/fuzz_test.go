package expr

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParse feeds the parser arbitrary text. Whatever it gets, it must not
// panic; an error must be an *Error pointing inside the source; a tree,
// written back as filter text, must parse to the same tree. Trees are then
// checked against the test schema, bound and evaluated, which must not
// panic either. The seeds run with every go test.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`a = 1`, `a != "x"`, `a > -1.5e3`, `a >= .5`, `a < 1e21`, `a <= 0`, `a ~ 'x'`, `a !~ "x\"y"`,
		`a ?= 1`, `a ?!= 1`, `a ?> 1`, `a ?>= 1`, `a ?< 1`, `a ?<= 1`, `a ?~ "x"`, `a ?!~ 'x\'y'`,
		`a = 1 || b = 2 && c = 3`, `!(a = 1 || !b = 2)`, `((a = 1))`, `a = true && b = false || c = null`,
		`author.name:lower ~ "x"`, `labels:length > 2`, `comments_via_post.likes ?> 1`,
		`@now > due`, `due < @todayEnd && due > @todayStart`, `@request.auth.id != "" && author = @request.auth.id`,
		`@request.body.views > views`, `@request.query.q ~ title`, `@request.method = "GET"`,
		`@collection.users.name ?= title`, `@random = 1`, `views > author.age`, `title = author.name`,
		`meta ?= 1`, `meta = null`, `readers.name ?~ "a"`, `"a" ~ title`, `5 < views`,
		`due = "2026-01-02 10:00:00"`, `a == 1`, `a = "unclosed`, `(a = 1`, `a:upper = 1`, `a = 1 &&`, "a = \"\xff\"",
		`a = 0x1`, `a = 1_0`, `é = 1`, `a = "\n\t\\"`, `@`, `a ? 1`, `a = #`, "",
	} {
		f.Add(s)
	}
	env := &Env{Now: time.Date(2026, 11, 25, 10, 15, 30, 123e6, time.UTC), Method: "GET",
		Auth:  map[string]any{"id": "u1", "name": "A"},
		Body:  map[string]any{"views": float64(3), "title": "ab", "tags": []any{"a"}},
		Query: map[string]string{"q": "a", "views": "2"}}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q): error %T, want *Error", src, err)
			}
			checkErrorPos(t, src, pe)
			return
		}
		tree := e.String()
		again := render(e)
		if len(again) <= MaxLength {
			e2, err := Parse(again)
			if err != nil {
				t.Fatalf("Parse(%q) = %s, written back as %q, does not parse: %v", src, tree, again, err)
			}
			if e2.String() != tree {
				t.Fatalf("Parse(%q) = %s, written back as %q, parses to %s", src, tree, again, e2)
			}
		}
		c, err := ParseCheck(src, schema, "posts", Options{Hidden: true, Request: true})
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("ParseCheck(%q): error %T, want *Error", src, err)
			}
			checkErrorPos(t, src, ce)
			return
		}
		b := Bind(c, env)
		for _, r := range fuzzData.recs["posts"] {
			Eval(b, r, fuzzData)
		}
	})
}

func checkErrorPos(t *testing.T, src string, e *Error) {
	t.Helper()
	if e.Pos < 0 || e.Pos > len(src) {
		t.Fatalf("%q: error at byte %d, outside the source (%d bytes): %v", src, e.Pos, len(src), e)
	}
	if want := utf8.RuneCountInString(src[:e.Pos]) + 1; e.Col != want {
		t.Fatalf("%q: error at byte %d says character %d, want %d: %v", src, e.Pos, e.Col, want, e)
	}
	if e.Msg == "" {
		t.Fatalf("%q: error without a message", src)
	}
}

// render writes a tree back as filter text, with the parentheses its shape
// needs and no others (so it nests no deeper than the source did).
func render(e Expr) string {
	switch x := e.(type) {
	case *Logic:
		l, r := render(x.X), render(x.Y)
		if y, ok := x.X.(*Logic); ok && y.Or && !x.Or {
			l = "(" + l + ")"
		}
		if y, ok := x.Y.(*Logic); ok && (y.Or || !x.Or) {
			r = "(" + r + ")"
		}
		op := " && "
		if x.Or {
			op = " || "
		}
		return l + op + r
	case *Not:
		if _, ok := x.X.(*Logic); ok {
			return "!(" + render(x.X) + ")"
		}
		return "!" + render(x.X)
	case *Compare:
		return renderOperand(x.L) + " " + x.Op.String() + " " + renderOperand(x.R)
	}
	return "?"
}

func renderOperand(o Operand) string {
	if l, ok := o.(*Literal); ok && l.Kind == LitString {
		r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
		return `"` + r.Replace(l.Str) + `"`
	}
	if l, ok := o.(*Literal); ok && l.Kind == LitNumber {
		return strconv.FormatFloat(l.Num, 'g', -1, 64)
	}
	return o.String()
}

// memData is an in-memory Data over a few records, for the fuzz test.
type memData struct {
	recs map[string][]mapRecord
}

type mapRecord map[string]any

func (r mapRecord) Get(field string) any { return r[field] }

func (d *memData) Record(collection, id string) Record {
	for _, r := range d.recs[collection] {
		if r["id"] == id {
			return r
		}
	}
	return nil
}

func (d *memData) Referencing(collection, field, id string, multiple bool) []Record {
	var out []Record
	for _, r := range d.recs[collection] {
		switch v := r[field].(type) {
		case string:
			if !multiple && v == id {
				out = append(out, r)
			}
		case []string:
			for _, x := range v {
				if multiple && x == id {
					out = append(out, r)
					break
				}
			}
		}
	}
	return out
}

func (d *memData) All(collection string) []Record {
	out := make([]Record, len(d.recs[collection]))
	for i, r := range d.recs[collection] {
		out[i] = r
	}
	return out
}

var fuzzData = &memData{recs: map[string][]mapRecord{
	"orgs": {{"id": "o1", "name": "O"}},
	"users": {
		{"id": "u1", "name": "A", "age": int64(3), "score": 2.5, "active": true, "tags": []string{"a", "b"},
			"born": time.Date(2000, 1, 2, 0, 0, 0, 0, time.UTC), "org": "o1", "note": "n"},
		{"id": "u2"},
	},
	"posts": {
		{"id": "p1", "title": "ab", "views": int64(3), "rating": 2.5, "published": true,
			"due": time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), "labels": []string{"a"},
			"meta": json.RawMessage(`[1,"a",true,null,[2],{"a":1}]`), "author": "u1", "readers": []string{"u1", "u2"}},
		{"id": "p2", "meta": json.RawMessage(`{"a":1}`)},
		{"id": "p3", "meta": json.RawMessage(`"a"`), "labels": []string{}},
	},
	"comments": {
		{"id": "c1", "post": "p1", "body": "x", "likes": int64(1)},
		{"id": "c2", "post": "p1"},
	},
}}
