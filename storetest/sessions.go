package storetest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"loam"
)

// createSession stores a session of record id in c, created at now and
// expiring an hour later, with the hash of a fresh random token.
func createSession(t *testing.T, s loam.Store, c *loam.Collection, id string, now time.Time) *loam.Session {
	t.Helper()
	token := make([]byte, 32)
	_, _ = rand.Read(token)
	hash := sha256.Sum256(token)
	ss := &loam.Session{
		ID:         loam.NewID(),
		Collection: c.Name,
		RecordID:   id,
		TokenHash:  hash[:],
		Created:    now,
		Expires:    now.Add(time.Hour),
	}
	if err := s.CreateSession(t.Context(), ss); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return ss
}

// sessionExists checks that SessionByHash finds ss, unchanged, at now.
func sessionExists(t *testing.T, s loam.Store, ss *loam.Session, now time.Time) {
	t.Helper()
	got, err := s.SessionByHash(t.Context(), ss.TokenHash, now)
	if err != nil {
		t.Fatalf("SessionByHash of session %s: %v", ss.ID, err)
	}
	if got.ID != ss.ID || got.Collection != ss.Collection || got.RecordID != ss.RecordID || !bytes.Equal(got.TokenHash, ss.TokenHash) {
		t.Errorf("SessionByHash: got %+v, want %+v", got, ss)
	}
	checkTime(t, "session.created", got.Created, ss.Created)
	checkTime(t, "session.expires", got.Expires, ss.Expires)
}

// sessionGone checks that SessionByHash does not find ss at now.
func sessionGone(t *testing.T, s loam.Store, ss *loam.Session, now time.Time) {
	t.Helper()
	got, err := s.SessionByHash(t.Context(), ss.TokenHash, now)
	if !errors.Is(err, loam.ErrNotFound) {
		t.Fatalf("SessionByHash of ended session %s: got %+v, %v; want ErrNotFound", ss.ID, got, err)
	}
}

func testSessions(t *testing.T, open Opener) {
	runAll(t, open, []storeTest{
		{"CreateAndFind", func(t *testing.T, s loam.Store) {
			users := createCollection(t, s, authorsCollection())
			u := insert(t, s, users, map[string]any{"name": "Ada"})
			now := loam.Now()
			ss := createSession(t, s, users, u.ID, now)
			sessionExists(t, s, ss, now)
			sessionExists(t, s, ss, ss.Expires.Add(-time.Millisecond))
		}},
		{"UnknownHashIsNotFound", func(t *testing.T, s loam.Store) {
			users := createCollection(t, s, authorsCollection())
			u := insert(t, s, users, map[string]any{"name": "Ada"})
			now := loam.Now()
			ss := createSession(t, s, users, u.ID, now)
			other := sha256.Sum256([]byte("not a token"))
			if _, err := s.SessionByHash(t.Context(), other[:], now); !errors.Is(err, loam.ErrNotFound) {
				t.Fatalf("SessionByHash of an unknown hash: got %v, want ErrNotFound", err)
			}
			// A prefix of a stored hash is not that hash.
			if _, err := s.SessionByHash(t.Context(), ss.TokenHash[:16], now); !errors.Is(err, loam.ErrNotFound) {
				t.Fatalf("SessionByHash of a hash prefix: got %v, want ErrNotFound", err)
			}
		}},
		{"ExpiredIsNotFound", func(t *testing.T, s loam.Store) {
			users := createCollection(t, s, authorsCollection())
			u := insert(t, s, users, map[string]any{"name": "Ada"})
			now := loam.Now()
			ss := createSession(t, s, users, u.ID, now)
			sessionGone(t, s, ss, ss.Expires.Add(time.Millisecond))
			sessionGone(t, s, ss, ss.Expires.Add(24*time.Hour))
			// Expiry is a question of the time asked about, not a deletion.
			sessionExists(t, s, ss, now)
		}},
		{"DeleteSessionsOfOneRecord", func(t *testing.T, s loam.Store) {
			users := createCollection(t, s, authorsCollection())
			admins := createCollection(t, s, &loam.Collection{Name: "admins", Fields: []loam.Field{{Name: "name", Type: loam.TypeText}}})
			u := insert(t, s, users, map[string]any{"name": "Ada"})
			v := insert(t, s, users, map[string]any{"name": "Grace"})
			now := loam.Now()
			u1, u2 := createSession(t, s, users, u.ID, now), createSession(t, s, users, u.ID, now)
			v1 := createSession(t, s, users, v.ID, now)
			// The same record id in another collection is another user.
			a1 := createSession(t, s, admins, u.ID, now)
			if err := s.DeleteSessions(t.Context(), users.Name, u.ID); err != nil {
				t.Fatalf("DeleteSessions: %v", err)
			}
			sessionGone(t, s, u1, now)
			sessionGone(t, s, u2, now)
			sessionExists(t, s, v1, now)
			sessionExists(t, s, a1, now)
			// Ending the sessions of a record that has none is fine.
			if err := s.DeleteSessions(t.Context(), users.Name, u.ID); err != nil {
				t.Fatalf("DeleteSessions again: %v", err)
			}
		}},
	})
}
