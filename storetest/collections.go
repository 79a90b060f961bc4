package storetest

import (
	"errors"
	"testing"
	"time"

	"loam"
)

// authorsCollection is a small collection that relations point at.
func authorsCollection() *loam.Collection {
	return &loam.Collection{Name: "authors", Fields: []loam.Field{
		{Name: "name", Type: loam.TypeText},
	}}
}

// everyTypeCollection has a field of every type and option a base collection
// can hold; its relations point at authorsCollection.
func everyTypeCollection() *loam.Collection {
	return &loam.Collection{Name: "things", Fields: []loam.Field{
		{Name: "title", Type: loam.TypeText, Min: ptr(1), Max: ptr(200), Pattern: `^[^#]*$`},
		{Name: "views", Type: loam.TypeNumber},
		{Name: "rank", Type: loam.TypeNumber, Integer: true},
		{Name: "published", Type: loam.TypeBool},
		{Name: "contact", Type: loam.TypeEmail},
		{Name: "site", Type: loam.TypeURL},
		{Name: "due", Type: loam.TypeDate},
		{Name: "status", Type: loam.TypeSelect, Values: []string{"draft", "live"}},
		{Name: "tags", Type: loam.TypeSelect, Values: []string{"go", "sql", "web"}, Multiple: true},
		{Name: "meta", Type: loam.TypeJSON},
		{Name: "author", Type: loam.TypeRelation, Collection: "authors"},
		{Name: "reviewers", Type: loam.TypeRelation, Collection: "authors", Multiple: true},
		{Name: "made", Type: loam.TypeAutodate, OnCreate: true},
		{Name: "touched", Type: loam.TypeAutodate, OnCreate: true, OnUpdate: true},
	}}
}

// date parses a time in the stored layout.
func date(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(loam.TimeLayout, s)
	if err != nil {
		t.Fatalf("test bug: bad date %q: %v", s, err)
	}
	return d
}

