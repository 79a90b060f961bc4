package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"loam/sqlstore"
)

var _ sqlstore.JobDialect = Dialect{}

// SkipLocked is empty: the one writer serialises claims.
func (Dialect) SkipLocked() string { return "" }

// LockKey does nothing: a write transaction already runs alone.
func (Dialect) LockKey(context.Context, sqlstore.Querier, string) error { return nil }

// JSONAppend uses json_insert at the end of the list.
func (Dialect) JSONAppend(list, elem string) string {
	return "json_insert(" + list + ", '$[#]', json(" + elem + "))"
}

// IDSetParam is the ids as a JSON list.
func (Dialect) IDSetParam(ids []int64) any {
	if ids == nil {
		ids = []int64{}
	}
	b, _ := json.Marshal(ids) // a []int64 always marshals
	return string(b)
}

// InIDs reads the JSON list with json_each; its integers meet the rowid.
func (Dialect) InIDs(x, placeholder string) string {
	return x + " IN (SELECT value FROM json_each(" + placeholder + "))"
}

// Notify does nothing: there is no other process to tell.
func (Dialect) Notify(context.Context, sqlstore.Querier, string, string) error { return nil }

// Batch sends the rows as one JSON array of arrays and reads them back with
// json_each: a statement's cost does not grow with its parameter count,
// and any number of rows is one parameter. JSON values travel as their text.
func (d Dialect) Batch(alias string, cols []sqlstore.BatchColumn, rows [][]any, first int) (string, []any) {
	enc := make([][]any, len(rows))
	for i, r := range rows {
		out := make([]any, len(r))
		for k, v := range r {
			switch x := v.(type) {
			case time.Time:
				out[k] = d.EncodeTime(x)
			case bool:
				out[k] = 0
				if x {
					out[k] = 1
				}
			default:
				out[k] = v
			}
		}
		enc[i] = out
	}
	b, _ := json.Marshal(enc) // strings, integers and nils always marshal
	var sel strings.Builder
	sel.WriteString("(SELECT key + 1 AS " + `"ord"`)
	for k, c := range cols {
		fmt.Fprintf(&sel, ", value ->> %d AS %s", k, c.Name)
	}
	fmt.Fprintf(&sel, " FROM json_each(?%d)) AS %s", first, alias)
	return sel.String(), []any{string(b)}
}
