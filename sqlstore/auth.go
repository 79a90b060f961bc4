package sqlstore

import (
	"context"
	"fmt"
	"time"

	"loam"
)

// sessionColumns are the columns session and scanSession read.
const sessionColumns = "id, collection, record_id, method, created, expires"

// scanSession reads one row of sessionColumns.
func scanSession(rows Rows) (*loam.Session, error) {
	var sess loam.Session
	var created, expires any
	if err := rows.Scan(&sess.ID, &sess.Collection, &sess.RecordID, &sess.Method, &created, &expires); err != nil {
		return nil, err
	}
	var err error
	if sess.Created, err = asTime(created); err != nil {
		return nil, err
	}
	if sess.Expires, err = asTime(expires); err != nil {
		return nil, err
	}
	return &sess, nil
}

// session runs a query of sessionColumns and returns its one session, or
// ErrNotFound.
func (s *Store) session(ctx context.Context, b *builder) (*loam.Session, error) {
	list, err := s.sessions(ctx, b)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, loam.Errorf(loam.CodeNotFound, "no such session")
	}
	return list[0], nil
}

func (s *Store) sessions(ctx context.Context, b *builder) ([]*loam.Session, error) {
	rows, err := s.db.Query(ctx, b.String(), b.args...)
	if err != nil {
		return nil, fmt.Errorf("read sessions: %w", err)
	}
	defer rows.Close()
	var out []*loam.Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("read sessions: %w", err)
		}
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read sessions: %w", err)
	}
	return out, nil
}

// SessionByID returns one session, expired or not.
func (s *Store) SessionByID(ctx context.Context, id string) (*loam.Session, error) {
	b := &builder{d: s.d}
	b.sql("SELECT ", sessionColumns, " FROM _sessions WHERE id = ").arg(id)
	return s.session(ctx, b)
}

// Sessions returns the unexpired sessions of one record, newest first.
func (s *Store) Sessions(ctx context.Context, collection, recordID string, now time.Time) ([]*loam.Session, error) {
	b := &builder{d: s.d}
	b.sql("SELECT ", sessionColumns, " FROM _sessions WHERE collection = ").arg(collection).
		sql(" AND record_id = ").arg(recordID).sql(" AND expires > ").arg(s.d.EncodeTime(now)).
		sql(" ORDER BY created DESC, id DESC")
	return s.sessions(ctx, b)
}

// RotateSession replaces a session's token hash and expiry, if its hash is
// still oldHash.
func (s *Store) RotateSession(ctx context.Context, id string, oldHash, newHash []byte, expires time.Time) error {
	b := &builder{d: s.d}
	b.sql("UPDATE _sessions SET token_hash = ").arg(newHash).sql(", expires = ").arg(s.d.EncodeTime(expires)).
		sql(" WHERE id = ").arg(id).sql(" AND token_hash = ").arg(oldHash)
	n, err := s.writeOne(ctx, b)
	if err != nil {
		return fmt.Errorf("rotate session: %w", err)
	}
	if n == 0 {
		return loam.Errorf(loam.CodeNotFound, "no such session")
	}
	return nil
}

// DeleteSession ends one session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	b := &builder{d: s.d}
	b.sql("DELETE FROM _sessions WHERE id = ").arg(id)
	n, err := s.writeOne(ctx, b)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if n == 0 {
		return loam.Errorf(loam.CodeNotFound, "no such session")
	}
	return nil
}

// CreateAuthToken stores a token of an auth flow.
func (s *Store) CreateAuthToken(ctx context.Context, t *loam.AuthToken) error {
	b := &builder{d: s.d}
	b.sql("INSERT INTO _auth_tokens (id, kind, collection, record_id, email, secret_hash, attempts, created, expires) VALUES (").
		arg(t.ID).sql(", ").arg(t.Kind).sql(", ").arg(t.Collection).sql(", ").arg(t.RecordID).sql(", ").arg(t.Email).
		sql(", ").arg(t.SecretHash).sql(", ").arg(t.Attempts).sql(", ").arg(s.d.EncodeTime(t.Created)).
		sql(", ").arg(s.d.EncodeTime(t.Expires)).sql(")")
	if _, err := s.writeOne(ctx, b); err != nil {
		return fmt.Errorf("create auth token: %w", err)
	}
	return nil
}

