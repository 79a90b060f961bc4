package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"loam"
)

// listFixture creates 25 rows with distinct titles, a group (0..2), distinct
// scores and distinct created times in an order unrelated to their ids.
func listFixture(t *testing.T, s loam.Store) (*loam.Collection, []*loam.Record) {
	t.Helper()
	c := createCollection(t, s, &loam.Collection{Name: "rows", Fields: []loam.Field{
		{Name: "title", Type: loam.TypeText},
		{Name: "grp", Type: loam.TypeNumber, Integer: true},
		{Name: "score", Type: loam.TypeNumber},
	}})
	base := date(t, "2026-01-02T03:04:05.678Z")
	var recs []*loam.Record
	for i := range 25 {
		r := newRecord(c, map[string]any{
			"title": fmt.Sprintf("t%02d", (i*7)%25),
			"grp":   int64(i % 3),
			"score": float64((i*11)%25) / 2,
		})
		r.Created = base.Add(time.Duration((i*13)%25) * time.Second)
		r.Updated = r.Created
		if err := s.InsertRecord(t.Context(), c, r); err != nil {
			t.Fatalf("InsertRecord: %v", err)
		}
		recs = append(recs, r)
	}
	return c, recs
}

// list runs ListRecords and checks the page it echoes.
func list(t *testing.T, s loam.Store, c *loam.Collection, q loam.RecordQuery) *loam.RecordList {
	t.Helper()
	l, err := s.ListRecords(t.Context(), c, q)
	if err != nil {
		t.Fatalf("ListRecords(%+v): %v", q, err)
	}
	if l.Page != q.Page || l.PerPage != q.PerPage {
		t.Errorf("ListRecords(%+v): page %d, perPage %d; want them echoed", q, l.Page, l.PerPage)
	}
	return l
}

