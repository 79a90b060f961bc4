package postgres_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"loam"
	"loam/postgres"
	"loam/postgres/pgtest"
	"loam/sqlstore"
	"loam/sqlstore/sqlstoretest"
)

// These tests read PostgreSQL's own catalogue (pg_attribute, pg_collation,
// pg_constraint, pg_index, pg_indexes, information_schema) to check that
// collections are real tables: typed columns with the "C" collation on
// text, real foreign keys, real indexes, and constraint names derived from ids.

// catalogStore opens a migrated store on a fresh database, closed when t
// ends (before pgtest drops the database).
func catalogStore(t *testing.T) *sqlstore.Store {
	t.Helper()
	st, err := postgres.Open(t.Context(), postgres.Config{URL: pgtest.URL(t), MaxConns: 4})
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return st
}

// catalogField is one field of the posts fixture and the column it must give.
type catalogField struct {
	field     loam.Field
	colType   string // format_type of the column
	collation string // "" when the type has none
}

const timeType = "timestamp(3) with time zone"

// postsFields are the fields of the posts fixture, with their column types.
func postsFields() []catalogField {
	return []catalogField{
		{loam.Field{Name: "title", Type: loam.TypeText, Unique: true}, "text", "C"},
		{loam.Field{Name: "author", Type: loam.TypeRelation, Collection: "authors", OnDelete: loam.OnDeleteCascade}, "text", "C"},
		{loam.Field{Name: "readers", Type: loam.TypeRelation, Collection: "authors", Multiple: true}, "jsonb", ""},
		{loam.Field{Name: "score", Type: loam.TypeNumber}, "double precision", ""},
		{loam.Field{Name: "views", Type: loam.TypeNumber, Integer: true}, "bigint", ""},
		{loam.Field{Name: "kind", Type: loam.TypeText}, "text", "C"},
		{loam.Field{Name: "published", Type: loam.TypeBool}, "boolean", ""},
		{loam.Field{Name: "due", Type: loam.TypeDate}, timeType, ""},
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
	typ       string
	collation string
	notNull   bool
}

// columns reads pg_attribute with each column's collation, by name.
func columns(t *testing.T, db sqlstore.DB, table string) map[string]column {
	t.Helper()
	out := map[string]column{}
	for _, r := range sqlstoretest.QueryAll(t, db, 4, `
		SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), coalesce(co.collname::text, ''), a.attnotnull
		FROM pg_attribute a
		JOIN pg_class cl ON cl.oid = a.attrelid
		LEFT JOIN pg_collation co ON co.oid = a.attcollation
		WHERE cl.relname = $1 AND cl.relnamespace = current_schema()::regnamespace
		  AND a.attnum > 0 AND NOT a.attisdropped`, table) {
		out[r[0]] = column{typ: r[1], collation: r[2], notNull: r[3] == "true"}
	}
	return out
}

// infoColumns reads information_schema.columns: data type and collation name, by column.
func infoColumns(t *testing.T, db sqlstore.DB, table string) map[string][2]string {
	t.Helper()
	out := map[string][2]string{}
	for _, r := range sqlstoretest.QueryAll(t, db, 3, `
		SELECT column_name::text, data_type::text, coalesce(collation_name::text, '')
		FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1`, table) {
		out[r[0]] = [2]string{r[1], r[2]}
	}
	return out
}

type foreignKey struct {
	name, from, table, to, delType, deleteRule string
}

// foreignKeys reads pg_constraint (one-column keys) with
// information_schema's delete rule, by source column.
func foreignKeys(t *testing.T, db sqlstore.DB, table string) map[string]foreignKey {
	t.Helper()
	out := map[string]foreignKey{}
	for _, r := range sqlstoretest.QueryAll(t, db, 6, `
		SELECT con.conname::text, src.attname::text, tcl.relname::text, tgt.attname::text, con.confdeltype::text,
		       coalesce(rc.delete_rule::text, '')
		FROM pg_constraint con
		JOIN pg_class cl ON cl.oid = con.conrelid
		JOIN pg_class tcl ON tcl.oid = con.confrelid
		JOIN pg_attribute src ON src.attrelid = con.conrelid AND src.attnum = con.conkey[1]
		JOIN pg_attribute tgt ON tgt.attrelid = con.confrelid AND tgt.attnum = con.confkey[1]
		LEFT JOIN information_schema.referential_constraints rc
		       ON rc.constraint_schema = current_schema() AND rc.constraint_name = con.conname
		WHERE con.contype = 'f' AND cardinality(con.conkey) = 1
		  AND cl.relname = $1 AND cl.relnamespace = current_schema()::regnamespace`, table) {
		out[r[1]] = foreignKey{name: r[0], from: r[1], table: r[2], to: r[3], delType: r[4], deleteRule: r[5]}
	}
	return out
}

type index struct {
	unique, primary bool
	columns         []string
	def             string // pg_indexes.indexdef
}

// indexes reads pg_index and pg_indexes, by index name.
func indexes(t *testing.T, db sqlstore.DB, table string) map[string]index {
	t.Helper()
	out := map[string]index{}
	for _, r := range sqlstoretest.QueryAll(t, db, 5, `
		SELECT ic.relname::text, ix.indisunique, ix.indisprimary,
		       array_to_string(ARRAY(
		         SELECT at.attname FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(n, ord)
		         JOIN pg_attribute at ON at.attrelid = ix.indrelid AND at.attnum = k.n
		         ORDER BY k.ord), ','),
		       pi.indexdef
		FROM pg_index ix
		JOIN pg_class ic ON ic.oid = ix.indexrelid
		JOIN pg_class tc ON tc.oid = ix.indrelid
		JOIN pg_indexes pi ON pi.schemaname = current_schema() AND pi.indexname = ic.relname
		WHERE tc.relname = $1 AND tc.relnamespace = current_schema()::regnamespace`, table) {
		out[r[0]] = index{unique: r[1] == "true", primary: r[2] == "true", columns: strings.Split(r[3], ","), def: r[4]}
	}
	return out
}

// primaryKey returns the name and column of table's primary key constraint.
func primaryKey(t *testing.T, db sqlstore.DB, table string) (name, col string) {
	t.Helper()
	rows := sqlstoretest.QueryAll(t, db, 2, `
		SELECT con.conname::text, a.attname::text
		FROM pg_constraint con
		JOIN pg_class cl ON cl.oid = con.conrelid
		JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
		WHERE con.contype = 'p' AND cardinality(con.conkey) = 1
		  AND cl.relname = $1 AND cl.relnamespace = current_schema()::regnamespace`, table)
	if len(rows) != 1 {
		t.Fatalf("table %s has %d one-column primary keys, want 1", table, len(rows))
	}
	return rows[0][0], rows[0][1]
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

func TestCatalogColumns(t *testing.T) {
	t.Parallel()
	st := catalogStore(t)
	_, posts := catalogFixture(t, st)
	db := st.DB()
	cols := columns(t, db, "posts")
	info := infoColumns(t, db, "posts")
	if want := 3 + len(posts.Fields); len(cols) != want {
		t.Errorf("posts has %d columns %v, want %d", len(cols), cols, want)
	}
	type colCase struct {
		name      string
		typ       string
		collation string
		notNull   bool
	}
	cases := []colCase{
		{"id", "text", "C", true},
		{"created", timeType, "", true},
		{"updated", timeType, "", true},
	}
	for _, cf := range postsFields() {
		cases = append(cases, colCase{cf.field.Name, cf.colType, cf.collation, false})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := cols[tc.name]
			if !ok {
				t.Fatalf("no column %q in posts: %v", tc.name, cols)
			}
			// A type without collation reports its type's default ("default" or none).
			collation := got.collation
			if tc.collation == "" && (collation == "default" || collation == "") {
				collation = ""
			}
			if got.typ != tc.typ || collation != tc.collation || got.notNull != tc.notNull {
				t.Errorf("column %s: type %q collation %q notnull %v; want %q %q %v",
					tc.name, got.typ, got.collation, got.notNull, tc.typ, tc.collation, tc.notNull)
			}
			// information_schema agrees: text columns carry collation "C".
			if tc.collation == "C" && info[tc.name] != [2]string{"text", "C"} {
				t.Errorf("information_schema.columns for %s: %v, want text collated \"C\"", tc.name, info[tc.name])
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
			want := foreignKey{foreignKeyName(posts, author), "author", "authors", "id", "c", "CASCADE"}
			if fk != want {
				t.Errorf("foreign key %+v, want %+v", fk, want)
			}
		}},
		{"multi relation has no foreign key and no index", func(t *testing.T) {
			if fk, ok := fks["readers"]; ok {
				t.Errorf("multi relation readers has a foreign key: %+v", fk)
			}
			if len(fks) != 1 {
				t.Errorf("posts has %d foreign keys %v, want only author's", len(fks), fks)
			}
			for name, ix := range ixs {
				if slices.Contains(ix.columns, "readers") {
					t.Errorf("multi relation readers has index %s", name)
				}
			}
		}},
		{"relation has an index", func(t *testing.T) {
			ix, ok := ixs[relationIndexName(posts, author)]
			if !ok {
				t.Fatalf("no index %s; indexes: %v", relationIndexName(posts, author), ixs)
			}
			if ix.unique || !slices.Equal(ix.columns, []string{"author"}) || !strings.Contains(ix.def, "(author NULLS FIRST)") {
				t.Errorf("relation index: %+v; want a plain index on author NULLS FIRST", ix)
			}
		}},
		{"unique field has a unique index", func(t *testing.T) {
			ix, ok := ixs[uniqueIndexName(posts, title)]
			if !ok {
				t.Fatalf("no index %s; indexes: %v", uniqueIndexName(posts, title), ixs)
			}
			if !ix.unique || !slices.Equal(ix.columns, []string{"title"}) || !strings.HasPrefix(ix.def, "CREATE UNIQUE INDEX") {
				t.Errorf("unique index: %+v; want unique on title", ix)
			}
		}},
		{"collection index is unique over both columns", func(t *testing.T) {
			ix, ok := ixs[collectionIndexName(posts, cix)]
			if !ok {
				t.Fatalf("no index %s; indexes: %v", collectionIndexName(posts, cix), ixs)
			}
			if !ix.unique || !slices.Equal(ix.columns, []string{"kind", "score"}) ||
				!strings.Contains(ix.def, "(kind NULLS FIRST, score NULLS FIRST)") {
				t.Errorf("collection index: %+v; want unique on kind, score", ix)
			}
		}},
		{"primary key is named from the collection id", func(t *testing.T) {
			name, col := primaryKey(t, db, "posts")
			if name != primaryKeyName(posts) || col != "id" {
				t.Errorf("primary key %s on %s, want %s on id", name, col, primaryKeyName(posts))
			}
			if ix, ok := ixs[primaryKeyName(posts)]; !ok || !ix.primary || !ix.unique {
				t.Errorf("primary key index %s: %+v (present %v)", primaryKeyName(posts), ix, ok)
			}
		}},
		{"every index is named from the collection id", func(t *testing.T) {
			for name := range ixs {
				if !strings.HasPrefix(name, "_"+posts.ID+"_") {
					t.Errorf("unexpected index %s on posts", name)
				}
			}
			if want := 4; len(ixs) != want { // pk, title, author, kind+score
				t.Errorf("posts has %d indexes %v, want %d", len(ixs), ixs, want)
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

func rowCount(t *testing.T, db sqlstore.DB, table, where string, args ...any) int {
	t.Helper()
	q := `SELECT count(*) FROM "` + table + `"`
	if where != "" {
		q += " WHERE " + where
	}
	n, _ := strconv.Atoi(sqlstoretest.QueryAll(t, db, 1, q, args...)[0][0])
	return n
}

// Renaming the single relation and changing its onDelete alters the table in
// place: the foreign key keeps its name with the new action on the renamed
// column, its index follows the column, the rows stay, and a collection
// rename keeps every id-derived name.
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
			if c, ok := cols["writer"]; !ok || c.typ != "text" || c.collation != "C" {
				t.Errorf("renamed column writer: %+v (present %v), want text collated \"C\"", c, ok)
			}
			for name := range cols {
				if strings.HasPrefix(name, "_loam_") {
					t.Errorf("temporary column %s left behind", name)
				}
			}
			fks := foreignKeys(t, db, tc.table)
			want := foreignKey{foreignKeyName(next, f), "writer", "authors", "id", "r", "RESTRICT"}
			if fks["writer"] != want || len(fks) != 1 {
				t.Errorf("foreign keys after the update: %v, want only %+v", fks, want)
			}
			if name, col := primaryKey(t, db, tc.table); name != primaryKeyName(posts) || col != "id" {
				t.Errorf("primary key after the update: %s on %s, want %s on id", name, col, primaryKeyName(posts))
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
			if len(ixs) != 4 {
				t.Errorf("%s has %d indexes after the update %v, want 4", tc.table, len(ixs), ixs)
			}
			if n := rowCount(t, db, tc.table, `id = $1 AND writer = $2`, postID, authorID); n != 1 {
				t.Errorf("the post lost its author through the update (%d rows match)", n)
			}

			// The database enforces RESTRICT: deleting the author is refused,
			// naming the foreign key.
			_, err := db.Exec(ctx, `DELETE FROM authors WHERE id = $1`, authorID)
			if kind, name := (postgres.Dialect{}).ConstraintError(err); kind != sqlstore.ForeignKeyViolation || name != foreignKeyName(next, f) {
				t.Errorf("deleting a referenced author after restrict: %v (kind %d, constraint %q), want a violation of %s",
					err, kind, name, foreignKeyName(next, f))
			}
			if n := rowCount(t, db, "authors", `id = $1`, authorID); n != 1 {
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
	if _, err := db.Exec(t.Context(), `DELETE FROM authors WHERE id = $1`, authorID); err != nil {
		t.Fatalf("delete author: %v", err)
	}
	if n := rowCount(t, db, "posts", `id = $1`, postID); n != 0 {
		t.Errorf("deleting the author left its post: ON DELETE CASCADE is not enforced")
	}
}

// PostgreSQL ignores ForeignKeysOff: a write with it still cannot leave a
// dangling key.
func TestCatalogForeignKeysOffIsIgnored(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := catalogStore(t)
	_, posts := catalogFixture(t, st)
	db := st.DB()
	now := loam.Now()
	id := loam.NewID()
	err := db.Write(ctx, sqlstore.WriteOptions{ForeignKeysOff: true}, func(tx sqlstore.Querier) error {
		_, err := tx.Exec(ctx, `INSERT INTO posts (id, created, updated, title, author) VALUES ($1, $2, $2, $3, $4)`,
			id, now, "dangling", loam.NewID())
		return err
	})
	if kind, name := (postgres.Dialect{}).ConstraintError(err); kind != sqlstore.ForeignKeyViolation ||
		name != foreignKeyName(posts, posts.Field("author")) {
		t.Errorf("dangling insert with ForeignKeysOff: %v, want a violation of the author key", err)
	}
	if n := rowCount(t, db, "posts", `id = $1`, id); n != 0 {
		t.Errorf("the dangling row was committed")
	}
}

// A delete refused by an ON DELETE RESTRICT key that the store's own check
// missed (its schema snapshot predates the relation: another instance added
// it) is a conflict for the caller, not an internal error.
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
	err = st.DeleteRecord(ctx, stale, authors, a.ID, nil)
	if code := loam.CodeOf(err); code != loam.CodeConflict {
		t.Errorf("DeleteRecord of a referenced author with a stale schema: %v (code %s), want conflict", err, code)
	}
	if _, err := st.GetRecord(ctx, authors, a.ID); err != nil {
		t.Errorf("the referenced author is gone: %v", err)
	}
}

// TestCatalogFoldAuthEmails: an auth collection made before emails were
// unique without regard to case gets its index over lower(email).
func TestCatalogFoldAuthEmails(t *testing.T) {
	sqlstoretest.FoldAuthEmails(t, catalogStore(t))
}
