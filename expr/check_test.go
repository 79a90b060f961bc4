package expr

import (
	"errors"
	"strings"
	"testing"
)

// TestCheck states how the checker resolves names and types comparisons,
// by the condition each accepted filter on posts becomes (see condString).
func TestCheck(t *testing.T) {
	t.Parallel()
	req := Options{Request: true}
	tests := []struct {
		src  string
		opt  Options
		want string
	}{
		// Fields of every kind, and the system fields.
		{`title = "x"`, Options{}, `(= title "x" text)`},
		{`views > 1`, Options{}, `(> views/# 1 number)`},
		{`rating <= 2.5`, Options{}, `(<= rating 2.5 number)`},
		{`published = true`, Options{}, `(= published true bool)`},
		{`published != false`, Options{}, `(!= published false bool)`},
		{`id = "x"`, Options{}, `(= id "x" text)`},
		{`author = "x"`, Options{}, `(= author "x" text)`},
		// Date strings become times, in UTC at millisecond precision.
		{`due > "2026-01-02"`, Options{}, `(> due 2026-01-02T00:00:00Z date)`},
		{`due = "2026-01-02 10:00:00"`, Options{}, `(= due 2026-01-02T10:00:00Z date)`},
		{`due < "2026-01-02T10:00:00.5004+02:00"`, Options{}, `(< due 2026-01-02T08:00:00.5Z date)`},
		{`created < @now`, Options{}, `(< created @now date)`},
		{`updated >= @todayStart && updated <= @todayEnd`, Options{},
			`(and (>= updated @todayStart date) (<= updated @todayEnd date))`},
		// A value on the left of an ordering moves to the right, flipped.
		{`5 < views`, Options{}, `(> views/# 5 number)`},
		{`5 >= views`, Options{}, `(<= views/# 5 number)`},
		{`"2026-01-01" < due`, Options{}, `(> due 2026-01-01T00:00:00Z date)`},
		{`@now > due`, Options{}, `(< due @now date)`},
		{`null = title`, Options{}, `(= title null text)`},
		// ~ does not flip: the value is the text that may hold the field's.
		{`"ab" ~ title`, Options{}, `(~ "ab" title text)`},
		{`"ab" !~ author.name:lower`, Options{}, `(!~ "ab" author.name:lower text)`},
		{`"ab" ?~ labels`, Options{}, `(?~ "ab" labels/*[] text)`},
		{`@request.query.q ~ title`, req, `(~ @request.query.q title text)`},
		// Null tests.
		{`due = null`, Options{}, `(= due null date)`},
		{`author != null`, Options{}, `(!= author null text)`},
		{`labels = null`, Options{}, `(= labels/*[] null text)`},
		{`readers != null`, Options{}, `(!= readers/*[] null text)`},
		{`meta = null`, Options{}, `(= meta/*[] null json)`},
		// Relation paths and back-relations.
		{`author.name ~ "a"`, Options{}, `(~ author.name "a" text)`},
		{`author.org.name = "o"`, Options{}, `(= author.org.name "o" text)`},
		{`due = author.born`, Options{}, `(= due author.born date)`},
		{`views > author.age`, Options{}, `(> views/# author.age/# number)`},
		{`readers.name ?= "a"`, Options{}, `(?= readers.name/* "a" text)`},
		{`readers.org.name ?= "a"`, Options{}, `(?= readers.org.name/* "a" text)`},
		{`readers.name ?= author.name`, Options{}, `(?= readers.name/* author.name text)`},
		{`author.tags ?= "a"`, Options{}, `(?= author.tags/*[] "a" text)`},
		{`readers.tags ?= "a"`, Options{}, `(?= readers.tags/*[] "a" text)`},
		{`comments_via_post.likes ?> 1`, Options{}, `(?> comments_via_post.likes/*# 1 number)`},
		{`comments_via_post.post.title ?= "x"`, Options{}, `(?= comments_via_post.post.title/* "x" text)`},
		{`author.posts_via_author.title ?= "x"`, Options{}, `(?= author.posts_via_author.title/* "x" text)`},
		{`@collection.users.name ?= title`, Options{}, `(?= @collection.users.name/* title text)`},
		{`@collection.users.age ?> views`, Options{}, `(?> @collection.users.age/*# views/# number)`},
		// The any-of family, on lists, json and single values.
		{`labels ?= "a"`, Options{}, `(?= labels/*[] "a" text)`},
		{`labels ?~ "a"`, Options{}, `(?~ labels/*[] "a" text)`},
		{`labels:lower ?!= "a"`, Options{}, `(?!= labels:lower/*[] "a" text)`},
		{`readers ?!= author`, Options{}, `(?!= readers/*[] author text)`},
		{`meta ?= 1`, Options{}, `(?= meta/*[] 1 json)`},
		{`meta ?= true`, Options{}, `(?= meta/*[] true json)`},
		{`meta ?~ "a"`, Options{}, `(?~ meta/*[] "a" json)`},
		{`meta ?> "a"`, Options{}, `(?> meta/*[] "a" json)`},
		{`title ?= "a"`, Options{}, `(?= title "a" text)`},
		{`published ?= true`, Options{}, `(?= published true bool)`},
		// Modifiers.
		{`title:lower = "x"`, Options{}, `(= title:lower "x" text)`},
		{`title:lower ~ author.name:lower`, Options{}, `(~ title:lower author.name:lower text)`},
		{`labels:length > 1`, Options{}, `(> labels:length/[] 1 number)`},
		{`readers:length = 2`, Options{}, `(= readers:length/[] 2 number)`},
		{`meta:length = 2`, Options{}, `(= meta:length/[] 2 number)`},
		{`author.tags:length = 2`, Options{}, `(= author.tags:length/[] 2 number)`},
		{`comments_via_post:length > 0`, Options{}, `(> comments_via_post:length/[] 0 number)`},
		{`author.posts_via_author:length > 1`, Options{}, `(> author.posts_via_author:length/[] 1 number)`},
		// Logic keeps its shape.
		{`!(views > 1 || title = "a") && published = true`, Options{},
			`(and (not (or (> views/# 1 number) (= title "a" text))) (= published true bool))`},
		// Hidden fields with the option.
		{`author.note = "x"`, Options{Hidden: true}, `(= author.note "x" text)`},
		// @request names, with the option; their type is known after binding.
		{`@request.auth.id = author`, req, `(= author @request.auth.id text)`},
		{`@request.auth.id != ""`, req, `(!= @request.auth.id "" text)`},
		{`@request.method = "GET"`, req, `(= @request.method "GET" text)`},
		{`@request.body.views > views`, req, `(< views/# @request.body.views number)`},
		{`@request.body.tags:length > 1`, req, `(> @request.body.tags:length 1 number)`},
		{`@request.auth.name:lower = title`, req, `(= title @request.auth.name:lower text)`},
		{`views = @request.query.views`, req, `(= views/# @request.query.views number)`},
		// Comparisons that read no record are checked too; Bind folds them.
		{`1 = 1`, Options{}, `(= 1 1 number)`},
		{`null = null`, Options{}, `(= null null unknown)`},
	}
	for _, tt := range tests {
		c, err := ParseCheck(tt.src, schema, "posts", tt.opt)
		if err != nil {
			t.Errorf("ParseCheck(%q): %v", tt.src, err)
			continue
		}
		if got := condString(c); got != tt.want {
			t.Errorf("ParseCheck(%q):\n got %s\nwant %s", tt.src, got, tt.want)
		}
	}
}