// ids returns the ids of records, in order.
func ids(recs []*loam.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// sortedBy returns recs ordered by cmp, stable.
func sortedBy(recs []*loam.Record, f func(a, b *loam.Record) int) []*loam.Record {
	out := slices.Clone(recs)
	slices.SortStableFunc(out, f)
	return out
}

func byString(field string) func(a, b *loam.Record) int {
	return func(a, b *loam.Record) int { return cmp.Compare(a.Get(field).(string), b.Get(field).(string)) }
}

func desc(f func(a, b *loam.Record) int) func(a, b *loam.Record) int {
	return func(a, b *loam.Record) int { return f(b, a) }
}

func testList(t *testing.T, open Opener) {
	runAll(t, open, []storeTest{
		{"DefaultOrderIsID", func(t *testing.T, s loam.Store) {
			c, recs := listFixture(t, s)
			l := list(t, s, c, loam.RecordQuery{Page: 1, PerPage: 100})
			want := sortedBy(recs, func(a, b *loam.Record) int { return cmp.Compare(a.ID, b.ID) })
			if !slices.Equal(ids(l.Items), ids(want)) {
				t.Fatalf("default order:\n got %v\nwant %v (id ascending)", ids(l.Items), ids(want))
			}
			if l.TotalItems != 25 {
				t.Errorf("TotalItems: got %d, want 25", l.TotalItems)
			}
			for i, r := range want {
				sameRecord(t, c, l.Items[i], r)
			}
		}},
		{"Pages", func(t *testing.T, s loam.Store) {
			c, recs := listFixture(t, s)
			want := ids(sortedBy(recs, func(a, b *loam.Record) int { return cmp.Compare(a.ID, b.ID) }))
			var got []string
			for page, n := range []int{10, 10, 5, 0} {
				l := list(t, s, c, loam.RecordQuery{Page: page + 1, PerPage: 10})
				if len(l.Items) != n {
					t.Errorf("page %d of 10: got %d items, want %d", page+1, len(l.Items), n)
				}
				if l.TotalItems != 25 {
					t.Errorf("page %d: TotalItems = %d, want 25", page+1, l.TotalItems)
				}
				got = append(got, ids(l.Items)...)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("pages joined:\n got %v\nwant %v", got, want)
			}
		}},
		{"SkipTotal", func(t *testing.T, s loam.Store) {
			c, _ := listFixture(t, s)
			l := list(t, s, c, loam.RecordQuery{Page: 2, PerPage: 10, SkipTotal: true})
			if l.TotalItems != -1 {
				t.Errorf("TotalItems with SkipTotal: got %d, want -1", l.TotalItems)
			}
			if len(l.Items) != 10 {
				t.Errorf("items with SkipTotal: got %d, want 10", len(l.Items))
			}
		}},
		{"Sort", testListSort},
		{"DeepPages", testDeepPages},
		{"NullsSortFirst", testNullsSortFirst},
		{"UnknownSortField", func(t *testing.T, s loam.Store) {
			c, _ := listFixture(t, s)
			_, err := s.ListRecords(t.Context(), c, loam.RecordQuery{Sort: []loam.SortKey{{Field: "nope"}}, Page: 1, PerPage: 10})
			wantErr(t, err, loam.CodeInvalidSort, "sort by an unknown field")
			_, err = s.FindRecord(t.Context(), c, "nope", "x")
			wantErr(t, err, loam.CodeInvalidQuery, "FindRecord by an unknown field")
		}},
		{"TextSortsByCodePoint", func(t *testing.T, s loam.Store) {
			c := createCollection(t, s, &loam.Collection{Name: "words", Fields: []loam.Field{{Name: "w", Type: loam.TypeText}}})
			var recs []*loam.Record
			for _, w := range []string{"b", "B", "a", "A", "é", "Z", "É", "_", "0", "ab", "a b", "Ä", "z", "😀", "ｚ"} {
				recs = append(recs, insert(t, s, c, map[string]any{"w": w}))
			}
			l := list(t, s, c, loam.RecordQuery{Sort: []loam.SortKey{{Field: "w"}}, Page: 1, PerPage: 50})
			want := sortedBy(recs, byString("w")) // Go compares strings bytewise: UTF-8 keeps code point order
			var gotW, wantW []any
			for _, r := range l.Items {
				gotW = append(gotW, r.Get("w"))
			}
			for _, r := range want {
				wantW = append(wantW, r.Get("w"))
			}
			if !slices.Equal(gotW, wantW) {
				t.Fatalf("sort by text:\n got %q\nwant %q (code point order)", gotW, wantW)
			}
		}},
	})
}

func testListSort(t *testing.T, s loam.Store) {
	c, recs := listFixture(t, s)
	byGrp := func(a, b *loam.Record) int { return cmp.Compare(a.Get("grp").(int64), b.Get("grp").(int64)) }
	byScore := func(a, b *loam.Record) int { return cmp.Compare(a.Get("score").(float64), b.Get("score").(float64)) }
	byCreated := func(a, b *loam.Record) int { return a.Created.Compare(b.Created) }
	then := func(fs ...func(a, b *loam.Record) int) func(a, b *loam.Record) int {
		return func(a, b *loam.Record) int {
			for _, f := range fs {
				if d := f(a, b); d != 0 {
					return d
				}
			}
			return 0
		}
	}
	tests := []struct {
		name string
		sort []loam.SortKey
		want func(a, b *loam.Record) int
	}{
		{"TitleAsc", []loam.SortKey{{Field: "title"}}, byString("title")},
		{"TitleDesc", []loam.SortKey{{Field: "title", Desc: true}}, desc(byString("title"))},
		{"ScoreDesc", []loam.SortKey{{Field: "score", Desc: true}}, desc(byScore)},
		{"CreatedDesc", []loam.SortKey{{Field: "created", Desc: true}}, desc(byCreated)},
		{"GroupAscTitleDesc", []loam.SortKey{{Field: "grp"}, {Field: "title", Desc: true}}, then(byGrp, desc(byString("title")))},
		{"GroupDescScoreAsc", []loam.SortKey{{Field: "grp", Desc: true}, {Field: "score"}}, then(desc(byGrp), byScore)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := ids(sortedBy(recs, tt.want))
			l := list(t, s, c, loam.RecordQuery{Sort: tt.sort, Page: 1, PerPage: 30})
			if got := ids(l.Items); !slices.Equal(got, want) {
				t.Fatalf("sort %+v:\n got %v\nwant %v", tt.sort, got, want)
			}
			// The second page of a sorted list continues the first.
			l2 := list(t, s, c, loam.RecordQuery{Sort: tt.sort, Page: 2, PerPage: 10})
			if got := ids(l2.Items); !slices.Equal(got, want[10:20]) {
				t.Fatalf("sort %+v, page 2 of 10:\n got %v\nwant %v", tt.sort, got, want[10:20])
			}
			if l2.TotalItems != 25 {
				t.Errorf("sort %+v: TotalItems = %d, want 25", tt.sort, l2.TotalItems)
			}
		})
	}
}

