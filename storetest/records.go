package storetest

import (
	"errors"
	"testing"
	"time"

	"loam"
)

// membersCollection has a unique text field, a unique email, a number, and
// relations to authors (which must exist).
func membersCollection() *loam.Collection {
	return &loam.Collection{Name: "members", Fields: []loam.Field{
		{Name: "handle", Type: loam.TypeText, Unique: true},
		{Name: "email", Type: loam.TypeEmail, Unique: true},
		{Name: "age", Type: loam.TypeNumber, Integer: true},
		{Name: "active", Type: loam.TypeBool},
		{Name: "role", Type: loam.TypeSelect, Values: []string{"admin", "user"}},
		{Name: "mentor", Type: loam.TypeRelation, Collection: "authors"},
		{Name: "friends", Type: loam.TypeRelation, Collection: "authors", Multiple: true},
	}}
}

// membersFixture creates authors and members with one author in it.
func membersFixture(t *testing.T, s loam.Store) (authors, members *loam.Collection, author *loam.Record) {
	t.Helper()
	authors = createCollection(t, s, authorsCollection())
	members = createCollection(t, s, membersCollection())
	author = insert(t, s, authors, map[string]any{"name": "Ada"})
	return authors, members, author
}

func testRecords(t *testing.T, open Opener) {
	runAll(t, open, []storeTest{
		{"GetMissingIsNotFound", func(t *testing.T, s loam.Store) {
			_, members, _ := membersFixture(t, s)
			gone(t, s, members, loam.NewID())
		}},
		{"InsertDuplicateUnique", testInsertDuplicateUnique},
		{"InsertDuplicateID", func(t *testing.T, s loam.Store) {
			_, members, _ := membersFixture(t, s)
			r := insert(t, s, members, map[string]any{"handle": "a"})
			dup := newRecord(members, map[string]any{"handle": "b"})
			dup.ID = r.ID
			err := s.InsertRecord(t.Context(), members, dup)
			if !errors.Is(err, loam.ErrConflict) {
				t.Fatalf("insert a record with a taken id: got %v, want ErrConflict", err)
			}
			sameRecord(t, members, get(t, s, members, r.ID), r)
			wantCount(t, s, members, 1)
		}},
		{"InsertRelationToMissing", testInsertRelationToMissing},
		{"Update", testUpdate},
		{"UpdateStaleIsPreconditionFailed", testUpdateStale},
		{"UpdateMissing", func(t *testing.T, s loam.Store) {
			_, members, _ := membersFixture(t, s)
			prev := newRecord(members, map[string]any{"handle": "ghost"})
			err := s.UpdateRecord(t.Context(), members, prev, nextVersion(members, prev, map[string]any{"handle": "x"}), false)
			if !errors.Is(err, loam.ErrNotFound) && !errors.Is(err, loam.ErrPreconditionFailed) {
				t.Fatalf("update a missing record: got %v, want ErrNotFound or ErrPreconditionFailed", err)
			}
			wantCount(t, s, members, 0)
		}},
		{"UpdateDuplicateUnique", func(t *testing.T, s loam.Store) {
			_, members, _ := membersFixture(t, s)
			insert(t, s, members, map[string]any{"handle": "a"})
			b := insert(t, s, members, map[string]any{"handle": "b", "age": int64(3)})
			err := s.UpdateRecord(t.Context(), members, b, nextVersion(members, b, map[string]any{"handle": "a", "age": int64(4)}), false)
			wantFieldErr(t, err, loam.CodeConflict, "handle", loam.FieldUnique, "update to a duplicate of a unique field")
			sameRecord(t, members, get(t, s, members, b.ID), b)
		}},
		{"UpdateRelationToMissing", func(t *testing.T, s loam.Store) {
			_, members, author := membersFixture(t, s)
			m := insert(t, s, members, map[string]any{"handle": "a", "mentor": author.ID})
			for _, change := range []map[string]any{
				{"mentor": loam.NewID()},
				{"friends": []string{author.ID, loam.NewID()}},
			} {
				err := s.UpdateRecord(t.Context(), members, m, nextVersion(members, m, change), false)
				for field := range change {
					wantFieldErr(t, err, loam.CodeValidationFailed, field, loam.FieldNotFound, "update "+field+" to a missing record")
				}
				sameRecord(t, members, get(t, s, members, m.ID), m)
			}
		}},
		{"UpdateEndSessions", testUpdateEndSessions},
		{"Delete", testDelete},
		{"FindRecord", testFindRecord},
	})
}

