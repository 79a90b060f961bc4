package sqlstore

import (
	"context"
	"fmt"
	"time"

	"loam"
)

// appendEvent records one committed change inside the write's transaction.
func (s *Store) appendEvent(ctx context.Context, tx Querier, collection, id, action string, at time.Time) error {
	b := &builder{d: s.d}
	b.sql("INSERT INTO _events (collection, record_id, action, created) VALUES (").
		arg(collection).sql(", ").arg(id).sql(", ").arg(action).sql(", ").arg(s.d.EncodeTime(at)).sql(")")
	if _, err := tx.Exec(ctx, b.String(), b.args...); err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	return nil
}

// Events returns events after a sequence number, oldest first.
func (s *Store) Events(ctx context.Context, after int64, limit int) ([]loam.Event, error) {
	b := &builder{d: s.d}
	b.sql("SELECT seq, collection, record_id, action, created FROM _events WHERE seq > ").arg(after).
		sql(" ORDER BY seq LIMIT ").arg(limit)
	rows, err := s.db.Query(ctx, b.String(), b.args...)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	var out []loam.Event
	for rows.Next() {
		var e loam.Event
		var at any
		if err := rows.Scan(&e.Seq, &e.Collection, &e.RecordID, &e.Action, &at); err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		if e.Time, err = asTime(at); err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// CreateSession stores a session.
func (s *Store) CreateSession(ctx context.Context, sess *loam.Session) error {
	b := &builder{d: s.d}
	method := sess.Method
	if method == "" {
		method = loam.SessionPassword
	}
	b.sql("INSERT INTO _sessions (id, collection, record_id, token_hash, method, created, expires) VALUES (").
		arg(sess.ID).sql(", ").arg(sess.Collection).sql(", ").arg(sess.RecordID).sql(", ").arg(sess.TokenHash).sql(", ").
		arg(method).sql(", ").arg(s.d.EncodeTime(sess.Created)).sql(", ").arg(s.d.EncodeTime(sess.Expires)).sql(")")
	if _, err := s.writeOne(ctx, b); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash returns the unexpired session with that token hash.
func (s *Store) SessionByHash(ctx context.Context, hash []byte, now time.Time) (*loam.Session, error) {
	b := &builder{d: s.d}
	b.sql("SELECT ", sessionColumns, " FROM _sessions WHERE token_hash = ").arg(hash).
		sql(" AND expires > ").arg(s.d.EncodeTime(now))
	sess, err := s.session(ctx, b)
	if err != nil {
		return nil, err
	}
	sess.TokenHash = hash
	return sess, nil
}

// DeleteSessions ends every session of one record.
func (s *Store) DeleteSessions(ctx context.Context, collection, recordID string) error {
	if _, err := s.writeOne(ctx, s.deleteSessions(collection, recordID)); err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	return nil
}

// deleteSessions is the statement that ends one record's sessions.
func (s *Store) deleteSessions(collection, recordID string) *builder {
	b := &builder{d: s.d}
	b.sql("DELETE FROM _sessions WHERE collection = ").arg(collection).sql(" AND record_id = ").arg(recordID)
	return b
}

// writeOne runs one statement in its own write transaction.
func (s *Store) writeOne(ctx context.Context, b *builder) (int64, error) {
	var n int64
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		var err error
		n, err = tx.Exec(ctx, b.String(), b.args...)
		return err
	})
	return n, err
}
