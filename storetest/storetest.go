// Package storetest is the conformance suite of the loam.Store port. Every
// adapter (sqlite, postgres) runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) loam.Store { return openFresh(t) })
//	}
//
// The suite talks to the store only through loam.Store, so it states the
// behaviour every adapter must show, not how an adapter gets there. Each
// subtest opens its own fresh store and runs in parallel with the others.
package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"loam"
)

// Opener returns a fresh, empty, already migrated store. It registers the
// store's Close (and any cleanup of the database) with t.Cleanup.
type Opener func(t *testing.T) loam.Store

// Run runs the whole conformance suite against stores made by open.
func Run(t *testing.T, open func(t *testing.T) loam.Store) {
	t.Helper()
	o := Opener(open)
	t.Run("Migrate", func(t *testing.T) { testMigrate(t, o) })
	t.Run("Collections", func(t *testing.T) { testCollections(t, o) })
	t.Run("SchemaChanges", func(t *testing.T) { testSchemaChanges(t, o) })
	t.Run("Records", func(t *testing.T) { testRecords(t, o) })
	t.Run("Relations", func(t *testing.T) { testRelations(t, o) })
	t.Run("List", func(t *testing.T) { testList(t, o) })
	t.Run("RecordsWhereIn", func(t *testing.T) { testRecordsWhereIn(t, o) })
	t.Run("Events", func(t *testing.T) { testEvents(t, o) })
	t.Run("EventData", func(t *testing.T) { testEventData(t, o) })
	t.Run("Atomicity", func(t *testing.T) { testAtomicity(t, o) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, o) })
	t.Run("Auth", func(t *testing.T) { testAuth(t, o) })
	t.Run("OAuth2", func(t *testing.T) { testOAuth2(t, o) })
	t.Run("MFA", func(t *testing.T) { testMFA(t, o) })
	t.Run("APIKeys", func(t *testing.T) { testAPIKeys(t, o) })
	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, o) })
	t.Run("Tx", func(t *testing.T) { testTx(t, o) })
	t.Run("Filter", func(t *testing.T) { testFilter(t, o) })
	t.Run("Jobs", func(t *testing.T) { testJobs(t, o) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, o) })
}

// storeTest is one behaviour, run on its own fresh store.
type storeTest struct {
	name string
	fn   func(t *testing.T, s loam.Store)
}

// runAll runs each test as a parallel subtest with its own store.
func runAll(t *testing.T, open Opener, tests []storeTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, open(t))
		})
	}
}

// ---- collections ----

// ptr returns a pointer to v (for Field.Min and Field.Max).
func ptr(v float64) *float64 { return &v }

// raw is a JSON literal, for defaults and json values.
func raw(s string) json.RawMessage { return json.RawMessage(s) }

// createCollection validates c (as the core service does before it reaches the
// store), creates it and returns the stored definition from Collections().
func createCollection(t *testing.T, s loam.Store, c *loam.Collection) *loam.Collection {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("collection %q does not validate: %v", c.Name, err)
	}
	if err := s.CreateCollection(t.Context(), c); err != nil {
		t.Fatalf("CreateCollection(%q): %v", c.Name, err)
	}
	return collection(t, s, c.Name)
}

// collection returns the stored definition of the collection called name.
func collection(t *testing.T, s loam.Store, name string) *loam.Collection {
	t.Helper()
	c := findCollection(t, s, name)
	if c == nil {
		t.Fatalf("Collections() holds no collection %q", name)
	}
	return c
}

// findCollection returns the stored collection called name, or nil.
func findCollection(t *testing.T, s loam.Store, name string) *loam.Collection {
	t.Helper()
	cols, _, err := s.Collections(t.Context())
	if err != nil {
		t.Fatalf("Collections: %v", err)
	}
	var found *loam.Collection
	for _, c := range cols {
		if c.Name == name {
			if found != nil {
				t.Fatalf("Collections() holds %q twice", name)
			}
			found = c
		}
	}
	return found
}

// changeCollection applies edit to a copy of the stored collection called
// name, validates it and stores it with UpdateCollection. It returns the error
// of UpdateCollection; a definition that does not validate fails the test.
func changeCollection(t *testing.T, s loam.Store, name string, edit func(c *loam.Collection)) error {
	t.Helper()
	old := collection(t, s, name)
	next := old.Clone()
	edit(next)
	if err := next.Validate(); err != nil {
		t.Fatalf("changed collection %q does not validate: %v", name, err)
	}
	return s.UpdateCollection(t.Context(), old, next)
}

