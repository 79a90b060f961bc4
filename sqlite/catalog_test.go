package sqlite_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"loam"
	"loam/sqlite"
	"loam/sqlstore"
	"loam/sqlstore/sqlstoretest"
)

// These tests read SQLite's own catalogue (PRAGMA table_info,
// foreign_key_list, index_list, index_info) to check that collections are
// real tables: typed columns, real foreign keys, real indexes.

// catalogStore opens a migrated store on a fresh file, closed when t ends.
func catalogStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "data.db")})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return st
}

// catalogField is one field of the posts fixture and the column it must give.
type catalogField struct {
	field   loam.Field
	colType string // PRAGMA table_info type
}

// postsFields are the fields of the posts fixture, with their SQLite column types.
func postsFields() []catalogField {
	return []catalogField{
		{loam.Field{Name: "title", Type: loam.TypeText, Unique: true}, "TEXT"},
		{loam.Field{Name: "author", Type: loam.TypeRelation, Collection: "authors", OnDelete: loam.OnDeleteCascade}, "TEXT"},
		{loam.Field{Name: "readers", Type: loam.TypeRelation, Collection: "authors", Multiple: true}, "TEXT"},
		{loam.Field{Name: "score", Type: loam.TypeNumber}, "REAL"},
		{loam.Field{Name: "views", Type: loam.TypeNumber, Integer: true}, "INTEGER"},
		{loam.Field{Name: "kind", Type: loam.TypeText}, "TEXT"},
		{loam.Field{Name: "published", Type: loam.TypeBool}, "BOOLEAN"},
		{loam.Field{Name: "due", Type: loam.TypeDate}, "TEXT"},
	}
}

// catalogFixture creates authors and posts (every field of postsFields, a
// unique index over kind and score) through the store.
func catalogFixture(t *testing.T, st *sqlstore.Store) (authors, posts *loam.Collection) {
	t.Helper()
	var fields []loam.Field
	for _, cf := range postsFields() {
		fields = append(fields, cf.field)
	}
	return sqlstoretest.Fixture(t, st, fields)
}

type column struct {
	typ     string
	notNull bool
	pk      bool
}

// columns reads PRAGMA table_info.
func columns(t *testing.T, db sqlstore.DB, table string) map[string]column {
	t.Helper()
	out := map[string]column{}
	for _, r := range sqlstoretest.QueryAll(t, db, 4, `SELECT name, type, "notnull", pk FROM pragma_table_info(?1)`, table) {
		out[r[0]] = column{typ: r[1], notNull: r[2] == "1", pk: r[3] != "0"}
	}
	return out
}

type foreignKey struct {
	from, table, to, onDelete string
}

// foreignKeys reads PRAGMA foreign_key_list, by source column.
func foreignKeys(t *testing.T, db sqlstore.DB, table string) map[string]foreignKey {
	t.Helper()
	out := map[string]foreignKey{}
	for _, r := range sqlstoretest.QueryAll(t, db, 4, `SELECT "from", "table", "to", on_delete FROM pragma_foreign_key_list(?1)`, table) {
		out[r[0]] = foreignKey{from: r[0], table: r[1], to: r[2], onDelete: r[3]}
	}
	return out
}

type index struct {
	unique  bool
	columns []string
}

// indexes reads PRAGMA index_list and index_info, by index name.
func indexes(t *testing.T, db sqlstore.DB, table string) map[string]index {
	t.Helper()
	out := map[string]index{}
	for _, r := range sqlstoretest.QueryAll(t, db, 2, `SELECT name, "unique" FROM pragma_index_list(?1)`, table) {
		ix := index{unique: r[1] == "1"}
		for _, c := range sqlstoretest.QueryAll(t, db, 1, `SELECT name FROM pragma_index_info(?1) ORDER BY seqno`, r[0]) {
			ix.columns = append(ix.columns, c[0])
		}
		out[r[0]] = ix
	}
	return out
}

