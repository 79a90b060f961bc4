package storetest

import (
	"strings"
	"testing"
	"time"

	"loam"
)

// testEventData: ReadEvents carries the record of each event (post-image for
// create and update, pre-image for delete, cascaded deletes and unlinks
// included), without password fields, whole whatever its size; PurgeEvents
// bounds the log and always keeps the newest event.
func testEventData(t *testing.T, open Opener) {
	runAll(t, open, []storeTest{
		{"Images", func(t *testing.T, s loam.Store) {
			authors := createCollection(t, s, authorsCollection())
			cascade := createCollection(t, s, relationTo("cascaded", "authors", loam.OnDeleteCascade, false))
			unlink := createCollection(t, s, relationTo("unlinked", "authors", loam.OnDeleteSetNull, true))
			mark := lastSeq(t, s)
			big := strings.Repeat("é", 9000) // > 8000 bytes: more than a NOTIFY payload holds
			a := insert(t, s, authors, map[string]any{"name": big})
			a2 := nextVersion(authors, a, map[string]any{"name": "Ada"})
			if err := s.UpdateRecord(t.Context(), authors, a, a2, false); err != nil {
				t.Fatalf("UpdateRecord: %v", err)
			}
			c := insert(t, s, cascade, map[string]any{"label": "child", "ref": a.ID})
			u := insert(t, s, unlink, map[string]any{"label": "linked", "ref": []string{a.ID}})
			if err := s.DeleteRecord(t.Context(), schema(t, s), authors, a.ID, nil); err != nil {
				t.Fatalf("DeleteRecord: %v", err)
			}
			page, err := s.ReadEvents(t.Context(), mark, 100)
			if err != nil {
				t.Fatalf("ReadEvents: %v", err)
			}
			if page.Oldest < 1 || page.Oldest > mark+1 {
				t.Errorf("Oldest = %d, want a kept seq at or below %d", page.Oldest, mark+1)
			}
			type image struct {
				collection *loam.Collection
				action     string
				id, label  string
				field      string
				value      any
			}
			want := []image{
				{authors, loam.ActionCreate, a.ID, "create", "name", big},
				{authors, loam.ActionUpdate, a.ID, "update", "name", "Ada"},
				{cascade, loam.ActionCreate, c.ID, "child create", "label", "child"},
				{unlink, loam.ActionCreate, u.ID, "linked create", "ref", []string{a.ID}},
			}
			// The delete's order of cascade, unlink and the author itself
			// is the store's; each must come with its image.
			rest := map[string]image{
				"cascaded/" + c.ID: {cascade, loam.ActionDelete, c.ID, "cascaded delete (pre-image)", "ref", a.ID},
				"unlinked/" + u.ID: {unlink, loam.ActionUpdate, u.ID, "unlink (post-image)", "ref", nil},
				"authors/" + a.ID:  {authors, loam.ActionDelete, a.ID, "delete (pre-image)", "name", "Ada"},
			}
			if len(page.Events) != len(want)+len(rest) {
				t.Fatalf("ReadEvents: %d events, want %d", len(page.Events), len(want)+len(rest))
			}
			for i, e := range page.Events {
				w, ok := image{}, false
				if i < len(want) {
					w, ok = want[i], true
				} else {
					w, ok = rest[e.Collection+"/"+e.RecordID]
				}
				if !ok || e.Collection != w.collection.Name || e.RecordID != w.id || e.Action != w.action {
					t.Fatalf("event %d: %s %s/%s, want %+v", i, e.Action, e.Collection, e.RecordID, w)
				}
				r, err := loam.UnmarshalStored(w.collection, e.Data)
				if err != nil {
					t.Fatalf("%s: %v", w.label, err)
				}
				if r.ID != w.id || !sameValue(r.Data[w.field], w.value) {
					t.Errorf("%s: %s = %v, want %v", w.label, w.field, r.Data[w.field], w.value)
				}
			}
		}},
		{"NoPasswords", func(t *testing.T, s loam.Store) {
			users := createCollection(t, s, usersCollection())
			mark := lastSeq(t, s)
			insert(t, s, users, map[string]any{"email": "u@example.com", "nick": "u", "password": "$argon2id$hash-of-it"})
			page, err := s.ReadEvents(t.Context(), mark, 10)
			if err != nil || len(page.Events) != 1 {
				t.Fatalf("ReadEvents: %v, %v", page, err)
			}
			if strings.Contains(string(page.Events[0].Data), "argon2") || strings.Contains(string(page.Events[0].Data), `"password"`) {
				t.Errorf("event data holds the password field: %s", page.Events[0].Data)
			}
		}},
		{"Purge", func(t *testing.T, s loam.Store) {
			authors := createCollection(t, s, authorsCollection())
			for range 5 {
				insert(t, s, authors, map[string]any{"name": "x"})
			}
			newest := lastSeq(t, s)
			n, err := s.PurgeEvents(t.Context(), loam.Now().Add(-time.Hour), 2)
			if err != nil {
				t.Fatalf("PurgeEvents: %v", err)
			}
			page, err := s.ReadEvents(t.Context(), 0, 100)
			if err != nil {
				t.Fatalf("ReadEvents: %v", err)
			}
			if n < 3 || len(page.Events) != 2 || page.Oldest != newest-1 || page.Events[1].Seq != newest {
				t.Fatalf("purge keeping 2: deleted %d, kept %v (oldest %d); want the two newest up to %d", n, evsOf(page.Events), page.Oldest, newest)
			}
			if _, err := s.PurgeEvents(t.Context(), loam.Now().Add(time.Hour), 1000); err != nil {
				t.Fatalf("PurgeEvents by age: %v", err)
			}
			page, err = s.ReadEvents(t.Context(), 0, 100)
			if err != nil || len(page.Events) != 1 || page.Oldest != newest {
				t.Fatalf("purge by age: kept %v, %v; want the newest alone", page, err)
			}
			empty, err := s.ReadEvents(t.Context(), newest, 100)
			if err != nil || len(empty.Events) != 0 || empty.Oldest != newest {
				t.Fatalf("read past the newest: %+v, %v; want no events and Oldest %d", empty, err, newest)
			}
		}},
	})
}

// sameValue compares canonical values, lists element by element.
func sameValue(a, b any) bool {
	la, okA := a.([]string)
	lb, okB := b.([]string)
	if okA || okB {
		return strings.Join(la, ",") == strings.Join(lb, ",")
	}
	return a == b
}