// mustChangeCollection is changeCollection that must succeed; it returns the
// stored definition afterwards (under its new name when edit renamed it).
func mustChangeCollection(t *testing.T, s loam.Store, name string, edit func(c *loam.Collection)) *loam.Collection {
	t.Helper()
	var newName string
	err := changeCollection(t, s, name, func(c *loam.Collection) {
		edit(c)
		newName = c.Name
	})
	if err != nil {
		t.Fatalf("UpdateCollection(%q): %v", name, err)
	}
	return collection(t, s, newName)
}

// definition is the comparable part of a collection definition: everything
// but the created and updated times, as JSON.
func definition(t *testing.T, c *loam.Collection) string {
	t.Helper()
	d := c.Clone()
	d.Created, d.Updated = time.Time{}, time.Time{}
	if d.Indexes == nil {
		d.Indexes = []loam.Index{}
	}
	for i := range d.Fields {
		if len(d.Fields[i].Default) > 0 {
			var b bytes.Buffer
			if err := json.Compact(&b, d.Fields[i].Default); err == nil {
				d.Fields[i].Default = b.Bytes()
			}
		}
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatalf("marshal collection %q: %v", c.Name, err)
	}
	return string(b)
}

// schemaVersion returns the store's schema version and checks that
// Collections() reports the same one.
func schemaVersion(t *testing.T, s loam.Store) int64 {
	t.Helper()
	v, err := s.SchemaVersion(t.Context())
	if err != nil {
		t.Fatalf("SchemaVersion: %v", err)
	}
	_, cv, err := s.Collections(t.Context())
	if err != nil {
		t.Fatalf("Collections: %v", err)
	}
	if cv != v {
		t.Fatalf("Collections() reports schema version %d, SchemaVersion() %d", cv, v)
	}
	return v
}

// schema is the snapshot DeleteRecord needs, built from the stored collections.
func schema(t *testing.T, s loam.Store) *loam.Schema {
	t.Helper()
	cols, v, err := s.Collections(t.Context())
	if err != nil {
		t.Fatalf("Collections: %v", err)
	}
	return loam.NewSchema(v, cols)
}

// ---- records ----

// newRecord builds a record as the core service would hand it to the store:
// a fresh id, created = updated = now, autodate fields set from those times.
func newRecord(c *loam.Collection, data map[string]any) *loam.Record {
	now := loam.Now()
	r := &loam.Record{ID: loam.NewID(), Collection: c.Name, Created: now, Updated: now, Data: map[string]any{}}
	for k, v := range data {
		r.Data[k] = v
	}
	for _, f := range c.Fields {
		if f.Type != loam.TypeAutodate {
			continue
		}
		if _, set := r.Data[f.Name]; !set {
			r.Data[f.Name] = now
		}
	}
	return r
}

// insert writes a new record with data and returns it as sent.
func insert(t *testing.T, s loam.Store, c *loam.Collection, data map[string]any) *loam.Record {
	t.Helper()
	r := newRecord(c, data)
	if err := s.InsertRecord(t.Context(), c, r); err != nil {
		t.Fatalf("InsertRecord into %q: %v", c.Name, err)
	}
	return r
}

// nextVersion returns a copy of prev with changes applied and a later updated
// time (onUpdate autodate fields follow it), as the core service builds an update.
func nextVersion(c *loam.Collection, prev *loam.Record, changes map[string]any) *loam.Record {
	r := prev.Clone()
	r.Updated = prev.Updated.Add(time.Second)
	for k, v := range changes {
		r.Data[k] = v
	}
	for _, f := range c.Fields {
		if f.Type == loam.TypeAutodate && f.OnUpdate {
			r.Data[f.Name] = r.Updated
		}
	}
	return r
}

// update writes changes over prev and returns the new version as sent.
func update(t *testing.T, s loam.Store, c *loam.Collection, prev *loam.Record, changes map[string]any) *loam.Record {
	t.Helper()
	r := nextVersion(c, prev, changes)
	if err := s.UpdateRecord(t.Context(), c, prev, r, false); err != nil {
		t.Fatalf("UpdateRecord %s/%s: %v", c.Name, prev.ID, err)
	}
	return r
}

// get reads a record that must exist.
func get(t *testing.T, s loam.Store, c *loam.Collection, id string) *loam.Record {
	t.Helper()
	r, err := s.GetRecord(t.Context(), c, id)
	if err != nil {
		t.Fatalf("GetRecord %s/%s: %v", c.Name, id, err)
	}
	return r
}

