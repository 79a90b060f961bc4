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