// tableSQL is the CREATE TABLE statement SQLite keeps for table.
func tableSQL(t *testing.T, db sqlstore.DB, table string) string {
	t.Helper()
	rows := sqlstoretest.QueryAll(t, db, 1, `SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1`, table)
	if len(rows) != 1 {
		t.Fatalf("table %s: %d rows in sqlite_schema, want 1", table, len(rows))
	}
	return rows[0][0]
}

// Names as sqlstore derives them from ids (sqlstore/store.go).
func uniqueIndexName(c *loam.Collection, f *loam.Field) string { return "_" + c.ID + "_" + f.ID + "_u" }
func relationIndexName(c *loam.Collection, f *loam.Field) string {
	return "_" + c.ID + "_" + f.ID + "_r"
}
func foreignKeyName(c *loam.Collection, f *loam.Field) string { return "_" + c.ID + "_" + f.ID + "_fk" }
func primaryKeyName(c *loam.Collection) string                { return "_" + c.ID + "_pk" }
func collectionIndexName(c *loam.Collection, ix *loam.Index) string {
	var h uint32 = 2166136261
	for i := 0; i < len(ix.Name); i++ {
		h ^= uint32(ix.Name[i])
		h *= 16777619
	}
	return "_" + c.ID + "_x" + strconv.FormatUint(uint64(h), 36)
}

// findIndex returns the index of table over exactly cols, by name.
func findIndex(ixs map[string]index, cols ...string) (string, index, bool) {
	for name, ix := range ixs {
		if slices.Equal(ix.columns, cols) {
			return name, ix, true
		}
	}
	return "", index{}, false
}

func TestCatalogColumns(t *testing.T) {
	t.Parallel()
	st := catalogStore(t)
	_, posts := catalogFixture(t, st)
	db := st.DB()
	cols := columns(t, db, "posts")
	if want := 3 + len(posts.Fields); len(cols) != want {
		t.Errorf("posts has %d columns %v, want %d", len(cols), cols, want)
	}
	cases := []struct {
		name    string
		typ     string
		notNull bool
		pk      bool
	}{
		{"id", "TEXT", true, true},
		{"created", "TEXT", true, false},
		{"updated", "TEXT", true, false},
	}
	for _, cf := range postsFields() {
		cases = append(cases, struct {
			name    string
			typ     string
			notNull bool
			pk      bool
		}{cf.field.Name, cf.colType, false, false})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := cols[tc.name]
			if !ok {
				t.Fatalf("no column %q in posts: %v", tc.name, cols)
			}
			if got.typ != tc.typ || got.notNull != tc.notNull || got.pk != tc.pk {
				t.Errorf("column %s: type %q notnull %v pk %v; want %q %v %v", tc.name, got.typ, got.notNull, got.pk, tc.typ, tc.notNull, tc.pk)
			}
		})
	}
}

