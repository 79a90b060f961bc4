package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ncruces/go-sqlite3"

	"loam"
	"loam/expr"
	"loam/sqlstore"
)

// DB is a SQLite database with one writer connection and a pool of
// read-only connections. It talks to SQLite through the driver's own API, not
// database/sql: every connection keeps its prepared statements, so a
// statement is parsed once per connection, and no pool bookkeeping or
// value conversion stands between a request and SQLite.
type DB struct {
	writerSem chan struct{} // holds one token while a write runs
	writer    *conn
	readers   chan *conn
	all       []*conn

	closeOnce sync.Once
	done      chan struct{} // closed by Close
}

// errClosed is returned by calls on a closed DB.
var errClosed = errors.New("sqlite: database is closed")

var _ sqlstore.DB = (*DB)(nil)

// conn is one SQLite connection with its statement cache. Only one
// goroutine uses a conn at a time.
type conn struct {
	c     *sqlite3.Conn
	stmts map[string]*sqlite3.Stmt
	stale bool // the schema changed: drop the cache before next use
	mu    sync.Mutex
}

func openConn(path string, pragmas []string) (*conn, error) {
	c, err := sqlite3.Open(path)
	if err != nil {
		return nil, err
	}
	if err := c.BusyTimeout(10 * time.Second); err != nil {
		c.Close()
		return nil, err
	}
	for _, p := range pragmas {
		if err := c.Exec("PRAGMA " + p); err != nil {
			c.Close()
			return nil, fmt.Errorf("PRAGMA %s: %w", p, err)
		}
	}
	if err := c.CreateFunction("loam_fold", 1, sqlite3.DETERMINISTIC|sqlite3.INNOCUOUS, fold); err != nil {
		c.Close()
		return nil, fmt.Errorf("register loam_fold: %w", err)
	}
	return &conn{c: c, stmts: map[string]*sqlite3.Stmt{}}, nil
}

// fold is the SQL function loam_fold(x): expr.Fold of text, NULL for NULL.
// Filters use it for ~ and :lower, so case folds the same way as on
// PostgreSQL and in Go.
func fold(ctx sqlite3.Context, arg ...sqlite3.Value) {
	if arg[0].Type() == sqlite3.NULL {
		ctx.ResultNull()
		return
	}
	ctx.ResultText(expr.Fold(arg[0].Text()))
}

// prepare returns the connection's statement for query, reset and unbound.
func (c *conn) prepare(query string) (*sqlite3.Stmt, error) {
	c.mu.Lock()
	if c.stale {
		for _, st := range c.stmts {
			st.Close()
		}
		clear(c.stmts)
		c.stale = false
	}
	c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		if !st.Busy() {
			return st, nil
		}
		// The cached statement still has open rows (a nested query of the
		// same text): use a fresh one for this call; the caller closes it.
		fresh, _, err := c.c.Prepare(query)
		if err != nil {
			return nil, err
		}
		return fresh, nil
	}
	st, tail, err := c.c.Prepare(query)
	if err != nil {
		return nil, err
	}
	if tail != "" && !blank(tail) {
		st.Close()
		return nil, fmt.Errorf("one statement at a time: %q follows", tail)
	}
	if st == nil { // an empty statement
		return nil, errors.New("empty statement")
	}
	c.stmts[query] = st
	return st, nil
}

func blank(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r', ';':
		default:
			return false
		}
	}
	return true
}

func (c *conn) close() error {
	for _, st := range c.stmts {
		st.Close()
	}
	return c.c.Close()
}

// bind binds args to the numbered parameters ?1, ?2, ...
func bind(st *sqlite3.Stmt, args []any) error {
	for i, a := range args {
		n := i + 1
		var err error
		switch v := a.(type) {
		case nil:
			err = st.BindNull(n)
		case string:
			err = st.BindText(n, v)
		case []byte:
			if v == nil {
				err = st.BindNull(n)
			} else {
				err = st.BindBlob(n, v)
			}
		case int:
			err = st.BindInt64(n, int64(v))
		case int64:
			err = st.BindInt64(n, v)
		case float64:
			err = st.BindFloat(n, v)
		case bool:
			err = st.BindBool(n, v)
		default:
			return fmt.Errorf("parameter %d: unsupported type %T", n, a)
		}
		if err != nil {
			return fmt.Errorf("bind parameter %d: %w", n, err)
		}
	}
	return nil
}

