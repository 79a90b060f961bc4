package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"loam"
)

// newKey stores an API key of record id in c, named name, created at now.
func newKey(t *testing.T, s loam.Store, c *loam.Collection, id, name string, now, expires time.Time) *loam.APIKey {
	t.Helper()
	k := &loam.APIKey{ID: loam.NewID(), Collection: c.Name, RecordID: id, Name: name, KeyHash: hashOf(loam.NewID() + name),
		Hint: "lk_abcd...wxyz", Created: now, Expires: expires,
		Scopes: loam.KeyScopes{Collections: []loam.KeyScope{{Collection: "posts", Actions: []string{"list", "view"}}},
			System: []string{"jobs"}}}
	if err := s.CreateAPIKey(t.Context(), k); err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	return k
}

func testMFA(t *testing.T, open Opener) {
	runAll(t, open, []storeTest{
		{"EnrolConfirmReplay", func(t *testing.T, s loam.Store) {
			ctx := t.Context()
			users := createCollection(t, s, usersCollection())
			ann := insert(t, s, users, map[string]any{"email": "ann@example.com", "password": "h"})
			if _, err := s.MFAOf(ctx, users.Name, ann.ID); !errors.Is(err, loam.ErrNotFound) {
				t.Fatalf("MFAOf before enrolment: %v, want ErrNotFound", err)
			}
			now := loam.Now()
			for _, secret := range []string{"FIRSTSECRET", "SECONDSECRET"} { // a waiting enrolment is replaced
				if err := s.PutMFA(ctx, &loam.MFA{Collection: users.Name, RecordID: ann.ID, Secret: secret, Created: now}); err != nil {
					t.Fatalf("PutMFA: %v", err)
				}
			}
			m, err := s.MFAOf(ctx, users.Name, ann.ID)
			if err != nil || m.Secret != "SECONDSECRET" || m.Enabled || m.LastStep != 0 {
				t.Fatalf("MFAOf: %+v, %v; want the second secret, not enabled", m, err)
			}
			checkTime(t, "mfa.created", m.Created, now)
			if err := s.UseMFAStep(ctx, users.Name, ann.ID, 5); err != nil {
				t.Fatalf("UseMFAStep before enabling: %v", err)
			}
			codes := [][]byte{hashOf("a"), hashOf("b"), hashOf("c")}
			if err := s.EnableMFA(ctx, users.Name, ann.ID, 100, codes); err != nil {
				t.Fatalf("EnableMFA: %v", err)
			}
			if err := s.EnableMFA(ctx, users.Name, ann.ID, 101, codes); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("EnableMFA twice: %v, want ErrNotFound", err)
			}
			if err := s.PutMFA(ctx, &loam.MFA{Collection: users.Name, RecordID: ann.ID, Secret: "X", Created: now}); !errors.Is(err, loam.ErrConflict) {
				t.Errorf("PutMFA over an enabled factor: %v, want ErrConflict", err)
			}
			if m, _ := s.MFAOf(ctx, users.Name, ann.ID); m == nil || !m.Enabled || m.LastStep != 100 || m.Secret != "SECONDSECRET" {
				t.Errorf("MFAOf after EnableMFA: %+v", m)
			}
			for _, tc := range []struct {
				step int64
				ok   bool
			}{{100, false}, {99, false}, {101, true}, {101, false}, {103, true}, {102, false}} {
				err := s.UseMFAStep(ctx, users.Name, ann.ID, tc.step)
				if tc.ok != (err == nil) || (err != nil && !errors.Is(err, loam.ErrNotFound)) {
					t.Errorf("UseMFAStep(%d): %v, want ok=%v", tc.step, err, tc.ok)
				}
			}
			// Recovery codes: each works once; another record's are not ann's.
			bob := insert(t, s, users, map[string]any{"email": "bob@example.com", "password": "h"})
			if err := s.UseRecoveryCode(ctx, users.Name, bob.ID, hashOf("a")); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("bob uses ann's code: %v, want ErrNotFound", err)
			}
			if err := s.UseRecoveryCode(ctx, users.Name, ann.ID, hashOf("a")); err != nil {
				t.Errorf("UseRecoveryCode: %v", err)
			}
			if err := s.UseRecoveryCode(ctx, users.Name, ann.ID, hashOf("a")); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("UseRecoveryCode twice: %v, want ErrNotFound", err)
			}
			if n, err := s.RecoveryCodesLeft(ctx, users.Name, ann.ID); err != nil || n != 2 {
				t.Errorf("RecoveryCodesLeft: %d, %v; want 2", n, err)
			}
			if err := s.SetRecoveryCodes(ctx, users.Name, ann.ID, [][]byte{hashOf("d")}); err != nil {
				t.Fatalf("SetRecoveryCodes: %v", err)
			}
			if err := s.UseRecoveryCode(ctx, users.Name, ann.ID, hashOf("b")); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("an old code after SetRecoveryCodes: %v, want ErrNotFound", err)
			}
			if err := s.DeleteMFA(ctx, users.Name, ann.ID); err != nil {
				t.Fatalf("DeleteMFA: %v", err)
			}
			if _, err := s.MFAOf(ctx, users.Name, ann.ID); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("MFAOf after DeleteMFA: %v, want ErrNotFound", err)
			}
			if n, _ := s.RecoveryCodesLeft(ctx, users.Name, ann.ID); n != 0 {
				t.Errorf("%d recovery codes after DeleteMFA, want 0", n)
			}
		}},
	})
}

