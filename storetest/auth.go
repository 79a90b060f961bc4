package storetest

import (
	"errors"
	"testing"

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
