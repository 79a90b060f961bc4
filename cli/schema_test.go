package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"loam"
)

type schemaFile struct {
	Collections []*loam.Collection `json:"collections"`
}

func ptr[T any](v T) *T { return &v }

// createTestSchema makes two collections where the one that sorts first
// (articles) relates to the one that sorts last (writers), so an apply that
// creates them in file order fails.
func createTestSchema(t *testing.T, app *loam.App) {
	t.Helper()
	ctx := context.Background()
	writers := &loam.Collection{Name: "writers", Fields: []loam.Field{
		{Name: "name", Type: loam.TypeText, Required: true, Unique: true, Max: ptr(100.0)},
		{Name: "bio", Type: loam.TypeText},
	}}
	if _, err := app.CreateCollection(ctx, loam.System, writers); err != nil {
		t.Fatalf("create writers: %v", err)
	}
	articles := &loam.Collection{Name: "articles",
		Fields: []loam.Field{
			{Name: "title", Type: loam.TypeText, Required: true, Max: ptr(200.0)},
			{Name: "views", Type: loam.TypeNumber, Integer: true, Min: ptr(0.0)},
			{Name: "writer", Type: loam.TypeRelation, Collection: "writers", OnDelete: loam.OnDeleteCascade},
			{Name: "tags", Type: loam.TypeSelect, Multiple: true, Values: []string{"go", "sql", "web"}},
			{Name: "published", Type: loam.TypeBool},
			{Name: "meta", Type: loam.TypeJSON},
		},
		Indexes: []loam.Index{{Name: "articles_title", Fields: []string{"title"}}},
		Rules:   loam.Rules{List: ptr(""), View: ptr("")},
	}
	if _, err := app.CreateCollection(ctx, loam.System, articles); err != nil {
		t.Fatalf("create articles: %v", err)
	}
}

func export(t *testing.T, b backend) (schemaFile, string) {
	t.Helper()
	r := run(t, b.cmd("schema", "export")...)
	if r.code != 0 {
		t.Fatalf("export: %s", r)
	}
	var f schemaFile
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("export printed no schema JSON: %v\n%s", err, r)
	}
	return f, r.stdout
}

func writeSchema(t *testing.T, f schemaFile) string {
	t.Helper()
	raw, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "schema.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// shape is what must survive a trip between databases: everything but the
// collection id and timestamps.
func shape(t *testing.T, c *loam.Collection) string {
	t.Helper()
	raw, err := json.Marshal(struct {
		Name    string
		Type    string
		Fields  []loam.Field
		Indexes []loam.Index
		Rules   loam.Rules
	}{c.Name, c.Type, c.Fields, c.Indexes, c.Rules})
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func names(cols []*loam.Collection) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c.Name)
	}
	return out
}

// userNames lists the non-system collections of a live schema.
func userNames(app *loam.App) []string {
	var out []string
	for _, c := range app.Schema().Collections() {
		if !c.System {
			out = append(out, c.Name)
		}
	}
	return out
}

func mustRecord(t *testing.T, app *loam.App, collection string, values map[string]any) *loam.Record {
	t.Helper()
	body, err := loam.JSONBody(values)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := app.CreateRecord(context.Background(), loam.System, collection, body)
	if err != nil {
		t.Fatalf("create %s record: %v", collection, err)
	}
	return rec
}