// gone checks that a record does not exist.
func gone(t *testing.T, s loam.Store, c *loam.Collection, id string) {
	t.Helper()
	_, err := s.GetRecord(t.Context(), c, id)
	if !errors.Is(err, loam.ErrNotFound) {
		t.Fatalf("GetRecord %s/%s: got error %v, want ErrNotFound (the record should not exist)", c.Name, id, err)
	}
}

// all returns every record of c in the default order (id ascending).
func all(t *testing.T, s loam.Store, c *loam.Collection) []*loam.Record {
	t.Helper()
	var out []*loam.Record
	for page := 1; ; page++ {
		l, err := s.ListRecords(t.Context(), c, loam.RecordQuery{Page: page, PerPage: 100, SkipTotal: true})
		if err != nil {
			t.Fatalf("ListRecords %q page %d: %v", c.Name, page, err)
		}
		out = append(out, l.Items...)
		if len(l.Items) < 100 {
			return out
		}
		if page > 1000 {
			t.Fatalf("ListRecords %q never ends", c.Name)
		}
	}
}

// count returns the number of records of c, from a listing with totals.
func count(t *testing.T, s loam.Store, c *loam.Collection) int64 {
	t.Helper()
	l, err := s.ListRecords(t.Context(), c, loam.RecordQuery{Page: 1, PerPage: 1})
	if err != nil {
		t.Fatalf("ListRecords %q: %v", c.Name, err)
	}
	return l.TotalItems
}

// wantCount checks the number of records of c.
func wantCount(t *testing.T, s loam.Store, c *loam.Collection, want int64) {
	t.Helper()
	if got := count(t, s, c); got != want {
		t.Fatalf("collection %q holds %d records, want %d", c.Name, got, want)
	}
	if got := int64(len(all(t, s, c))); got != want {
		t.Fatalf("listing every record of %q gives %d records, want %d", c.Name, got, want)
	}
}

// sameRecord checks that got holds what want holds: id, collection, times and
// the value of every field of c.
func sameRecord(t *testing.T, c *loam.Collection, got, want *loam.Record) {
	t.Helper()
	if got == nil {
		t.Fatalf("record %s: got nil", want.ID)
	}
	if got.ID != want.ID {
		t.Errorf("record id: got %q, want %q", got.ID, want.ID)
	}
	if got.Collection != c.Name {
		t.Errorf("record %s: Collection = %q, want %q", want.ID, got.Collection, c.Name)
	}
	checkTime(t, want.ID+".created", got.Created, want.Created)
	checkTime(t, want.ID+".updated", got.Updated, want.Updated)
	for i := range c.Fields {
		f := &c.Fields[i]
		if msg := valueDiff(f, got.Get(f.Name), want.Get(f.Name)); msg != "" {
			t.Errorf("record %s field %q (%s): %s", want.ID, f.Name, f.Type, msg)
		}
	}
}

// checkTime checks a stored time: equal to want, in UTC.
func checkTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s: got %s, want %s", what, got.Format(loam.TimeLayout), want.Format(loam.TimeLayout))
	}
	if got.Location() != time.UTC {
		t.Errorf("%s: got time in location %q, want UTC", what, got.Location())
	}
}

// valueDiff describes how got differs from want for a value of field f, in
// the canonical types of loam.Record; "" when they are the same.
func valueDiff(f *loam.Field, got, want any) string {
	if want == nil {
		if got != nil {
			return fmt.Sprintf("got %#v, want nil (no value)", got)
		}
		return ""
	}
	if got == nil {
		return fmt.Sprintf("got nil, want %#v", want)
	}
	switch w := want.(type) {
	case time.Time:
		g, ok := got.(time.Time)
		if !ok {
			return fmt.Sprintf("got %T %#v, want time.Time", got, got)
		}
		if !g.Equal(w) {
			return fmt.Sprintf("got %s, want %s", g.Format(loam.TimeLayout), w.Format(loam.TimeLayout))
		}
		if g.Location() != time.UTC {
			return fmt.Sprintf("got a time in location %q, want UTC", g.Location())
		}
		return ""
	case json.RawMessage:
		g, ok := got.(json.RawMessage)
		if !ok {
			return fmt.Sprintf("got %T %#v, want json.RawMessage", got, got)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, g); err != nil || !bytes.Equal(b.Bytes(), g) {
			return fmt.Sprintf("got %s, want compact JSON", g)
		}
		// PostgreSQL's jsonb may reorder object keys: compare meaning, not bytes.
		var gv, wv any
		if err := json.Unmarshal(g, &gv); err != nil {
			return fmt.Sprintf("got invalid JSON %s", g)
		}
		if err := json.Unmarshal(w, &wv); err != nil {
			return fmt.Sprintf("test bug: want invalid JSON %s", w)
		}
		if !reflect.DeepEqual(gv, wv) {
			return fmt.Sprintf("got %s, want %s", g, w)
		}
		return ""
	}
	if reflect.TypeOf(got) != reflect.TypeOf(want) {
		return fmt.Sprintf("got %T %#v, want %T %#v", got, got, want, want)
	}
	if !reflect.DeepEqual(got, want) {
		return fmt.Sprintf("got %#v, want %#v", got, want)
	}
	return ""
}