func testInsertDuplicateUnique(t *testing.T, s loam.Store) {
	_, members, _ := membersFixture(t, s)
	first := insert(t, s, members, map[string]any{"handle": "ada", "email": "ada@example.com"})
	insert(t, s, members, map[string]any{"handle": "bob"})
	insert(t, s, members, map[string]any{}) // NULLs never collide
	insert(t, s, members, map[string]any{})
	for _, tt := range []struct {
		field string
		data  map[string]any
	}{
		{"handle", map[string]any{"handle": "ada", "email": "other@example.com"}},
		{"email", map[string]any{"handle": "carol", "email": "ada@example.com"}},
	} {
		err := s.InsertRecord(t.Context(), members, newRecord(members, tt.data))
		wantFieldErr(t, err, loam.CodeConflict, tt.field, loam.FieldUnique, "insert a duplicate "+tt.field)
		if !errors.Is(err, loam.ErrConflict) {
			t.Errorf("errors.Is(%v, ErrConflict) = false", err)
		}
	}
	wantCount(t, s, members, 4)
	sameRecord(t, members, get(t, s, members, first.ID), first)
	if _, err := s.FindRecord(t.Context(), members, "handle", "carol"); !errors.Is(err, loam.ErrNotFound) {
		t.Fatalf("FindRecord of a refused insert: got %v, want ErrNotFound", err)
	}
}

func testInsertRelationToMissing(t *testing.T, s loam.Store) {
	_, members, author := membersFixture(t, s)
	for _, tt := range []struct {
		field string
		value any
	}{
		{"mentor", loam.NewID()},
		{"friends", []string{loam.NewID()}},
		{"friends", []string{author.ID, loam.NewID()}},
	} {
		r := newRecord(members, map[string]any{"handle": "h", tt.field: tt.value})
		err := s.InsertRecord(t.Context(), members, r)
		wantFieldErr(t, err, loam.CodeValidationFailed, tt.field, loam.FieldNotFound, "insert "+tt.field+" pointing at a missing record")
		gone(t, s, members, r.ID)
	}
	wantCount(t, s, members, 0)
	// Relations to existing records are fine.
	r := insert(t, s, members, map[string]any{"mentor": author.ID, "friends": []string{author.ID}})
	sameRecord(t, members, get(t, s, members, r.ID), r)
}

func testUpdate(t *testing.T, s loam.Store) {
	authors, members, author := membersFixture(t, s)
	other := insert(t, s, authors, map[string]any{"name": "Grace"})
	m := insert(t, s, members, map[string]any{"handle": "a", "email": "a@example.com", "age": int64(30), "active": true, "role": "user", "mentor": author.ID})
	bystander := insert(t, s, members, map[string]any{"handle": "b"})

	v2 := update(t, s, members, m, map[string]any{"handle": "a2", "age": int64(31), "active": false, "role": "admin", "mentor": other.ID, "friends": []string{other.ID, author.ID}})
	sameRecord(t, members, get(t, s, members, m.ID), v2)
	// Setting values to nil clears them.
	v3 := update(t, s, members, v2, map[string]any{"email": nil, "age": nil, "mentor": nil, "friends": nil, "role": nil})
	got := get(t, s, members, m.ID)
	sameRecord(t, members, got, v3)
	if !got.Created.Equal(m.Created) {
		t.Errorf("created moved on update: got %s, want %s", got.Created, m.Created)
	}
	// The freed unique value can be taken by another record.
	bv := update(t, s, members, bystander, map[string]any{"email": "a@example.com"})
	sameRecord(t, members, get(t, s, members, bystander.ID), bv)
}

func testUpdateStale(t *testing.T, s loam.Store) {
	_, members, _ := membersFixture(t, s)
	m := insert(t, s, members, map[string]any{"handle": "a", "age": int64(1)})
	cur := update(t, s, members, m, map[string]any{"age": int64(2)})
	mark := lastSeq(t, s)
	// m is the version before cur: writing over it must fail.
	stale := nextVersion(members, m, map[string]any{"age": int64(99)})
	stale.Updated = cur.Updated.Add(time.Hour)
	err := s.UpdateRecord(t.Context(), members, m, stale, false)
	if !errors.Is(err, loam.ErrPreconditionFailed) {
		t.Fatalf("update over a stale version: got %v, want ErrPreconditionFailed", err)
	}
	sameRecord(t, members, get(t, s, members, m.ID), cur)
	wantEvents(t, s, mark)
	// Over the current version it works.
	update(t, s, members, cur, map[string]any{"age": int64(3)})
}