func TestCLISchemaExportApply(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, src backend) {
		ctx := context.Background()
		app := src.open(t)
		createTestSchema(t, app)
		want := map[string]string{}
		for _, c := range app.Schema().Collections() {
			if !c.System {
				want[c.Name] = shape(t, c)
			}
		}
		app.Stop()

		file, _ := export(t, src)
		if got := strings.Join(names(file.Collections), ","); got != "articles,writers" {
			t.Fatalf("export: want the two non-system collections articles,writers, got %s", got)
		}
		for _, c := range file.Collections {
			if got := shape(t, c); got != want[c.Name] {
				t.Fatalf("export of %s:\n got %s\nwant %s", c.Name, got, want[c.Name])
			}
		}
		path := writeSchema(t, file)

		dst := newBackend(t, src.name)
		r := run(t, dst.cmd("schema", "apply", path, "--dry-run")...)
		if r.code != 0 {
			t.Fatalf("apply --dry-run: %s", r)
		}
		iw, ia := strings.Index(r.stdout, "create collection writers"), strings.Index(r.stdout, "create collection articles")
		if iw < 0 || ia < 0 || iw > ia {
			t.Fatalf("the plan must create writers before articles (which relates to it):\n%s", r)
		}
		if strings.Contains(r.stdout, "Applied") {
			t.Fatalf("--dry-run claims to have applied:\n%s", r)
		}
		app = dst.open(t)
		if got := userNames(app); len(got) != 0 {
			t.Fatalf("--dry-run created collections: %v", got)
		}
		app.Stop()

		r = run(t, dst.cmd("schema", "apply", path)...)
		if r.code != 0 || !strings.Contains(r.stdout, "Applied 2 step(s).") {
			t.Fatalf("apply on a fresh database: %s", r)
		}
		app = dst.open(t)
		for name, w := range want {
			c := app.Schema().Collection(name)
			if c == nil {
				t.Fatalf("apply did not create %s", name)
			}
			if got := shape(t, c); got != w {
				t.Fatalf("apply made %s differ from the source:\n got %s\nwant %s", name, got, w)
			}
		}
		// The relation is live: a record can point at a writer, not at a missing one.
		writer := mustRecord(t, app, "writers", map[string]any{"name": "Ada"})
		article := mustRecord(t, app, "articles", map[string]any{"title": "Hello", "views": 7, "writer": writer.ID, "tags": []string{"go"}})
		body, _ := loam.JSONBody(map[string]any{"title": "Dangling", "writer": loam.NewID()})
		if _, err := app.CreateRecord(ctx, loam.System, "articles", body); err == nil {
			t.Fatal("a relation to a missing writer was accepted after apply")
		}
		app.Stop()

		r = run(t, dst.cmd("schema", "apply", path)...)
		if r.code != 0 || !strings.Contains(r.stdout, "nothing to do") || strings.Contains(r.stdout, "Plan:") {
			t.Fatalf("a second apply must have nothing to do: %s", r)
		}

		// A rename made in the source travels by field id and keeps the data.
		app = src.open(t)
		arts := app.Schema().Collection("articles").Clone()
		arts.Field("title").Name = "headline"
		patch, _ := json.Marshal(map[string]any{"fields": arts.Fields, "indexes": []loam.Index{{Name: "articles_title", Fields: []string{"headline"}}}})
		if _, err := app.UpdateCollection(ctx, loam.System, "articles", patch); err != nil {
			t.Fatalf("rename in the source: %v", err)
		}
		app.Stop()
		renamed, _ := export(t, src)
		path = writeSchema(t, renamed)
		r = run(t, dst.cmd("schema", "apply", path)...)
		if r.code != 0 || !strings.Contains(r.stdout, "rename field title to headline") || strings.Contains(r.stdout, "drop") {
			t.Fatalf("apply of a rename: want a rename, no drop, exit 0: %s", r)
		}
		app = dst.open(t)
		got, err := app.GetRecord(ctx, loam.System, "articles", article.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Get("headline") != "Hello" || got.Data["title"] != nil {
			t.Fatalf("the rename lost data: %v", got.Data)
		}
		app.Stop()

		// Dropping a field needs --allow-drop; without it nothing changes.
		var dropped schemaFile
		for _, c := range renamed.Collections {
			c = c.Clone()
			if c.Name == "articles" {
				var keep []loam.Field
				for _, f := range c.Fields {
					if f.Name != "views" {
						keep = append(keep, f)
					}
				}
				c.Fields = keep
			}
			dropped.Collections = append(dropped.Collections, c)
		}
		path = writeSchema(t, dropped)
		r = run(t, dst.cmd("schema", "apply", path)...)
		if r.code == 0 || !strings.Contains(r.stdout, "drop field views") || !strings.Contains(r.stderr, "--allow-drop") {
			t.Fatalf("a drop without --allow-drop: want a non-zero exit, the plan and a hint: %s", r)
		}
		checkViews := func(want any) {
			t.Helper()
			app := dst.open(t)
			defer app.Stop()
			got, err := app.GetRecord(ctx, loam.System, "articles", article.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Get("views") != want || got.Get("headline") != "Hello" {
				t.Fatalf("views: got %v (%T), want %v; record %v", got.Get("views"), got.Get("views"), want, got.Data)
			}
			if f := app.Schema().Collection("articles").Field("views"); (f != nil) != (want != nil) {
				t.Fatalf("field views present = %v, want %v", f != nil, want != nil)
			}
		}
		checkViews(int64(7))
		r = run(t, dst.cmd("schema", "apply", path, "--allow-drop", "--dry-run")...)
		if r.code != 0 || !strings.Contains(r.stdout, "drop field views") {
			t.Fatalf("--dry-run --allow-drop: %s", r)
		}
		checkViews(int64(7))
		r = run(t, dst.cmd("schema", "apply", path, "--allow-drop")...)
		if r.code != 0 || !strings.Contains(r.stdout, "Applied 1 step(s).") {
			t.Fatalf("apply --allow-drop: %s", r)
		}
		checkViews(nil)

		// Dropping a whole collection needs --allow-drop too.
		path = writeSchema(t, schemaFile{Collections: []*loam.Collection{dropped.Collections[1]}})
		if dropped.Collections[1].Name != "writers" {
			t.Fatalf("expected writers second, got %s", dropped.Collections[1].Name)
		}
		r = run(t, dst.cmd("schema", "apply", path)...)
		if r.code == 0 || !strings.Contains(r.stdout, "drop collection articles") {
			t.Fatalf("dropping a collection without --allow-drop: %s", r)
		}
		app = dst.open(t)
		if got := strings.Join(userNames(app), ","); got != "articles,writers" {
			t.Fatalf("a refused drop changed the collections: %s", got)
		}
		app.Stop()
		if r = run(t, dst.cmd("schema", "apply", path, "--allow-drop")...); r.code != 0 {
			t.Fatalf("apply --allow-drop: %s", r)
		}
		app = dst.open(t)
		if got := strings.Join(userNames(app), ","); got != "writers" {
			t.Fatalf("after dropping articles: got %s", got)
		}
		if _, err := app.GetRecord(ctx, loam.System, "writers", writer.ID); err != nil {
			t.Fatalf("the writer went with the articles: %v", err)
		}
	})
}