// TestCheckErrors checks that the checker refuses what the language does
// not allow, at the right character, with a message that says why.
func TestCheckErrors(t *testing.T) {
	t.Parallel()
	req := Options{Request: true}
	tests := []struct {
		name string
		src  string
		opt  Options
		col  int
		msg  string
	}{
		{"UnknownField", `nope = 1`, Options{}, 1, `nope: posts has no field "nope"`},
		{"UnknownFieldInPath", `author.nope = 1`, Options{}, 1, `author.nope: users has no field "nope"`},
		{"UnknownFieldAfterAnd", `views > 1 && nope = 1`, Options{}, 14, `posts has no field "nope"`},
		{"FieldOfAScalar", `author.name.x = 1`, Options{}, 1, `name is not a relation, so it has no field "x"`},
		{"HiddenField", `author.note = "x"`, Options{}, 1, `author.note: users has no field "note"`},
		{"HiddenFieldOfAny", `@collection.users.note ?= "x"`, Options{}, 1, `users has no field "note"`},
		{"PasswordField", `author.password = null`, Options{}, 1, "password fields cannot be compared"},
		{"PasswordFieldEvenHidden", `author.password = "x"`, Options{Hidden: true}, 1, "password fields cannot be compared"},
		{"NotABackRelation", `comments_via_body.x = 1`, Options{}, 1, "body is not a relation of comments to posts"},
		{"BackRelationToAnother", `users_via_org.name ?= "x"`, Options{}, 1, "org is not a relation of users to posts"},
		{"PlainEqualsOnMultiRelation", `readers.name = "a"`, Options{}, 14, "readers.name holds several values: use an any-of operator such as ?="},
		{"PlainEqualsOnList", `labels = "a"`, Options{}, 8, "labels holds several values: use an any-of operator such as ?="},
		{"PlainLikeOnJSON", `meta ~ "a"`, Options{}, 6, "use an any-of operator such as ?~"},
		{"PlainEqualsOnBackRelation", `comments_via_post.likes > 1`, Options{}, 25, "use an any-of operator such as ?>"},
		{"NullTestOfBackRelation", `comments_via_post = null`, Options{}, 19, "holds several values"},
		{"PlainEqualsOnCollection", `@collection.users.name = "a"`, Options{}, 24, "holds several values"},
		{"BothSidesMulti", `@collection.users.name ?= readers.name`, Options{}, 24, "both hold several values: one side must hold one"},
		{"AnyOfNull", `labels ?= null`, Options{}, 8, "compare a multi-valued field with null using = or !="},
		{"JSONWithValue", `meta = 1`, Options{}, 6, "meta holds several values"},
		{"JSONWithField", `meta ?= author.name`, Options{}, 6, "meta is a json field"},
		{"JSONWithDate", `meta ?= @now`, Options{}, 9, "json elements compare with strings, numbers and bools, not dates"},
		{"JSONLikeNumber", `meta ?~ 1`, Options{}, 9, "~ needs a string"},
		{"JSONRightOfLike", `"a" ?~ meta`, Options{}, 5, "meta is a json field: write it on the left of ?~"},
		{"LikeValueLeftNumber", `5 ~ title`, Options{}, 5, "cannot compare 5 (number) with text"},
		{"LikeOnNumber", `views ~ 5`, Options{}, 7, "~ needs text on both sides, not number"},
		{"LikeNumberWithText", `views ~ "5"`, Options{}, 9, "cannot compare views (number) with text"},
		{"LikeOnBool", `published !~ true`, Options{}, 11, "!~ needs text on both sides, not bool"},
		{"LikeOnDate", `due ~ @now`, Options{}, 5, "~ needs text on both sides, not date"},
		{"OrderingBools", `published > true`, Options{}, 11, "> does not order bools: use = or !="},
		{"OrderingBoolFields", `published <= author.active`, Options{}, 11, "<= does not order bools"},
		{"OrderingNull", `title <= null`, Options{}, 7, "null only compares with = and !="},
		{"TextWithNumber", `title = 1`, Options{}, 9, "cannot compare title (text) with number"},
		{"BoolWithText", `published = "true"`, Options{}, 13, "cannot compare published (bool) with text"},
		{"DateWithNumber", `due > 5`, Options{}, 7, "cannot compare due (date) with number"},
		{"DateWithText", `due = title`, Options{}, 7, "cannot compare due (date) with text"},
		{"TextWithDate", `title = @now`, Options{}, 9, "cannot compare title (text) with date"},
		{"DateThatDoesNotParse", `due > "tomorrow"`, Options{}, 7, `"tomorrow" is not a date`},
		{"DateOutOfRange", `due > "2026-13-01"`, Options{}, 7, `"2026-13-01" is not a date`},
		{"DateLeftThatDoesNotParse", `"2026" < due`, Options{}, 1, `"2026" is not a date`},
		{"LengthOfScalar", `title:length > 1`, Options{}, 1, "title:length: :length applies to multi-valued fields and back-relations"},
		{"LengthOfRelation", `author:length > 1`, Options{}, 1, ":length applies to multi-valued fields"},
		{"LengthThroughMulti", `readers.tags:length = 2`, Options{}, 1, "readers.tags:length: the path already holds several values"},
		{"LengthOfBackThroughMulti", `readers.posts_via_author:length > 1`, Options{}, 1, "the path already holds several values"},
		{"LengthOfQuery", `@request.query.x:length = 1`, req, 1, ":length applies to multi-valued fields"},
		{"LowerOfNumber", `views:lower = "a"`, Options{}, 1, "views:lower: :lower applies to text, not number"},
		{"LowerOfJSON", `meta:lower ?= "a"`, Options{}, 1, ":lower applies to text, not json"},
		{"LowerOfDate", `author.born:lower = "a"`, Options{}, 1, "author.born:lower: :lower applies to text, not date"},
		{"TooManyJoins", strings.Repeat(`author.name = "a" && `, MaxJoins) + `author.name = "a"`, Options{}, 1 + 21*MaxJoins,
			"the expression follows more than 12 relations"},
		{"TooManyJoinsInOnePath", `comments_via_post.post` + strings.Repeat(".comments_via_post.post", 6) + `.title ?= "x"`, Options{}, 1,
			"more than 12 relations"},
		{"RequestWithoutOption", `@request.auth.id = author`, Options{}, 1, "@request is not available here"},
		{"RequestUnknown", `@request.foo = 1`, req, 1, "expected @request.method, @request.auth.<field>"},
		{"RequestAuthAlone", `@request.auth = 1`, req, 1, "expected @request.method"},
		{"Random", `@random = 1`, Options{}, 1, "@random only sorts; it cannot be compared"},
		{"NowWithModifier", `@now:lower = due`, Options{}, 1, "@now takes no path or modifier"},
		{"NowWithPath", `@now.x = due`, Options{}, 1, "@now takes no path or modifier"},
		{"UnknownAt", `@unknown = 1`, Options{}, 1, "unknown name @unknown"},
		{"CollectionUnknown", `@collection.nope.name ?= "a"`, Options{}, 1, `no collection "nope"`},
		{"CollectionWithoutField", `@collection.users ?= "a"`, Options{}, 1, "expected @collection.<name>.<field>"},
		// Positions count characters, not bytes.
		{"ColumnAfterMultibyte", `title = "é" && nope = 1`, Options{}, 16, `no field "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCheck(tt.src, schema, "posts", tt.opt)
			if err == nil {
				t.Fatalf("ParseCheck(%.80q) = %s, want an error", tt.src, condString(c))
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("ParseCheck(%.80q): error %T %v, want *Error", tt.src, err, err)
			}
			if ce.Col != tt.col {
				t.Errorf("ParseCheck(%.80q): error at character %d, want %d (%v)", tt.src, ce.Col, tt.col, err)
			}
			if !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("ParseCheck(%.80q): message %q, want it to contain %q", tt.src, ce.Msg, tt.msg)
			}
		})
	}
}

// TestCheckWithoutSource checks the position Check reports on a tree
// without its source: the byte offset, and a column one past it.
func TestCheckWithoutSource(t *testing.T) {
	t.Parallel()
	e, err := Parse(`views > 1 && nope = 1`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Check(e, schema, "posts", Options{})
	var ce *Error
	if !errors.As(err, &ce) || ce.Pos != 13 || ce.Col != 14 {
		t.Fatalf("Check: %v, want an *Error at byte 13, character 14", err)
	}
}

// TestResolvePath checks the paths sort keys use.
func TestResolvePath(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		path string
		opt  Options
		want string // termString, or the error fragment
	}{
		{"title", Options{}, "title"},
		{"author.name", Options{}, "author.name"},
		{"author.age", Options{}, "author.age/#"},
		{"readers.name", Options{}, "readers.name/*"},
		{"labels", Options{}, "labels/*[]"},
		{"author.note", Options{}, `users has no field "note"`},
		{"author.note", Options{Hidden: true}, "author.note"},
		{"author.password", Options{Hidden: true}, "password fields cannot be compared"},
		{"nope", Options{}, `posts has no field "nope"`},
	} {
		p, err := ResolvePath(schema, "posts", strings.Split(tt.path, "."), tt.opt)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = termString(p)
		}
		if !strings.Contains(got, tt.want) {
			t.Errorf("ResolvePath(%q, %+v) = %s, want %s", tt.path, tt.opt, got, tt.want)
		}
	}
}