func TestCatalogConstraints(t *testing.T) {
	t.Parallel()
	st := catalogStore(t)
	_, posts := catalogFixture(t, st)
	db := st.DB()
	fks := foreignKeys(t, db, "posts")
	ixs := indexes(t, db, "posts")
	ddl := tableSQL(t, db, "posts")
	author, title := posts.Field("author"), posts.Field("title")
	cix := &posts.Indexes[0]

	for _, tc := range []struct {
		name  string
		check func(t *testing.T)
	}{
		{"relation is a foreign key to the target's id with ON DELETE CASCADE", func(t *testing.T) {
			fk, ok := fks["author"]
			if !ok {
				t.Fatalf("no foreign key on posts.author; foreign keys: %v", fks)
			}
			if want := (foreignKey{"author", "authors", "id", "CASCADE"}); fk != want {
				t.Errorf("foreign key %+v, want %+v", fk, want)
			}
			if !strings.Contains(ddl, `CONSTRAINT "`+foreignKeyName(posts, author)+`" REFERENCES "authors"`) {
				t.Errorf("posts DDL does not name the foreign key %s: %s", foreignKeyName(posts, author), ddl)
			}
		}},
		{"multi relation has no foreign key", func(t *testing.T) {
			if fk, ok := fks["readers"]; ok {
				t.Errorf("multi relation readers has a foreign key: %+v", fk)
			}
			if len(fks) != 1 {
				t.Errorf("posts has %d foreign keys %v, want only author's", len(fks), fks)
			}
			if name, _, ok := findIndex(ixs, "readers"); ok {
				t.Errorf("multi relation readers has index %s", name)
			}
		}},
		{"relation has an index", func(t *testing.T) {
			ix, ok := ixs[relationIndexName(posts, author)]
			if !ok {
				t.Fatalf("no index %s; indexes: %v", relationIndexName(posts, author), ixs)
			}
			if ix.unique || !slices.Equal(ix.columns, []string{"author"}) {
				t.Errorf("relation index: unique %v columns %v; want a plain index on author", ix.unique, ix.columns)
			}
		}},
		{"unique field has a unique index", func(t *testing.T) {
			ix, ok := ixs[uniqueIndexName(posts, title)]
			if !ok {
				t.Fatalf("no index %s; indexes: %v", uniqueIndexName(posts, title), ixs)
			}
			if !ix.unique || !slices.Equal(ix.columns, []string{"title"}) {
				t.Errorf("unique index: unique %v columns %v; want unique on title", ix.unique, ix.columns)
			}
		}},
		{"collection index is unique over both columns", func(t *testing.T) {
			ix, ok := ixs[collectionIndexName(posts, cix)]
			if !ok {
				t.Fatalf("no index %s; indexes: %v", collectionIndexName(posts, cix), ixs)
			}
			if !ix.unique || !slices.Equal(ix.columns, []string{"kind", "score"}) {
				t.Errorf("collection index: unique %v columns %v; want unique on kind, score", ix.unique, ix.columns)
			}
		}},
		{"primary key is id and named", func(t *testing.T) {
			if !strings.Contains(ddl, `CONSTRAINT "`+primaryKeyName(posts)+`" PRIMARY KEY`) {
				t.Errorf("posts DDL does not name the primary key %s: %s", primaryKeyName(posts), ddl)
			}
		}},
		{"unnamed indexes are only the primary key's", func(t *testing.T) {
			for name := range ixs {
				if !strings.HasPrefix(name, "_"+posts.ID+"_") && !strings.HasPrefix(name, "sqlite_autoindex_posts_") {
					t.Errorf("unexpected index %s on posts", name)
				}
			}
			if want := 4; len(ixs) != want { // autoindex (pk), title, author, kind+score
				t.Errorf("posts has %d indexes %v, want %d", len(ixs), ixs, want)
			}
		}},
		{"target table keeps its own catalogue", func(t *testing.T) {
			if fk := foreignKeys(t, db, "authors"); len(fk) != 0 {
				t.Errorf("authors has foreign keys %v", fk)
			}
			if c := columns(t, db, "authors"); c["name"].typ != "TEXT" || !c["id"].pk {
				t.Errorf("authors columns %v", c)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.check(t)
		})
	}
}

// insertAuthorAndPost writes an author and a post pointing at it.
func insertAuthorAndPost(t *testing.T, st *sqlstore.Store, authors, posts *loam.Collection, kind string) (authorID, postID string) {
	t.Helper()
	now := loam.Now()
	a := &loam.Record{ID: loam.NewID(), Created: now, Updated: now, Data: map[string]any{"name": "ann"}}
	if err := st.InsertRecord(t.Context(), authors, a); err != nil {
		t.Fatalf("insert author: %v", err)
	}
	data := map[string]any{}
	for _, f := range posts.Fields {
		data[f.Name] = nil
	}
	data["title"] = "t-" + kind
	data["kind"] = kind
	data["score"] = 1.5
	data["views"] = int64(3)
	data["published"] = true
	data["readers"] = []string{a.ID}
	data["author"] = a.ID
	p := &loam.Record{ID: loam.NewID(), Created: now, Updated: now, Data: data}
	if err := st.InsertRecord(t.Context(), posts, p); err != nil {
		t.Fatalf("insert post: %v", err)
	}
	return a.ID, p.ID
}

func count(t *testing.T, db sqlstore.DB, table, where string, args ...any) int {
	t.Helper()
	q := `SELECT count(*) FROM "` + table + `"`
	if where != "" {
		q += " WHERE " + where
	}
	rows := sqlstoretest.QueryAll(t, db, 1, q, args...)
	var n int
	fmt.Sscan(rows[0][0], &n)
	return n
}

// Renaming the single relation and changing its onDelete rebuilds the table
// on SQLite: the foreign key must survive the rebuild with the new action
// and column, its index must follow the column, and the rows must stay.
func TestCatalogAfterUpdate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		table string // the collection's new name
	}{
		{"field renamed", "posts"},
		{"field and collection renamed", "articles"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			st := catalogStore(t)
			authors, posts := catalogFixture(t, st)
			db := st.DB()
			authorID, postID := insertAuthorAndPost(t, st, authors, posts, "a")

			next := posts.Clone()
			next.Name = tc.table
			f := next.Field("author")
			f.Name = "writer"
			f.OnDelete = loam.OnDeleteRestrict
			next.Updated = posts.Updated.Add(time.Millisecond)
			if err := next.Validate(); err != nil {
				t.Fatal(err)
			}
			if err := st.UpdateCollection(ctx, posts, next); err != nil {
				t.Fatalf("UpdateCollection: %v", err)
			}

			cols := columns(t, db, tc.table)
			if _, ok := cols["author"]; ok {
				t.Errorf("old column author still exists: %v", cols)
			}
			if c, ok := cols["writer"]; !ok || c.typ != "TEXT" {
				t.Errorf("renamed column writer: %+v (present %v), want TEXT", c, ok)
			}
			fks := foreignKeys(t, db, tc.table)
			if want := (foreignKey{"writer", "authors", "id", "RESTRICT"}); fks["writer"] != want || len(fks) != 1 {
				t.Errorf("foreign keys after the update: %v, want only %+v", fks, want)
			}
			ddl := tableSQL(t, db, tc.table)
			if !strings.Contains(ddl, `CONSTRAINT "`+foreignKeyName(posts, posts.Field("author"))+`"`) ||
				!strings.Contains(ddl, `CONSTRAINT "`+primaryKeyName(posts)+`" PRIMARY KEY`) {
				t.Errorf("rebuilt DDL lost the constraint names: %s", ddl)
			}
			ixs := indexes(t, db, tc.table)
			if ix, ok := ixs[relationIndexName(next, f)]; !ok || ix.unique || !slices.Equal(ix.columns, []string{"writer"}) {
				t.Errorf("relation index %s after the update: %+v (present %v), want a plain index on writer; indexes %v",
					relationIndexName(next, f), ix, ok, ixs)
			}
			if ix, ok := ixs[uniqueIndexName(next, next.Field("title"))]; !ok || !ix.unique || !slices.Equal(ix.columns, []string{"title"}) {
				t.Errorf("unique index on title after the update: %+v (present %v)", ix, ok)
			}
			if ix, ok := ixs[collectionIndexName(next, &next.Indexes[0])]; !ok || !ix.unique || !slices.Equal(ix.columns, []string{"kind", "score"}) {
				t.Errorf("collection index after the update: %+v (present %v)", ix, ok)
			}
			if leftover := sqlstoretest.QueryAll(t, db, 1, `SELECT name FROM sqlite_schema WHERE name LIKE '\_loam\_%' ESCAPE '\'`); len(leftover) != 0 {
				t.Errorf("temporary objects left behind: %v", leftover)
			}
			if n := count(t, db, tc.table, `id = ?1 AND writer = ?2`, postID, authorID); n != 1 {
				t.Errorf("the post lost its author through the rebuild (%d rows match)", n)
			}
			if check := sqlstoretest.QueryAll(t, db, 4, `SELECT * FROM pragma_foreign_key_check`); len(check) != 0 {
				t.Errorf("foreign_key_check after the update: %v", check)
			}

			// The database enforces RESTRICT: deleting the author is refused.
			// (How the error is classified is TestCatalogRestrictViolation's.)
			_, err := db.Exec(ctx, `DELETE FROM authors WHERE id = ?1`, authorID)
			if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY constraint failed") {
				t.Errorf("deleting a referenced author after restrict: %v, want a foreign key failure", err)
			}
			if n := count(t, db, "authors", `id = ?1`, authorID); n != 1 {
				t.Errorf("the referenced author was deleted despite restrict")
			}
		})
	}
}

