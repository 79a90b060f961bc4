package sqlstore

import (
	"context"
	"fmt"
	"time"

	"loam"
)

// appendEvent records one committed change inside the write's transaction,
// with the record it is about (the stored one after a create or update, the
// one deleted), so readers check rules on it without reading it again.
func (s *Store) appendEvent(ctx context.Context, tx Querier, c *loam.Collection, r *loam.Record, action string, at time.Time) error {
	data, err := loam.MarshalStored(c, r)
	if err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	b := &builder{d: s.d}
	b.sql("INSERT INTO _events (collection, record_id, action, created, data) VALUES (").
		arg(c.Name).sql(", ").arg(r.ID).sql(", ").arg(action).sql(", ").arg(s.d.EncodeTime(at)).sql(", ").arg(string(data)).sql(")")
	if _, err := tx.Exec(ctx, b.String(), b.args...); err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	return nil
}

// wakeReaders tells the reader of EventSignal that this process committed
// events, and has them announced to the other instances, without waiting:
// wake-ups coalesce in the channels' one slot.
func (s *Store) wakeReaders() {
	s.wakeLocal()
	if s.announce != nil {
		select {
		case s.announce <- struct{}{}:
		default:
		}
	}
}

// wakeLocal tells the reader of EventSignal that events were committed
// (by another instance, when a notification says so): never announced
// again, or instances would echo each other's announcements.
func (s *Store) wakeLocal() {
	if s.wake == nil {
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// announceLoop tells the other instances that events were committed, one
// announcement at a time however many commits happened meanwhile: the
// commits of this process share one NOTIFY, and none of them waits for
// it. A process that dies between a commit and its announcement leaves
// the others to find the events at their safety poll.
func (s *Store) announceLoop(stmt string) {
	for {
		select {
		case <-s.closed:
			return
		case <-s.announce:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := s.db.Exec(ctx, stmt); err != nil {
			select {
			case <-s.closed: // the database closed under it
				cancel()
				return
			default:
			}
		}
		cancel()
	}
}

// eventsChannel is the notification channel of event inserts; the payload
// is the seq (readers read the event itself from the table, so no payload
// limit applies).
const eventsChannel = "loam_events"

// EventSignal returns the channel this store's committed record writes
// wake. Over a database that other instances write (PostgreSQL), it also
// keeps one connection listening for their notifications until ctx ends,
// reconnecting with backoff; each (re)connect wakes the reader too, since
// notifications may have been missed meanwhile.
func (s *Store) EventSignal(ctx context.Context) <-chan struct{} {
	if l, ok := s.db.(Listener); ok {
		go s.listenEvents(ctx, l)
	}
	return s.wake
}

func (s *Store) listenEvents(ctx context.Context, l Listener) {
	const first, most = 100 * time.Millisecond, 5 * time.Second
	backoff := first
	for ctx.Err() == nil {
		listening := false
		err := l.Listen(ctx, eventsChannel, func() { listening = true; s.wakeLocal() }, func(string) { s.wakeLocal() })
		if ctx.Err() != nil {
			return
		}
		if listening {
			backoff = first
		}
		_ = err // the reader's safety poll covers the time without a listener
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, most)
	}
}

// ReadEvents returns up to limit events above after, with their data, the
// oldest seq kept and the snapshot the statement saw, all from one
// statement.
func (s *Store) ReadEvents(ctx context.Context, after int64, limit int) (*loam.EventPage, error) {
	b := &builder{d: s.d}
	b.sql("SELECT ", s.d.Snapshot(), ", (SELECT coalesce(min(seq), 0) FROM _events), e.seq, e.collection, e.record_id, e.action, e.created, e.data",
		" FROM (SELECT 1 AS one) s LEFT JOIN (SELECT seq, collection, record_id, action, created, data FROM _events WHERE seq > ").arg(after).
		sql(" ORDER BY seq LIMIT ").arg(limit).sql(") e ON 1 = 1 ORDER BY e.seq")
	rows, err := s.db.Query(ctx, b.String(), b.args...)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	defer rows.Close()
	p := &loam.EventPage{}
	for rows.Next() {
		// The columns of the joined event are NULL in the one row of a
		// read that found no events.
		var seq, collection, id, action, at, data any
		if err := rows.Scan(&p.Xmin, &p.Xmax, &p.Oldest, &seq, &collection, &id, &action, &at, &data); err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		if seq == nil {
			continue
		}
		e := loam.Event{Collection: textOf(collection), RecordID: textOf(id), Action: textOf(action), Data: asBytes(data)}
		n, ok := seq.(int64)
		if !ok {
			return nil, fmt.Errorf("read events: seq is a %T", seq)
		}
		e.Seq = n
		if e.Time, err = asTime(at); err != nil {
			return nil, fmt.Errorf("read events: %w", err)
		}
		p.Events = append(p.Events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return p, nil
}

// PurgeEvents deletes events older than before, and those more than keep
// below the newest, never the newest itself.
func (s *Store) PurgeEvents(ctx context.Context, before time.Time, keep int64) (int64, error) {
	if keep < 1 {
		keep = 1
	}
	b := &builder{d: s.d}
	b.sql("DELETE FROM _events WHERE seq < (SELECT max(seq) FROM _events) AND (created < ").arg(s.d.EncodeTime(before)).
		sql(" OR seq <= (SELECT max(seq) FROM _events) - ").arg(keep).sql(")")
	n, err := s.writeOne(ctx, b)
	if err != nil {
		return 0, fmt.Errorf("purge events: %w", err)
	}
	return n, nil
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

// asBytes reads a nullable text column scanned into an any (nil for NULL).
func asBytes(v any) []byte {
	switch x := v.(type) {
	case string:
		return []byte(x)
	case []byte:
		return append([]byte(nil), x...)
	}
	return nil
}
