package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"loam"
)

// Store implements loam.Store over a DB and a Dialect.
type Store struct {
	db         DB
	d          Dialect
	migrations fs.FS
	seen       atomic.Int64 // the last schema version Collections returned
	// parent is the store a transaction's store was bound from (see
	// boundTo): a schema its Collections finds changed is the parent's.
	parent *Store
	sql    *sync.Map // *loam.Collection -> *recordSQL; shared with InTx's stores
	// wake receives after a write that appended events commits (nil in
	// InTx's stores: their transaction commits in InTx).
	wake chan struct{}
	// announce, where other instances share the database, receives with
	// wake; announceLoop then tells them (see EventAnnounce). closed ends
	// announceLoop.
	announce  chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

var _ loam.Store = (*Store)(nil)

// New returns a Store. migrations holds the adapter's numbered .sql files at its root.
func New(db DB, d Dialect, migrations fs.FS) *Store {
	s := &Store{db: db, d: d, migrations: migrations, sql: new(sync.Map), wake: make(chan struct{}, 1)}
	s.seen.Store(-1)
	if stmt := d.EventAnnounce(eventsChannel); stmt != "" {
		s.announce, s.closed = make(chan struct{}, 1), make(chan struct{})
		go s.announceLoop(stmt)
	}
	return s
}

// schemaChanged tells a statement-caching DB that tables changed.
func (s *Store) schemaChanged() {
	s.sql.Clear()
	if sc, ok := s.db.(SchemaChanger); ok {
		sc.SchemaChanged()
	}
}

// Optimizer is a DB that keeps the planner's statistics fresh on request
// (SQLite; PostgreSQL's autovacuum does it by itself).
type Optimizer interface {
	Optimize(ctx context.Context) error
}

// Optimize refreshes the planner's statistics when the database needs to
// be asked.
func (s *Store) Optimize(ctx context.Context) error {
	if o, ok := s.db.(Optimizer); ok {
		return o.Optimize(ctx)
	}
	return nil
}

// DB returns the underlying database, for adapters' own tests and tools.
func (s *Store) DB() DB { return s.db }

// Migrate applies the adapter's migrations once.
func (s *Store) Migrate(ctx context.Context) error {
	if err := Migrate(ctx, s.db, s.d, s.migrations); err != nil {
		return fmt.Errorf("migrate %s: %w", s.d.Name(), err)
	}
	if err := s.foldAuthEmails(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", s.d.Name(), err)
	}
	return nil
}

// foldAuthEmails gives the auth collections of a database made before
// emails were unique without regard to case their index over lower(email),
// once: a row in _meta records that it was done.
func (s *Store) foldAuthEmails(ctx context.Context) error {
	const key = "auth_emails_folded"
	done := func(q Querier) (bool, error) {
		var n int64
		err := queryRow(ctx, q, []any{&n}, `SELECT count(*) FROM _meta WHERE key = '`+key+`'`)
		return n > 0, err
	}
	if ok, err := done(s.db); err != nil || ok {
		return err
	}
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		if err := s.d.LockSchema(ctx, tx); err != nil {
			return err
		}
		if ok, err := done(tx); err != nil || ok {
			return err
		}
		cols, err := definitions(ctx, tx)
		if err != nil {
			return err
		}
		for _, c := range cols {
			for i := range c.Fields {
				f := &c.Fields[i]
				if !f.Unique || !c.FoldsCase(f) {
					continue
				}
				if _, err := tx.Exec(ctx, "DROP INDEX IF EXISTS "+quote(uniqueIndexName(c, f))); err != nil {
					return fmt.Errorf("fold emails of %s: %w", c.Name, err)
				}
				stmt := "CREATE UNIQUE INDEX IF NOT EXISTS " + quote(foldedIndexName(c, f)) + " ON " + quote(c.Name) + " (lower(" + quote(f.Name) + "))"
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("fold emails of %s (do two emails differ only in case?): %w", c.Name, err)
				}
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO _meta (key, value) VALUES ('`+key+`', 1)`)
		return err
	})
	s.schemaChanged()
	return err
}

// Ping checks that the database answers and every migration is applied.
func (s *Store) Ping(ctx context.Context) error {
	return MigrationsApplied(ctx, s.db, s.migrations)
}

// Close closes the database.
func (s *Store) Close() error {
	if s.closed != nil {
		s.closeOnce.Do(func() { close(s.closed) })
	}
	return s.db.Close()
}

// SchemaVersion reads the schema counter.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	return schemaVersion(ctx, s.db)
}

func schemaVersion(ctx context.Context, q Querier) (int64, error) {
	var v int64
	err := queryRow(ctx, q, []any{&v}, `SELECT value FROM _meta WHERE key = 'schema_version'`)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// schemaChannel is the notification channel of schema changes.
const schemaChannel = "loam_schema"

// schemaChangedIn bumps the schema counter in tx and, where the dialect
// notifies, tells the other instances when tx commits.
func (s *Store) schemaChangedIn(ctx context.Context, tx Querier) error {
	if err := bumpSchemaVersion(ctx, tx); err != nil {
		return err
	}
	if jd, ok := s.d.(JobDialect); ok {
		if err := jd.Notify(ctx, tx, schemaChannel, ""); err != nil {
			return fmt.Errorf("notify schema change: %w", err)
		}
	}
	return nil
}

// ListenSchema calls changed once listening and after every schema change
// committed by any instance (see loam.SchemaListener).
func (s *Store) ListenSchema(ctx context.Context, changed func()) error {
	l, ok := s.db.(Listener)
	if !ok {
		return errors.ErrUnsupported
	}
	return l.Listen(ctx, schemaChannel, changed, func(string) { changed() })
}

var _ loam.SchemaListener = (*Store)(nil)

func bumpSchemaVersion(ctx context.Context, tx Querier) error {
	if _, err := tx.Exec(ctx, `UPDATE _meta SET value = value + 1 WHERE key = 'schema_version'`); err != nil {
		return fmt.Errorf("bump schema version: %w", err)
	}
	return nil
}

// errNoRows is returned by queryRow when the query returns nothing.
var errNoRows = errors.New("no rows")

// queryRow runs a query and scans its first row into dest.
func queryRow(ctx context.Context, q Querier, dest []any, query string, args ...any) error {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return errNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Err()
}

// quote quotes an identifier. Names are validated before they get here; quoting
// makes a stray quote harmless anyway.
func quote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// builder builds one statement with its parameters.
type builder struct {
	d    Dialect
	sb   strings.Builder
	args []any
}

func (b *builder) sql(parts ...string) *builder {
	for _, p := range parts {
		b.sb.WriteString(p)
	}
	return b
}

// arg appends a parameter and writes its placeholder.
func (b *builder) arg(v any) *builder {
	b.args = append(b.args, v)
	b.sb.WriteString(b.d.Placeholder(len(b.args)))
	return b
}

func (b *builder) String() string { return b.sb.String() }

// Index and constraint names are derived from ids, so renames never touch them
// and a name never collides across collections.
func uniqueIndexName(c *loam.Collection, f *loam.Field) string { return "_" + c.ID + "_" + f.ID + "_u" }

// foldedIndexName names the unique index over lower(email) of an auth collection.
func foldedIndexName(c *loam.Collection, f *loam.Field) string {
	return "_" + c.ID + "_" + f.ID + "_ci"
}
func relationIndexName(c *loam.Collection, f *loam.Field) string {
	return "_" + c.ID + "_" + f.ID + "_r"
}
func foreignKeyName(c *loam.Collection, f *loam.Field) string { return "_" + c.ID + "_" + f.ID + "_fk" }
func primaryKeyName(c *loam.Collection) string                { return "_" + c.ID + "_pk" }

// PrimaryKey is the constraint name a Dialect reports for a primary key
// violation when its database does not name the constraint (SQLite).
const PrimaryKey = "PRIMARY KEY"

func collectionIndexName(c *loam.Collection, ix *loam.Index) string {
	var h uint32 = 2166136261
	for i := 0; i < len(ix.Name); i++ {
		h ^= uint32(ix.Name[i])
		h *= 16777619
	}
	return "_" + c.ID + "_x" + strconv.FormatUint(uint64(h), 36)
}

// fieldOfConstraint returns the field whose unique index or foreign key is named constraint.
func fieldOfConstraint(c *loam.Collection, constraint string) string {
	if constraint == PrimaryKey || constraint == primaryKeyName(c) {
		return loam.ColID
	}
	for i := range c.Fields {
		f := &c.Fields[i]
		if constraint == uniqueIndexName(c, f) || constraint == foldedIndexName(c, f) || constraint == foreignKeyName(c, f) {
			return f.Name
		}
	}
	for i := range c.Indexes {
		if constraint == collectionIndexName(c, &c.Indexes[i]) {
			return strings.Join(c.Indexes[i].Fields, ",")
		}
	}
	return ""
}