// run executes a statement that returns no rows and reports the changes.
func (c *conn) exec(query string, args []any) (int64, error) {
	if len(args) == 0 && !isDML(query) {
		// DDL and pragmas run once; they are not worth a cache slot.
		if err := c.c.Exec(query); err != nil {
			return 0, err
		}
		return 0, nil
	}
	st, err := c.prepare(query)
	if err != nil {
		return 0, err
	}
	if !c.cached(query, st) {
		defer st.Close()
	}
	defer st.ClearBindings()
	if err := bind(st, args); err != nil {
		st.Reset()
		return 0, err
	}
	if err := st.Exec(); err != nil {
		return 0, err
	}
	return c.c.Changes(), nil
}

// isDML reports whether a statement changes rows (so Changes means something).
func isDML(q string) bool {
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case 'I', 'i', 'U', 'u', 'D', 'd':
			return true
		}
		return false
	}
	return false
}

// query runs a statement and returns its rows; release runs on Close.
func (c *conn) query(query string, args []any, release func()) (*rows, error) {
	st, err := c.prepare(query)
	if err != nil {
		release()
		return nil, err
	}
	if err := bind(st, args); err != nil {
		st.ClearBindings()
		release()
		return nil, err
	}
	return &rows{st: st, release: release, own: !c.cached(query, st)}, nil
}

// cached reports whether st is the cached statement of query.
func (c *conn) cached(query string, st *sqlite3.Stmt) bool { return c.stmts[query] == st }

// rows iterates a statement's results.
type rows struct {
	st      *sqlite3.Stmt
	release func()
	err     error
	done    bool
	own     bool // st is not in the cache: close it with the rows
}

func (r *rows) Next() bool {
	if r.done {
		return false
	}
	if r.st.Step() {
		return true
	}
	r.err = r.st.Err()
	r.done = true
	return false
}

// Scan copies the current row into dest: *any (int64, float64, string,
// []byte or nil, by the value's storage class), *string, *int64, *int,
// *float64, *bool or *[]byte.
func (r *rows) Scan(dest ...any) error {
	for i, d := range dest {
		t := r.st.ColumnType(i)
		switch p := d.(type) {
		case *any:
			switch t {
			case sqlite3.INTEGER:
				*p = r.st.ColumnInt64(i)
			case sqlite3.FLOAT:
				*p = r.st.ColumnFloat(i)
			case sqlite3.TEXT:
				*p = r.st.ColumnText(i)
			case sqlite3.BLOB:
				*p = r.st.ColumnBlob(i, nil)
			default:
				*p = nil
			}
		case *string:
			*p = r.st.ColumnText(i)
		case *int64:
			*p = r.st.ColumnInt64(i)
		case *int:
			*p = r.st.ColumnInt(i)
		case *float64:
			*p = r.st.ColumnFloat(i)
		case *bool:
			*p = r.st.ColumnBool(i)
		case *[]byte:
			if t == sqlite3.NULL {
				*p = nil
			} else {
				*p = r.st.ColumnBlob(i, nil)
			}
		default:
			return fmt.Errorf("scan column %d: unsupported destination %T", i, d)
		}
	}
	return nil
}

func (r *rows) Close() error {
	if r.release == nil {
		return nil
	}
	if r.own {
		r.st.Close()
	} else {
		r.st.Reset()
		r.st.ClearBindings()
	}
	r.release()
	r.release = nil
	return nil
}

func (r *rows) Err() error { return r.err }

// Exec runs a statement on the writer, outside any transaction.
func (db *DB) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	select {
	case db.writerSem <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-db.writerSem }()
	if db.writer == nil {
		return 0, errClosed
	}
	return db.writer.exec(query, args)
}

