package storetest

import (
	"errors"
	"testing"

	"loam"
)

// postsCollection is the collection the schema change tests alter.
func postsCollection() *loam.Collection {
	return &loam.Collection{Name: "posts", Fields: []loam.Field{
		{Name: "title", Type: loam.TypeText},
		{Name: "body", Type: loam.TypeText},
		{Name: "views", Type: loam.TypeNumber, Integer: true},
	}}
}

// seedPosts inserts posts with the given titles (views = position) and returns them.
func seedPosts(t *testing.T, s loam.Store, c *loam.Collection, titles ...string) []*loam.Record {
	t.Helper()
	var out []*loam.Record
	for i, title := range titles {
		out = append(out, insert(t, s, c, map[string]any{"title": title, "body": "body of " + title, "views": int64(i)}))
	}
	return out
}

// wantRecords checks that c holds exactly want, compared field by field under
// c's current fields.
func wantRecords(t *testing.T, s loam.Store, c *loam.Collection, want []*loam.Record) {
	t.Helper()
	wantCount(t, s, c, int64(len(want)))
	for _, w := range want {
		sameRecord(t, c, get(t, s, c, w.ID), w)
	}
}

// fieldID returns the id of the field called name in c.
func fieldID(t *testing.T, c *loam.Collection, name string) string {
	t.Helper()
	f := c.Field(name)
	if f == nil {
		t.Fatalf("collection %q has no field %q", c.Name, name)
	}
	return f.ID
}

// dropField removes the field called name from c.
func dropField(c *loam.Collection, name string) {
	var kept []loam.Field
	for _, f := range c.Fields {
		if f.Name != name {
			kept = append(kept, f)
		}
	}
	c.Fields = kept
}

func testSchemaChanges(t *testing.T, open Opener) {
	runAll(t, open, []storeTest{
		{"AddFieldsWithDefaults", testAddFields},
		{"RenameField", testRenameField},
		{"DropField", testDropField},
		{"AddIndexAndUniqueField", testAddIndexAndUnique},
		{"ToggleUniqueOnExistingField", testToggleUnique},
		{"RequiredOverFalseBoolIsRefused", testRequiredOverFalseBool},
	})
	t.Run("Refused", func(t *testing.T) { testRefusedChanges(t, open) })
}

func testAddFields(t *testing.T, s loam.Store) {
	c := createCollection(t, s, postsCollection())
	old := seedPosts(t, s, c, "a", "b", "c")
	v := schemaVersion(t, s)
	c = mustChangeCollection(t, s, "posts", func(c *loam.Collection) {
		c.Fields = append(c.Fields,
			loam.Field{Name: "status", Type: loam.TypeText, Default: raw(`"draft"`)},
			loam.Field{Name: "score", Type: loam.TypeNumber, Integer: true, Default: raw(`7`)},
			loam.Field{Name: "ratio", Type: loam.TypeNumber, Default: raw(`0.5`)},
			loam.Field{Name: "flag", Type: loam.TypeBool, Default: raw(`true`)},
			loam.Field{Name: "kind", Type: loam.TypeSelect, Values: []string{"x", "y"}, Default: raw(`"y"`)},
			loam.Field{Name: "labels", Type: loam.TypeSelect, Values: []string{"x", "y"}, Multiple: true, Default: raw(`["y","x"]`)},
			loam.Field{Name: "extra", Type: loam.TypeJSON, Default: raw(`{"k":[1]}`)},
			loam.Field{Name: "label", Type: loam.TypeText, Required: true, Default: raw(`"none"`)},
			loam.Field{Name: "note", Type: loam.TypeText},
		)
	})
	if got := schemaVersion(t, s); got <= v {
		t.Errorf("schema version after adding fields: got %d, want above %d", got, v)
	}
	for _, name := range []string{"status", "score", "ratio", "flag", "kind", "labels", "extra", "label", "note"} {
		if f := c.Field(name); f == nil || f.ID == "" {
			t.Errorf("stored definition has no field %q with an id", name)
		}
	}
	defaults := map[string]any{
		"status": "draft", "score": int64(7), "ratio": 0.5, "flag": true, "kind": "y",
		"labels": []string{"y", "x"}, "extra": raw(`{"k":[1]}`), "label": "none", "note": nil,
	}
	var want []*loam.Record
	for _, r := range old {
		w := r.Clone()
		for k, v := range defaults {
			w.Data[k] = v
		}
		want = append(want, w)
	}
	wantRecords(t, s, c, want)
	// New fields take new values.
	r := insert(t, s, c, map[string]any{"title": "d", "status": "live", "score": int64(-1), "flag": false, "label": "set", "note": "n"})
	sameRecord(t, c, get(t, s, c, r.ID), r)
}

