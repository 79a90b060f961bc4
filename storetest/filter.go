package storetest

import (
	"cmp"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"loam"
	"loam/expr"
)

// The filter tests hold the store's SQL to the language's reference
// semantics, expr.Eval: for random filters over random records, the store
// must list exactly the records Eval accepts.

// LOAM_DIFF_CASES sets the number of random filters (2000 by default; the
// cursor test runs a tenth as many, at least 150); LOAM_DIFF_SEED replays a
// run (a failure prints its seed).
func diffSettings(t *testing.T) (cases int, seed uint64) {
	t.Helper()
	cases = 2000
	if v := os.Getenv("LOAM_DIFF_CASES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("LOAM_DIFF_CASES=%q: want a positive number", v)
		}
		cases = n
	}
	seed = uint64(time.Now().UnixNano())
	if v := os.Getenv("LOAM_DIFF_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("LOAM_DIFF_SEED=%q: want a number", v)
		}
		seed = n
	}
	return cases, seed
}

func testFilter(t *testing.T, open Opener) {
	runAll(t, open, []storeTest{
		{"Differential", testFilterDifferential},
		{"Cursors", testFilterCursors},
		{"UsesIndex", testFilterUsesIndex},
	})
}

// testFilterDifferential runs random filters through the store and through
// expr.Eval over the same records; the ids must be the same.
func testFilterDifferential(t *testing.T, s loam.Store) {
	cases, seed := diffSettings(t)
	w := newFilterWorld(t, s, seed, 30, 60, 80)
	g := newFilterGen(w, seed)
	env := &expr.Env{Now: filterNow}
	start := time.Now()
	refused, failures, none, every := 0, 0, 0, 0
	var refusals []string
	for i := range cases {
		src := g.filter(3)
		cond, err := expr.ParseCheck(src, w.schema, "posts", expr.Options{})
		if err != nil {
			refused++
			if len(refusals) < 5 {
				refusals = append(refusals, src+": "+err.Error())
			}
			continue
		}
		bound := expr.Bind(cond, env)
		want := w.matching(bound)
		switch len(want) {
		case 0:
			none++
		case len(w.recs["posts"]):
			every++
		}
		l, err := s.ListRecords(t.Context(), w.posts, loam.RecordQuery{Where: bound, Page: 1, PerPage: 500, SkipTotal: true})
		if err != nil {
			t.Errorf("seed %d, case %d: filter %s\nListRecords: %v", seed, i, src, err)
			failures++
		} else if got := ids(l.Items); !slices.Equal(got, want) {
			t.Errorf("seed %d, case %d: filter %s\n%s", seed, i, src, w.idDiff(got, want))
			failures++
		}
		if failures >= 5 {
			t.Fatalf("stopping after %d failures (seed %d; LOAM_DIFF_SEED=%d replays the run)", failures, seed, seed)
		}
	}
	if failures > 0 {
		t.Logf("LOAM_DIFF_SEED=%d replays the run", seed)
	}
	t.Logf("%d filters (seed %d) in %v: %d refused by the checker, %d matched no post, %d every post",
		cases, seed, time.Since(start).Round(time.Millisecond), refused, none, every)
	if len(refusals) > 0 {
		t.Logf("first refusals:\n%s", strings.Join(refusals, "\n"))
	}
	if refused*10 > cases {
		t.Errorf("the checker refused %d of %d generated filters (more than 10%%): the generator writes what the language does not allow; first ones:\n%s",
			refused, cases, strings.Join(refusals, "\n"))
	}
}

// idDiff describes how the store's ids differ from Eval's.
func (w *filterWorld) idDiff(got, want []string) string {
	var b strings.Builder
	var missing, extra []string
	for _, id := range want {
		if !slices.Contains(got, id) {
			missing = append(missing, id)
		}
	}
	for _, id := range got {
		if !slices.Contains(want, id) {
			extra = append(extra, id)
		}
	}
	// A few records are enough to see the fault; all would drown it.
	for i, id := range missing[:min(3, len(missing))] {
		b.WriteString("  missing " + strconv.Itoa(i+1) + " of " + strconv.Itoa(len(missing)) + " (Eval accepts it, the store does not): " + w.describe(id) + "\n")
	}
	for i, id := range extra[:min(3, len(extra))] {
		b.WriteString("  extra " + strconv.Itoa(i+1) + " of " + strconv.Itoa(len(extra)) + " (the store lists it, Eval refuses it): " + w.describe(id) + "\n")
	}
	if b.Len() == 0 {
		b.WriteString("  the same ids in another order:\n   got " + strings.Join(got, " ") + "\n  want " + strings.Join(want, " "))
	}
	return b.String()
}

// cursorKeys are the sort keys the cursor test draws from.
var cursorKeys = []string{"title", "views", "due", "-created", "author.name", "-title", "-views", "-due", "created", "-author.name",
	"rating", "-rating", "published", "-published", "author.age", "-author.score", "-id"}

