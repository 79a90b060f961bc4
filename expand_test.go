package loam

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// expandSchema is the schema the expand and fields parsers are tested on:
//
//	companies  name
//	people     (auth) name, company -> companies, mentor -> people, memo (hidden)
//	posts      title, author -> people, editors -> people (multi), note (hidden),
//	           sponsor -> companies (hidden), locked -> vaults
//	comments   body, post -> posts, author -> people
//	likes      posts -> posts (multi)
//	vaults     code, post -> posts; superusers only
//	a_via_b    c -> posts (a name with _via_ in it)
//	wide       r0 ... r39 -> wide
func expandSchema(tb testing.TB) *Schema {
	tb.Helper()
	everyone := ""
	open := Rules{List: &everyone, View: &everyone}
	rel := func(name, target string, multiple bool) Field {
		return Field{Name: name, Type: TypeRelation, Collection: target, Multiple: multiple}
	}
	wide := &Collection{Name: "wide", Rules: open}
	for i := range 40 {
		wide.Fields = append(wide.Fields, rel(fmt.Sprintf("r%d", i), "wide", false))
	}
	cols := []*Collection{
		{Name: "companies", Rules: open, Fields: []Field{{Name: "name", Type: TypeText}}},
		{Name: "people", Type: CollectionAuth, Rules: open, Fields: withAuthFields([]Field{{Name: "name", Type: TypeText},
			rel("company", "companies", false), rel("mentor", "people", false), {Name: "memo", Type: TypeText, Hidden: true}})},
		{Name: "posts", Rules: open, Fields: []Field{{Name: "title", Type: TypeText}, rel("author", "people", false),
			rel("editors", "people", true), {Name: "note", Type: TypeText, Hidden: true},
			{Name: "sponsor", Type: TypeRelation, Collection: "companies", Hidden: true}, rel("locked", "vaults", false)}},
		{Name: "comments", Rules: open, Fields: []Field{{Name: "body", Type: TypeText}, rel("post", "posts", false),
			rel("author", "people", false)}},
		{Name: "likes", Rules: open, Fields: []Field{rel("posts", "posts", true)}},
		{Name: "vaults", Fields: []Field{{Name: "code", Type: TypeText}, rel("post", "posts", false)}},
		{Name: "a_via_b", Rules: open, Fields: []Field{rel("c", "posts", false)}},
		wide,
	}
	for _, c := range cols {
		if err := c.Validate(); err != nil {
			tb.Fatalf("collection %s: %v", c.Name, err)
		}
	}
	return NewSchema(1, cols)
}

var testSuperuser = &Principal{Collection: SuperusersCollection}

