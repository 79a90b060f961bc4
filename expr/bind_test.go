package expr

import (
	"testing"
	"time"
)

// TestBind shows what each checked filter on posts becomes once bound to a
// request: @ names replaced by values of the type they compare with,
// constants folded, and values that cannot be read matching nothing.
func TestBind(t *testing.T) {
	t.Parallel()
	env := &Env{
		Now:    time.Date(2026, 11, 25, 10, 15, 30, 123456789, time.FixedZone("X", 3600)),
		Method: "PATCH",
		Auth:   map[string]any{"id": "u1", "name": "Ann", "age": int64(3), "tags": []string{"a", "b"}},
		Body:   map[string]any{"title": "Ab", "views": float64(2), "tags": []any{"a", "b", "c"}, "empty": ""},
		Query:  map[string]string{"v": " 2 ", "b": "true", "d": "2026-01-02", "x": "abc", "nul": "a\x00b"},
	}
	anon := &Env{Now: env.Now}
	tests := []struct {
		src  string
		env  *Env
		want string
	}{
		{`due < @now`, env, `(< due 2026-11-25T09:15:30.123Z date)`},
		{`due >= @todayStart && due <= @todayEnd`, env,
			`(and (>= due 2026-11-25T00:00:00Z date) (<= due 2026-11-25T23:59:59.999Z date))`},
		{`author = @request.auth.id`, env, `(= author "u1" text)`},
		{`author = @request.auth.id`, anon, `(= author null text)`}, // "" is no value
		{`@request.auth.id != ""`, env, `true`},
		{`@request.auth.id != ""`, anon, `false`},
		{`@request.auth.name = "x"`, anon, `false`},
		{`@request.method = "PATCH" || views > 1`, env, `true`},
		{`@request.method = "GET" && views > 1`, env, `false`},
		{`@request.method = "GET" || views > 1`, env, `(> views/# 1 number)`},
		{`title = @request.body.title:lower`, env, `(= title "ab" text)`},
		{`views < @request.body.tags:length`, env, `(< views/# 3 number)`},
		{`views = @request.auth.tags:length`, env, `(= views/# 2 number)`},
		{`title = @request.body.empty`, env, `(= title null text)`},
		{`title ~ @request.body.empty`, env, `false`},
		{`title !~ @request.body.empty`, env, `true`},
		{`title = @request.body.missing`, env, `(= title null text)`},
		// Query parameters are strings, read as the type they compare with.
		{`views = @request.query.v`, env, `(= views/# 2 number)`},
		{`published = @request.query.b`, env, `(= published true bool)`},
		{`due > @request.query.d`, env, `(> due 2026-01-02T00:00:00Z date)`},
		// What cannot be read as that type matches nothing.
		{`views = @request.query.x`, env, `false`},
		{`views != @request.query.x`, env, `true`},
		{`published = @request.query.x`, env, `false`},
		{`due < @request.query.x`, env, `false`},
		{`views = @request.body.title`, env, `false`},
		{`title = @request.body.views`, env, `false`},
		// A NUL character: no stored text holds one.
		{`title = @request.query.nul`, env, `false`},
		{`title != @request.query.nul`, env, `true`},
		{`title ~ @request.query.nul`, env, `false`},
		{`meta ?= @request.query.nul`, env, `false`},
		// Any-of on a single value is the plain operator.
		{`title ?= "a"`, env, `(= title "a" text)`},
		{`labels ?= @request.body.title`, env, `(?= labels/*[] "Ab" text)`},
		// Literals on both sides fold.
		{`1 = 1 && views > 1`, env, `(> views/# 1 number)`},
		{`1 = 2 || !(views > 1)`, env, `(not (> views/# 1 number))`},
		{`!(1 = 1)`, env, `false`},
		{`null = null`, env, `true`},
		{`"a" ~ "ab"`, env, `false`},
		{`"ab" ~ "A"`, env, `true`},
	}
	for _, tt := range tests {
		c, err := ParseCheck(tt.src, schema, "posts", Options{Request: true})
		if err != nil {
			t.Errorf("ParseCheck(%q): %v", tt.src, err)
			continue
		}
		if got := condString(Bind(c, tt.env)); got != tt.want {
			t.Errorf("Bind(%s):\n got %s\nwant %s", tt.src, got, tt.want)
		}
	}
}
