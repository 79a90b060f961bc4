package storetest

import (
	"errors"
	"fmt"
	"testing"

	"loam"
)

// testTx: InTx runs several writes as one transaction. They all commit, or
// none of them stays (records and events alike); inside, the transaction
// sees its own writes, and no one else sees them before the commit.
func testTx(t *testing.T, open Opener) {
	runAll(t, open, []storeTest{
		{"CommitsEveryWrite", testTxCommits},
		{"SeesItsOwnWrites", testTxOwnWrites},
		{"ErrorRollsBackEveryWrite", testTxRollback},
		{"StoreErrorRollsBackEarlierWrites", func(t *testing.T, s loam.Store) {
			_, members, _ := membersFixture(t, s)
			taken := insert(t, s, members, map[string]any{"handle": "taken"})
			mark := lastSeq(t, s)
			first := newRecord(members, map[string]any{"handle": "first"})
			err := s.InTx(t.Context(), func(tx loam.RecordStore) error {
				if err := tx.InsertRecord(t.Context(), members, first); err != nil {
					return err
				}
				return tx.InsertRecord(t.Context(), members, newRecord(members, map[string]any{"handle": "taken"}))
			})
			wantFieldErr(t, err, loam.CodeConflict, "handle", loam.FieldUnique, "InTx whose second insert takes a unique value")
			gone(t, s, members, first.ID)
			wantCount(t, s, members, 1)
			sameRecord(t, members, get(t, s, members, taken.ID), taken)
			wantEvents(t, s, mark)
		}},
		{"PanicRollsBack", func(t *testing.T, s loam.Store) {
			_, members, _ := membersFixture(t, s)
			mark := lastSeq(t, s)
			r := newRecord(members, map[string]any{"handle": "lost"})
			func() {
				defer func() {
					if recover() == nil {
						t.Fatal("InTx swallowed its function's panic")
					}
				}()
				_ = s.InTx(t.Context(), func(tx loam.RecordStore) error {
					if err := tx.InsertRecord(t.Context(), members, r); err != nil {
						return err
					}
					panic("in the middle of a transaction")
				})
			}()
			gone(t, s, members, r.ID)
			wantEvents(t, s, mark)
			// The store is usable afterwards: nothing is left holding the transaction.
			insert(t, s, members, map[string]any{"handle": "lost"})
		}},
	})
}

