package sqlite

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"loam"
	"loam/sqlstore"
)

// Name is "sqlite".
func (Dialect) Name() string { return "sqlite" }

// Placeholder is ?NNN, numbered so a statement may reuse a parameter.
func (Dialect) Placeholder(n int) string { return "?" + strconv.Itoa(n) }

// ColumnType maps field types to SQLite column types. Times are TEXT in one
// fixed RFC 3339 layout, so they sort as strings; lists and JSON are JSON text.
func (Dialect) ColumnType(f *loam.Field) string {
	switch f.Type {
	case loam.TypeNumber:
		if f.Integer {
			return "INTEGER"
		}
		return "REAL"
	case loam.TypeBool:
		return "BOOLEAN"
	}
	return "TEXT"
}

// IDType is TEXT.
func (Dialect) IDType() string { return "TEXT" }

// TimeType is TEXT.
func (Dialect) TimeType() string { return "TEXT" }

// SelectColumn reads columns as they are.
func (Dialect) SelectColumn(_ *loam.Field, quoted string) string { return quoted }

// Encode turns canonical values into SQLite parameters.
func (d Dialect) Encode(_ *loam.Field, v any) any {
	switch x := v.(type) {
	case time.Time:
		return d.EncodeTime(x)
	case json.RawMessage:
		return string(x)
	case []string:
		return sqlstore.EncodeList(x)
	}
	return v
}

// EncodeTime writes a time in the one stored layout.
func (Dialect) EncodeTime(t time.Time) any { return string(loam.AppendTime(make([]byte, 0, 24), t)) }

// ListContains uses json_each.
func (Dialect) ListContains(column, placeholder string) string {
	return "EXISTS (SELECT 1 FROM json_each(" + column + ") WHERE json_each.value = " + placeholder + ")"
}

// ListEmpty uses json_array_length.
func (Dialect) ListEmpty(column string) string { return "json_array_length(" + column + ") = 0" }

// SetParam is the set as a JSON list.
func (Dialect) SetParam(values []string) any { return sqlstore.EncodeList(values) }

// InSet reads the JSON list with json_each; SQLite looks each element up in
// an index on expr when there is one.
func (Dialect) InSet(expr, placeholder string) string {
	return expr + " IN (SELECT value FROM json_each(" + placeholder + "))"
}

// ListElements uses json_each, whose value column holds each element.
func (Dialect) ListElements(column, alias string) string {
	return "json_each(" + column + ") AS " + alias
}

// BoolLiteral is 0 or 1.
func (Dialect) BoolLiteral(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// OrderBy relies on SQLite's own order, where NULL is the smallest value.
func (Dialect) OrderBy(quoted string, desc bool) string {
	if desc {
		return quoted + " DESC"
	}
	return quoted
}

// IndexColumn is the column itself: SQLite indexes already order NULL first.
func (Dialect) IndexColumn(quoted string) string { return quoted }

// DeferredJoinOffset is 300: measured here on 10 000 rows, the subquery
// form costs 37 us against 25 us at offset 0, but 235 us against 597 us at
// offset 9 000.
func (Dialect) DeferredJoinOffset() int { return 300 }

// RebuildToAlter is true: SQLite cannot change a column's constraints in place.
func (Dialect) RebuildToAlter() bool { return true }

// LockSchema does nothing: the one writer connection and IMMEDIATE
// transactions already serialise every write, across processes too.
func (Dialect) LockSchema(context.Context, sqlstore.Querier) error { return nil }
