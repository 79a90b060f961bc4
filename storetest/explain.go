package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"

	"loam"
	"loam/expr"
)

// planner is what a store offers to show how it runs a list: both SQL
// stores do (sqlstore.Store).
type planner interface {
	// ExplainList returns the database's plan of the list query.
	ExplainList(ctx context.Context, c *loam.Collection, q loam.RecordQuery) (string, error)
	// Analyze refreshes the planner's statistics.
	Analyze(ctx context.Context) error
}

// testFilterUsesIndex checks that a filter on an indexed number field is
// served by the collection's index, not by reading the whole table, once
// the table holds enough rows for the planner to care.
func testFilterUsesIndex(t *testing.T, s loam.Store) {
	p, ok := s.(planner)
	if !ok {
		t.Fatalf("%T has no ExplainList and Analyze: the test cannot see its plans", s)
	}
	c := createCollection(t, s, &loam.Collection{Name: "events", Fields: []loam.Field{
		{Name: "views", Type: loam.TypeNumber, Integer: true},
		{Name: "title", Type: loam.TypeText},
	}, Indexes: []loam.Index{{Name: "events_views", Fields: []string{"views"}}}})
	const rows, workers = 5000, 4
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < rows; i += workers {
				r := newRecord(c, map[string]any{"views": int64(i), "title": "t"})
				if err := s.InsertRecord(t.Context(), c, r); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("InsertRecord: %v", err)
	}
	if err := p.Analyze(t.Context()); err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	schema := loam.NewSchema(0, []*loam.Collection{c})
	cond, err := expr.ParseCheck("views = 123", schema, c.Name, expr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q := loam.RecordQuery{Where: expr.Bind(cond, &expr.Env{Now: loam.Now()}), PerPage: 30, SkipTotal: true}
	plan, err := p.ExplainList(t.Context(), c, q)
	if err != nil {
		t.Fatalf("ExplainList: %v", err)
	}
	// Indexes a collection defines are named _<collection id>_x<hash>.
	if !strings.Contains(plan, "_"+c.ID+"_x") {
		t.Errorf("views = 123 does not use the index on views:\n%s", plan)
	}
	for _, scan := range []string{`"Seq Scan"`, "SCAN t\n"} {
		if strings.Contains(plan, scan) {
			t.Errorf("views = 123 reads the whole table (%s):\n%s", scan, plan)
		}
	}
	l, err := s.ListRecords(t.Context(), c, q)
	if err != nil {
		t.Fatalf("ListRecords: %v", err)
	}
	if len(l.Items) != 1 || l.Items[0].Get("views") != int64(123) {
		t.Errorf("views = 123 lists %d records, want the one with 123", len(l.Items))
	}
}