func testRenameField(t *testing.T, s loam.Store) {
	spec := postsCollection()
	spec.Fields[0].Unique = true // title
	c := createCollection(t, s, spec)
	old := seedPosts(t, s, c, "a", "b")
	bodyID, titleID := fieldID(t, c, "body"), fieldID(t, c, "title")
	v := schemaVersion(t, s)
	c = mustChangeCollection(t, s, "posts", func(c *loam.Collection) {
		c.FieldByID(bodyID).Name = "content"
		c.FieldByID(titleID).Name = "headline"
	})
	if got := schemaVersion(t, s); got <= v {
		t.Errorf("schema version after renaming fields: got %d, want above %d", got, v)
	}
	if f := c.FieldByID(bodyID); f == nil || f.Name != "content" {
		t.Fatalf("field %s after rename: got %+v, want name content", bodyID, f)
	}
	if c.Field("body") != nil || c.Field("title") != nil {
		t.Errorf("stored definition still has the old field names")
	}
	var want []*loam.Record
	for _, r := range old {
		w := r.Clone()
		w.Data["content"], w.Data["headline"] = r.Data["body"], r.Data["title"]
		delete(w.Data, "body")
		delete(w.Data, "title")
		want = append(want, w)
		got := get(t, s, c, r.ID)
		if got.Get("body") != nil || got.Get("title") != nil {
			t.Errorf("record %s still has values under the old names: %v", r.ID, got.Data)
		}
	}
	wantRecords(t, s, c, want)
	found, err := s.FindRecord(t.Context(), c, "content", "body of b")
	if err != nil {
		t.Fatalf("FindRecord by the renamed field: %v", err)
	}
	sameRecord(t, c, found, want[1])
	// The renamed unique field is still unique, and errors use its new name.
	err = s.InsertRecord(t.Context(), c, newRecord(c, map[string]any{"headline": "a"}))
	wantFieldErr(t, err, loam.CodeConflict, "headline", loam.FieldUnique, "insert a duplicate of a renamed unique field")
}

func testDropField(t *testing.T, s loam.Store) {
	c := createCollection(t, s, postsCollection())
	old := seedPosts(t, s, c, "a", "b", "c")
	v := schemaVersion(t, s)
	c = mustChangeCollection(t, s, "posts", func(c *loam.Collection) { dropField(c, "body") })
	if got := schemaVersion(t, s); got <= v {
		t.Errorf("schema version after dropping a field: got %d, want above %d", got, v)
	}
	if c.Field("body") != nil {
		t.Fatalf("stored definition still has the dropped field")
	}
	var want []*loam.Record
	for _, r := range old {
		w := r.Clone()
		delete(w.Data, "body")
		want = append(want, w)
		if got := get(t, s, c, r.ID); got.Get("body") != nil {
			t.Errorf("record %s still has a value for the dropped field: %v", r.ID, got.Data)
		}
	}
	wantRecords(t, s, c, want)
	// A new field with the old name is a new column: the dropped data is gone.
	c = mustChangeCollection(t, s, "posts", func(c *loam.Collection) {
		c.Fields = append(c.Fields, loam.Field{Name: "body", Type: loam.TypeText})
	})
	wantRecords(t, s, c, want)
}