func testUpdateEndSessions(t *testing.T, s loam.Store) {
	_, members, _ := membersFixture(t, s)
	m := insert(t, s, members, map[string]any{"handle": "a"})
	other := insert(t, s, members, map[string]any{"handle": "b"})
	now := loam.Now()
	s1, s2 := createSession(t, s, members, m.ID, now), createSession(t, s, members, m.ID, now)
	keep := createSession(t, s, members, other.ID, now)

	// endSessions=false keeps them.
	v2 := update(t, s, members, m, map[string]any{"age": int64(1)})
	for _, ss := range []*loam.Session{s1, s2} {
		sessionExists(t, s, ss, now)
	}
	v3 := nextVersion(members, v2, map[string]any{"age": int64(2)})
	if err := s.UpdateRecord(t.Context(), members, v2, v3, true); err != nil {
		t.Fatalf("UpdateRecord with endSessions: %v", err)
	}
	sameRecord(t, members, get(t, s, members, m.ID), v3)
	for _, ss := range []*loam.Session{s1, s2} {
		sessionGone(t, s, ss, now)
	}
	sessionExists(t, s, keep, now)

	// A refused update with endSessions ends nothing.
	s3 := createSession(t, s, members, m.ID, now)
	err := s.UpdateRecord(t.Context(), members, v2, nextVersion(members, v3, nil), true)
	if !errors.Is(err, loam.ErrPreconditionFailed) {
		t.Fatalf("stale update with endSessions: got %v, want ErrPreconditionFailed", err)
	}
	sessionExists(t, s, s3, now)
}

func testDelete(t *testing.T, s loam.Store) {
	_, members, _ := membersFixture(t, s)
	a := insert(t, s, members, map[string]any{"handle": "a"})
	b := insert(t, s, members, map[string]any{"handle": "b"})
	c := insert(t, s, members, map[string]any{"handle": "c"})
	sch := schema(t, s)

	// Stale ifUpdated: refused, the record is still there.
	b2 := update(t, s, members, b, map[string]any{"age": int64(5)})
	mark := lastSeq(t, s)
	err := s.DeleteRecord(t.Context(), sch, members, b.ID, &b.Updated)
	if !errors.Is(err, loam.ErrPreconditionFailed) {
		t.Fatalf("delete at a stale version: got %v, want ErrPreconditionFailed", err)
	}
	sameRecord(t, members, get(t, s, members, b.ID), b2)
	wantEvents(t, s, mark)

	// Current ifUpdated: deleted.
	if err := s.DeleteRecord(t.Context(), sch, members, b.ID, &b2.Updated); err != nil {
		t.Fatalf("delete at the current version: %v", err)
	}
	gone(t, s, members, b.ID)
	// No ifUpdated: deleted.
	if err := s.DeleteRecord(t.Context(), sch, members, a.ID, nil); err != nil {
		t.Fatalf("delete: %v", err)
	}
	gone(t, s, members, a.ID)
	// Missing: not found.
	err = s.DeleteRecord(t.Context(), sch, members, a.ID, nil)
	if !errors.Is(err, loam.ErrNotFound) {
		t.Fatalf("delete a missing record: got %v, want ErrNotFound", err)
	}
	wantCount(t, s, members, 1)
	sameRecord(t, members, get(t, s, members, c.ID), c)
	// A deleted record's unique values are free again.
	insert(t, s, members, map[string]any{"handle": "a"})
}

func testFindRecord(t *testing.T, s loam.Store) {
	_, members, author := membersFixture(t, s)
	a := insert(t, s, members, map[string]any{"handle": "Ada", "email": "ada@example.com", "age": int64(36), "role": "admin", "mentor": author.ID})
	b := insert(t, s, members, map[string]any{"handle": "ada", "email": "bob@example.com", "age": int64(41), "role": "user"})
	for _, tt := range []struct {
		field string
		value any
		want  *loam.Record
	}{
		{"handle", "Ada", a},
		{"handle", "ada", b}, // text compares by code point: no case folding
		{"email", "bob@example.com", b},
		{"age", int64(36), a},
		{"mentor", author.ID, a},
	} {
		got, err := s.FindRecord(t.Context(), members, tt.field, tt.value)
		if err != nil {
			t.Fatalf("FindRecord(%s = %v): %v", tt.field, tt.value, err)
		}
		sameRecord(t, members, got, tt.want)
	}
	for _, tt := range []struct {
		field string
		value any
	}{
		{"handle", "ADA"},
		{"email", "nobody@example.com"},
		{"age", int64(37)},
	} {
		if _, err := s.FindRecord(t.Context(), members, tt.field, tt.value); !errors.Is(err, loam.ErrNotFound) {
			t.Errorf("FindRecord(%s = %v): got %v, want ErrNotFound", tt.field, tt.value, err)
		}
	}
}