// Before the update the foreign key cascades in the database itself.
func TestCatalogCascadeIsEnforced(t *testing.T) {
	t.Parallel()
	st := catalogStore(t)
	authors, posts := catalogFixture(t, st)
	db := st.DB()
	authorID, postID := insertAuthorAndPost(t, st, authors, posts, "a")
	if _, err := db.Exec(t.Context(), `DELETE FROM authors WHERE id = ?1`, authorID); err != nil {
		t.Fatalf("delete author: %v", err)
	}
	if n := count(t, db, "posts", `id = ?1`, postID); n != 0 {
		t.Errorf("deleting the author left its post: ON DELETE CASCADE is not enforced")
	}
}

// Rebuilding the target of a relation (adding a field to authors) keeps the
// foreign keys that point at it.
func TestCatalogTargetRebuild(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := catalogStore(t)
	authors, posts := catalogFixture(t, st)
	db := st.DB()
	authorID, postID := insertAuthorAndPost(t, st, authors, posts, "a")
	next := authors.Clone()
	next.Fields = append(next.Fields, loam.Field{Name: "bio", Type: loam.TypeText})
	next.Updated = authors.Updated.Add(time.Millisecond)
	if err := next.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateCollection(ctx, authors, next); err != nil {
		t.Fatalf("UpdateCollection authors: %v", err)
	}
	if _, ok := columns(t, db, "authors")["bio"]; !ok {
		t.Fatal("authors has no bio column after the update")
	}
	if want := (foreignKey{"author", "authors", "id", "CASCADE"}); foreignKeys(t, db, "posts")["author"] != want {
		t.Errorf("posts foreign keys after rebuilding authors: %v, want %+v", foreignKeys(t, db, "posts"), want)
	}
	if _, err := db.Exec(ctx, `DELETE FROM authors WHERE id = ?1`, authorID); err != nil {
		t.Fatalf("delete author: %v", err)
	}
	if n := count(t, db, "posts", `id = ?1`, postID); n != 0 {
		t.Errorf("after rebuilding authors, deleting an author left its post")
	}
}