// Query runs a read on a connection of the read pool.
func (db *DB) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	var c *conn
	select {
	case <-db.done:
		return nil, errClosed
	default:
	}
	select {
	case c = <-db.readers:
	case <-db.done:
		return nil, errClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// SQLite checks the context as it steps, so a read whose request ended
	// stops with an interrupt instead of running on.
	c.c.SetInterrupt(ctx)
	return c.query(query, args, func() {
		c.c.SetInterrupt(context.Background())
		db.readers <- c
	})
}

// Write runs fn in one IMMEDIATE transaction on the writer connection.
func (db *DB) Write(ctx context.Context, opts sqlstore.WriteOptions, fn func(tx sqlstore.Querier) error) error {
	select { // wait for the writer, or give up with the request
	case db.writerSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-db.writerSem }()
	w := db.writer
	if w == nil {
		return errClosed
	}
	w.c.SetInterrupt(ctx) // a write whose request ended stops and rolls back
	defer w.c.SetInterrupt(context.Background())
	if opts.ForeignKeysOff {
		// foreign_keys cannot change inside a transaction: set it around it.
		if err := w.c.Exec("PRAGMA foreign_keys = OFF"); err != nil {
			return fmt.Errorf("foreign keys off: %w", err)
		}
		defer w.c.Exec("PRAGMA foreign_keys = ON")
	}
	if err := w.c.Exec("BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	committed := false
	defer func() {
		// Also after a panic in fn: the one writer must never stay inside a
		// transaction, or every later write fails.
		if !committed {
			// An ended ctx would interrupt the ROLLBACK too, and leave
			// the writer inside the transaction: clear it first.
			w.c.SetInterrupt(context.Background())
			w.c.Exec("ROLLBACK")
		}
	}()
	if err := fn(writerTx{w}); err != nil {
		return err
	}
	if opts.ForeignKeysOff {
		if table, err := danglingKeys(w); err != nil {
			return err
		} else if table != "" {
			return &loam.Error{Code: loam.CodeConflict, Message: "the change would leave records of " + table + " pointing at missing records"}
		}
	}
	if err := w.c.Exec("COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	committed = true
	return nil
}

// danglingKeys runs foreign_key_check and names a table with a dangling key.
func danglingKeys(w *conn) (string, error) {
	st, _, err := w.c.Prepare("PRAGMA foreign_key_check")
	if err != nil {
		return "", fmt.Errorf("foreign key check: %w", err)
	}
	defer st.Close()
	if st.Step() {
		return st.ColumnText(0), nil
	}
	if err := st.Err(); err != nil {
		return "", fmt.Errorf("foreign key check: %w", err)
	}
	return "", nil
}

// writerTx runs statements inside Write's transaction.
type writerTx struct{ w *conn }

func (t writerTx) Exec(_ context.Context, query string, args ...any) (int64, error) {
	return t.w.exec(query, args)
}

func (t writerTx) Query(_ context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return t.w.query(query, args, func() {})
}

// SchemaChanged drops every connection's statement cache before its next
// use, so statements of dropped tables are released. (SQLite re-prepares a
// statement whose tables changed by itself; this is about memory.)
func (db *DB) SchemaChanged() {
	for _, c := range db.all {
		c.mu.Lock()
		c.stale = true
		c.mu.Unlock()
	}
}

// Optimize runs PRAGMA optimize on the writer: SQLite gathers statistics
// for the tables whose indexes lack them or changed much, so the planner
// picks indexes well as a collection grows. The App runs it hourly.
func (db *DB) Optimize(ctx context.Context) error {
	return db.Write(ctx, sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
		_, err := tx.Exec(ctx, "PRAGMA optimize")
		return err
	})
}

// Close waits for running reads and the running write, then closes every
// connection.
func (db *DB) Close() error {
	var errs []error
	db.closeOnce.Do(func() {
		close(db.done)
		for range cap(db.readers) {
			c := <-db.readers
			errs = append(errs, c.close())
		}
		db.writerSem <- struct{}{}
		// SQLite's advice: let it refresh the planner's statistics where
		// they are missing or stale before the connection closes.
		if err := db.writer.c.Exec("PRAGMA optimize"); err != nil {
			errs = append(errs, fmt.Errorf("PRAGMA optimize: %w", err))
		}
		errs = append(errs, db.writer.close())
		db.writer = nil
		<-db.writerSem
	})
	return errors.Join(errs...)
}
