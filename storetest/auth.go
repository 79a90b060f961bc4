package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"loam"
)

// usersCollection is an auth collection with the system fields the core
// service gives every auth collection, and a nick.
func usersCollection() *loam.Collection {
	return &loam.Collection{Name: "users", Type: loam.CollectionAuth, Fields: []loam.Field{
		{Name: "email", Type: loam.TypeEmail, System: true, Required: true, Unique: true},
		{Name: "emailVisibility", Type: loam.TypeBool, System: true},
		{Name: "verified", Type: loam.TypeBool, System: true},
		{Name: "password", Type: loam.TypePassword, System: true, Required: true, Hidden: true},
		{Name: "nick", Type: loam.TypeText, Unique: true},
	}}
}

func testAuth(t *testing.T, open Opener) {
	runAll(t, open, []storeTest{
		{"EmailIsUniqueWithoutRegardToCase", func(t *testing.T, s loam.Store) {
			users := createCollection(t, s, usersCollection())
			ann := insert(t, s, users, map[string]any{"email": "Ann@Example.com", "password": "h", "nick": "Ann"})
			for _, email := range []string{"ann@example.com", "ANN@EXAMPLE.COM", "Ann@Example.com"} {
				err := s.InsertRecord(t.Context(), users, newRecord(users, map[string]any{"email": email, "password": "h"}))
				var e *loam.Error
				if !errors.As(err, &e) || e.Code != loam.CodeConflict || e.Fields["email"].Code != loam.FieldUnique {
					t.Errorf("insert %q next to %q: got %v, want a conflict on email", email, "Ann@Example.com", err)
				}
			}
			// Moving another user's email onto ann's, in another case, is a conflict too.
			bob := insert(t, s, users, map[string]any{"email": "bob@example.com", "password": "h"})
			err := s.UpdateRecord(t.Context(), users, bob, nextVersion(users, bob, map[string]any{"email": "aNN@example.com"}), false)
			if !errors.Is(err, loam.ErrConflict) {
				t.Errorf("update bob's email to ann's in another case: got %v, want ErrConflict", err)
			}
			// The record's own email in another case is no conflict.
			next := nextVersion(users, ann, map[string]any{"email": "ann@example.com"})
			if err := s.UpdateRecord(t.Context(), users, ann, next, false); err != nil {
				t.Errorf("change the case of ann's own email: %v", err)
			}
			// Other text fields, and emails of other letters than ASCII ones, compare exactly.
			insert(t, s, users, map[string]any{"email": "carl@example.com", "password": "h", "nick": "ann"})
			insert(t, s, users, map[string]any{"email": "Ärger@example.com", "password": "h"})
			insert(t, s, users, map[string]any{"email": "ärger@example.com", "password": "h"})
			wantCount(t, s, users, 5)
		}},
		{"FindEmailWithoutRegardToCase", func(t *testing.T, s loam.Store) {
			users := createCollection(t, s, usersCollection())
			ann := insert(t, s, users, map[string]any{"email": "Ann@Example.com", "password": "h", "nick": "Ann"})
			for _, email := range []string{"ann@example.com", "ANN@EXAMPLE.COM", "Ann@Example.com"} {
				got, err := s.FindRecord(t.Context(), users, "email", email)
				if err != nil || got.ID != ann.ID {
					t.Errorf("FindRecord email %q: got %v, %v; want ann", email, got, err)
				}
			}
			if _, err := s.FindRecord(t.Context(), users, "nick", "ann"); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("FindRecord nick %q (stored %q): got %v, want ErrNotFound", "ann", "Ann", err)
			}
			if _, err := s.FindRecord(t.Context(), users, "email", "ann@example.co"); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("FindRecord of another email: got %v, want ErrNotFound", err)
			}
		}},
		{"SessionsOfARecord", testSessionsOfARecord},
		{"RotateSession", testRotateSession},
		{"AuthTokens", testAuthTokens},
		{"AuthTokenRaces", testAuthTokenRaces},
		{"Throttle", testThrottle},
		{"ThrottleRaces", testThrottleRaces},
		{"PurgeAuth", testPurgeAuth},
		{"BaseEmailsStayExact", func(t *testing.T, s loam.Store) {
			_, members, _ := membersFixture(t, s)
			insert(t, s, members, map[string]any{"email": "Ann@Example.com"})
			insert(t, s, members, map[string]any{"email": "ann@example.com"})
			if _, err := s.FindRecord(t.Context(), members, "email", "ANN@example.com"); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("FindRecord in a base collection: got %v, want ErrNotFound", err)
			}
		}},
	})
}

