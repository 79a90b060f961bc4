package api_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"loam"
)

// TestFailedWritesLeaveNothing: a write that fails part-way (on its second
// unique field, in the middle of a cascade after a setNull was applied, in a
// hook) leaves no trace: no row, no change, no event.
func TestFailedWritesLeaveNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"pairs","fields":[{"name":"a","type":"text","unique":true},
			{"name":"b","type":"text","unique":true},{"name":"c","type":"text"}]}`)
		first := e.mustCreate(t, "pairs", map[string]any{"a": "a1", "b": "b1"})
		second := e.mustCreate(t, "pairs", map[string]any{"a": "a2", "b": "b2"})

		e.mustCreateCollection(t, `{"name":"roots","fields":[{"name":"name","type":"text"}]}`)
		e.mustCreateCollection(t, `{"name":"branches","fields":[{"name":"root","type":"relation","collection":"roots","onDelete":"cascade"}]}`)
		e.mustCreateCollection(t, `{"name":"leaves","fields":[{"name":"branch","type":"relation","collection":"branches","onDelete":"restrict"}]}`)
		e.mustCreateCollection(t, `{"name":"marks","fields":[{"name":"root","type":"relation","collection":"roots","onDelete":"setNull"}]}`)
		e.mustCreateCollection(t, `{"name":"stops","fields":[{"name":"root","type":"relation","collection":"roots","onDelete":"restrict"}]}`)
		root := str(e.mustCreate(t, "roots", map[string]any{"name": "r"})["id"])
		branch := str(e.mustCreate(t, "branches", map[string]any{"root": root})["id"])
		e.mustCreate(t, "branches", map[string]any{"root": root})
		e.mustCreate(t, "leaves", map[string]any{"branch": branch})
		root2 := str(e.mustCreate(t, "roots", map[string]any{"name": "r2"})["id"])
		e.mustCreate(t, "marks", map[string]any{"root": root2})
		e.mustCreate(t, "stops", map[string]any{"root": root2})

		failUpdates := e.app.OnRecordUpdate("pairs").Bind(func(ev *loam.RecordEvent) error {
			if ev.Record.Get("c") == "fail" {
				return errors.New("the hook fails")
			}
			return ev.Next()
		})
		defer e.app.OnRecordUpdate("pairs").Unbind(failUpdates)
		e.app.OnRecordDelete("roots").Bind(func(ev *loam.RecordEvent) error {
			if ev.Record.Get("name") == "keep" {
				return loam.Errorf(loam.CodeForbidden, "roots called keep stay")
			}
			return ev.Next()
		})
		keep := str(e.mustCreate(t, "roots", map[string]any{"name": "keep"})["id"])
		e.mustCreate(t, "branches", map[string]any{"root": keep})

		pairs := "/api/collections/pairs/records"
		e.run(t, []scenario{
			{Name: "create failing on the second unique field", Method: "POST", Path: pairs, Token: e.super,
				Body: `{"a":"new","b":"b1"}`, Status: 409, Code: "conflict", Fields: errs{"b": "unique"}, Unchanged: true},
			{Name: "create failing on both unique fields names both", Method: "POST", Path: pairs, Token: e.super,
				Body: `{"a":"a1","b":"b1"}`, Status: 409, Code: "conflict", Fields: errs{"a": "unique", "b": "unique"}, Unchanged: true},
			{Name: "update failing on the second unique field", Method: "PATCH", Path: pairs + "/" + str(second["id"]), Token: e.super,
				Body: `{"a":"changed","b":"b1","c":"x"}`, Status: 409, Code: "conflict", Fields: errs{"b": "unique"}, Unchanged: true},
			{Name: "update failing in a hook", Method: "PATCH", Path: pairs + "/" + str(first["id"]), Token: e.super,
				Body: `{"a":"changed","c":"fail"}`, Status: 500, Code: "internal", Absent: []string{"the hook fails"}, Unchanged: true},
			{Name: "a cascade stopped by a restrict one level down", Method: "DELETE", Path: "/api/collections/roots/records/" + root,
				Token: e.super, Status: 409, Code: "conflict", Unchanged: true},
			{Name: "a setNull applied before a restrict is rolled back", Method: "DELETE",
				Path: "/api/collections/roots/records/" + root2, Token: e.super, Status: 409, Code: "conflict", Unchanged: true},
			{Name: "a delete rejected by a hook", Method: "DELETE", Path: "/api/collections/roots/records/" + keep,
				Token: e.super, Status: 403, Code: "forbidden", Unchanged: true},
		})
	})
}

// TestEventsOnePerWrite: every committed write appends exactly one event per
// record it created, changed or deleted, in order; refused writes append none.
func TestEventsOnePerWrite(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"posts","fields":[{"name":"title","type":"text","required":true},
			{"name":"slug","type":"text","unique":true}]}`)
		e.mustCreateCollection(t, `{"name":"comments","fields":[{"name":"post","type":"relation","collection":"posts","onDelete":"cascade"}]}`)
		e.mustCreateCollection(t, `{"name":"likes","fields":[{"name":"post","type":"relation","collection":"posts","onDelete":"setNull"}]}`)
		e.mustCreateCollection(t, `{"name":"pins","fields":[{"name":"post","type":"relation","collection":"posts","onDelete":"restrict"}]}`)
		base := e.lastEvent(t)

		type ev struct{ collection, id, action string }
		var want []ev
		do := func(c call, status int) map[string]any {
			t.Helper()
			c.Token = e.super
			a := e.do(t, c)
			if a.Status != status {
				t.Fatalf("%s %s: %d, want %d: %s", c.Method, c.Path, a.Status, status, a.Body)
			}
			if len(a.Body) == 0 {
				return nil
			}
			return a.JSON(t)
		}
		posts := "/api/collections/posts/records"
		p1 := str(do(call{Method: "POST", Path: posts, Body: `{"title":"one","slug":"one"}`}, 201)["id"])
		want = append(want, ev{"posts", p1, "create"})
		p2 := str(do(call{Method: "POST", Path: posts, Body: `{"title":"two"}`}, 201)["id"])
		want = append(want, ev{"posts", p2, "create"})
		do(call{Method: "POST", Path: posts, Body: `{"slug":"x"}`}, 400)                 // required
		do(call{Method: "POST", Path: posts, Body: `{"title":"x","slug":"one"}`}, 409)   // unique
		do(call{Method: "POST", Path: posts, Body: `{"title":`}, 400)                    // malformed
		do(call{Method: "POST", Path: "/api/collections/nope/records", Body: `{}`}, 404) // no collection
		do(call{Method: "PATCH", Path: posts + "/" + p1, Body: `{"title":"uno"}`}, 200)
		want = append(want, ev{"posts", p1, "update"})
		do(call{Method: "PATCH", Path: posts + "/" + p1, Body: `{"title":"x"}`,
			Headers: map[string]string{"If-Match": `"stale"`}}, 412)
		do(call{Method: "PATCH", Path: posts + "/" + p1, Body: `{"title":""}`}, 400)
		do(call{Method: "DELETE", Path: posts + "/zzzzzzzzzzzzzzz"}, 404)
		do(call{Method: "DELETE", Path: posts + "/" + p2}, 204)
		want = append(want, ev{"posts", p2, "delete"})

		c1 := str(do(call{Method: "POST", Path: "/api/collections/comments/records", Body: `{"post":"` + p1 + `"}`}, 201)["id"])
		c2 := str(do(call{Method: "POST", Path: "/api/collections/comments/records", Body: `{"post":"` + p1 + `"}`}, 201)["id"])
		l1 := str(do(call{Method: "POST", Path: "/api/collections/likes/records", Body: `{"post":"` + p1 + `"}`}, 201)["id"])
		pin := str(do(call{Method: "POST", Path: "/api/collections/pins/records", Body: `{"post":"` + p1 + `"}`}, 201)["id"])
		want = append(want, ev{"comments", c1, "create"}, ev{"comments", c2, "create"}, ev{"likes", l1, "create"},
			ev{"pins", pin, "create"})
		do(call{Method: "DELETE", Path: posts + "/" + p1}, 409) // the pin restricts
		do(call{Method: "DELETE", Path: "/api/collections/pins/records/" + pin}, 204)
		want = append(want, ev{"pins", pin, "delete"})
		do(call{Method: "DELETE", Path: posts + "/" + p1}, 204)
		cascade := []ev{{"comments", c1, "delete"}, {"comments", c2, "delete"}, {"likes", l1, "update"}, {"posts", p1, "delete"}}

		got := e.eventsAfter(t, base)
		var seen []ev
		for i, g := range got {
			seen = append(seen, ev{g.Collection, g.RecordID, g.Action})
			if i > 0 && g.Seq <= got[i-1].Seq {
				t.Errorf("event sequence does not grow: %d after %d", g.Seq, got[i-1].Seq)
			}
			if g.Time.IsZero() {
				t.Errorf("event %d has no time", g.Seq)
			}
		}
		if len(seen) != len(want)+len(cascade) {
			t.Fatalf("%d events, want %d:\n%v", len(seen), len(want)+len(cascade), seen)
		}
		if !slices.Equal(seen[:len(want)], want) {
			t.Errorf("events\n%v\nwant\n%v", seen[:len(want)], want)
		}
		// The cascade's events come in one transaction; their order among
		// themselves is the store's business.
		key := func(x ev) string { return fmt.Sprint(x) }
		gotCascade, wantCascade := seen[len(want):], slices.Clone(cascade)
		slices.SortFunc(gotCascade, func(a, b ev) int { return strings.Compare(key(a), key(b)) })
		slices.SortFunc(wantCascade, func(a, b ev) int { return strings.Compare(key(a), key(b)) })
		if !slices.Equal(gotCascade, wantCascade) {
			t.Errorf("cascade events %v, want %v", gotCascade, wantCascade)
		}
	})
}