func testCollections(t *testing.T, open Opener) {
	runAll(t, open, []storeTest{
		{"EveryFieldTypeRoundTrips", testEveryFieldType},
		{"ListedWithDefinitionAndVersion", func(t *testing.T, s loam.Store) {
			v0 := schemaVersion(t, s)
			want := authorsCollection()
			want.Indexes = []loam.Index{{Name: "authors_name", Fields: []string{"name"}}}
			got := createCollection(t, s, want)
			if definition(t, got) != definition(t, want) {
				t.Errorf("stored definition differs from the created one:\n got %s\nwant %s", definition(t, got), definition(t, want))
			}
			v1 := schemaVersion(t, s)
			if v1 <= v0 {
				t.Errorf("schema version after CreateCollection: got %d, want above %d", v1, v0)
			}
			createCollection(t, s, everyTypeCollection())
			if v2 := schemaVersion(t, s); v2 <= v1 {
				t.Errorf("schema version after a second CreateCollection: got %d, want above %d", v2, v1)
			}
		}},
		{"CreateExistingNameIsConflict", func(t *testing.T, s loam.Store) {
			orig := createCollection(t, s, authorsCollection())
			r := insert(t, s, orig, map[string]any{"name": "Ada"})
			v := schemaVersion(t, s)
			again := &loam.Collection{Name: "authors", Fields: []loam.Field{{Name: "other", Type: loam.TypeNumber}}}
			if err := again.Validate(); err != nil {
				t.Fatal(err)
			}
			err := s.CreateCollection(t.Context(), again)
			if !errors.Is(err, loam.ErrConflict) {
				t.Fatalf("CreateCollection of a taken name: got %v, want ErrConflict", err)
			}
			// Names are compared without case: SQLite's table names are.
			other := &loam.Collection{Name: "Authors", Fields: []loam.Field{{Name: "name", Type: loam.TypeText}}}
			if err := other.Validate(); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateCollection(t.Context(), other); !errors.Is(err, loam.ErrConflict) {
				t.Fatalf("CreateCollection of a taken name in another case: got %v, want ErrConflict", err)
			}
			if got := schemaVersion(t, s); got != v {
				t.Errorf("schema version after a refused create: got %d, want %d", got, v)
			}
			if got := collection(t, s, "authors"); definition(t, got) != definition(t, orig) {
				t.Errorf("definition changed by a refused create:\n got %s\nwant %s", definition(t, got), definition(t, orig))
			}
			sameRecord(t, orig, get(t, s, orig, r.ID), r)
		}},
		{"DeleteCollection", func(t *testing.T, s loam.Store) {
			c := createCollection(t, s, authorsCollection())
			insert(t, s, c, map[string]any{"name": "Ada"})
			v := schemaVersion(t, s)
			if err := s.DeleteCollection(t.Context(), c); err != nil {
				t.Fatalf("DeleteCollection: %v", err)
			}
			if findCollection(t, s, c.Name) != nil {
				t.Fatalf("Collections() still holds %q after DeleteCollection", c.Name)
			}
			if got := schemaVersion(t, s); got <= v {
				t.Errorf("schema version after DeleteCollection: got %d, want above %d", got, v)
			}
			// The name is free again, and the new collection starts empty.
			c2 := createCollection(t, s, authorsCollection())
			wantCount(t, s, c2, 0)
		}},
		{"RenameReferencedCollection", testRenameReferenced},
		{"DeleteReferencedCollectionIsConflict", testDeleteReferenced},
		{"RenameKeepsData", func(t *testing.T, s loam.Store) {
			c := createCollection(t, s, &loam.Collection{Name: "drafts", Fields: []loam.Field{
				{Name: "title", Type: loam.TypeText, Unique: true},
			}, Indexes: []loam.Index{{Name: "drafts_title", Fields: []string{"title"}}}})
			var recs []*loam.Record
			for _, title := range []string{"one", "two", "three"} {
				recs = append(recs, insert(t, s, c, map[string]any{"title": title}))
			}
			v := schemaVersion(t, s)
			renamed := mustChangeCollection(t, s, "drafts", func(c *loam.Collection) { c.Name = "articles" })
			if renamed.ID != c.ID {
				t.Errorf("renamed collection id: got %q, want %q (unchanged)", renamed.ID, c.ID)
			}
			if findCollection(t, s, "drafts") != nil {
				t.Errorf("Collections() still holds the old name %q", "drafts")
			}
			if got := schemaVersion(t, s); got <= v {
				t.Errorf("schema version after a rename: got %d, want above %d", got, v)
			}
			for _, r := range recs {
				want := r.Clone()
				want.Collection = "articles"
				sameRecord(t, renamed, get(t, s, renamed, r.ID), want)
			}
			wantCount(t, s, renamed, int64(len(recs)))
			// The renamed table still takes writes and keeps its unique field.
			insert(t, s, renamed, map[string]any{"title": "four"})
			err := s.InsertRecord(t.Context(), renamed, newRecord(renamed, map[string]any{"title": "one"}))
			wantFieldErr(t, err, loam.CodeConflict, "title", loam.FieldUnique, "insert a duplicate after renaming the collection")
			// The old name is free, including for a collection with the same unique field.
			again := createCollection(t, s, &loam.Collection{Name: "drafts", Fields: []loam.Field{
				{Name: "title", Type: loam.TypeText, Unique: true},
			}})
			insert(t, s, again, map[string]any{"title": "one"})
			wantCount(t, s, again, 1)
			wantCount(t, s, renamed, int64(len(recs))+1)
		}},
	})
}