func TestCLISchemaApplyBadFile(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		dir := t.TempDir()
		bad := map[string]string{
			"malformed.json": `{"collections": [`,
			"unknown.json":   `{"collections": [], "extra": 1}`,
			"invalid.json":   `{"collections": [{"name": "x y", "fields": []}]}`,
			"dangling.json":  `{"collections": [{"name": "posts", "fields": [{"name": "owner", "type": "relation", "collection": "nobody"}]}]}`,
		}
		for name, content := range bad {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		for _, name := range []string{"missing.json", "malformed.json", "unknown.json", "invalid.json", "dangling.json"} {
			r := run(t, b.cmd("schema", "apply", filepath.Join(dir, name))...)
			if r.code != 1 || r.stderr == "" {
				t.Errorf("apply %s: want exit 1 and an error, got %s", name, r)
			}
		}
		app := b.open(t)
		if got := userNames(app); len(got) != 0 {
			t.Fatalf("bad files created collections: %v", got)
		}
		app.Stop()
		// An empty database exports an empty list, not null.
		if _, out := export(t, b); !strings.Contains(out, `"collections": []`) {
			t.Fatalf("export of an empty database: %s", out)
		}
	})
}

// Auth options travel with apply; a type change is reported, not skipped.
func TestCLISchemaApplyAuthAndType(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		app := b.open(t)
		if _, err := app.CreateCollection(ctx, loam.System, &loam.Collection{Name: "members", Type: loam.CollectionAuth}); err != nil {
			t.Fatal(err)
		}
		app.Stop()
		f, _ := export(t, b)
		f.Collections[0].Auth.MinPasswordLength = 20
		if r := run(t, b.cmd("schema", "apply", writeSchema(t, f))...); r.code != 0 || !strings.Contains(r.stdout, "change auth options") {
			t.Fatalf("apply auth options: %s", r)
		}
		f2, _ := export(t, b)
		if got := f2.Collections[0].Auth.MinPasswordLength; got != 20 {
			t.Fatalf("minPasswordLength after apply = %d, want 20", got)
		}
		f2.Collections[0].Type = loam.CollectionBase
		if r := run(t, b.cmd("schema", "apply", writeSchema(t, f2))...); r.code == 0 {
			t.Fatalf("apply of a type change succeeded: %s", r)
		}
		f3, _ := export(t, b)
		if f3.Collections[0].Type != loam.CollectionAuth {
			t.Fatalf("type after a refused apply: %q", f3.Collections[0].Type)
		}
	})
}
