// Package sqlstore implements loam.Store once, over any SQL database that a
// Dialect describes. The sqlite and postgres adapters supply the connections,
// the dialect and the migrations; every statement is built here, from the
// collection definitions, with values always passed as parameters.
package sqlstore

import (
	"context"
	"time"

	"loam"
	"loam/expr"
)

// Rows is the result of a query.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Close() error
	Err() error
}

// Querier runs statements: the read pool, or a write transaction.
type Querier interface {
	// Exec runs a statement and returns the number of rows it affected.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Query runs a statement that returns rows.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
}

// WriteOptions tune one write transaction.
type WriteOptions struct {
	// ForeignKeysOff turns foreign key enforcement off around the transaction
	// and checks every key before commit (SQLite table rebuilds). Dialects that
	// alter tables in place ignore it.
	ForeignKeysOff bool
}

// DB is an open database: Query and Exec on it use the read pool; Write runs a
// function in one write transaction (on SQLite, through the one writer).
type DB interface {
	Querier
	Write(ctx context.Context, opts WriteOptions, fn func(tx Querier) error) error
	Close() error
}

// Dialect holds what differs between SQL databases.
type Dialect interface {
	// Name is "sqlite" or "postgres".
	Name() string
	// Placeholder returns the n-th (1-based) parameter marker.
	Placeholder(n int) string
	// ColumnType is the SQL type of a field's column.
	ColumnType(f *loam.Field) string
	// IDType and TimeType are the types of the id and created/updated columns.
	IDType() string
	TimeType() string
	// SelectColumn is the expression that reads a field's column (quoted name
	// given), for example a cast of jsonb to text.
	SelectColumn(f *loam.Field, quoted string) string
	// Encode turns a canonical field value (see loam.Record) into a driver parameter.
	Encode(f *loam.Field, v any) any
	// EncodeTime turns a time into a driver parameter.
	EncodeTime(t time.Time) any
	// ListContains is a condition true when the JSON list column holds the
	// string parameter given by placeholder (multi relations, multi selects).
	ListContains(column, placeholder string) string
	// ListEmpty is a condition true when the JSON list column is an empty list.
	ListEmpty(column string) string
	// SetParam encodes a set of strings as one parameter, for InSet: a set
	// of any size costs one parameter.
	SetParam(values []string) any
	// InSet is a condition true when the text expression equals one of the
	// strings of the SetParam parameter given by placeholder.
	InSet(expr, placeholder string) string
	// BoolLiteral is the SQL literal of a bool.
	BoolLiteral(b bool) string
	// OrderBy is one ORDER BY term. Every dialect sorts missing values
	// (NULL) as the smallest: first going up, last going down.
	OrderBy(quoted string, desc bool) string
	// IndexColumn is one column of CREATE INDEX, ordered like OrderBy so
	// sorted lists can use the index.
	IndexColumn(quoted string) string
	// DeferredJoinOffset is the page offset from which a list reads its
	// page through a subquery over ids (the offset then steps over index
	// entries, not rows); 0 means never.
	DeferredJoinOffset() int

	// The filter language (see package expr) needs these.

	// Fold folds the case of a text expression as expr.Fold does.
	Fold(x string) string
	// ListElements returns a FROM item over the strings of a JSON list,
	// named alias, and the expression of each string (compared by code point).
	ListElements(list, alias string) (from, value string)
	// JSONElements is a FROM item over the elements of a JSON array, named
	// alias; a value that is not an array has no elements.
	JSONElements(doc, alias string) string
	// JSONElement returns, for an element of JSONElements, the condition
	// that it holds a value of kind (text, number or bool) and the SQL value
	// it then has.
	JSONElement(alias string, kind expr.Kind) (is, value string)
	// JSONIsArray is a condition true when a JSON value is an array.
	JSONIsArray(doc string) string
	// ListLength is the number of elements of a JSON array.
	ListLength(list string) string
	// DateBucket formats a time column as its UTC day (2006-01-02), ISO
	// week (2006-W01), month (2006-01) or year (2006), for aggregates.
	DateBucket(x, bucket string) string
	// Float converts a number expression to double precision.
	Float(x string) string
	// FloatCast follows a parameter that must be read as a float where an
	// integer column would make the database read it as an integer.
	FloatCast() string
	// RebuildToAlter reports whether changing a table's columns rebuilds it
	// (create, copy, drop, rename: SQLite) rather than altering it in place.
	RebuildToAlter() bool
	// LockSchema serialises schema changes across instances inside tx.
	LockSchema(ctx context.Context, tx Querier) error
	// ConstraintError classifies a driver error: a unique violation or a
	// foreign key violation, with the name of the violated index or
	// constraint when the driver reports it (PostgreSQL does, SQLite does
	// not: the store checks uniques and relations before writing there).
	ConstraintError(err error) (kind ConstraintKind, constraint string)
	// EventAnnounce is the statement that tells other instances, on
	// channel, that events were committed, with the newest seq as payload
	// (PostgreSQL: a NOTIFY); "" where only this process writes (SQLite).
	EventAnnounce(channel string) string
	// Snapshot is two bigint columns read with the events: the xmin and
	// xmax of the reading statement's snapshot (see loam.EventPage), or
	// 0, 0 where events become visible in seq order.
	Snapshot() string
}

// SchemaChanger is implemented by a DB that caches prepared statements per
// connection: the store calls SchemaChanged after a schema change, its own or
// one seen from another instance, so no statement planned against the old
// tables is reused.
type SchemaChanger interface {
	SchemaChanged()
}

// ConstraintKind classifies a constraint violation.
type ConstraintKind int

// Constraint kinds.
const (
	NoConstraint ConstraintKind = iota
	UniqueViolation
	ForeignKeyViolation
	NotNullViolation
)
