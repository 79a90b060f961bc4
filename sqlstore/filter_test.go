package sqlstore_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"loam"
	"loam/expr"
	"loam/postgres"
	"loam/sqlite"
	"loam/sqlstore"
)

// filterSchema is the schema the golden filters are checked against.
func filterSchema() *loam.Schema {
	return loam.NewSchema(1, []*loam.Collection{
		{ID: "c1", Name: "users", Fields: []loam.Field{
			{Name: "name", Type: loam.TypeText}, {Name: "age", Type: loam.TypeNumber, Integer: true},
			{Name: "tags", Type: loam.TypeSelect, Multiple: true, Values: []string{"a", "b"}},
		}},
		{ID: "c2", Name: "posts", Fields: []loam.Field{
			{Name: "title", Type: loam.TypeText}, {Name: "views", Type: loam.TypeNumber, Integer: true},
			{Name: "rating", Type: loam.TypeNumber}, {Name: "published", Type: loam.TypeBool},
			{Name: "due", Type: loam.TypeDate},
			{Name: "labels", Type: loam.TypeSelect, Multiple: true, Values: []string{"a", "b"}},
			{Name: "meta", Type: loam.TypeJSON}, {Name: "author", Type: loam.TypeRelation, Collection: "users"},
			{Name: "readers", Type: loam.TypeRelation, Collection: "users", Multiple: true},
		}},
		{ID: "c3", Name: "comments", Fields: []loam.Field{
			{Name: "post", Type: loam.TypeRelation, Collection: "posts"}, {Name: "body", Type: loam.TypeText},
			{Name: "likes", Type: loam.TypeNumber, Integer: true},
		}},
	})
}