// tree renders a parsed expand tree compactly: name, [back], (denied), {children}.
func tree(nodes []*ExpandNode) string {
	var parts []string
	for _, n := range nodes {
		s := n.Name + ":" + n.Collection.Name
		if n.Back {
			s += "<"
		}
		if n.Many() {
			s += "[]"
		}
		if n.Denied {
			s += "(denied)"
		}
		if len(n.Children) > 0 {
			s += "{" + tree(n.Children) + "}"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}

func TestParseExpand(t *testing.T) {
	t.Parallel()
	s := expandSchema(t)
	wide := make([]string, MaxExpandRelations+1)
	for i := range wide {
		wide[i] = fmt.Sprintf("r%d", i)
	}
	deep := func(n int) string { return "author" + strings.Repeat(".mentor", n-1) }
	for _, tt := range []struct {
		name, coll, spec string
		who              *Principal
		want             string // tree, or "" for no expansion
		err              string // a part of the error message; "" for no error
	}{
		{"empty", "posts", "", nil, "", ""},
		{"blank", "posts", "  ", nil, "", ""},
		{"single", "posts", "author", nil, "author:people", ""},
		{"multi", "posts", "editors", nil, "editors:people[]", ""},
		{"paths merge", "posts", " author.company , editors,author.mentor ", nil,
			"author:people{company:companies,mentor:people},editors:people[]", ""},
		{"the same path twice", "posts", "author,author", nil, "author:people", ""},
		{"back-relation", "posts", "comments_via_post", nil, "comments_via_post:comments<[]", ""},
		{"back-relation over a multi relation", "posts", "likes_via_posts", nil, "likes_via_posts:likes<[]", ""},
		{"nested through a back-relation", "posts", "comments_via_post.author.company", nil,
			"comments_via_post:comments<[]{author:people{company:companies}}", ""},
		{"a collection name with _via_", "posts", "a_via_b_via_c", nil, "a_via_b_via_c:a_via_b<[]", ""},
		{"a relation to the same collection", "people", "mentor.mentor", nil, "mentor:people{mentor:people}", ""},
		{"six levels", "posts", deep(6), nil,
			"author:people{mentor:people{mentor:people{mentor:people{mentor:people{mentor:people}}}}}", ""},
		{"seven levels", "posts", deep(7), nil, "", "at most 6"},
		{"32 relations", "wide", strings.Join(wide[:MaxExpandRelations], ","), nil,
			tree(func() []*ExpandNode {
				var ns []*ExpandNode
				for _, w := range wide[:MaxExpandRelations] {
					ns = append(ns, &ExpandNode{Name: w, Collection: s.Collection("wide")})
				}
				return ns
			}()), ""},
		{"33 relations", "wide", strings.Join(wide, ","), nil, "", "more than 32"},
		{"unknown", "posts", "nope", nil, "", `posts has no relation field "nope"`},
		{"unknown deeper", "posts", "author.nope", nil, "", `people has no relation field "nope"`},
		{"not a relation", "posts", "title", nil, "", "posts.title is a text field, not a relation"},
		{"system key", "posts", "id", nil, "", `no relation field "id"`},
		{"back-relation from nowhere", "posts", "nope_via_post", nil, "", `no collection "nope"`},
		{"back-relation over no field", "posts", "comments_via_nope", nil, "", `comments has no field "nope"`},
		{"back-relation over a text field", "posts", "comments_via_body", nil, "", "comments.body is not a relation to posts"},
		{"back-relation pointing elsewhere", "posts", "comments_via_author", nil, "", "comments.author is not a relation to posts"},
		{"hidden relation, anonymously", "posts", "sponsor", nil, "", `no relation field "sponsor"`},
		{"hidden relation, as superuser", "posts", "sponsor", testSuperuser, "sponsor:companies", ""},
		{"hidden field of a back-relation, anonymously", "people", "people_via_memo", nil, "", `people has no field "memo"`},
		{"superusers-only target, anonymously", "posts", "locked.anything.at.all", nil, "locked:vaults(denied)", ""},
		{"superusers-only target, as superuser", "posts", "locked.anything", testSuperuser, "", `vaults has no relation field "anything"`},
		{"superusers-only back-relation, anonymously", "posts", "vaults_via_nope.x", nil, "vaults_via_nope:vaults<[](denied)", ""},
		{"superusers-only back-relation, as superuser", "posts", "vaults_via_post", testSuperuser, "vaults_via_post:vaults<[]", ""},
		{"empty entry", "posts", "author,,editors", nil, "", "empty entry"},
		{"trailing comma", "posts", "author,", nil, "", "empty entry"},
		{"empty name", "posts", "author..company", nil, "", "empty name"},
		{"trailing dot", "posts", "author.", nil, "", "empty name"},
		{"not a name", "posts", "auth or", nil, "", "is not a name"},
		{"a star", "posts", "*", nil, "", "is not a name"},
		{"a modifier", "posts", "author:excerpt(2)", nil, "", "modifiers"},
		{"SQL", "posts", `author";DROP TABLE posts`, nil, "", "is not a name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			nodes, err := ParseExpand(s, s.Collection(tt.coll), tt.who, tt.spec)
			if tt.err != "" {
				if CodeOf(err) != CodeInvalidQuery || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseExpand(%q): %v, want invalid_query saying %q", tt.spec, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseExpand(%q): %v", tt.spec, err)
			}
			if got := tree(nodes); got != tt.want {
				t.Fatalf("ParseExpand(%q):\n got %s\nwant %s", tt.spec, got, tt.want)
			}
		})
	}
}

// keys renders a fields selection compactly: * first, then keys in order, whole or {inside}.
func keys(f *Fields) string {
	if f == nil {
		return "ALL"
	}
	var parts []string
	if f.All {
		parts = append(parts, "*")
	}
	names := make([]string, 0, len(f.Keys))
	for k := range f.Keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if sub := f.Keys[k]; sub != nil {
			parts = append(parts, k+"{"+keys(sub)+"}")
		} else {
			parts = append(parts, k)
		}
	}
	return strings.Join(parts, ",")
}