func testAddIndexAndUnique(t *testing.T, s loam.Store) {
	c := createCollection(t, s, postsCollection())
	old := seedPosts(t, s, c, "a", "b", "c")
	c = mustChangeCollection(t, s, "posts", func(c *loam.Collection) {
		c.Fields = append(c.Fields, loam.Field{Name: "slug", Type: loam.TypeText, Unique: true})
		c.Indexes = append(c.Indexes,
			loam.Index{Name: "posts_views", Fields: []string{"views", "created"}},
			loam.Index{Name: "posts_title", Fields: []string{"title"}, Unique: true},
		)
	})
	if len(c.Indexes) != 2 || c.Indexes[0].Name != "posts_views" || c.Indexes[1].Name != "posts_title" || !c.Indexes[1].Unique {
		t.Errorf("stored indexes: got %+v, want posts_views and unique posts_title", c.Indexes)
	}
	wantRecords(t, s, c, old) // slug is nil everywhere: many NULLs are allowed under unique
	insert(t, s, c, map[string]any{"title": "d", "slug": "s"})
	insert(t, s, c, map[string]any{"title": "e"}) // another NULL slug
	err := s.InsertRecord(t.Context(), c, newRecord(c, map[string]any{"title": "f", "slug": "s"}))
	wantFieldErr(t, err, loam.CodeConflict, "slug", loam.FieldUnique, "insert a duplicate of an added unique field")
	err = s.InsertRecord(t.Context(), c, newRecord(c, map[string]any{"title": "a"}))
	if !errors.Is(err, loam.ErrConflict) {
		t.Fatalf("insert a duplicate under a unique index: got %v, want ErrConflict", err)
	}
	wantCount(t, s, c, 5)
}

func testToggleUnique(t *testing.T, s loam.Store) {
	c := createCollection(t, s, postsCollection())
	seedPosts(t, s, c, "a", "b")
	insert(t, s, c, map[string]any{"body": "no title"})
	insert(t, s, c, map[string]any{"body": "no title either"})
	c = mustChangeCollection(t, s, "posts", func(c *loam.Collection) { c.Field("title").Unique = true })
	if !c.Field("title").Unique {
		t.Fatalf("stored definition: title is not unique")
	}
	err := s.InsertRecord(t.Context(), c, newRecord(c, map[string]any{"title": "a"}))
	wantFieldErr(t, err, loam.CodeConflict, "title", loam.FieldUnique, "insert a duplicate after making the field unique")
	c = mustChangeCollection(t, s, "posts", func(c *loam.Collection) { c.Field("title").Unique = false })
	insert(t, s, c, map[string]any{"title": "a"})
	wantCount(t, s, c, 5)
}

// testRequiredOverFalseBool: loam.IsEmpty counts false as no value, so a bool
// cannot become required while some record holds false (and no NULL).
func testRequiredOverFalseBool(t *testing.T, s loam.Store) {
	c := createCollection(t, s, &loam.Collection{Name: "flags", Fields: []loam.Field{{Name: "on", Type: loam.TypeBool}}})
	recs := []*loam.Record{insert(t, s, c, map[string]any{"on": true}), insert(t, s, c, map[string]any{"on": false})}
	before := definition(t, c)
	err := changeCollection(t, s, "flags", func(c *loam.Collection) { c.Field("on").Required = true })
	wantFieldErr(t, err, loam.CodeConflict, "on", "", "make a bool required over a false value")
	if got := definition(t, collection(t, s, "flags")); got != before {
		t.Errorf("definition changed by a refused change:\n got %s\nwant %s", got, before)
	}
	wantRecords(t, s, c, recs)
	// Over true values only, it is accepted.
	rec := recs[1]
	update(t, s, c, rec, map[string]any{"on": true})
	mustChangeCollection(t, s, "flags", func(c *loam.Collection) { c.Field("on").Required = true })
}

