package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"loam/sqlstore"
)

var (
	_ sqlstore.JobDialect = Dialect{}
	_ sqlstore.Listener   = (*DB)(nil)
)

// SkipLocked locks the picked rows and skips the rows other claimers hold.
func (Dialect) SkipLocked() string { return " FOR UPDATE SKIP LOCKED" }

// LockKey takes a transaction-scoped advisory lock on the 64-bit FNV-1a
// hash of key.
func (Dialect) LockKey(ctx context.Context, tx sqlstore.Querier, key string) error {
	_, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock("+strconv.FormatInt(fnv64(key), 10)+")")
	return err
}

// fnv64 is the 64-bit FNV-1a hash of s.
func fnv64(s string) int64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return int64(h)
}

// JSONAppend concatenates a one-element jsonb array.
func (Dialect) JSONAppend(list, elem string) string {
	return list + " || jsonb_build_array(CAST(" + elem + " AS jsonb))"
}

// IDSetParam is the ids as a Go []int64, which pgx sends as a bigint[].
func (Dialect) IDSetParam(ids []int64) any {
	if ids == nil {
		return []int64{}
	}
	return ids
}

// InIDs compares with = ANY over a bigint[], which the primary key serves.
func (Dialect) InIDs(x, placeholder string) string {
	return x + " = ANY(" + placeholder + "::bigint[])"
}

// Notify calls pg_notify, which delivers at commit and not at all on rollback.
func (Dialect) Notify(ctx context.Context, tx sqlstore.Querier, channel, payload string) error {
	_, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", channel, payload)
	return err
}

// Listen opens a connection of its own (a pooled one would go back to the
// pool, and a transaction-mode pooler cannot keep a LISTEN at all), listens
// on channel and hands every notification's payload to notify until ctx
// ends or the connection fails.
func (db *DB) Listen(ctx context.Context, channel string, ready func(), notify func(payload string)) error {
	cfg := db.pool.Config().ConnConfig.Copy()
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > 10*time.Second {
		cfg.ConnectTimeout = 10 * time.Second
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("listen: connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen %s: %w", channel, err)
	}
	ready()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("listen %s: %w", channel, err)
		}
		notify(n.Payload)
	}
}

// Batch sends each column as an array and unnests them side by side WITH
// ORDINALITY; JSON columns travel as text[] and are cast to jsonb.
func (Dialect) Batch(alias string, cols []sqlstore.BatchColumn, rows [][]any, first int) (string, []any) {
	args := make([]any, len(cols))
	var inner, outer strings.Builder
	for k, c := range cols {
		if k > 0 {
			inner.WriteString(", ")
			outer.WriteString(", ")
		}
		ph := "$" + strconv.Itoa(first+k)
		switch c.Type {
		case sqlstore.BatchInt:
			a := make([]*int64, len(rows))
			for i, r := range rows {
				if v, ok := r[k].(int64); ok {
					a[i] = &v
				}
			}
			args[k] = a
			inner.WriteString(ph + "::bigint[]")
			outer.WriteString(c.Name)
		case sqlstore.BatchTime:
			a := make([]*time.Time, len(rows))
			for i, r := range rows {
				if v, ok := r[k].(time.Time); ok {
					v = v.UTC().Truncate(time.Millisecond)
					a[i] = &v
				}
			}
			args[k] = a
			inner.WriteString(ph + "::timestamptz[]")
			outer.WriteString(c.Name)
		case sqlstore.BatchBool:
			a := make([]*bool, len(rows))
			for i, r := range rows {
				if v, ok := r[k].(bool); ok {
					a[i] = &v
				}
			}
			args[k] = a
			inner.WriteString(ph + "::boolean[]")
			outer.WriteString(c.Name)
		default: // text, JSON
			a := make([]*string, len(rows))
			for i, r := range rows {
				if v, ok := r[k].(string); ok {
					a[i] = &v
				}
			}
			args[k] = a
			inner.WriteString(ph + "::text[]")
			if c.Type == sqlstore.BatchJSON {
				outer.WriteString("CAST(" + c.Name + " AS jsonb) AS " + c.Name)
			} else {
				outer.WriteString(c.Name)
			}
		}
	}
	names := make([]string, len(cols))
	for k, c := range cols {
		names[k] = c.Name
	}
	return "(SELECT " + outer.String() + ", ord FROM unnest(" + inner.String() + ") WITH ORDINALITY AS _b(" +
		strings.Join(names, ", ") + ", ord)) AS " + alias, args
}
