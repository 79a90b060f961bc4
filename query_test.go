package loam_test

import (
	"context"
	"encoding/json"

	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"loam"
)

// TestListByCursor pages through sorted lists by the cursor tokens clients
// get (NextCursor) in pages of 4, and checks the pages joined are the one
// big page: the tokens carry every kind of sort value (text, integer,
// float, bool, date, a relation's field, missing values) through their
// encoding and back.
func TestListByCursor(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, app *loam.App) {
		ctx := context.Background()
		for _, c := range []*loam.Collection{
			{Name: "people", Fields: []loam.Field{{Name: "name", Type: loam.TypeText}, {Name: "age", Type: loam.TypeNumber, Integer: true}}},
			{Name: "items", Fields: []loam.Field{
				{Name: "title", Type: loam.TypeText}, {Name: "n", Type: loam.TypeNumber, Integer: true},
				{Name: "x", Type: loam.TypeNumber}, {Name: "ok", Type: loam.TypeBool}, {Name: "due", Type: loam.TypeDate},
				{Name: "owner", Type: loam.TypeRelation, Collection: "people"},
			}},
		} {
			if _, err := app.CreateCollection(ctx, loam.System, c); err != nil {
				t.Fatal(err)
			}
		}
		r := rand.New(rand.NewPCG(1, 2))
		pick := func(values ...string) json.RawMessage {
			if r.IntN(5) == 0 {
				return json.RawMessage("null")
			}
			return json.RawMessage(values[r.IntN(len(values))])
		}
		var people []string
		for range 6 {
			rec, err := app.CreateRecord(ctx, loam.System, "people", loam.Body{
				"name": pick(`"a"`, `"B"`, `"é"`, `"a b"`), "age": pick("1", "2", "-3")})
			if err != nil {
				t.Fatal(err)
			}
			people = append(people, `"`+rec.ID+`"`)
		}
		for range 40 {
			_, err := app.CreateRecord(ctx, loam.System, "items", loam.Body{
				"title": pick(`"a"`, `"A"`, `"ab"`, `"é"`, `"z\"q"`), "n": pick("0", "1", "-1", "9007199254740991"),
				"x": pick("0.5", "-2.25", "1e-7", "3"), "ok": pick("true", "false"),
				"due":   pick(`"2026-01-01T00:00:00.000Z"`, `"2026-01-01T00:00:00.001Z"`, `"1999-12-31T23:59:59.999Z"`),
				"owner": pick(people...)})
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, sort := range []string{"title", "-title", "n", "-n", "x", "-x", "ok", "-ok", "due", "-due",
			"owner.name", "-owner.name", "owner.age,-title", "-owner.age,x", "ok,due,-n", "-created", "updated", "id", "-id"} {
			keys := parseSort(sort)
			all, err := app.ListRecords(ctx, loam.System, "items", loam.ListQuery{Sort: keys, PerPage: 500})
			if err != nil {
				t.Fatalf("sort %s: %v", sort, err)
			}
			var got []string
			q := loam.ListQuery{Sort: keys, PerPage: 4, SkipTotal: true}
			for page := 0; ; page++ {
				if page > 20 {
					t.Fatalf("sort %s: pages never end", sort)
				}
				l, err := app.ListRecords(ctx, loam.System, "items", q)
				if err != nil {
					t.Fatalf("sort %s, page %d (cursor %q): %v", sort, page+1, q.Cursor, err)
				}
				for _, rec := range l.Items {
					got = append(got, rec.ID)
				}
				if l.NextCursor == "" {
					break
				}
				q.Cursor, q.Page = l.NextCursor, 0
			}
			var want []string
			for _, rec := range all.Items {
				want = append(want, rec.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("sort %s: pages by cursor\n got %v\nwant %v", sort, got, want)
			}
		}
	})
}

// parseSort reads a sort parameter as the API does.
func parseSort(s string) []loam.SortKey {
	var keys []loam.SortKey
	for _, part := range strings.Split(s, ",") {
		name, desc := strings.CutPrefix(part, "-")
		keys = append(keys, loam.SortKey{Field: name, Desc: desc})
	}
	return keys
}