func TestParseFields(t *testing.T) {
	t.Parallel()
	s := expandSchema(t)
	for _, tt := range []struct {
		name, expand, spec string
		who                *Principal
		want               string
		err                string
	}{
		{"empty", "", "", nil, "ALL", ""},
		{"some fields", "", "id,title, created ,collectionName,updated", nil, "collectionName,created,id,title,updated", ""},
		{"star", "", "*", nil, "*", ""},
		{"star and expand inside", "author", "*,expand.author.name", nil, "*,expand{author{name}}", ""},
		{"expand whole", "author", "id,expand", nil, "expand,id", ""},
		{"whole wins over a part", "author", "expand.author.name,expand", nil, "expand", ""},
		{"whole wins, either order", "author", "expand,expand.author.name", nil, "expand", ""},
		{"every relation", "author,editors", "expand.*", nil, "expand{*}", ""},
		{"every key of a relation", "author", "expand.author.*", nil, "expand{author{*}}", ""},
		{"nested", "comments_via_post.author.company", "id,expand.comments_via_post.expand.author.expand.company.name", nil,
			"expand{comments_via_post{expand{author{expand{company{name}}}}}},id", ""},
		{"hidden, as superuser", "", "note", testSuperuser, "note", ""},
		{"inside a superusers-only relation, anonymously", "locked", "expand.locked.anything.at.all", nil, "expand{locked}", ""},
		{"unknown", "", "nope", nil, "", `posts has no field "nope"`},
		{"unknown inside", "author", "expand.author.nope", nil, "", `people has no field "nope"`},
		{"hidden, anonymously", "", "note", nil, "", `posts has no field "note"`},
		{"hidden inside, anonymously", "author", "expand.author.memo", nil, "", `people has no field "memo"`},
		{"password", "author", "expand.author.password", testSuperuser, "", "people.password is never returned"},
		{"expand without expand", "", "expand", nil, "", "nothing is expanded in posts records"},
		{"expand of a relation not expanded", "author", "expand.editors", nil, "", `"editors" is not expanded`},
		{"expand deeper than expanded", "author", "expand.author.expand.company", nil, "", "nothing is expanded in people records"},
		{"parts of a plain field", "", "title.x", nil, "", "posts.title has no keys to select inside it"},
		{"parts of a relation field", "author", "author.name", nil, "", "posts.author has no keys to select inside it"},
		{"star in the middle", "author", "*.name", nil, "", "must come last"},
		{"empty entry", "", "id,,title", nil, "", "empty entry"},
		{"empty name", "", "expand..x", nil, "", "empty name"},
		{"modifier", "", "title:excerpt(200,true)", nil, "", "modifiers"},
		{"not a name", "", "ti-tle", nil, "", "is not a name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			posts := s.Collection("posts")
			nodes, err := ParseExpand(s, posts, tt.who, tt.expand)
			if err != nil {
				t.Fatalf("ParseExpand(%q): %v", tt.expand, err)
			}
			f, err := ParseFields(posts, nodes, tt.who, tt.spec)
			if tt.err != "" {
				if CodeOf(err) != CodeInvalidQuery || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseFields(%q): %v, want invalid_query saying %q", tt.spec, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFields(%q): %v", tt.spec, err)
			}
			if got := keys(f); got != tt.want {
				t.Fatalf("ParseFields(%q): got %s, want %s", tt.spec, got, tt.want)
			}
		})
	}
}

func TestFieldsPick(t *testing.T) {
	t.Parallel()
	name := &Fields{Keys: map[string]*Fields{"name": nil}}
	f := &Fields{All: true, Keys: map[string]*Fields{"expand": {Keys: map[string]*Fields{"author": name}}}}
	for _, tt := range []struct {
		f       *Fields
		key     string
		want    bool
		wantSub *Fields
	}{
		{nil, "anything", true, nil},
		{f, "title", true, nil},
		{f, "expand", true, f.Keys["expand"]},
		{f.Keys["expand"], "author", true, name},
		{f.Keys["expand"], "editors", false, nil},
		{name, "name", true, nil},
		{name, "id", false, nil},
	} {
		got, sub := tt.f.Pick(tt.key)
		if got != tt.want || sub != tt.wantSub {
			t.Errorf("%s.Pick(%q) = %v, %v; want %v, %v", keys(tt.f), tt.key, got, sub, tt.want, tt.wantSub)
		}
	}
}

// checkTree checks what ParseExpand promises of a tree it returns.
func checkTree(t *testing.T, s *Schema, parent *Collection, nodes []*ExpandNode, depth int, count *int) {
	t.Helper()
	if len(nodes) > 0 && depth > MaxExpandDepth {
		t.Fatalf("a tree deeper than %d", MaxExpandDepth)
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		*count++
		if seen[n.Name] {
			t.Fatalf("%q twice among siblings", n.Name)
		}
		seen[n.Name] = true
		if n.Collection == nil || s.Collection(n.Collection.Name) != n.Collection {
			t.Fatalf("%q: a collection not of the schema", n.Name)
		}
		if n.Denied {
			if len(n.Children) > 0 {
				t.Fatalf("%q: a denied node with children", n.Name)
			}
			continue
		}
		switch {
		case n.Back:
			if n.Name != n.Collection.Name+viaSep+n.Field.Name || n.Collection.Field(n.Field.Name) != n.Field ||
				n.Field.Type != TypeRelation || n.Field.Collection != parent.Name {
				t.Fatalf("%q: not a back-relation to %s", n.Name, parent.Name)
			}
		default:
			if parent.Field(n.Name) != n.Field || n.Field.Type != TypeRelation || n.Field.Collection != n.Collection.Name {
				t.Fatalf("%q: not a relation of %s", n.Name, parent.Name)
			}
		}
		if !n.Denied && n.Field.Hidden {
			t.Fatalf("%q: a hidden relation expanded for an anonymous caller", n.Name)
		}
		checkTree(t, s, n.Collection, n.Children, depth+1, count)
	}
}