// snapshot is what a refused change must leave as it was.
type snapshot struct {
	definition string
	version    int64
	columns    map[string]column
	fks        map[string]foreignKey
	indexes    map[string]index
	rows       [][]string
	objects    [][]string
}

func takeSnapshot(t *testing.T, st *sqlstore.Store, c *loam.Collection) snapshot {
	t.Helper()
	db := st.DB()
	def := sqlstoretest.QueryAll(t, db, 1, `SELECT definition FROM _collections WHERE id = ?1`, c.ID)
	if len(def) != 1 {
		t.Fatalf("no catalogue row for %s", c.Name)
	}
	v, err := st.SchemaVersion(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return snapshot{
		definition: def[0][0],
		version:    v,
		columns:    columns(t, db, c.Name),
		fks:        foreignKeys(t, db, c.Name),
		indexes:    indexes(t, db, c.Name),
		rows:       sqlstoretest.QueryAll(t, db, 4, `SELECT id, author, title, kind FROM "`+c.Name+`" ORDER BY id`),
		objects:    sqlstoretest.QueryAll(t, db, 3, `SELECT type, name, tbl_name FROM sqlite_schema ORDER BY type, name`),
	}
}

// A rebuild that would leave a record pointing at a missing one is refused
// by the foreign_key_check Write runs before committing with keys off, and
// changes nothing.
func TestCatalogRebuildRefusesDanglingKey(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := catalogStore(t)
	authors, posts := catalogFixture(t, st)
	db := st.DB()
	insertAuthorAndPost(t, st, authors, posts, "a")
	missing := loam.NewID()
	now := string(loam.AppendTime(nil, loam.Now()))
	insertDangling := func(tx sqlstore.Querier, id string) error {
		_, err := tx.Exec(ctx, `INSERT INTO posts (id, created, updated, title, kind, author) VALUES (?1, ?2, ?2, ?3, ?4, ?5)`,
			id, now, id, "dangling", missing)
		return err
	}

	// A raw write with keys off that leaves a dangling key is itself refused
	// by the check before commit.
	refusedID := loam.NewID()
	err := db.Write(ctx, sqlstore.WriteOptions{ForeignKeysOff: true}, func(tx sqlstore.Querier) error {
		return insertDangling(tx, refusedID)
	})
	var le *loam.Error
	if !errors.As(err, &le) || le.Code != loam.CodeConflict {
		t.Fatalf("raw write leaving a dangling key with keys off: %v, want a *loam.Error conflict", err)
	}
	if n := count(t, db, "posts", `id = ?1`, refusedID); n != 0 {
		t.Fatalf("the refused write was committed")
	}

	// Put the dangling row in behind the store's back: keys off on the
	// writer connection, outside Write.
	if _, err := db.Exec(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		t.Fatal(err)
	}
	danglingID := loam.NewID()
	err = insertDangling(db, danglingID)
	if _, err := db.Exec(ctx, `PRAGMA foreign_keys = ON`); err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatalf("insert dangling row with keys off: %v", err)
	}
	if check := sqlstoretest.QueryAll(t, db, 4, `SELECT * FROM pragma_foreign_key_check`); len(check) != 1 || check[0][0] != "posts" {
		t.Fatalf("foreign_key_check before the change: %v, want the one dangling post", check)
	}

	before := takeSnapshot(t, st, posts)
	next := posts.Clone()
	next.Fields = append(next.Fields, loam.Field{Name: "extra", Type: loam.TypeText, Default: json.RawMessage(`"x"`)})
	next.Updated = posts.Updated.Add(time.Millisecond)
	if err := next.Validate(); err != nil {
		t.Fatal(err)
	}
	err = st.UpdateCollection(ctx, posts, next)
	le = nil
	if !errors.As(err, &le) || le.Code != loam.CodeConflict {
		t.Fatalf("rebuild over a dangling key: %v, want a *loam.Error with code conflict", err)
	}
	if !strings.Contains(le.Message, "posts") {
		t.Errorf("conflict message %q does not name the table with the dangling key", le.Message)
	}
	after := takeSnapshot(t, st, posts)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("a refused rebuild changed the database:\nbefore %+v\nafter  %+v", before, after)
	}
	cols, _, err := st.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cols {
		if c.Name == "posts" && (c.Field("extra") != nil || !c.Updated.Equal(posts.Updated)) {
			t.Errorf("the catalogue holds the refused definition: %+v", c)
		}
	}

	// Keys are on again on the writer: a dangling insert outside Write fails.
	if err := insertDangling(db, loam.NewID()); err == nil {
		t.Error("after the refused rebuild, foreign keys are no longer enforced on the writer")
	} else if kind, _ := (sqlite.Dialect{}).ConstraintError(err); kind != sqlstore.ForeignKeyViolation {
		t.Errorf("dangling insert after the refused rebuild: %v, want a foreign key violation", err)
	}

	// With the dangling row gone, the same change goes through.
	if _, err := db.Exec(ctx, `DELETE FROM posts WHERE id = ?1`, danglingID); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateCollection(ctx, posts, next); err != nil {
		t.Fatalf("the change once the dangling key is gone: %v", err)
	}
	if c, ok := columns(t, db, "posts")["extra"]; !ok || c.typ != "TEXT" {
		t.Errorf("column extra after the change: %+v (present %v)", c, ok)
	}
	if fk := foreignKeys(t, db, "posts")["author"]; fk.table != "authors" || fk.onDelete != "CASCADE" {
		t.Errorf("foreign key after the change: %+v", fk)
	}
	if n := count(t, db, "posts", `extra = 'x'`); n != 1 {
		t.Errorf("existing rows with the new default: %d, want 1", n)
	}
}

