package sqlite

import (
	"context"
	"encoding/json"

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