func testTxCommits(t *testing.T, s loam.Store) {
	authors, members, ada := membersFixture(t, s)
	old := insert(t, s, members, map[string]any{"handle": "old", "mentor": ada.ID})
	doomed := insert(t, s, members, map[string]any{"handle": "doomed"})
	sch := schema(t, s)
	mark := lastSeq(t, s)
	bob := newRecord(authors, map[string]any{"name": "Bob"})
	fresh := newRecord(members, map[string]any{"handle": "fresh", "mentor": bob.ID, "friends": []string{ada.ID, bob.ID}})
	changed := nextVersion(members, old, map[string]any{"handle": "changed", "mentor": bob.ID})
	err := s.InTx(t.Context(), func(tx loam.RecordStore) error {
		if err := tx.InsertRecord(t.Context(), authors, bob); err != nil {
			return fmt.Errorf("insert bob: %w", err)
		}
		if err := tx.InsertRecord(t.Context(), members, fresh); err != nil {
			return fmt.Errorf("insert a member whose relations point at bob: %w", err)
		}
		if err := tx.UpdateRecord(t.Context(), members, old, changed, false); err != nil {
			return fmt.Errorf("update: %w", err)
		}
		if err := tx.DeleteRecord(t.Context(), sch, members, doomed.ID, &doomed.Updated); err != nil {
			return fmt.Errorf("delete: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	sameRecord(t, authors, get(t, s, authors, bob.ID), bob)
	sameRecord(t, members, get(t, s, members, fresh.ID), fresh)
	sameRecord(t, members, get(t, s, members, old.ID), changed)
	gone(t, s, members, doomed.ID)
	wantEvents(t, s, mark,
		ev{"authors", bob.ID, loam.ActionCreate},
		ev{"members", fresh.ID, loam.ActionCreate},
		ev{"members", old.ID, loam.ActionUpdate},
		ev{"members", doomed.ID, loam.ActionDelete})
}

func testTxOwnWrites(t *testing.T, s loam.Store) {
	authors, members, ada := membersFixture(t, s)
	sch := schema(t, s)
	bob := newRecord(authors, map[string]any{"name": "Bob"})
	fan := newRecord(members, map[string]any{"handle": "fan", "mentor": bob.ID})
	err := s.InTx(t.Context(), func(tx loam.RecordStore) error {
		if err := tx.InsertRecord(t.Context(), authors, bob); err != nil {
			return err
		}
		got, err := tx.GetRecord(t.Context(), authors, bob.ID)
		if err != nil {
			return fmt.Errorf("GetRecord of a record inserted in the transaction: %w", err)
		}
		sameRecord(t, authors, got, bob)
		if f, err := tx.FindRecord(t.Context(), authors, "name", "Bob"); err != nil || f.ID != bob.ID {
			return fmt.Errorf("FindRecord of a record inserted in the transaction: %v, %w", f, err)
		}
		l, err := tx.ListRecords(t.Context(), authors, loam.RecordQuery{Page: 1, PerPage: 10})
		if err != nil || l.TotalItems != 2 || len(l.Items) != 2 {
			return fmt.Errorf("ListRecords in the transaction: %v, %w; want 2 authors", l, err)
		}
		// Others read the committed state only.
		gone(t, s, authors, bob.ID)
		if err := tx.InsertRecord(t.Context(), members, fan); err != nil {
			return fmt.Errorf("insert with a relation to a record inserted in the transaction: %w", err)
		}
		// A delete follows onDelete to records written in the transaction
		// (mentor is setNull): the fan stays, pointing at no one.
		if err := tx.DeleteRecord(t.Context(), sch, authors, bob.ID, nil); err != nil {
			return fmt.Errorf("delete a record inserted in the transaction: %w", err)
		}
		if _, err := tx.GetRecord(t.Context(), authors, bob.ID); !errors.Is(err, loam.ErrNotFound) {
			return fmt.Errorf("GetRecord after the delete in the transaction: %v, want ErrNotFound", err)
		}
		f, err := tx.GetRecord(t.Context(), members, fan.ID)
		if err != nil || f.Data["mentor"] != nil {
			return fmt.Errorf("the fan after its mentor's delete: %v, %w; want mentor unset", f, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("InTx: %v", err)
	}
	gone(t, s, authors, bob.ID)
	if got := get(t, s, members, fan.ID); got.Data["mentor"] != nil {
		t.Fatalf("the fan's mentor after commit: %v, want unset", got.Data["mentor"])
	}
	sameRecord(t, authors, get(t, s, authors, ada.ID), ada)
}

func testTxRollback(t *testing.T, s loam.Store) {
	authors, members, ada := membersFixture(t, s)
	old := insert(t, s, members, map[string]any{"handle": "old"})
	kept := insert(t, s, members, map[string]any{"handle": "kept", "mentor": ada.ID})
	sch := schema(t, s)
	mark := lastSeq(t, s)
	refused := errors.New("refused by the caller")
	bob := newRecord(authors, map[string]any{"name": "Bob"})
	err := s.InTx(t.Context(), func(tx loam.RecordStore) error {
		if err := tx.InsertRecord(t.Context(), authors, bob); err != nil {
			return err
		}
		if err := tx.UpdateRecord(t.Context(), members, old, nextVersion(members, old, map[string]any{"handle": "new"}), false); err != nil {
			return err
		}
		if err := tx.DeleteRecord(t.Context(), sch, authors, ada.ID, nil); err != nil { // unsets kept's mentor
			return err
		}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("InTx: got %v, want the function's own error", err)
	}
	gone(t, s, authors, bob.ID)
	sameRecord(t, authors, get(t, s, authors, ada.ID), ada)
	sameRecord(t, members, get(t, s, members, old.ID), old)
	sameRecord(t, members, get(t, s, members, kept.ID), kept)
	wantEvents(t, s, mark)
	// The rolled-back values are free again.
	insert(t, s, members, map[string]any{"handle": "new"})
	bob2 := newRecord(authors, map[string]any{"name": "Bob"})
	bob2.ID = bob.ID
	if err := s.InsertRecord(t.Context(), authors, bob2); err != nil {
		t.Fatalf("insert with the id of the rolled-back record: %v", err)
	}
}
