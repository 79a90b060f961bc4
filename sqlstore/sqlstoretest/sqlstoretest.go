// Package sqlstoretest holds test helpers shared by the SQL adapters' own
// tests (those that look at the database's catalogue, beyond the
// conformance suite in storetest).
package sqlstoretest

import (
	"fmt"
	"testing"

	"loam"
	"loam/sqlstore"
)

// Fixture creates through the store the collections "authors" (a text field
// name) and "posts" (the given fields, plus a unique index by_kind_score
// over kind and score), and returns them as stored.
func Fixture(t *testing.T, st *sqlstore.Store, postsFields []loam.Field) (authors, posts *loam.Collection) {
	t.Helper()
	ctx := t.Context()
	now := loam.Now()
	authors = &loam.Collection{Name: "authors", Fields: []loam.Field{{Name: "name", Type: loam.TypeText}},
		Created: now, Updated: now}
	posts = &loam.Collection{Name: "posts", Created: now, Updated: now, Fields: postsFields,
		Indexes: []loam.Index{{Name: "by_kind_score", Fields: []string{"kind", "score"}, Unique: true}}}
	for _, c := range []*loam.Collection{authors, posts} {
		if err := c.Validate(); err != nil {
			t.Fatalf("validate %s: %v", c.Name, err)
		}
		if err := st.CreateCollection(ctx, c); err != nil {
			t.Fatalf("create %s: %v", c.Name, err)
		}
	}
	return authors, posts
}

// QueryAll runs a read and returns its rows as strings (NULL as "").
func QueryAll(t *testing.T, q sqlstore.Querier, ncol int, query string, args ...any) [][]string {
	t.Helper()
	rows, err := q.Query(t.Context(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals := make([]any, ncol)
		dest := make([]any, ncol)
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatalf("%s: scan: %v", query, err)
		}
		row := make([]string, ncol)
		for i, v := range vals {
			switch x := v.(type) {
			case nil:
			case []byte:
				row[i] = string(x)
			default:
				row[i] = fmt.Sprint(x)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

// FoldAuthEmails checks that Migrate gives an auth collection made before
// emails were unique without regard to case (a plain unique index on email)
// its index over lower(email), once, and that the database itself then
// refuses an email that differs from another only in case.
func FoldAuthEmails(t *testing.T, st *sqlstore.Store) {
	t.Helper()
	ctx := t.Context()
	now := loam.Now()
	users := &loam.Collection{Name: "users", Type: loam.CollectionAuth, Created: now, Updated: now, Fields: []loam.Field{
		{Name: "email", Type: loam.TypeEmail, System: true, Required: true, Unique: true},
		{Name: "emailVisibility", Type: loam.TypeBool, System: true},
		{Name: "verified", Type: loam.TypeBool, System: true},
		{Name: "password", Type: loam.TypePassword, System: true, Required: true, Hidden: true},
	}}
	if err := users.Validate(); err != nil {
		t.Fatalf("validate users: %v", err)
	}
	if err := st.CreateCollection(ctx, users); err != nil {
		t.Fatalf("create users: %v", err)
	}
	email := users.Field("email")
	folded := `"_` + users.ID + "_" + email.ID + `_ci"`
	plain := `"_` + users.ID + "_" + email.ID + `_u"`
	exec := func(stmt string) error {
		return st.DB().Write(ctx, sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
			_, err := tx.Exec(ctx, stmt)
			return err
		})
	}
	insert := func(id, email string) error {
		return exec(`INSERT INTO users (id, created, updated, email, password) VALUES ('` + id +
			`', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', '` + email + `', 'h')`)
	}
	// The database as it was before: a plain unique index, not yet folded.
	for _, stmt := range []string{`DROP INDEX ` + folded, `CREATE UNIQUE INDEX ` + plain + ` ON users (email)`,
		`DELETE FROM _meta WHERE key = 'auth_emails_folded'`} {
		if err := exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := insert("aaaaaaaaaaaaaa1", "ann@example.com"); err != nil {
		t.Fatalf("insert ann: %v", err)
	}
	if err := insert("aaaaaaaaaaaaaa2", "Ann@example.com"); err != nil {
		t.Fatalf("before the upgrade, the index is exact: %v", err)
	}
	if err := exec(`DELETE FROM users WHERE id = 'aaaaaaaaaaaaaa2'`); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second run finds it done
		if err := st.Migrate(ctx); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	if err := insert("aaaaaaaaaaaaaa3", "ANN@example.com"); err == nil {
		t.Errorf("after the upgrade, the database took an email that differs from another only in case")
	}
	if err := insert("aaaaaaaaaaaaaa4", "bob@example.com"); err != nil {
		t.Errorf("insert bob after the upgrade: %v", err)
	}
	if err := exec(`DROP INDEX ` + plain); err == nil {
		t.Errorf("the plain unique index is still there after the upgrade")
	}
}