// testEveryFieldType stores every canonical value of every field type and reads it back.
func testEveryFieldType(t *testing.T, s loam.Store) {
	authors := createCollection(t, s, authorsCollection())
	a1 := insert(t, s, authors, map[string]any{"name": "Ada"})
	a2 := insert(t, s, authors, map[string]any{"name": "Grace"})
	spec := everyTypeCollection()
	c := createCollection(t, s, spec)
	if definition(t, c) != definition(t, spec) {
		t.Errorf("stored definition differs from the created one:\n got %s\nwant %s", definition(t, c), definition(t, spec))
	}

	tests := []struct {
		name string
		data map[string]any
	}{
		{"Full", map[string]any{
			"title":     "Héllo, \"world\" 'x'; DROP TABLE things; --\n🌱 line two",
			"views":     3.25,
			"rank":      int64(9007199254740991),
			"published": true,
			"contact":   "ada@example.com",
			"site":      "https://example.com/a/b?c=d&e=f#g",
			"due":       date(t, "2026-11-25T10:15:30.123Z"),
			"status":    "live",
			"tags":      []string{"web", "go"},
			"meta":      raw(`{"a":[1,2.5,{"b":null}],"c":"x","long key":true,"nested":{"z":"ü"}}`),
			"author":    a1.ID,
			"reviewers": []string{a2.ID, a1.ID},
		}},
		{"NoValues", map[string]any{}},
		{"ZeroValuesAreValues", map[string]any{
			"title":     "0",
			"views":     0.0,
			"rank":      int64(0),
			"published": false,
			"meta":      raw(`0`),
			"tags":      []string{"sql"},
			"reviewers": []string{a1.ID},
		}},
		{"Extremes", map[string]any{
			"title":     "x",
			"views":     -1.5e300,
			"rank":      int64(-9007199254740991),
			"due":       date(t, "9999-12-31T23:59:59.999Z"),
			"meta":      raw(`[1,"two",null,[],{}]`),
			"status":    "draft",
			"tags":      []string{"go", "sql", "web"},
			"published": true,
		}},
		{"EarlyDateAndJSONString", map[string]any{
			"views": 0.1,
			"due":   date(t, "0001-01-01T00:00:00.000Z"),
			"meta":  raw(`"just a string"`),
			"site":  "http://127.0.0.1:8090/",
		}},
		{"JSONEmptyObject", map[string]any{"meta": raw(`{}`), "due": date(t, "1970-01-01T00:00:00.001Z")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecord(c, tt.data)
			// Autodates that differ from created/updated show the store keeps what it is given.
			r.Data["made"] = r.Created.Add(-time.Hour)
			r.Data["touched"] = r.Updated.Add(-time.Minute)
			if err := s.InsertRecord(t.Context(), c, r); err != nil {
				t.Fatalf("InsertRecord: %v", err)
			}
			sameRecord(t, c, get(t, s, c, r.ID), r)
			var listed *loam.Record
			for _, l := range all(t, s, c) {
				if l.ID == r.ID {
					listed = l
				}
			}
			if listed == nil {
				t.Fatalf("ListRecords does not hold record %s", r.ID)
			}
			sameRecord(t, c, listed, r)
		})
	}
}

