package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"loam"
)

func testOAuth2(t *testing.T, open Opener) {
	runAll(t, open, []storeTest{
		{"StateIsTakenOnce", func(t *testing.T, s loam.Store) {
			now := loam.Now()
			st := &loam.OAuth2State{Hash: []byte("hash-1"), Collection: "users", Provider: "google", Nonce: "n",
				Verifier: "v", Redirect: "https://app.example/done", Created: now, Expires: now.Add(10 * time.Minute)}
			if err := s.CreateOAuth2State(t.Context(), st); err != nil {
				t.Fatalf("CreateOAuth2State: %v", err)
			}
			if _, err := s.TakeOAuth2State(t.Context(), []byte("hash-2")); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("take an unknown state: %v, want ErrNotFound", err)
			}
			var wg sync.WaitGroup
			got := make([]*loam.OAuth2State, 4)
			errs := make([]error, 4)
			for i := range got {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got[i], errs[i] = s.TakeOAuth2State(t.Context(), []byte("hash-1"))
				}()
			}
			wg.Wait()
			won := 0
			for i, x := range got {
				switch {
				case errs[i] == nil:
					won++
					if x.Collection != "users" || x.Provider != "google" || x.Nonce != "n" || x.Verifier != "v" ||
						x.Redirect != st.Redirect || !x.Created.Equal(now) || !x.Expires.Equal(st.Expires) {
						t.Errorf("taken state %+v, want %+v", x, st)
					}
				case !errors.Is(errs[i], loam.ErrNotFound):
					t.Errorf("take: %v", errs[i])
				}
			}
			if won != 1 {
				t.Errorf("%d of 4 concurrent takes got the state, want 1", won)
			}
		}},
		{"PurgeRemovesExpiredStates", func(t *testing.T, s loam.Store) {
			now := loam.Now()
			for i, exp := range []time.Time{now.Add(-time.Second), now.Add(time.Minute)} {
				st := &loam.OAuth2State{Hash: []byte{byte(i)}, Collection: "users", Provider: "p", Created: now, Expires: exp}
				if err := s.CreateOAuth2State(t.Context(), st); err != nil {
					t.Fatalf("CreateOAuth2State: %v", err)
				}
			}
			if _, err := s.PurgeAuth(t.Context(), now, now.Add(-time.Hour)); err != nil {
				t.Fatalf("PurgeAuth: %v", err)
			}
			if _, err := s.TakeOAuth2State(t.Context(), []byte{0}); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("an expired state survived the purge: %v", err)
			}
			if _, err := s.TakeOAuth2State(t.Context(), []byte{1}); err != nil {
				t.Errorf("a live state did not survive the purge: %v", err)
			}
		}},
		{"ExternalAuths", func(t *testing.T, s loam.Store) {
			users := createCollection(t, s, usersCollection())
			ann := insert(t, s, users, map[string]any{"email": "ann@example.com", "password": "h"})
			bob := insert(t, s, users, map[string]any{"email": "bob@example.com", "password": "h"})
			now := loam.Now()
			link := func(rec *loam.Record, provider, subject string, at time.Time) (*loam.ExternalAuth, error) {
				x := &loam.ExternalAuth{ID: loam.NewID(), Collection: "users", RecordID: rec.ID, Provider: provider,
					Subject: subject, Created: at}
				return x, s.CreateExternalAuth(t.Context(), x)
			}
			g, err := link(ann, "google", "g-1", now)
			if err != nil {
				t.Fatalf("link ann: %v", err)
			}
			if _, err := link(ann, "gitlab", "g-1", now.Add(time.Millisecond)); err != nil {
				t.Fatalf("link ann at another provider with the same subject: %v", err)
			}
			if _, err := link(bob, "google", "g-1", now); !errors.Is(err, loam.ErrConflict) {
				t.Errorf("link a second record to the same account: %v, want ErrConflict", err)
			}
			if _, err := link(bob, "google", "g-2", now); err != nil {
				t.Fatalf("link bob: %v", err)
			}
			found, err := s.ExternalAuth(t.Context(), "users", "google", "g-1")
			if err != nil || found.ID != g.ID || found.RecordID != ann.ID || !found.Created.Equal(now) {
				t.Errorf("ExternalAuth google/g-1: %+v, %v; want ann's link %+v", found, err, g)
			}
			if _, err := s.ExternalAuth(t.Context(), "users", "google", "G-1"); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("subjects compare exactly: G-1 gave %v, want ErrNotFound", err)
			}
			list, err := s.ExternalAuths(t.Context(), "users", ann.ID)
			if err != nil || len(list) != 2 || list[0].Provider != "google" || list[1].Provider != "gitlab" {
				t.Errorf("ExternalAuths of ann: %v, %v; want google then gitlab", list, err)
			}
			if err := s.DeleteExternalAuth(t.Context(), "users", bob.ID, g.ID); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("delete ann's link as bob's: %v, want ErrNotFound", err)
			}
			if err := s.DeleteExternalAuth(t.Context(), "users", ann.ID, g.ID); err != nil {
				t.Errorf("delete ann's link: %v", err)
			}
			// Deleting a record deletes its links.
			if err := s.DeleteRecord(t.Context(), schema(t, s), users, ann.ID, nil); err != nil {
				t.Fatalf("delete ann: %v", err)
			}
			if list, err := s.ExternalAuths(t.Context(), "users", ann.ID); err != nil || len(list) != 0 {
				t.Errorf("links of deleted ann: %v, %v; want none", list, err)
			}
			// Renaming the collection moves the links; deleting it removes them.
			renamed := mustChangeCollection(t, s, "users", func(c *loam.Collection) { c.Name = "members" })
			if x, err := s.ExternalAuth(t.Context(), "members", "google", "g-2"); err != nil || x.RecordID != bob.ID {
				t.Errorf("bob's link after the rename: %v, %v", x, err)
			}
			if err := s.DeleteCollection(t.Context(), renamed); err != nil {
				t.Fatalf("DeleteCollection: %v", err)
			}
			if _, err := s.ExternalAuth(t.Context(), "members", "google", "g-2"); !errors.Is(err, loam.ErrNotFound) {
				t.Errorf("a link outlived its collection: %v", err)
			}
		}},
		{"ProviderSecretsAreStored", func(t *testing.T, s loam.Store) {
			c := usersCollection()
			c.Auth = &loam.AuthOptions{OAuth2Providers: []loam.OAuth2Provider{{Name: "google", ClientID: "id", ClientSecret: "s3cret"}},
				Methods: &loam.AuthMethods{Password: true, OAuth2: []string{"google"}}}
			got := createCollection(t, s, c)
			if p := got.Auth.OAuth2Provider("google"); p == nil || p.ClientSecret != "s3cret" {
				t.Errorf("stored provider %+v, want its secret kept", p)
			}
		}},
	})
}