// A delete that the database refuses because of an ON DELETE RESTRICT key is
// a foreign key violation for the store. SQLite runs RESTRICT as a trigger,
// so the error's extended code is SQLITE_CONSTRAINT_TRIGGER, not
// SQLITE_CONSTRAINT_FOREIGNKEY. The store meets it when its schema snapshot
// is stale: another instance on the same file added the relation, so the
// store's own restrict check does not know of it and the database's key is
// the backstop. The caller must get a conflict, not an internal error.
func TestCatalogRestrictViolation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := catalogStore(t)
	now := loam.Now()
	authors := &loam.Collection{Name: "authors", Fields: []loam.Field{{Name: "name", Type: loam.TypeText}}, Created: now, Updated: now}
	if err := authors.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCollection(ctx, authors); err != nil {
		t.Fatal(err)
	}
	// The schema as an instance saw it before the relation existed.
	_, version, err := st.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stale := loam.NewSchema(version, []*loam.Collection{authors})

	posts := &loam.Collection{Name: "posts", Created: now, Updated: now, Fields: []loam.Field{
		{Name: "author", Type: loam.TypeRelation, Collection: "authors", OnDelete: loam.OnDeleteRestrict}}}
	if err := posts.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateCollection(ctx, posts); err != nil {
		t.Fatal(err)
	}
	a := &loam.Record{ID: loam.NewID(), Created: now, Updated: now, Data: map[string]any{"name": "ann"}}
	if err := st.InsertRecord(ctx, authors, a); err != nil {
		t.Fatal(err)
	}
	p := &loam.Record{ID: loam.NewID(), Created: now, Updated: now, Data: map[string]any{"author": a.ID}}
	if err := st.InsertRecord(ctx, posts, p); err != nil {
		t.Fatal(err)
	}

	t.Run("dialect classifies the raw error", func(t *testing.T) {
		_, err := st.DB().Exec(ctx, `DELETE FROM authors WHERE id = ?1`, a.ID)
		if err == nil {
			t.Fatal("deleting a referenced author succeeded despite ON DELETE RESTRICT")
		}
		if kind, _ := (sqlite.Dialect{}).ConstraintError(err); kind != sqlstore.ForeignKeyViolation {
			t.Errorf("ConstraintError(%v) = kind %d, want ForeignKeyViolation (%d)", err, kind, sqlstore.ForeignKeyViolation)
		}
	})
	t.Run("store reports a conflict", func(t *testing.T) {
		err := st.DeleteRecord(ctx, stale, authors, a.ID, nil)
		if code := loam.CodeOf(err); code != loam.CodeConflict {
			t.Errorf("DeleteRecord of a referenced author with a stale schema: %v (code %s), want conflict", err, code)
		}
	})
	if _, err := st.GetRecord(ctx, authors, a.ID); err != nil {
		t.Errorf("the referenced author is gone: %v", err)
	}
}

// TestCatalogFoldAuthEmails: an auth collection made before emails were
// unique without regard to case gets its index over lower(email).
func TestCatalogFoldAuthEmails(t *testing.T) {
	sqlstoretest.FoldAuthEmails(t, catalogStore(t))
}