// testRenameReferenced renames a collection that relations point
// at: the relations follow it (their definitions name the new collection),
// the children keep their values, and onDelete still applies.
func testRenameReferenced(t *testing.T, s loam.Store) {
	authors := createCollection(t, s, authorsCollection())
	books := createCollection(t, s, relationTo("books", "authors", loam.OnDeleteCascade, false))
	shelves := createCollection(t, s, relationTo("shelves", "authors", loam.OnDeleteSetNull, true))
	a1 := insert(t, s, authors, map[string]any{"name": "Ada"})
	a2 := insert(t, s, authors, map[string]any{"name": "Grace"})
	b1 := insert(t, s, books, map[string]any{"ref": a1.ID})
	b2 := insert(t, s, books, map[string]any{"ref": a2.ID})
	sh := insert(t, s, shelves, map[string]any{"ref": []string{a1.ID, a2.ID}})

	writers := mustChangeCollection(t, s, "authors", func(c *loam.Collection) { c.Name = "writers" })
	books, shelves = collection(t, s, "books"), collection(t, s, "shelves")
	for _, c := range []*loam.Collection{books, shelves} {
		if got := c.Field("ref").Collection; got != "writers" {
			t.Errorf("%s.ref points at %q after the rename, want %q", c.Name, got, "writers")
		}
	}
	sameRecord(t, books, get(t, s, books, b1.ID), b1)
	sameRecord(t, books, get(t, s, books, b2.ID), b2)
	sameRecord(t, shelves, get(t, s, shelves, sh.ID), sh)
	wa1 := a1.Clone()
	wa1.Collection = "writers"
	sameRecord(t, writers, get(t, s, writers, a1.ID), wa1)

	err := s.InsertRecord(t.Context(), books, newRecord(books, map[string]any{"ref": loam.NewID()}))
	wantFieldErr(t, err, loam.CodeValidationFailed, "ref", loam.FieldNotFound, "insert a relation to a missing record of the renamed collection")
	insert(t, s, books, map[string]any{"ref": a2.ID})
	mark := lastSeq(t, s)
	if err := s.DeleteRecord(t.Context(), schema(t, s), writers, a1.ID, nil); err != nil {
		t.Fatalf("delete a record of the renamed collection: %v", err)
	}
	gone(t, s, books, b1.ID)
	ws := sh.Clone()
	ws.Data["ref"] = []string{a2.ID}
	changedBy(t, s, shelves, ws)
	wantEventSet(t, s, mark,
		ev{"writers", a1.ID, loam.ActionDelete},
		ev{"books", b1.ID, loam.ActionDelete},
		ev{"shelves", sh.ID, loam.ActionUpdate})
}

// testDeleteReferenced: a collection that another collection's relation
// points at cannot be deleted (the relation would dangle): ErrConflict, and
// nothing changes.
func testDeleteReferenced(t *testing.T, s loam.Store) {
	authors := createCollection(t, s, authorsCollection())
	books := createCollection(t, s, relationTo("books", "authors", loam.OnDeleteCascade, false))
	a := insert(t, s, authors, map[string]any{"name": "Ada"})
	b := insert(t, s, books, map[string]any{"ref": a.ID})
	v := schemaVersion(t, s)
	mark := lastSeq(t, s)
	err := s.DeleteCollection(t.Context(), authors)
	if !errors.Is(err, loam.ErrConflict) {
		t.Fatalf("DeleteCollection of a referenced collection: got %v, want ErrConflict", err)
	}
	if got := schemaVersion(t, s); got != v {
		t.Errorf("schema version after a refused delete: got %d, want %d", got, v)
	}
	sameRecord(t, authors, get(t, s, collection(t, s, "authors"), a.ID), a)
	sameRecord(t, books, get(t, s, books, b.ID), b) // no cascade fired
	wantEvents(t, s, mark)
	// Once nothing points at it, it can go.
	if err := s.DeleteCollection(t.Context(), books); err != nil {
		t.Fatalf("DeleteCollection of the referencing collection: %v", err)
	}
	if err := s.DeleteCollection(t.Context(), collection(t, s, "authors")); err != nil {
		t.Fatalf("DeleteCollection after its references are gone: %v", err)
	}
	// A collection's relations to itself do not hold it back.
	nodes := createCollection(t, s, relationTo("nodes", "nodes", loam.OnDeleteRestrict, false))
	root := insert(t, s, nodes, map[string]any{"label": "root"})
	insert(t, s, nodes, map[string]any{"label": "leaf", "ref": root.ID})
	if err := s.DeleteCollection(t.Context(), nodes); err != nil {
		t.Fatalf("DeleteCollection of a self-referencing collection: %v", err)
	}
	if findCollection(t, s, "nodes") != nil {
		t.Fatalf("Collections() still holds %q", "nodes")
	}
}
