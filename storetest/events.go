package storetest

import (
	"testing"
	"time"

	"loam"
)

func testEvents(t *testing.T, open Opener) {
	runAll(t, open, []storeTest{
		{"OnePerWrite", testOneEventPerWrite},
		{"Limit", func(t *testing.T, s loam.Store) {
			c := createCollection(t, s, authorsCollection())
			mark := lastSeq(t, s)
			var want []string
			for range 5 {
				want = append(want, insert(t, s, c, map[string]any{"name": "x"}).ID)
			}
			evs, err := s.Events(t.Context(), mark, 2)
			if err != nil {
				t.Fatalf("Events: %v", err)
			}
			if len(evs) != 2 || evs[0].RecordID != want[0] || evs[1].RecordID != want[1] {
				t.Fatalf("Events(after, 2): got %v, want the two oldest (creates of %v)", evsOf(evs), want[:2])
			}
			rest, err := s.Events(t.Context(), evs[1].Seq, 10)
			if err != nil {
				t.Fatalf("Events: %v", err)
			}
			if len(rest) != 3 || rest[0].RecordID != want[2] || rest[2].RecordID != want[4] {
				t.Fatalf("Events after the second: got %v, want creates of %v", evsOf(rest), want[2:])
			}
			none, err := s.Events(t.Context(), rest[2].Seq, 10)
			if err != nil || len(none) != 0 {
				t.Fatalf("Events after the newest: got %v, %v; want none", evsOf(none), err)
			}
		}},
		{"FailedWritesEmitNothing", testFailedWritesEmitNothing},
	})
}

func testOneEventPerWrite(t *testing.T, s loam.Store) {
	authors := createCollection(t, s, authorsCollection())
	members := createCollection(t, s, membersCollection())
	sch := schema(t, s)
	seq := lastSeq(t, s)
	// step runs one write and checks that it appended exactly the one event.
	step := func(what string, want ev, write func() error) {
		t.Helper()
		if err := write(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		evs := eventsAfter(t, s, seq)
		if len(evs) != 1 || evsOf(evs)[0] != want {
			t.Fatalf("%s: events %v, want exactly [%v]", what, evsOf(evs), want)
		}
		seq = evs[0].Seq
	}
	a := newRecord(authors, map[string]any{"name": "Ada"})
	step("insert", ev{"authors", a.ID, loam.ActionCreate}, func() error { return s.InsertRecord(t.Context(), authors, a) })
	m := newRecord(members, map[string]any{"handle": "m", "mentor": a.ID})
	step("insert into another collection", ev{"members", m.ID, loam.ActionCreate}, func() error { return s.InsertRecord(t.Context(), members, m) })
	a2 := nextVersion(authors, a, map[string]any{"name": "Ada L."})
	step("update", ev{"authors", a.ID, loam.ActionUpdate}, func() error { return s.UpdateRecord(t.Context(), authors, a, a2, false) })
	a3 := nextVersion(authors, a2, nil)
	step("update that changes no field", ev{"authors", a.ID, loam.ActionUpdate}, func() error { return s.UpdateRecord(t.Context(), authors, a2, a3, true) })
	step("delete", ev{"members", m.ID, loam.ActionDelete}, func() error { return s.DeleteRecord(t.Context(), sch, members, m.ID, nil) })
	step("delete with a version", ev{"authors", a.ID, loam.ActionDelete}, func() error {
		return s.DeleteRecord(t.Context(), sch, authors, a.ID, &a3.Updated)
	})
}

// testFailedWritesEmitNothing: every refused write leaves no event and no data.
func testFailedWritesEmitNothing(t *testing.T, s loam.Store) {
	authors, members, author := membersFixture(t, s)
	pins := createCollection(t, s, relationTo("pins", "authors", loam.OnDeleteRestrict, false))
	m := insert(t, s, members, map[string]any{"handle": "taken", "email": "taken@example.com"})
	m2 := insert(t, s, members, map[string]any{"handle": "other"})
	pinned := insert(t, s, authors, map[string]any{"name": "pinned"})
	insert(t, s, pins, map[string]any{"ref": pinned.ID})
	sch := schema(t, s)
	mark := lastSeq(t, s)

	stale := nextVersion(members, m, nil)
	tests := []struct {
		name  string
		write func() error
		code  string
	}{
		{"InsertUnique", func() error {
			return s.InsertRecord(t.Context(), members, newRecord(members, map[string]any{"handle": "taken"}))
		}, loam.CodeConflict},
		{"InsertRelationMissing", func() error {
			return s.InsertRecord(t.Context(), members, newRecord(members, map[string]any{"handle": "new", "mentor": loam.NewID()}))
		}, loam.CodeValidationFailed},
		{"UpdateUnique", func() error {
			return s.UpdateRecord(t.Context(), members, m2, nextVersion(members, m2, map[string]any{"handle": "taken"}), false)
		}, loam.CodeConflict},
		{"UpdateStale", func() error {
			old := m.Clone()
			old.Updated = m.Updated.Add(-time.Second)
			return s.UpdateRecord(t.Context(), members, old, stale, true)
		}, loam.CodePreconditionFailed},
		{"DeleteStale", func() error {
			old := m.Updated.Add(time.Millisecond)
			return s.DeleteRecord(t.Context(), sch, members, m.ID, &old)
		}, loam.CodePreconditionFailed},
		{"DeleteMissing", func() error { return s.DeleteRecord(t.Context(), sch, members, loam.NewID(), nil) }, loam.CodeNotFound},
		{"DeleteRestricted", func() error { return s.DeleteRecord(t.Context(), sch, authors, pinned.ID, nil) }, loam.CodeConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.write(), tt.code, tt.name)
			wantEvents(t, s, mark)
			wantCount(t, s, members, 2)
			wantCount(t, s, authors, 2)
			sameRecord(t, members, get(t, s, members, m.ID), m)
			sameRecord(t, members, get(t, s, members, m2.ID), m2)
			sameRecord(t, authors, get(t, s, authors, author.ID), author)
			sameRecord(t, authors, get(t, s, authors, pinned.ID), pinned)
		})
	}
}