// testRefusedChanges: a change that existing rows violate is ErrConflict
// naming the field, and changes neither the definition, the version nor the data.
func testRefusedChanges(t *testing.T, open Opener) {
	base := func() *loam.Collection {
		return &loam.Collection{Name: "items", Fields: []loam.Field{
			{Name: "name", Type: loam.TypeText},
			{Name: "qty", Type: loam.TypeNumber},
			{Name: "tags", Type: loam.TypeSelect, Values: []string{"a", "b"}, Multiple: true},
			{Name: "done", Type: loam.TypeBool},
			{Name: "code", Type: loam.TypeText},
		}}
	}
	// rows: two complete rows sharing qty and code, one with no values at all.
	rows := []map[string]any{
		{"name": "x", "qty": 1.0, "tags": []string{"a"}, "done": true, "code": "same"},
		{"name": "y", "qty": 1.0, "tags": []string{"b"}, "done": false, "code": "same"},
		{},
	}
	tests := []struct {
		name  string
		edit  func(c *loam.Collection)
		field string // the field the error must name; "" checks only ErrConflict
	}{
		{"RequiredOverNullText", func(c *loam.Collection) { c.Field("name").Required = true }, "name"},
		{"RequiredOverNullNumber", func(c *loam.Collection) { c.Field("qty").Required = true }, "qty"},
		{"RequiredOverNullMultiSelect", func(c *loam.Collection) { c.Field("tags").Required = true }, "tags"},
		{"RequiredOverNullBool", func(c *loam.Collection) { c.Field("done").Required = true }, "done"},
		{"AddRequiredFieldWithoutDefault", func(c *loam.Collection) {
			c.Fields = append(c.Fields, loam.Field{Name: "owner", Type: loam.TypeText, Required: true})
		}, "owner"},
		{"AddRequiredFieldWithEmptyDefault", func(c *loam.Collection) {
			c.Fields = append(c.Fields, loam.Field{Name: "owner", Type: loam.TypeText, Required: true, Default: raw(`""`)})
		}, "owner"},
		{"AddRequiredBoolDefaultingToFalse", func(c *loam.Collection) {
			c.Fields = append(c.Fields, loam.Field{Name: "ok", Type: loam.TypeBool, Required: true, Default: raw(`false`)})
		}, "ok"},
		{"MaxBelowAStoredLength", func(c *loam.Collection) { c.Field("code").Max = ptr(3) }, "code"},
		{"MinAboveAStoredLength", func(c *loam.Collection) { c.Field("code").Min = ptr(5) }, "code"},
		{"PatternAStoredValueBreaks", func(c *loam.Collection) { c.Field("code").Pattern = "^[0-9]+$" }, "code"},
		{"NumberMaxBelowAStoredValue", func(c *loam.Collection) { c.Field("qty").Max = ptr(0.5) }, "qty"},
		{"SelectValueStillInUse", func(c *loam.Collection) { c.Field("tags").Values = []string{"a", "c"} }, "tags"},
		{"UniqueOverDuplicateText", func(c *loam.Collection) { c.Field("code").Unique = true }, "code"},
		{"UniqueOverDuplicateNumber", func(c *loam.Collection) { c.Field("qty").Unique = true }, "qty"},
		{"AddUniqueFieldIndexOverDuplicates", func(c *loam.Collection) {
			c.Indexes = append(c.Indexes, loam.Index{Name: "items_code", Fields: []string{"code"}, Unique: true})
		}, ""},
		{"RenameAlongsideARefusedChange", func(c *loam.Collection) {
			c.Field("name").Name = "label"
			dropField(c, "done")
			c.Fields = append(c.Fields, loam.Field{Name: "extra", Type: loam.TypeText, Default: raw(`"e"`)})
			c.Field("code").Unique = true
		}, "code"},
		{"RenameCollectionAlongsideARefusedChange", func(c *loam.Collection) {
			c.Name = "things"
			c.Field("qty").Required = true
		}, "qty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			c := createCollection(t, s, base())
			var recs []*loam.Record
			for _, data := range rows {
				recs = append(recs, insert(t, s, c, data))
			}
			before := definition(t, c)
			v := schemaVersion(t, s)
			mark := lastSeq(t, s)

			err := changeCollection(t, s, "items", tt.edit)
			if tt.field != "" {
				wantFieldErr(t, err, loam.CodeConflict, tt.field, "", "refused schema change")
			} else if !errors.Is(err, loam.ErrConflict) {
				t.Fatalf("refused schema change: got %v, want ErrConflict", err)
			}

			after := findCollection(t, s, "items")
			if after == nil {
				t.Fatalf("collection %q is gone after a refused change", "items")
			}
			if got := definition(t, after); got != before {
				t.Errorf("definition changed by a refused change:\n got %s\nwant %s", got, before)
			}
			if findCollection(t, s, "things") != nil {
				t.Errorf("a refused change left a collection called %q", "things")
			}
			if got := schemaVersion(t, s); got != v {
				t.Errorf("schema version after a refused change: got %d, want %d", got, v)
			}
			wantRecords(t, s, after, recs)
			wantEvents(t, s, mark)
			// The table still works as before: no leftover constraint.
			insert(t, s, after, map[string]any{"code": "same"})
		})
	}
}