// testNullsSortFirst: both dialects order a missing value the same way, as
// the smallest: first ascending, last descending (SQLite's own order;
// PostgreSQL needs NULLS FIRST / NULLS LAST to match).
func testNullsSortFirst(t *testing.T, s loam.Store) {
	c := createCollection(t, s, &loam.Collection{Name: "sparse", Fields: []loam.Field{
		{Name: "w", Type: loam.TypeText},
		{Name: "n", Type: loam.TypeNumber},
	}})
	b := insert(t, s, c, map[string]any{"w": "b", "n": 2.0})
	none := insert(t, s, c, map[string]any{})
	a := insert(t, s, c, map[string]any{"w": "a", "n": 1.0})
	for _, tt := range []struct {
		key  loam.SortKey
		want []string
	}{
		{loam.SortKey{Field: "w"}, []string{none.ID, a.ID, b.ID}},
		{loam.SortKey{Field: "w", Desc: true}, []string{b.ID, a.ID, none.ID}},
		{loam.SortKey{Field: "n"}, []string{none.ID, a.ID, b.ID}},
		{loam.SortKey{Field: "n", Desc: true}, []string{b.ID, a.ID, none.ID}},
	} {
		l := list(t, s, c, loam.RecordQuery{Sort: []loam.SortKey{tt.key}, Page: 1, PerPage: 10})
		if got := ids(l.Items); !slices.Equal(got, tt.want) {
			t.Errorf("sort %+v with a missing value:\n got %v\nwant %v (missing value first ascending, last descending)", tt.key, got, tt.want)
		}
	}
}

// testDeepPages reads pages on both sides of the offset from which the store
// may switch its query plan, in several orders, and checks every page is the
// matching slice of the whole ordered set.
func testDeepPages(t *testing.T, s loam.Store) {
	c := createCollection(t, s, &loam.Collection{Name: "many", Fields: []loam.Field{
		{Name: "grp", Type: loam.TypeNumber, Integer: true},
	}, Indexes: []loam.Index{{Name: "many_grp", Fields: []string{"grp"}}}})
	var recs []*loam.Record
	for i := range 450 {
		recs = append(recs, insert(t, s, c, map[string]any{"grp": int64(i % 7)}))
	}
	byID := func(a, b *loam.Record) int { return cmp.Compare(a.ID, b.ID) }
	byGrp := func(a, b *loam.Record) int { return cmp.Compare(a.Get("grp").(int64), b.Get("grp").(int64)) }
	for _, tc := range []struct {
		name string
		sort []loam.SortKey
		cmp  func(a, b *loam.Record) int
	}{
		{"id", nil, byID},
		{"-id", []loam.SortKey{{Field: "id", Desc: true}}, desc(byID)},
		{"grp", []loam.SortKey{{Field: "grp"}}, func(a, b *loam.Record) int { return cmp.Or(byGrp(a, b), byID(a, b)) }},
		{"-grp", []loam.SortKey{{Field: "grp", Desc: true}}, func(a, b *loam.Record) int { return cmp.Or(byGrp(b, a), byID(a, b)) }},
	} {
		want := ids(sortedBy(recs, tc.cmp))
		for _, page := range []int{9, 10, 11, 12, 15, 16} { // perPage 30: offsets 240 to 450, the last page empty
			l := list(t, s, c, loam.RecordQuery{Sort: tc.sort, Page: page, PerPage: 30, SkipTotal: true})
			lo, hi := min((page-1)*30, len(want)), min(page*30, len(want))
			if !slices.Equal(ids(l.Items), want[lo:hi]) {
				t.Fatalf("sort %s, page %d:\n got %v\nwant %v", tc.name, page, ids(l.Items), want[lo:hi])
			}
		}
	}
}