// ---- errors ----

// wantErr checks that err is the domain error with the given code.
func wantErr(t *testing.T, err error, code, what string) *loam.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want %s", what, code)
	}
	var e *loam.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: got %T %v, want a *loam.Error with code %s", what, err, err, code)
	}
	if e.Code != code {
		t.Fatalf("%s: got code %s (%v), want %s", what, e.Code, err, code)
	}
	return e
}

// wantFieldErr checks that err is the domain error with the given code and
// that it names field with the given field code ("" accepts any field code).
func wantFieldErr(t *testing.T, err error, code, field, fieldCode, what string) {
	t.Helper()
	e := wantErr(t, err, code, what)
	fe, ok := e.Fields[field]
	if !ok {
		t.Fatalf("%s: error %v does not name field %q (Fields = %v)", what, err, field, e.Fields)
	}
	if fieldCode != "" && fe.Code != fieldCode {
		t.Fatalf("%s: field %q has code %q, want %q", what, field, fe.Code, fieldCode)
	}
}

// ---- events ----

// lastSeq returns the sequence of the newest event (0 when there is none).
func lastSeq(t *testing.T, s loam.Store) int64 {
	t.Helper()
	evs := eventsAfter(t, s, 0)
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].Seq
}

// eventsAfter returns every event with a sequence above after, checking that
// they come oldest first with increasing sequences.
func eventsAfter(t *testing.T, s loam.Store, after int64) []loam.Event {
	t.Helper()
	const limit = 50
	var out []loam.Event
	for cursor := after; ; {
		evs, err := s.Events(t.Context(), cursor, limit)
		if err != nil {
			t.Fatalf("Events(%d, %d): %v", cursor, limit, err)
		}
		if len(evs) > limit {
			t.Fatalf("Events(%d, %d) returned %d events, more than the limit", cursor, limit, len(evs))
		}
		for _, e := range evs {
			if e.Seq <= cursor {
				t.Fatalf("Events(%d, ...) returned seq %d, not above the previous one (%d)", after, e.Seq, cursor)
			}
			if e.Time.IsZero() {
				t.Errorf("event %d has no time", e.Seq)
			}
			cursor = e.Seq
			out = append(out, e)
		}
		if len(evs) < limit {
			return out
		}
	}
}

// ev is the comparable part of an event.
type ev struct{ Collection, RecordID, Action string }

func (e ev) String() string { return e.Action + " " + e.Collection + "/" + e.RecordID }

// evsOf strips sequences and times from events.
func evsOf(evs []loam.Event) []ev {
	out := make([]ev, len(evs))
	for i, e := range evs {
		out[i] = ev{e.Collection, e.RecordID, e.Action}
	}
	return out
}

// wantEvents checks the events after seq, in order.
func wantEvents(t *testing.T, s loam.Store, after int64, want ...ev) {
	t.Helper()
	got := evsOf(eventsAfter(t, s, after))
	if !reflect.DeepEqual(got, append([]ev{}, want...)) {
		t.Fatalf("events after %d:\n got %v\nwant %v", after, got, want)
	}
}

// wantEventSet checks the events after seq in any order (cascades may visit
// children in any order).
func wantEventSet(t *testing.T, s loam.Store, after int64, want ...ev) {
	t.Helper()
	got := evsOf(eventsAfter(t, s, after))
	key := func(l []ev) []string {
		k := make([]string, len(l))
		for i, e := range l {
			k[i] = e.String()
		}
		sort.Strings(k)
		return k
	}
	if g, w := key(got), key(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("events after %d (any order):\n got %v\nwant %v", after, g, w)
	}
}