func testAPIKeys(t *testing.T, open Opener) {
	runAll(t, open, []storeTest{
		{"CreateFindListDelete", func(t *testing.T, s loam.Store) {
			ctx := t.Context()
			users := createCollection(t, s, usersCollection())
			ann := insert(t, s, users, map[string]any{"email": "ann@example.com", "password": "h"})
			bob := insert(t, s, users, map[string]any{"email": "bob@example.com", "password": "h"})
			now := loam.Now()
			k1 := newKey(t, s, users, ann.ID, "first", now, time.Time{})
			k2 := newKey(t, s, users, ann.ID, "second", now.Add(time.Second), now.Add(time.Hour))
			newKey(t, s, users, bob.ID, "bob's", now, time.Time{})
			got, err := s.APIKeyByHash(ctx, k1.KeyHash, now.Add(1000*time.Hour))
			if err != nil {
				t.Fatalf("APIKeyByHash: %v", err)
			}
			if got.ID != k1.ID || got.Name != "first" || got.RecordID != ann.ID || !bytes.Equal(got.KeyHash, k1.KeyHash) ||
				got.Hint != k1.Hint || !got.Expires.IsZero() || !got.LastUsed.IsZero() ||
				!got.Scopes.Allows("posts", "view") || got.Scopes.Allows("posts", "create") || len(got.Scopes.System) != 1 {
				t.Errorf("APIKeyByHash: %+v, want %+v", got, k1)
			}
			checkTime(t, "key.created", got.Created, now)
			if _, err := s.APIKeyByHash(ctx, k2.KeyHash, now.Add(time.Hour)); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("an expired key: %v, want ErrNotFound", err)
			}
			if got, err := s.APIKeyByHash(ctx, k2.KeyHash, now); err != nil {
				t.Errorf("a key before it expires: %v", err)
			} else {
				checkTime(t, "key.expires", got.Expires, k2.Expires)
			}
			if _, err := s.APIKeyByHash(ctx, k1.KeyHash[:16], now); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("a hash prefix: %v, want ErrNotFound", err)
			}
			list, err := s.APIKeys(ctx, users.Name, ann.ID)
			if err != nil || len(list) != 2 || list[0].ID != k2.ID || list[1].ID != k1.ID || list[0].KeyHash != nil {
				t.Errorf("APIKeys: %+v, %v; want ann's two, newest first, without hashes", list, err)
			}
			if k, err := s.APIKeyByID(ctx, k2.ID); err != nil || k.Name != "second" {
				t.Errorf("APIKeyByID: %+v, %v", k, err)
			}
			if err := s.DeleteAPIKey(ctx, k1.ID); err != nil {
				t.Fatalf("DeleteAPIKey: %v", err)
			}
			if err := s.DeleteAPIKey(ctx, k1.ID); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("DeleteAPIKey twice: %v, want ErrNotFound", err)
			}
			if _, err := s.APIKeyByHash(ctx, k1.KeyHash, now); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("a deleted key: %v, want ErrNotFound", err)
			}
		}},
		{"TouchOncePerInterval", func(t *testing.T, s loam.Store) {
			ctx := t.Context()
			users := createCollection(t, s, usersCollection())
			ann := insert(t, s, users, map[string]any{"email": "ann@example.com", "password": "h"})
			now := loam.Now()
			k := newKey(t, s, users, ann.ID, "k", now, time.Time{})
			lastUsed := func() time.Time {
				got, err := s.APIKeyByID(ctx, k.ID)
				if err != nil {
					t.Fatalf("APIKeyByID: %v", err)
				}
				return got.LastUsed
			}
			for _, tc := range []struct {
				at   time.Duration // after now
				want time.Duration
			}{{0, 0}, {30 * time.Second, 0}, {time.Minute, time.Minute}, {90 * time.Second, time.Minute}, {2 * time.Minute, 2 * time.Minute}} {
				at := now.Add(tc.at)
				if err := s.TouchAPIKey(ctx, k.ID, at, at.Add(-time.Minute)); err != nil {
					t.Fatalf("TouchAPIKey: %v", err)
				}
				checkTime(t, "lastUsed", lastUsed(), now.Add(tc.want))
			}
		}},
		{"DeletingTheRecordDeletesKeysAndFactor", func(t *testing.T, s loam.Store) {
			ctx := t.Context()
			users := createCollection(t, s, usersCollection())
			ann := insert(t, s, users, map[string]any{"email": "ann@example.com", "password": "h"})
			bob := insert(t, s, users, map[string]any{"email": "bob@example.com", "password": "h"})
			now := loam.Now()
			ka, kb := newKey(t, s, users, ann.ID, "a", now, time.Time{}), newKey(t, s, users, bob.ID, "b", now, time.Time{})
			for _, id := range []string{ann.ID, bob.ID} {
				if err := s.PutMFA(ctx, &loam.MFA{Collection: users.Name, RecordID: id, Secret: "S", Created: now}); err != nil {
					t.Fatalf("PutMFA: %v", err)
				}
				if err := s.EnableMFA(ctx, users.Name, id, 1, [][]byte{hashOf(id)}); err != nil {
					t.Fatalf("EnableMFA: %v", err)
				}
			}
			ss := createSession(t, s, users, ann.ID, now)
			if err := s.DeleteRecord(ctx, schema(t, s), users, ann.ID, nil); err != nil {
				t.Fatalf("DeleteRecord: %v", err)
			}
			if _, err := s.APIKeyByHash(ctx, ka.KeyHash, now); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("ann's key after her deletion: %v, want ErrNotFound", err)
			}
			if _, err := s.MFAOf(ctx, users.Name, ann.ID); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("ann's factor after her deletion: %v, want ErrNotFound", err)
			}
			if n, _ := s.RecoveryCodesLeft(ctx, users.Name, ann.ID); n != 0 {
				t.Errorf("ann has %d recovery codes after her deletion", n)
			}
			sessionGone(t, s, ss, now)
			if _, err := s.APIKeyByHash(ctx, kb.KeyHash, now); err != nil {
				t.Errorf("bob's key: %v", err)
			}
			if m, err := s.MFAOf(ctx, users.Name, bob.ID); err != nil || !m.Enabled {
				t.Errorf("bob's factor: %+v, %v", m, err)
			}
		}},
		{"RenamingTheCollectionMovesKeys", func(t *testing.T, s loam.Store) {
			ctx := t.Context()
			users := createCollection(t, s, usersCollection())
			ann := insert(t, s, users, map[string]any{"email": "ann@example.com", "password": "h"})
			k := newKey(t, s, users, ann.ID, "a", loam.Now(), time.Time{})
			renamed := *users
			renamed.Name = "members"
			if err := s.UpdateCollection(ctx, users, &renamed); err != nil {
				t.Fatalf("rename: %v", err)
			}
			if got, err := s.APIKeyByHash(ctx, k.KeyHash, loam.Now()); err != nil || got.Collection != "members" {
				t.Errorf("the key after a rename: %+v, %v; want it in members", got, err)
			}
			if err := s.DeleteCollection(ctx, &renamed); err != nil {
				t.Fatalf("DeleteCollection: %v", err)
			}
			if _, err := s.APIKeyByHash(ctx, k.KeyHash, loam.Now()); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("the key after its collection is gone: %v, want ErrNotFound", err)
			}
		}},
	})
}