func testSessionsOfARecord(t *testing.T, s loam.Store) {
	users := createCollection(t, s, authorsCollection())
	u := insert(t, s, users, map[string]any{"name": "Ada"})
	v := insert(t, s, users, map[string]any{"name": "Grace"})
	now := loam.Now()
	first := createSession(t, s, users, u.ID, now.Add(-2*time.Minute))
	second := createSession(t, s, users, u.ID, now.Add(-time.Minute))
	other := createSession(t, s, users, v.ID, now)
	old := &loam.Session{ID: loam.NewID(), Collection: users.Name, RecordID: u.ID, TokenHash: hashOf("old"),
		Method: loam.SessionOTP, Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)}
	if err := s.CreateSession(t.Context(), old); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	list, err := s.Sessions(t.Context(), users.Name, u.ID, now)
	if err != nil {
		t.Fatalf("Sessions: %v", err)
	}
	var ids []string
	for _, ss := range list {
		ids = append(ids, ss.ID)
		if ss.Method != loam.SessionPassword {
			t.Errorf("session %s method %q, want %q (the default)", ss.ID, ss.Method, loam.SessionPassword)
		}
	}
	if want := []string{second.ID, first.ID}; !slices.Equal(ids, want) {
		t.Errorf("Sessions: %v, want the unexpired ones newest first %v", ids, want)
	}
	got, err := s.SessionByID(t.Context(), old.ID)
	if err != nil || got.Method != loam.SessionOTP || got.RecordID != u.ID {
		t.Errorf("SessionByID of an expired session: %+v, %v", got, err)
	}
	if _, err := s.SessionByID(t.Context(), loam.NewID()); !errors.Is(err, loam.ErrNotFound) {
		t.Errorf("SessionByID of an unknown id: %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(t.Context(), first.ID); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	sessionGone(t, s, first, now)
	sessionExists(t, s, second, now)
	sessionExists(t, s, other, now)
	if err := s.DeleteSession(t.Context(), first.ID); !errors.Is(err, loam.ErrNotFound) {
		t.Errorf("DeleteSession twice: %v, want ErrNotFound", err)
	}
}

func hashOf(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func testRotateSession(t *testing.T, s loam.Store) {
	users := createCollection(t, s, authorsCollection())
	u := insert(t, s, users, map[string]any{"name": "Ada"})
	now := loam.Now()
	ss := createSession(t, s, users, u.ID, now)
	newHash, later := hashOf("new"), now.Add(48*time.Hour)
	if err := s.RotateSession(t.Context(), ss.ID, ss.TokenHash, newHash, later); err != nil {
		t.Fatalf("RotateSession: %v", err)
	}
	sessionGone(t, s, ss, now)
	got, err := s.SessionByHash(t.Context(), newHash, now.Add(24*time.Hour))
	if err != nil || got.ID != ss.ID {
		t.Fatalf("the rotated session: %+v, %v", got, err)
	}
	checkTime(t, "rotated expires", got.Expires, later)
	checkTime(t, "rotated created", got.Created, ss.Created)
	// The old hash cannot rotate it again.
	if err := s.RotateSession(t.Context(), ss.ID, ss.TokenHash, hashOf("thief"), later); !errors.Is(err, loam.ErrNotFound) {
		t.Errorf("RotateSession with the old hash: %v, want ErrNotFound", err)
	}
	if _, err := s.SessionByHash(t.Context(), hashOf("thief"), now); !errors.Is(err, loam.ErrNotFound) {
		t.Errorf("a refused rotation took effect: %v", err)
	}
}

// newToken stores a token of kind for record id of c, expiring in an hour.
func newToken(t *testing.T, s loam.Store, c *loam.Collection, id, kind, secret string, now time.Time) *loam.AuthToken {
	t.Helper()
	tok := &loam.AuthToken{ID: loam.NewID(), Kind: kind, Collection: c.Name, RecordID: id, Email: "ada@example.com",
		SecretHash: hashOf(secret), Created: now, Expires: now.Add(time.Hour)}
	if err := s.CreateAuthToken(t.Context(), tok); err != nil {
		t.Fatalf("CreateAuthToken: %v", err)
	}
	return tok
}

func testAuthTokens(t *testing.T, s loam.Store) {
	users := createCollection(t, s, authorsCollection())
	u := insert(t, s, users, map[string]any{"name": "Ada"})
	now := loam.Now()
	tok := newToken(t, s, users, u.ID, "reset", "s3cret", now)
	for i := 1; i <= 3; i++ {
		got, err := s.UseAuthToken(t.Context(), tok.ID, now)
		if err != nil {
			t.Fatalf("UseAuthToken: %v", err)
		}
		if got.Attempts != i || got.Kind != "reset" || got.RecordID != u.ID || got.Collection != users.Name ||
			got.Email != "ada@example.com" || !bytes.Equal(got.SecretHash, tok.SecretHash) {
			t.Errorf("UseAuthToken #%d: %+v", i, got)
		}
		checkTime(t, "token expires", got.Expires, tok.Expires)
	}
	if _, err := s.UseAuthToken(t.Context(), tok.ID, tok.Expires); !errors.Is(err, loam.ErrNotFound) {
		t.Errorf("UseAuthToken at its expiry: %v, want ErrNotFound", err)
	}
	if _, err := s.UseAuthToken(t.Context(), loam.NewID(), now); !errors.Is(err, loam.ErrNotFound) {
		t.Errorf("UseAuthToken of an unknown id: %v, want ErrNotFound", err)
	}
	if err := s.DeleteAuthToken(t.Context(), tok.ID); err != nil {
		t.Fatalf("DeleteAuthToken: %v", err)
	}
	if _, err := s.UseAuthToken(t.Context(), tok.ID, now); !errors.Is(err, loam.ErrNotFound) {
		t.Errorf("UseAuthToken of a consumed token: %v, want ErrNotFound", err)
	}
	if err := s.DeleteAuthToken(t.Context(), tok.ID); !errors.Is(err, loam.ErrNotFound) {
		t.Errorf("DeleteAuthToken twice: %v, want ErrNotFound", err)
	}
	// DeleteAuthTokens takes one kind of one record.
	r1, r2 := newToken(t, s, users, u.ID, "reset", "a", now), newToken(t, s, users, u.ID, "reset", "b", now)
	v := newToken(t, s, users, u.ID, "verify", "c", now)
	w := newToken(t, s, users, "someoneelse1234", "reset", "d", now)
	if err := s.DeleteAuthTokens(t.Context(), users.Name, u.ID, "reset"); err != nil {
		t.Fatalf("DeleteAuthTokens: %v", err)
	}
	for _, x := range []*loam.AuthToken{r1, r2} {
		if _, err := s.UseAuthToken(t.Context(), x.ID, now); !errors.Is(err, loam.ErrNotFound) {
			t.Errorf("a deleted reset token: %v", err)
		}
	}
	for _, x := range []*loam.AuthToken{v, w} {
		if _, err := s.UseAuthToken(t.Context(), x.ID, now); err != nil {
			t.Errorf("a token DeleteAuthTokens should keep: %v", err)
		}
	}
}

// testAuthTokenRaces: concurrent uses each count, and of concurrent
// deletions exactly one consumes the token.
func testAuthTokenRaces(t *testing.T, s loam.Store) {
	users := createCollection(t, s, authorsCollection())
	u := insert(t, s, users, map[string]any{"name": "Ada"})
	now := loam.Now()
	tok := newToken(t, s, users, u.ID, "otp", "12345678", now)
	const n = 12
	var mu sync.Mutex
	var seen []int
	deleted := 0
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			got, err := s.UseAuthToken(t.Context(), tok.ID, now)
			if err != nil {
				t.Errorf("UseAuthToken: %v", err)
				return
			}
			mu.Lock()
			seen = append(seen, got.Attempts)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(seen)
	for i, a := range seen {
		if a != i+1 {
			t.Fatalf("concurrent uses counted %v, want 1..%d once each", seen, n)
		}
	}
	for range n {
		wg.Go(func() {
			err := s.DeleteAuthToken(t.Context(), tok.ID)
			if err != nil && !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("DeleteAuthToken: %v", err)
			}
			if err == nil {
				mu.Lock()
				deleted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if deleted != 1 {
		t.Errorf("%d concurrent deletions consumed the token, want exactly 1", deleted)
	}
}

func testThrottle(t *testing.T, s loam.Store) {
	now := loam.Now()
	window := 10 * time.Minute
	key, other := hashOf("login:ann"), hashOf("login:bob")
	hit := func(at time.Time, wantHits int, wantStart time.Time) {
		t.Helper()
		hits, started, err := s.HitThrottle(t.Context(), key, at, at.Add(-window))
		if err != nil {
			t.Fatalf("HitThrottle: %v", err)
		}
		if hits != wantHits {
			t.Errorf("hits %d, want %d", hits, wantHits)
		}
		checkTime(t, "window start", started, wantStart)
	}
	hit(now, 1, now)
	hit(now.Add(time.Minute), 2, now)
	hit(now.Add(2*time.Minute), 3, now)
	if err := s.ForgiveThrottle(t.Context(), key, now.Add(2*time.Minute).Add(-window)); err != nil {
		t.Fatalf("ForgiveThrottle: %v", err)
	}
	hit(now.Add(3*time.Minute), 3, now)
	// Another key counts apart.
	if hits, _, err := s.HitThrottle(t.Context(), other, now, now.Add(-window)); err != nil || hits != 1 {
		t.Errorf("another key: %d, %v; want 1", hits, err)
	}
	// The window ends: counting starts again.
	later := now.Add(window)
	hit(later, 1, later)
	// Forgiving never goes below zero, nor touches an ended window.
	for range 3 {
		if err := s.ForgiveThrottle(t.Context(), key, later.Add(-window)); err != nil {
			t.Fatalf("ForgiveThrottle: %v", err)
		}
	}
	hit(later.Add(time.Second), 1, later)
	if err := s.ResetThrottle(t.Context(), key); err != nil {
		t.Fatalf("ResetThrottle: %v", err)
	}
	hit(later.Add(2*time.Second), 1, later.Add(2*time.Second))
}

// testThrottleRaces: concurrent hits on one counter all count.
func testThrottleRaces(t *testing.T, s loam.Store) {
	now := loam.Now()
	key := hashOf("ip:127.0.0.1")
	const n = 16
	var mu sync.Mutex
	var seen []int
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			hits, _, err := s.HitThrottle(t.Context(), key, now, now.Add(-time.Minute))
			if err != nil {
				t.Errorf("HitThrottle: %v", err)
				return
			}
			mu.Lock()
			seen = append(seen, hits)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(seen)
	for i, h := range seen {
		if h != i+1 {
			t.Fatalf("concurrent hits counted %v, want 1..%d once each", seen, n)
		}
	}
}

func testPurgeAuth(t *testing.T, s loam.Store) {
	users := createCollection(t, s, authorsCollection())
	u := insert(t, s, users, map[string]any{"name": "Ada"})
	now := loam.Now()
	live := createSession(t, s, users, u.ID, now)
	dead := createSession(t, s, users, u.ID, now.Add(-2*time.Hour)) // expired an hour ago
	liveTok := newToken(t, s, users, u.ID, "reset", "a", now)
	deadTok := newToken(t, s, users, u.ID, "reset", "b", now.Add(-2*time.Hour))
	fresh, stale := hashOf("fresh"), hashOf("stale")
	if _, _, err := s.HitThrottle(t.Context(), stale, now.Add(-time.Hour), now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.HitThrottle(t.Context(), fresh, now, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, err := s.PurgeAuth(t.Context(), now, now.Add(-30*time.Minute))
	if err != nil {
		t.Fatalf("PurgeAuth: %v", err)
	}
	if n != 3 {
		t.Errorf("PurgeAuth deleted %d rows, want 3", n)
	}
	sessionExists(t, s, live, now)
	if _, err := s.SessionByID(t.Context(), dead.ID); !errors.Is(err, loam.ErrNotFound) {
		t.Errorf("an expired session survived the purge: %v", err)
	}
	if _, err := s.UseAuthToken(t.Context(), liveTok.ID, now); err != nil {
		t.Errorf("a live token was purged: %v", err)
	}
	if err := s.DeleteAuthToken(t.Context(), deadTok.ID); !errors.Is(err, loam.ErrNotFound) {
		t.Errorf("an expired token survived the purge: %v", err)
	}
	// The stale counter starts again; the fresh one goes on.
	if hits, _, _ := s.HitThrottle(t.Context(), stale, now, now.Add(-24*time.Hour)); hits != 1 {
		t.Errorf("the stale counter after the purge: %d hits, want 1", hits)
	}
	if hits, _, _ := s.HitThrottle(t.Context(), fresh, now, now.Add(-24*time.Hour)); hits != 2 {
		t.Errorf("the fresh counter after the purge: %d hits, want 2", hits)
	}
}
