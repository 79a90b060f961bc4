package sqlstore

import (
	"context"
	"fmt"
	"time"

	"loam"
)

// ReserveIdempotency inserts e unless a live entry with its key exists.
// INSERT ... ON CONFLICT DO NOTHING makes two racing first requests safe on
// PostgreSQL: the second waits for the first to commit, then finds its row.
func (s *Store) ReserveIdempotency(ctx context.Context, e *loam.IdempotencyEntry, expired, abandoned time.Time) (*loam.IdempotencyEntry, error) {
	var existing *loam.IdempotencyEntry
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		b := &builder{d: s.d}
		b.sql("DELETE FROM _idempotency WHERE key = ").arg(e.Key).sql(" AND (created <= ").arg(s.d.EncodeTime(expired)).
			sql(" OR (status = 0 AND created <= ").arg(s.d.EncodeTime(abandoned)).sql("))")
		if _, err := tx.Exec(ctx, b.String(), b.args...); err != nil {
			return fmt.Errorf("drop stale key: %w", err)
		}
		b = &builder{d: s.d}
		b.sql("INSERT INTO _idempotency (key, request, status, header, body, created) VALUES (").
			arg(e.Key).sql(", ").arg(e.Request).sql(", 0, '', NULL, ").arg(s.d.EncodeTime(e.Created)).
			sql(") ON CONFLICT (key) DO NOTHING")
		n, err := tx.Exec(ctx, b.String(), b.args...)
		if err != nil {
			return fmt.Errorf("reserve key: %w", err)
		}
		if n == 1 {
			return nil
		}
		b = &builder{d: s.d}
		b.sql("SELECT request, status, header, body, created FROM _idempotency WHERE key = ").arg(e.Key)
		x := &loam.IdempotencyEntry{Key: e.Key}
		var status int64
		var created any
		if err := queryRow(ctx, tx, []any{&x.Request, &status, &x.Header, &x.Body, &created}, b.String(), b.args...); err != nil {
			return fmt.Errorf("read key: %w", err)
		}
		x.Status = int(status)
		if x.Created, err = asTime(created); err != nil {
			return fmt.Errorf("read key: %w", err)
		}
		existing = x
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("idempotency: %w", err)
	}
	return existing, nil
}

// CompleteIdempotency stores the answer of a reserved key.
func (s *Store) CompleteIdempotency(ctx context.Context, key []byte, status int, header string, body []byte) error {
	b := &builder{d: s.d}
	b.sql("UPDATE _idempotency SET status = ").arg(status).sql(", header = ").arg(header).sql(", body = ").arg(body).
		sql(" WHERE key = ").arg(key)
	if _, err := s.writeOne(ctx, b); err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return nil
}

// ReleaseIdempotency forgets a key.
func (s *Store) ReleaseIdempotency(ctx context.Context, key []byte) error {
	b := &builder{d: s.d}
	b.sql("DELETE FROM _idempotency WHERE key = ").arg(key)
	if _, err := s.writeOne(ctx, b); err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// PurgeIdempotency deletes entries created before a time.
func (s *Store) PurgeIdempotency(ctx context.Context, before time.Time) (int64, error) {
	b := &builder{d: s.d}
	b.sql("DELETE FROM _idempotency WHERE created < ").arg(s.d.EncodeTime(before))
	n, err := s.writeOne(ctx, b)
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return n, nil
}