// checkFields checks that every key a selection names exists where it is named.
func checkFields(t *testing.T, c *Collection, nodes []*ExpandNode, f *Fields) {
	t.Helper()
	if f == nil {
		return
	}
	for k, sub := range f.Keys {
		switch {
		case k == "expand":
			if len(nodes) == 0 {
				t.Fatalf("expand selected in %s without expansions", c.Name)
			}
			if sub == nil {
				continue
			}
			for rk, rsub := range sub.Keys {
				n := findNode(nodes, rk)
				if n == nil {
					t.Fatalf("expand.%s selected, not expanded", rk)
				}
				if rsub != nil && !n.Denied {
					checkFields(t, n.Collection, n.Children, rsub)
				}
			}
		case sub != nil:
			t.Fatalf("%s.%s selected with parts", c.Name, k)
		case k == ColID || k == ColCreated || k == ColUpdated || k == "collectionName":
		default:
			fld := c.Field(k)
			if fld == nil || fld.Hidden || fld.Type == TypePassword {
				t.Fatalf("%s.%s selected: no such visible field", c.Name, k)
			}
		}
	}
}

func FuzzParseExpand(f *testing.F) {
	for _, s := range []string{
		"", "author", "author.company,editors", "comments_via_post.author.company", "likes_via_posts", "a_via_b_via_c",
		"author.mentor.mentor.mentor.mentor.mentor", "author.mentor.mentor.mentor.mentor.mentor.mentor", "nope",
		"title", "comments_via_author", "_via_", "x_via_", "vaults_via_post", "locked.x.y", "sponsor", "author,,x",
		"author.", ".author", " author ", "author:excerpt", "*", "author.*", "r0,r1", "author\x00", "é", "author,author",
	} {
		f.Add("posts", s)
	}
	f.Add("wide", "r0.r1.r2,r3,r4.r5")
	f.Add("people", "mentor.company,people_via_mentor")
	s := expandSchema(f)
	f.Fuzz(func(t *testing.T, coll, spec string) {
		c := s.Collection(coll)
		if c == nil {
			return
		}
		nodes, err := ParseExpand(s, c, nil, spec)
		if err != nil {
			var e *Error
			if CodeOf(err) != CodeInvalidQuery || !errors.As(err, &e) || e.Message == "" {
				t.Fatalf("ParseExpand(%q): %v, want invalid_query with a message", spec, err)
			}
			return
		}
		count := 0
		checkTree(t, s, c, nodes, 1, &count)
		if count > MaxExpandRelations {
			t.Fatalf("ParseExpand(%q): %d relations", spec, count)
		}
	})
}

func FuzzParseFields(f *testing.F) {
	for _, s := range [][2]string{
		{"", ""}, {"author", "id,expand.author.name"}, {"author", "*,expand.author.name"}, {"author", "expand,expand.author"},
		{"", "expand"}, {"author", "expand.*"}, {"author", "expand.author.*"}, {"", "title.x"}, {"", "note"},
		{"author", "expand.author.password"}, {"locked", "expand.locked.x.y.z"}, {"", "*.*"}, {"", "id,,title"},
		{"comments_via_post.author", "expand.comments_via_post.expand.author.name"}, {"", "title:excerpt(10,true)"},
	} {
		f.Add(s[0], s[1])
	}
	s := expandSchema(f)
	posts := s.Collection("posts")
	f.Fuzz(func(t *testing.T, expand, fields string) {
		nodes, err := ParseExpand(s, posts, nil, expand)
		if err != nil {
			return
		}
		sel, err := ParseFields(posts, nodes, nil, fields)
		if err != nil {
			if CodeOf(err) != CodeInvalidQuery {
				t.Fatalf("ParseFields(%q): %v, want invalid_query", fields, err)
			}
			return
		}
		if strings.TrimSpace(fields) == "" && sel != nil {
			t.Fatalf("ParseFields(%q) selected %s, want everything", fields, keys(sel))
		}
		checkFields(t, posts, nodes, sel)
	})
}