// testFilterCursors pages through filtered, sorted lists by cursor, in
// pages of random sizes: the pages joined must be the one big page, which
// must be the matching records in the order the keys give (missing values
// first going up, last going down; text by code point; then id).
func testFilterCursors(t *testing.T, s loam.Store) {
	cases, seed := diffSettings(t)
	w := newFilterWorld(t, s, seed, 30, 60, 80)
	g := newFilterGen(w, seed)
	env := &expr.Env{Now: filterNow}
	for i := range max(150, cases/10) {
		var keys []loam.SortKey
		for range 1 + g.r.IntN(2) {
			k := g.pick(cursorKeys)
			name, desc := strings.CutPrefix(k, "-")
			p, err := expr.ResolvePath(w.schema, "posts", strings.Split(name, "."), expr.Options{})
			if err != nil {
				t.Fatalf("ResolvePath(%s): %v", name, err)
			}
			keys = append(keys, loam.SortKey{Field: name, Desc: desc, Path: p})
		}
		src := ""
		var where expr.Cond
		if g.r.IntN(2) == 0 {
			src = g.filter(2)
			if cond, err := expr.ParseCheck(src, w.schema, "posts", expr.Options{}); err == nil {
				where = expr.Bind(cond, env)
			} else {
				src = ""
			}
		}
		var want []string
		if where != nil {
			want = w.matching(where)
		} else {
			want = ids(w.recs["posts"])
		}
		slices.SortStableFunc(want, func(a, b string) int { return w.compareBy(keys, a, b) })
		what := func() string {
			var ks []string
			for _, k := range keys {
				ks = append(ks, map[bool]string{true: "-"}[k.Desc]+k.Field)
			}
			return "seed " + strconv.FormatUint(seed, 10) + ", case " + strconv.Itoa(i) + ": sort " + strings.Join(ks, ",") + ", filter " + strconv.Quote(src)
		}
		all, err := s.ListRecords(t.Context(), w.posts, loam.RecordQuery{Where: where, Sort: keys, Page: 1, PerPage: 500, SkipTotal: true})
		if err != nil {
			t.Fatalf("%s: ListRecords: %v", what(), err)
		}
		if got := ids(all.Items); !slices.Equal(got, want) {
			t.Fatalf("%s: one page:\n got %v\nwant %v\n%s", what(), got, want, w.orderDump(keys, want))
		}
		per := 1 + g.r.IntN(9)
		q := loam.RecordQuery{Where: where, Sort: keys, Page: 1, PerPage: per, SkipTotal: true}
		var paged []string
		for page := 0; ; page++ {
			if page > len(want)+1 {
				t.Fatalf("%s: pages of %d never end: %v", what(), per, paged)
			}
			l, err := s.ListRecords(t.Context(), w.posts, q)
			if err != nil {
				t.Fatalf("%s: page %d of %d after %+v: ListRecords: %v", what(), page+1, per, q.After, err)
			}
			paged = append(paged, ids(l.Items)...)
			if l.Next == nil {
				if len(l.Items) == per {
					t.Fatalf("%s: a full page of %d has no next cursor", what(), per)
				}
				break
			}
			q.After = l.Next
		}
		if !slices.Equal(paged, want) {
			t.Fatalf("%s: pages of %d by cursor:\n got %v\nwant %v\n%s", what(), per, paged, want, w.orderDump(keys, want))
		}
	}
}

// sortValue is a post's value for a sort key (nil when missing).
func (w *filterWorld) sortValue(k loam.SortKey, id string) any {
	r := w.byID["posts"][id]
	switch k.Field {
	case loam.ColCreated:
		return r.Created
	case loam.ColUpdated:
		return r.Updated
	case loam.ColID:
		return r.ID
	}
	if rel, field, ok := strings.Cut(k.Field, "."); ok { // author.name and the like
		a, _ := r.Data[rel].(string)
		if u := w.byID["users"][a]; u != nil {
			return u.Data[field]
		}
		return nil
	}
	return r.Data[k.Field]
}

// compareBy orders two posts by keys, then by id.
func (w *filterWorld) compareBy(keys []loam.SortKey, a, b string) int {
	for _, k := range keys {
		c := compareValues(w.sortValue(k, a), w.sortValue(k, b))
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return strings.Compare(a, b)
}

// compareValues orders two values of one field, a missing one first.
func compareValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string))
	case int64:
		return cmp.Compare(x, b.(int64))
	case float64:
		return cmp.Compare(x, b.(float64))
	case time.Time:
		return x.Compare(b.(time.Time))
	case bool:
		return cmp.Compare(map[bool]int{true: 1}[x], map[bool]int{true: 1}[b.(bool)])
	}
	panic("storetest: cannot order " + strconv.Quote(string(loam.ValueJSON(a))))
}

// orderDump lists posts with their sort values, for failure messages.
func (w *filterWorld) orderDump(keys []loam.SortKey, ids []string) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString("  " + id)
		for _, k := range keys {
			b.WriteString(" " + k.Field + "=" + string(loam.ValueJSON(w.sortValue(k, id))))
		}
		b.WriteString("\n")
	}
	return b.String()
}