// UseAuthToken counts an attempt on an unexpired token and returns it.
func (s *Store) UseAuthToken(ctx context.Context, id string, now time.Time) (*loam.AuthToken, error) {
	b := &builder{d: s.d}
	b.sql("UPDATE _auth_tokens SET attempts = attempts + 1 WHERE id = ").arg(id).sql(" AND expires > ").arg(s.d.EncodeTime(now)).
		sql(" RETURNING kind, collection, record_id, email, secret_hash, attempts, created, expires")
	var t *loam.AuthToken
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		x := &loam.AuthToken{ID: id}
		var attempts int64
		var created, expires any
		err := queryRow(ctx, tx, []any{&x.Kind, &x.Collection, &x.RecordID, &x.Email, &x.SecretHash, &attempts, &created, &expires},
			b.String(), b.args...)
		if err == errNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		x.Attempts = int(attempts)
		if x.Created, err = asTime(created); err != nil {
			return err
		}
		if x.Expires, err = asTime(expires); err != nil {
			return err
		}
		t = x
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("use auth token: %w", err)
	}
	if t == nil {
		return nil, loam.Errorf(loam.CodeNotFound, "no such token")
	}
	return t, nil
}

// DeleteAuthToken consumes a token.
func (s *Store) DeleteAuthToken(ctx context.Context, id string) error {
	b := &builder{d: s.d}
	b.sql("DELETE FROM _auth_tokens WHERE id = ").arg(id)
	n, err := s.writeOne(ctx, b)
	if err != nil {
		return fmt.Errorf("delete auth token: %w", err)
	}
	if n == 0 {
		return loam.Errorf(loam.CodeNotFound, "no such token")
	}
	return nil
}

// DeleteAuthTokens deletes the tokens of a kind of one record.
func (s *Store) DeleteAuthTokens(ctx context.Context, collection, recordID, kind string) error {
	b := &builder{d: s.d}
	b.sql("DELETE FROM _auth_tokens WHERE collection = ").arg(collection).sql(" AND record_id = ").arg(recordID).
		sql(" AND kind = ").arg(kind)
	if _, err := s.writeOne(ctx, b); err != nil {
		return fmt.Errorf("delete auth tokens: %w", err)
	}
	return nil
}

// HitThrottle counts one more hit, restarting an expired window. One
// statement (an upsert) does it, so concurrent hits all count.
func (s *Store) HitThrottle(ctx context.Context, key []byte, now, windowStart time.Time) (int, time.Time, error) {
	b := &builder{d: s.d}
	start := s.d.EncodeTime(windowStart)
	b.sql("INSERT INTO _auth_throttle (key, hits, window_start) VALUES (").arg(key).sql(", 1, ").arg(s.d.EncodeTime(now)).
		sql(") ON CONFLICT (key) DO UPDATE SET hits = CASE WHEN _auth_throttle.window_start <= ").arg(start).
		sql(" THEN 1 ELSE _auth_throttle.hits + 1 END, window_start = CASE WHEN _auth_throttle.window_start <= ").arg(start).
		sql(" THEN excluded.window_start ELSE _auth_throttle.window_start END RETURNING hits, window_start")
	var hits int64
	var started time.Time
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		var at any
		if err := queryRow(ctx, tx, []any{&hits, &at}, b.String(), b.args...); err != nil {
			return err
		}
		var err error
		started, err = asTime(at)
		return err
	})
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("count a throttle hit: %w", err)
	}
	return int(hits), started, nil
}

// ForgiveThrottle takes one hit back within the window.
func (s *Store) ForgiveThrottle(ctx context.Context, key []byte, windowStart time.Time) error {
	b := &builder{d: s.d}
	b.sql("UPDATE _auth_throttle SET hits = hits - 1 WHERE key = ").arg(key).sql(" AND hits > 0 AND window_start > ").
		arg(s.d.EncodeTime(windowStart))
	if _, err := s.writeOne(ctx, b); err != nil {
		return fmt.Errorf("forgive a throttle hit: %w", err)
	}
	return nil
}

// ResetThrottle deletes a counter.
func (s *Store) ResetThrottle(ctx context.Context, key []byte) error {
	b := &builder{d: s.d}
	b.sql("DELETE FROM _auth_throttle WHERE key = ").arg(key)
	if _, err := s.writeOne(ctx, b); err != nil {
		return fmt.Errorf("reset a throttle counter: %w", err)
	}
	return nil
}

// PurgeAuth deletes expired sessions, tokens and OAuth2 states, and stale counters.
func (s *Store) PurgeAuth(ctx context.Context, now, windowStart time.Time) (int64, error) {
	var total int64
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		for _, q := range []struct {
			table, col string
			before     time.Time
		}{{"_sessions", "expires", now}, {"_auth_tokens", "expires", now}, {"_oauth2_states", "expires", now},
			{"_auth_throttle", "window_start", windowStart}} {
			b := &builder{d: s.d}
			b.sql("DELETE FROM ", q.table, " WHERE ", q.col, " <= ").arg(s.d.EncodeTime(q.before))
			n, err := tx.Exec(ctx, b.String(), b.args...)
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("purge auth: %w", err)
	}
	return total, nil
}