// TestCompileFilter pins the SQL each dialect gets for a filter on posts,
// and its parameters (args; pgArgs when PostgreSQL's differ). Parameters
// print as Go literals, but float64 always with a point and times as
// time(...), so an integer parameter (which an index on an integer column
// serves) is told from a float.
func TestCompileFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src, sqlite, pg, args, pgArgs string
	}{
		{src: `title = "x"`,
			sqlite: `t."title" = ?1`,
			pg:     `t."title" = $1`,
			args:   `"x"`},
		{src: `title != "x"`,
			sqlite: `(t."title" IS NULL OR t."title" <> ?1)`,
			pg:     `(t."title" IS NULL OR t."title" <> $1)`,
			args:   `"x"`},
		{src: `views > 5`,
			sqlite: `t."views" > ?1`,
			pg:     `t."views" > $1`,
			args:   `5`},
		{src: `!(views > 5)`,
			sqlite: `(t."views" IS NULL OR t."views" <= ?1)`,
			pg:     `(t."views" IS NULL OR t."views" <= $1)`,
			args:   `5`},
		{src: `views = 2.5`,
			sqlite: `t."views" = ?1`,
			pg:     `t."views" = $1::float8`,
			args:   `2.5`},
		{src: `rating >= 2`,
			sqlite: `t."rating" >= ?1`,
			pg:     `t."rating" >= $1`,
			args:   `2.0`},
		{src: `published = true`,
			sqlite: `t."published" = ?1`,
			pg:     `t."published" = $1`,
			args:   `true`},
		{src: `due < @now`,
			sqlite: `t."due" < ?1`,
			pg:     `t."due" < $1`,
			args:   `"2026-11-25T10:15:30.123Z"`,
			pgArgs: `time(2026-11-25T10:15:30.123Z)`},
		{src: `title = null`,
			sqlite: `t."title" IS NULL`,
			pg:     `t."title" IS NULL`},
		{src: `title != null`,
			sqlite: `t."title" IS NOT NULL`,
			pg:     `t."title" IS NOT NULL`},
		// ~ folds both sides and escapes LIKE's wildcards in the value.
		{src: `title ~ "50%_A"`,
			sqlite: `(loam_fold(t."title") LIKE ?1 ESCAPE '\')`,
			pg:     `(lower(upper((t."title") COLLATE "C.utf8")) COLLATE "C" LIKE $1 ESCAPE '\')`,
			args:   `"%50\\%\\_a%"`},
		{src: `title !~ "a"`,
			sqlite: `(t."title" IS NULL OR NOT (loam_fold(t."title") LIKE ?1 ESCAPE '\'))`,
			pg:     `(t."title" IS NULL OR NOT (lower(upper((t."title") COLLATE "C.utf8")) COLLATE "C" LIKE $1 ESCAPE '\'))`,
			args:   `"%a%"`},
		{src: `title:lower = "x"`,
			sqlite: `loam_fold(t."title") = ?1`,
			pg:     `lower(upper((t."title") COLLATE "C.utf8")) COLLATE "C" = $1`,
			args:   `"x"`},
		// A value on the left of ~ is the text that holds the field's.
		{src: `"Ab%" ~ title`,
			sqlite: `(?1 LIKE '%' || replace(replace(replace(loam_fold(t."title"), '\', '\\'), '%', '\%'), '_', '\_') || '%' ESCAPE '\')`,
			pg:     `($1 LIKE '%' || replace(replace(replace(lower(upper((t."title") COLLATE "C.utf8")) COLLATE "C", '\', '\\'), '%', '\%'), '_', '\_') || '%' ESCAPE '\')`,
			args:   `"ab%"`},
		{src: `"ab" !~ title`,
			sqlite: `(t."title" IS NULL OR NOT (?1 LIKE '%' || replace(replace(replace(loam_fold(t."title"), '\', '\\'), '%', '\%'), '_', '\_') || '%' ESCAPE '\'))`,
			pg:     `(t."title" IS NULL OR NOT ($1 LIKE '%' || replace(replace(replace(lower(upper((t."title") COLLATE "C.utf8")) COLLATE "C", '\', '\\'), '%', '\%'), '_', '\_') || '%' ESCAPE '\'))`,
			args:   `"ab"`},
		{src: `"ab" ?~ labels`,
			sqlite: `EXISTS (SELECT 1 FROM json_each(t."labels") AS a1 WHERE (?1 LIKE '%' || replace(replace(replace(loam_fold(a1.value), '\', '\\'), '%', '\%'), '_', '\_') || '%' ESCAPE '\'))`,
			pg:     `EXISTS (SELECT 1 FROM jsonb_array_elements_text(t."labels") AS a1(value) WHERE ($1 LIKE '%' || replace(replace(replace(lower(upper((a1.value COLLATE "C") COLLATE "C.utf8")) COLLATE "C", '\', '\\'), '%', '\%'), '_', '\_') || '%' ESCAPE '\'))`,
			args:   `"ab"`},
		// Comparisons with no value fold away.
		{src: `title ~ "" || views > 1`,
			sqlite: `t."views" > ?1`,
			pg:     `t."views" > $1`,
			args:   `1`},
		// Logic: negations go down to the comparisons.
		{src: `views > 1 && (published = true || title ~ "go")`,
			sqlite: `(t."views" > ?1 AND (t."published" = ?2 OR (loam_fold(t."title") LIKE ?3 ESCAPE '\')))`,
			pg:     `(t."views" > $1 AND (t."published" = $2 OR (lower(upper((t."title") COLLATE "C.utf8")) COLLATE "C" LIKE $3 ESCAPE '\')))`,
			args:   `1, true, "%go%"`},
		{src: `!(views > 1 && title = "a")`,
			sqlite: `((t."views" IS NULL OR t."views" <= ?1) OR (t."title" IS NULL OR t."title" <> ?2))`,
			pg:     `((t."views" IS NULL OR t."views" <= $1) OR (t."title" IS NULL OR t."title" <> $2))`,
			args:   `1, "a"`},
		// Single relations: a scalar subquery on the primary key.
		{src: `author.name = "x"`,
			sqlite: `(SELECT a1."name" FROM "users" AS a1 WHERE a1.id = t."author") = ?1`,
			pg:     `(SELECT a1."name" FROM "users" AS a1 WHERE a1.id = t."author") = $1`,
			args:   `"x"`},
		{src: `views > author.age`,
			sqlite: `t."views" > (SELECT a1."age" FROM "users" AS a1 WHERE a1.id = t."author")`,
			pg:     `t."views" > (SELECT a1."age" FROM "users" AS a1 WHERE a1.id = t."author")`},
		{src: `title = author.name`,
			sqlite: `(t."title" = (SELECT a1."name" FROM "users" AS a1 WHERE a1.id = t."author") OR (t."title" IS NULL AND (SELECT a1."name" FROM "users" AS a1 WHERE a1.id = t."author") IS NULL))`,
			pg:     `(t."title" = (SELECT a1."name" FROM "users" AS a1 WHERE a1.id = t."author") OR (t."title" IS NULL AND (SELECT a1."name" FROM "users" AS a1 WHERE a1.id = t."author") IS NULL))`},
		{src: `title != author.name`,
			sqlite: `(t."title" <> (SELECT a1."name" FROM "users" AS a1 WHERE a1.id = t."author") OR (t."title" IS NULL) <> ((SELECT a1."name" FROM "users" AS a1 WHERE a1.id = t."author") IS NULL))`,
			pg:     `(t."title" <> (SELECT a1."name" FROM "users" AS a1 WHERE a1.id = t."author") OR (t."title" IS NULL) <> ((SELECT a1."name" FROM "users" AS a1 WHERE a1.id = t."author") IS NULL))`},
		{src: `title ~ author.name`,
			sqlite: `(loam_fold(t."title") LIKE '%' || replace(replace(replace(loam_fold((SELECT a1."name" FROM "users" AS a1 WHERE a1.id = t."author")), '\', '\\'), '%', '\%'), '_', '\_') || '%' ESCAPE '\')`,
			pg:     `(lower(upper((t."title") COLLATE "C.utf8")) COLLATE "C" LIKE '%' || replace(replace(replace(lower(upper(((SELECT a1."name" FROM "users" AS a1 WHERE a1.id = t."author")) COLLATE "C.utf8")) COLLATE "C", '\', '\\'), '%', '\%'), '_', '\_') || '%' ESCAPE '\')`},
		// Lists: EXISTS over the elements; negated, NOT EXISTS.
		{src: `labels ?= "a"`,
			sqlite: `EXISTS (SELECT 1 FROM json_each(t."labels") AS a1 WHERE a1.value = ?1)`,
			pg:     `EXISTS (SELECT 1 FROM jsonb_array_elements_text(t."labels") AS a1(value) WHERE a1.value COLLATE "C" = $1)`,
			args:   `"a"`},
		{src: `labels ?!= "a"`,
			sqlite: `EXISTS (SELECT 1 FROM json_each(t."labels") AS a1 WHERE (a1.value IS NULL OR a1.value <> ?1))`,
			pg:     `EXISTS (SELECT 1 FROM jsonb_array_elements_text(t."labels") AS a1(value) WHERE (a1.value COLLATE "C" IS NULL OR a1.value COLLATE "C" <> $1))`,
			args:   `"a"`},
		{src: `!(labels ?= "a")`,
			sqlite: `NOT EXISTS (SELECT 1 FROM json_each(t."labels") AS a1 WHERE a1.value = ?1)`,
			pg:     `NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(t."labels") AS a1(value) WHERE a1.value COLLATE "C" = $1)`,
			args:   `"a"`},
		{src: `labels = null`,
			sqlite: `(t."labels" IS NULL OR json_array_length(t."labels") = 0)`,
			pg:     `(t."labels" IS NULL OR t."labels" = '[]'::jsonb)`},
		{src: `labels != null`,
			sqlite: `(t."labels" IS NOT NULL AND NOT json_array_length(t."labels") = 0)`,
			pg:     `(t."labels" IS NOT NULL AND NOT t."labels" = '[]'::jsonb)`},
		// A count compares with whole numbers as integers, others as floats.
		{src: `labels:length > 1`,
			sqlite: `COALESCE(json_array_length(t."labels"), 0) > ?1`,
			pg:     `COALESCE(jsonb_array_length(t."labels"), 0) > $1`,
			args:   `1`},
		{src: `labels:length < 9007199254740992`,
			sqlite: `COALESCE(json_array_length(t."labels"), 0) < ?1`,
			pg:     `COALESCE(jsonb_array_length(t."labels"), 0) < $1::float8`,
			args:   `9007199254740992.0`},
		{src: `labels:length >= 2.5`,
			sqlite: `COALESCE(json_array_length(t."labels"), 0) >= ?1`,
			pg:     `COALESCE(jsonb_array_length(t."labels"), 0) >= $1::float8`,
			args:   `2.5`},
		{src: `readers.name ?= "a"`,
			sqlite: `EXISTS (SELECT 1 FROM json_each(t."readers") AS a1 WHERE (SELECT a2."name" FROM "users" AS a2 WHERE a2.id = a1.value) = ?1)`,
			pg:     `EXISTS (SELECT 1 FROM jsonb_array_elements_text(t."readers") AS a1(value) WHERE (SELECT a2."name" FROM "users" AS a2 WHERE a2.id = a1.value COLLATE "C") = $1)`,
			args:   `"a"`},
		// JSON: elements match only values of their own JSON type.
		{src: `meta ?= 1`,
			sqlite: `EXISTS (SELECT 1 FROM json_each(CASE WHEN json_type(t."meta") = 'array' THEN t."meta" END) AS a1 WHERE (CASE WHEN a1.type IN ('integer', 'real') THEN CAST(a1.value AS REAL) = ?1 ELSE 1 = 0 END))`,
			pg:     `EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(t."meta") = 'array' THEN t."meta" END) AS a1(value) WHERE (CASE WHEN jsonb_typeof(a1.value) = 'number' THEN (a1.value)::float8 = $1 ELSE 1 = 0 END))`,
			args:   `1.0`},
		{src: `meta ?~ "a"`,
			sqlite: `EXISTS (SELECT 1 FROM json_each(CASE WHEN json_type(t."meta") = 'array' THEN t."meta" END) AS a1 WHERE (CASE WHEN a1.type = 'text' THEN loam_fold(a1.value) LIKE ?1 ESCAPE '\' ELSE 1 = 0 END))`,
			pg:     `EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(t."meta") = 'array' THEN t."meta" END) AS a1(value) WHERE (CASE WHEN jsonb_typeof(a1.value) = 'string' THEN lower(upper(((a1.value #>> '{}') COLLATE "C") COLLATE "C.utf8")) COLLATE "C" LIKE $1 ESCAPE '\' ELSE 1 = 0 END))`,
			args:   `"%a%"`},
		{src: `meta ?!= true`,
			sqlite: `EXISTS (SELECT 1 FROM json_each(CASE WHEN json_type(t."meta") = 'array' THEN t."meta" END) AS a1 WHERE NOT (CASE WHEN a1.type IN ('true', 'false') THEN a1.value = ?1 ELSE 1 = 0 END))`,
			pg:     `EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(t."meta") = 'array' THEN t."meta" END) AS a1(value) WHERE NOT (CASE WHEN jsonb_typeof(a1.value) = 'boolean' THEN (a1.value)::boolean = $1 ELSE 1 = 0 END))`,
			args:   `true`},
		{src: `meta = null`,
			sqlite: `t."meta" IS NULL`,
			pg:     `t."meta" IS NULL`},
		{src: `meta:length = 2`,
			sqlite: `(CASE WHEN json_type(t."meta") = 'array' THEN json_array_length(t."meta") ELSE 0 END) = ?1`,
			pg:     `(CASE WHEN jsonb_typeof(t."meta") = 'array' THEN jsonb_array_length(t."meta") ELSE 0 END) = $1`,
			args:   `2`},
		// Back-relations and @collection.
		{src: `comments_via_post.likes ?> 1`,
			sqlite: `EXISTS (SELECT 1 FROM "comments" AS a1 WHERE a1."post" = t.id AND a1."likes" > ?1)`,
			pg:     `EXISTS (SELECT 1 FROM "comments" AS a1 WHERE a1."post" = t.id AND a1."likes" > $1)`,
			args:   `1`},
		{src: `comments_via_post:length = 0`,
			sqlite: `(SELECT count(*) FROM "comments" AS a1 WHERE a1."post" = t.id) = ?1`,
			pg:     `(SELECT count(*) FROM "comments" AS a1 WHERE a1."post" = t.id) = $1`,
			args:   `0`},
		{src: `@collection.users.name ?= title`,
			sqlite: `EXISTS (SELECT 1 FROM "users" AS a1 WHERE (a1."name" = t."title" OR (a1."name" IS NULL AND t."title" IS NULL)))`,
			pg:     `EXISTS (SELECT 1 FROM "users" AS a1 WHERE (a1."name" = t."title" OR (a1."name" IS NULL AND t."title" IS NULL)))`},
	}
	s := filterSchema()
	env := &expr.Env{Now: time.Date(2026, 11, 25, 10, 15, 30, 123e6, time.UTC)}
	dialects := []struct {
		d    sqlstore.Dialect
		want func(i int) (sql, args string)
	}{
		{sqlite.Dialect{}, func(i int) (string, string) { return tests[i].sqlite, tests[i].args }},
		{postgres.Dialect{}, func(i int) (string, string) {
			if tests[i].pgArgs != "" {
				return tests[i].pg, tests[i].pgArgs
			}
			return tests[i].pg, tests[i].args
		}},
	}
	for i, tt := range tests {
		c, err := expr.ParseCheck(tt.src, s, "posts", expr.Options{})
		if err != nil {
			t.Errorf("ParseCheck(%q): %v", tt.src, err)
			continue
		}
		b := expr.Bind(c, env)
		for _, d := range dialects {
			sql, args := sqlstore.CompileFilter(d.d, b)
			wantSQL, wantArgs := d.want(i)
			if sql != wantSQL {
				t.Errorf("%s: %s:\n got %s\nwant %s", d.d.Name(), tt.src, sql, wantSQL)
			}
			if got := argsString(args); got != wantArgs {
				t.Errorf("%s: %s: args\n got %s\nwant %s", d.d.Name(), tt.src, got, wantArgs)
			}
		}
	}
}

// argsString prints parameters for the golden table.
func argsString(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		switch x := a.(type) {
		case float64:
			parts[i] = strconv.FormatFloat(x, 'f', -1, 64)
			if !strings.ContainsAny(parts[i], ".e") {
				parts[i] += ".0"
			}
		case time.Time:
			parts[i] = "time(" + x.Format(time.RFC3339Nano) + ")"
		case string:
			parts[i] = strconv.Quote(x)
		default:
			parts[i] = fmt.Sprint(x)
		}
	}
	return strings.Join(parts, ", ")
}
