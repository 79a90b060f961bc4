package storetest

import (
	"fmt"
	"slices"
	"testing"

	"loam"
)

// testRecordsWhereIn: RecordsWhereIn finds records by id, by a single
// relation and by a multi relation, in id order, with and without a cap per
// value, and takes a set of any size in one statement.
func testRecordsWhereIn(t *testing.T, open Opener) {
	t.Parallel()
	s := open(t)
	parents := createCollection(t, s, authorsCollection())
	// The multi relation is called value, like a column of SQLite's json_each
	// and of the element rows the store reads lists through.
	kids := createCollection(t, s, &loam.Collection{Name: "kids", Fields: []loam.Field{
		{Name: "label", Type: loam.TypeText},
		{Name: "ref", Type: loam.TypeRelation, Collection: "authors"},
		{Name: "value", Type: loam.TypeRelation, Collection: "authors", Multiple: true},
	}})
	var p []string
	for i := range 4 {
		p = append(p, insert(t, s, parents, map[string]any{"name": fmt.Sprintf("p%d", i)}).ID)
	}
	type kid struct {
		ref   string
		value []string
	}
	model := []kid{
		{p[0], []string{p[0], p[1]}},
		{p[0], []string{p[1]}},
		{p[1], []string{p[2], p[0]}},
		{p[0], nil},
		{"", []string{p[0]}},
		{p[2], []string{p[0], p[2]}},
		{p[0], []string{p[0]}},
	}
	var k []string
	for i, m := range model {
		data := map[string]any{"label": fmt.Sprintf("k%d", i), "ref": refValue(false), "value": refValue(true, m.value...)}
		if m.ref != "" {
			data["ref"] = m.ref
		}
		k = append(k, insert(t, s, kids, data).ID)
	}
	// want computes the answer from the model: the kids holding a value of
	// the set, at most perValue per value (the first by id), in id order.
	want := func(holds func(i int) []string, values []string, perValue int) []string {
		order := slices.Clone(k)
		slices.Sort(order)
		index := map[string]int{}
		for i, id := range k {
			index[id] = i
		}
		keep := map[string]bool{}
		for _, v := range values {
			n := 0
			for _, id := range order {
				if slices.Contains(holds(index[id]), v) && (perValue <= 0 || n < perValue) {
					keep[id] = true
					n++
				}
			}
		}
		var out []string
		for _, id := range order {
			if keep[id] {
				out = append(out, id)
			}
		}
		return out
	}
	byRef := func(i int) []string {
		if model[i].ref == "" {
			return nil
		}
		return []string{model[i].ref}
	}
	byValue := func(i int) []string { return model[i].value }
	byID := func(i int) []string { return []string{k[i]} }
	hostile := []string{"", `x' OR '1'='1`, `"`, `]`, `\`, `%`, "é", `["a"]`, "NULL"}
	big := make([]string, 0, 40_010)
	for i := range 40_000 {
		big = append(big, fmt.Sprintf("%015d", i))
	}
	big = append(big, p[1], k[2])
	for _, tt := range []struct {
		name     string
		field    string
		holds    func(i int) []string
		values   []string
		perValue int
	}{
		{"ids", loam.ColID, byID, []string{k[5], k[0], k[3], "zzzzzzzzzzzzzzz", k[0]}, 0},
		{"ids with a cap", loam.ColID, byID, []string{k[5], k[1]}, 1},
		{"single relation", "ref", byRef, []string{p[0], p[2]}, 0},
		{"single relation, capped", "ref", byRef, []string{p[0], p[1], p[2]}, 2},
		{"single relation, cap above the count", "ref", byRef, []string{p[0]}, 1000},
		{"single relation to no one", "ref", byRef, []string{p[3]}, 0},
		{"multi relation", "value", byValue, []string{p[0], p[2]}, 0},
		{"multi relation, capped", "value", byValue, []string{p[0], p[1], p[2]}, 2},
		{"multi relation, capped at one", "value", byValue, []string{p[0], p[1], p[2], p[3]}, 1},
		{"multi relation, one value", "value", byValue, []string{p[1]}, 0},
		{"values that look like SQL or JSON", "value", byValue, hostile, 0},
		{"hostile ids", loam.ColID, byID, hostile, 0},
		{"a set larger than any parameter limit", loam.ColID, byID, big, 0},
		{"a large set on a multi relation", "value", byValue, big, 3},
		{"no values", "ref", byRef, nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := s.RecordsWhereIn(t.Context(), kids, tt.field, tt.values, tt.perValue, nil)
			if err != nil {
				t.Fatalf("RecordsWhereIn(%s): %v", tt.field, err)
			}
			if got, w := ids(recs), want(tt.holds, tt.values, tt.perValue); !slices.Equal(got, w) {
				t.Fatalf("RecordsWhereIn(%s, %d values, %d):\n got %v\nwant %v", tt.field, len(tt.values), tt.perValue, got, w)
			}
			for _, r := range recs {
				i := slices.Index(k, r.ID)
				if r.Collection != kids.Name || r.Get("label") != fmt.Sprintf("k%d", i) {
					t.Errorf("record %s: collection %q, label %v; want the whole stored record", r.ID, r.Collection, r.Get("label"))
				}
			}
		})
	}
	for _, field := range []string{"label", "nope", `ref" OR 1=1 --`} {
		_, err := s.RecordsWhereIn(t.Context(), kids, field, []string{p[0]}, 0, nil)
		wantErr(t, err, loam.CodeInvalidQuery, "RecordsWhereIn by "+field)
	}
	// The parents read by id, as expanding the relations does.
	recs, err := s.RecordsWhereIn(t.Context(), parents, loam.ColID, []string{p[3], p[1]}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(recs); !slices.Equal(got, []string{p[1], p[3]}) || recs[0].Get("name") != "p1" {
		t.Fatalf("parents by id: %v, want [%s %s]", got, p[1], p[3])
	}
}
