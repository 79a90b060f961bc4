package storetest

import (
	"errors"
	"fmt"
	"testing"

	"loam"
)

func testRelations(t *testing.T, open Opener) {
	t.Run("OnDelete", func(t *testing.T) { testOnDelete(t, open) })
	runAll(t, open, []storeTest{
		{"CascadeThroughLevels", testCascadeLevels},
		{"CascadeIntoRestrictDeletesNothing", testCascadeIntoRestrict},
		{"SelfRelationCascade", testSelfCascade},
		{"RebuildKeepsChildren", testRebuildKeepsChildren},
		{"RebuildSelfRelation", testRebuildSelfRelation},
		{"ChangeOnDelete", testChangeOnDelete},
	})
}

// relationTo returns a collection called name with one relation field "ref" to target.
func relationTo(name, target, onDelete string, multiple bool) *loam.Collection {
	return &loam.Collection{Name: name, Fields: []loam.Field{
		{Name: "label", Type: loam.TypeText},
		{Name: "ref", Type: loam.TypeRelation, Collection: target, OnDelete: onDelete, Multiple: multiple},
	}}
}

// refValue is the canonical value of a relation to ids.
func refValue(multiple bool, ids ...string) any {
	if len(ids) == 0 {
		return nil
	}
	if multiple {
		return ids
	}
	return ids[0]
}

// changedBy checks a record changed by an onDelete action: its fields equal
// want's and its updated time has not gone backwards.
func changedBy(t *testing.T, s loam.Store, c *loam.Collection, want *loam.Record) {
	t.Helper()
	got := get(t, s, c, want.ID)
	if got.Updated.Before(want.Updated) {
		t.Errorf("record %s: updated went backwards: %s before %s", want.ID, got.Updated, want.Updated)
	}
	w := want.Clone()
	w.Updated = got.Updated
	sameRecord(t, c, got, w)
}

// testOnDelete deletes a parent that children point at, for every onDelete
// behaviour on single and multi relations.
func testOnDelete(t *testing.T, open Opener) {
	for _, onDelete := range []string{loam.OnDeleteCascade, loam.OnDeleteSetNull, loam.OnDeleteRestrict} {
		for _, multiple := range []bool{false, true} {
			name := onDelete + "/single"
			if multiple {
				name = onDelete + "/multi"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				s := open(t)
				parents := createCollection(t, s, authorsCollection())
				children := createCollection(t, s, relationTo("children", "authors", onDelete, multiple))
				p1 := insert(t, s, parents, map[string]any{"name": "p1"})
				p2 := insert(t, s, parents, map[string]any{"name": "p2"})
				c1 := insert(t, s, children, map[string]any{"label": "c1", "ref": refValue(multiple, p1.ID)})
				c2 := insert(t, s, children, map[string]any{"label": "c2", "ref": refValue(multiple, p2.ID)})
				c4 := insert(t, s, children, map[string]any{"label": "c4"})
				var c3 *loam.Record // points at both parents (multi relations only)
				if multiple && onDelete != loam.OnDeleteCascade {
					c3 = insert(t, s, children, map[string]any{"label": "c3", "ref": []string{p2.ID, p1.ID}})
				}
				mark := lastSeq(t, s)
				err := s.DeleteRecord(t.Context(), schema(t, s), parents, p1.ID, nil)

				switch onDelete {
				case loam.OnDeleteCascade:
					if err != nil {
						t.Fatalf("delete a parent with cascading children: %v", err)
					}
					gone(t, s, parents, p1.ID)
					gone(t, s, children, c1.ID)
					wantEventSet(t, s, mark,
						ev{"authors", p1.ID, loam.ActionDelete},
						ev{"children", c1.ID, loam.ActionDelete})
					wantCount(t, s, children, 2)
				case loam.OnDeleteSetNull:
					if err != nil {
						t.Fatalf("delete a parent with setNull children: %v", err)
					}
					gone(t, s, parents, p1.ID)
					w1 := c1.Clone()
					w1.Data["ref"] = nil
					changedBy(t, s, children, w1)
					want := []ev{{"authors", p1.ID, loam.ActionDelete}, {"children", c1.ID, loam.ActionUpdate}}
					if c3 != nil {
						w3 := c3.Clone()
						w3.Data["ref"] = []string{p2.ID}
						changedBy(t, s, children, w3)
						want = append(want, ev{"children", c3.ID, loam.ActionUpdate})
					}
					wantEventSet(t, s, mark, want...)
				case loam.OnDeleteRestrict:
					if !errors.Is(err, loam.ErrConflict) {
						t.Fatalf("delete a parent with restricting children: got %v, want ErrConflict", err)
					}
					sameRecord(t, parents, get(t, s, parents, p1.ID), p1)
					sameRecord(t, children, get(t, s, children, c1.ID), c1)
					if c3 != nil {
						sameRecord(t, children, get(t, s, children, c3.ID), c3)
					}
					wantEvents(t, s, mark)
					// A parent nobody points at can go.
					p3 := insert(t, s, parents, map[string]any{"name": "p3"})
					if err := s.DeleteRecord(t.Context(), schema(t, s), parents, p3.ID, nil); err != nil {
						t.Fatalf("delete an unreferenced parent under restrict: %v", err)
					}
					gone(t, s, parents, p3.ID)
				}
				// Children of the other parent, and children without a parent, are untouched.
				sameRecord(t, parents, get(t, s, parents, p2.ID), p2)
				sameRecord(t, children, get(t, s, children, c2.ID), c2)
				sameRecord(t, children, get(t, s, children, c4.ID), c4)
			})
		}
	}
}

// testCascadeLevels: a cascade reaches grandchildren, and setNull applies
// to records that pointed at a cascaded child.
func testCascadeLevels(t *testing.T, s loam.Store) {
	parents := createCollection(t, s, authorsCollection())
	children := createCollection(t, s, relationTo("children", "authors", loam.OnDeleteCascade, false))
	grand := createCollection(t, s, relationTo("grandchildren", "children", loam.OnDeleteCascade, true))
	links := createCollection(t, s, relationTo("links", "children", loam.OnDeleteSetNull, false))
	p1 := insert(t, s, parents, map[string]any{"name": "p1"})
	p2 := insert(t, s, parents, map[string]any{"name": "p2"})
	c1 := insert(t, s, children, map[string]any{"ref": p1.ID})
	c2 := insert(t, s, children, map[string]any{"ref": p1.ID})
	c3 := insert(t, s, children, map[string]any{"ref": p2.ID})
	g1 := insert(t, s, grand, map[string]any{"ref": []string{c1.ID}})
	g2 := insert(t, s, grand, map[string]any{"ref": []string{c3.ID}})
	l1 := insert(t, s, links, map[string]any{"ref": c2.ID})
	l2 := insert(t, s, links, map[string]any{"ref": c3.ID})
	mark := lastSeq(t, s)

	if err := s.DeleteRecord(t.Context(), schema(t, s), parents, p1.ID, nil); err != nil {
		t.Fatalf("delete the root of a cascade: %v", err)
	}
	for _, x := range []struct {
		c  *loam.Collection
		id string
	}{{parents, p1.ID}, {children, c1.ID}, {children, c2.ID}, {grand, g1.ID}} {
		gone(t, s, x.c, x.id)
	}
	w1 := l1.Clone()
	w1.Data["ref"] = nil
	changedBy(t, s, links, w1)
	sameRecord(t, children, get(t, s, children, c3.ID), c3)
	sameRecord(t, grand, get(t, s, grand, g2.ID), g2)
	sameRecord(t, links, get(t, s, links, l2.ID), l2)
	wantEventSet(t, s, mark,
		ev{"authors", p1.ID, loam.ActionDelete},
		ev{"children", c1.ID, loam.ActionDelete},
		ev{"children", c2.ID, loam.ActionDelete},
		ev{"grandchildren", g1.ID, loam.ActionDelete},
		ev{"links", l1.ID, loam.ActionUpdate})
}

// testCascadeIntoRestrict: a cascade that reaches a restricted record is
// refused whole: nothing is deleted, nothing is emitted.
func testCascadeIntoRestrict(t *testing.T, s loam.Store) {
	parents := createCollection(t, s, authorsCollection())
	children := createCollection(t, s, relationTo("children", "authors", loam.OnDeleteCascade, false))
	nulls := createCollection(t, s, relationTo("notes", "authors", loam.OnDeleteSetNull, false))
	pins := createCollection(t, s, relationTo("pins", "children", loam.OnDeleteRestrict, false))
	p := insert(t, s, parents, map[string]any{"name": "p"})
	c1 := insert(t, s, children, map[string]any{"label": "free", "ref": p.ID})
	c2 := insert(t, s, children, map[string]any{"label": "pinned", "ref": p.ID})
	n := insert(t, s, nulls, map[string]any{"ref": p.ID})
	pin := insert(t, s, pins, map[string]any{"ref": c2.ID})
	mark := lastSeq(t, s)

	err := s.DeleteRecord(t.Context(), schema(t, s), parents, p.ID, nil)
	if !errors.Is(err, loam.ErrConflict) {
		t.Fatalf("delete whose cascade reaches a restricted record: got %v, want ErrConflict", err)
	}
	sameRecord(t, parents, get(t, s, parents, p.ID), p)
	sameRecord(t, children, get(t, s, children, c1.ID), c1)
	sameRecord(t, children, get(t, s, children, c2.ID), c2)
	sameRecord(t, nulls, get(t, s, nulls, n.ID), n)
	sameRecord(t, pins, get(t, s, pins, pin.ID), pin)
	wantEvents(t, s, mark)
}

// testSelfCascade: a collection whose records point at each other.
func testSelfCascade(t *testing.T, s loam.Store) {
	nodes := createCollection(t, s, relationTo("nodes", "nodes", loam.OnDeleteCascade, false))
	root := insert(t, s, nodes, map[string]any{"label": "root"})
	mid := insert(t, s, nodes, map[string]any{"label": "mid", "ref": root.ID})
	leaf := insert(t, s, nodes, map[string]any{"label": "leaf", "ref": mid.ID})
	other := insert(t, s, nodes, map[string]any{"label": "other"})
	mark := lastSeq(t, s)
	if err := s.DeleteRecord(t.Context(), schema(t, s), nodes, root.ID, nil); err != nil {
		t.Fatalf("delete the root of a self-referencing chain: %v", err)
	}
	gone(t, s, nodes, root.ID)
	gone(t, s, nodes, mid.ID)
	gone(t, s, nodes, leaf.ID)
	sameRecord(t, nodes, get(t, s, nodes, other.ID), other)
	wantEventSet(t, s, mark,
		ev{"nodes", root.ID, loam.ActionDelete},
		ev{"nodes", mid.ID, loam.ActionDelete},
		ev{"nodes", leaf.ID, loam.ActionDelete})
}

// testRebuildKeepsChildren changes a collection that others point at (on
// SQLite every change rebuilds the table): no child is deleted, nulled or
// refused, and the relations still work afterwards.
func testRebuildKeepsChildren(t *testing.T, s loam.Store) {
	posts := createCollection(t, s, postsCollection())
	comments := createCollection(t, s, &loam.Collection{Name: "comments", Fields: []loam.Field{
		{Name: "text", Type: loam.TypeText},
		{Name: "post", Type: loam.TypeRelation, Collection: "posts", OnDelete: loam.OnDeleteCascade, Required: true},
	}})
	mentions := createCollection(t, s, relationTo("mentions", "posts", loam.OnDeleteSetNull, true))
	pins := createCollection(t, s, relationTo("pins", "posts", loam.OnDeleteRestrict, false))
	ps := seedPosts(t, s, posts, "p1", "p2")
	p1, p2 := ps[0], ps[1]
	var kept []*loam.Record // children of p2 (and of both): they survive to the end
	var ofP1 []*loam.Record
	for i := range 3 {
		ofP1 = append(ofP1, insert(t, s, comments, map[string]any{"text": fmt.Sprintf("on p1 #%d", i), "post": p1.ID}))
		kept = append(kept, insert(t, s, comments, map[string]any{"text": fmt.Sprintf("on p2 #%d", i), "post": p2.ID}))
	}
	m := insert(t, s, mentions, map[string]any{"ref": []string{p1.ID, p2.ID}})
	pin := insert(t, s, pins, map[string]any{"ref": p2.ID})

	check := func(step string) {
		t.Helper()
		wantCount(t, s, comments, 6)
		for _, r := range append(append([]*loam.Record{}, ofP1...), kept...) {
			got, err := s.GetRecord(t.Context(), comments, r.ID)
			if err != nil {
				t.Fatalf("after %s: comment %s: %v", step, r.ID, err)
			}
			sameRecord(t, comments, got, r)
		}
		sameRecord(t, mentions, get(t, s, mentions, m.ID), m)
		sameRecord(t, pins, get(t, s, pins, pin.ID), pin)
	}
	steps := []struct {
		name string
		edit func(c *loam.Collection)
	}{
		{"add a field", func(c *loam.Collection) {
			c.Fields = append(c.Fields, loam.Field{Name: "tag", Type: loam.TypeText, Default: raw(`"t"`)})
		}},
		{"rename a field", func(c *loam.Collection) { c.Field("body").Name = "content" }},
		{"drop a field", func(c *loam.Collection) { dropField(c, "tag") }},
		{"add a unique field and an index", func(c *loam.Collection) {
			c.Fields = append(c.Fields, loam.Field{Name: "slug", Type: loam.TypeText, Unique: true})
			c.Indexes = append(c.Indexes, loam.Index{Name: "posts_views", Fields: []string{"views"}})
		}},
		{"make a field required", func(c *loam.Collection) { c.Field("title").Required = true }},
	}
	for _, step := range steps {
		posts = mustChangeCollection(t, s, "posts", step.edit)
		check("posts: " + step.name)
	}
	// Changing the children's own table keeps them and their relation.
	comments = mustChangeCollection(t, s, "comments", func(c *loam.Collection) {
		c.Fields = append(c.Fields, loam.Field{Name: "score", Type: loam.TypeNumber})
	})
	check("comments: add a field")

	// The posts keep their data under the changed definition.
	for _, p := range ps {
		got := get(t, s, posts, p.ID)
		if got.Get("title") != p.Get("title") || got.Get("content") != p.Get("body") {
			t.Errorf("post %s after the changes: got %v, want title %v and content %v", p.ID, got.Data, p.Get("title"), p.Get("body"))
		}
	}
	// Relations are still checked...
	err := s.InsertRecord(t.Context(), comments, newRecord(comments, map[string]any{"post": loam.NewID()}))
	wantFieldErr(t, err, loam.CodeValidationFailed, "post", loam.FieldNotFound, "insert a comment on a missing post after the rebuild")
	// ...and onDelete still applies: cascade, setNull and restrict.
	if err := s.DeleteRecord(t.Context(), schema(t, s), posts, p2.ID, nil); !errors.Is(err, loam.ErrConflict) {
		t.Fatalf("delete a pinned post after the rebuild: got %v, want ErrConflict", err)
	}
	if err := s.DeleteRecord(t.Context(), schema(t, s), posts, p1.ID, nil); err != nil {
		t.Fatalf("delete a post after the rebuild: %v", err)
	}
	for _, r := range ofP1 {
		gone(t, s, comments, r.ID)
	}
	for _, r := range kept {
		sameRecord(t, comments, get(t, s, comments, r.ID), r)
	}
	wm := m.Clone()
	wm.Data["ref"] = []string{p2.ID}
	changedBy(t, s, mentions, wm)
}

// testRebuildSelfRelation changes a collection whose relation points at
// itself: the rows and their relations survive, and the cascade still works.
func testRebuildSelfRelation(t *testing.T, s loam.Store) {
	nodes := createCollection(t, s, relationTo("nodes", "nodes", loam.OnDeleteCascade, false))
	root := insert(t, s, nodes, map[string]any{"label": "root"})
	mid := insert(t, s, nodes, map[string]any{"label": "mid", "ref": root.ID})
	leaf := insert(t, s, nodes, map[string]any{"label": "leaf", "ref": mid.ID})
	nodes = mustChangeCollection(t, s, "nodes", func(c *loam.Collection) {
		c.Fields = append(c.Fields, loam.Field{Name: "depth", Type: loam.TypeNumber})
		c.Field("label").Name = "title"
	})
	for _, r := range []*loam.Record{root, mid, leaf} {
		w := r.Clone()
		w.Data["title"] = r.Data["label"]
		sameRecord(t, nodes, get(t, s, nodes, r.ID), w)
	}
	err := s.InsertRecord(t.Context(), nodes, newRecord(nodes, map[string]any{"ref": loam.NewID()}))
	wantFieldErr(t, err, loam.CodeValidationFailed, "ref", loam.FieldNotFound, "insert a node under a missing parent after the rebuild")
	if err := s.DeleteRecord(t.Context(), schema(t, s), nodes, root.ID, nil); err != nil {
		t.Fatalf("delete the root after the rebuild: %v", err)
	}
	wantCount(t, s, nodes, 0)
}

// testChangeOnDelete changes a relation's onDelete, then drops the relation:
// every delete follows the definition of the moment.
func testChangeOnDelete(t *testing.T, s loam.Store) {
	parents := createCollection(t, s, authorsCollection())
	children := createCollection(t, s, relationTo("children", "authors", loam.OnDeleteCascade, false))
	p1 := insert(t, s, parents, map[string]any{"name": "p1"})
	p2 := insert(t, s, parents, map[string]any{"name": "p2"})
	c1 := insert(t, s, children, map[string]any{"label": "c1", "ref": p1.ID})
	c2 := insert(t, s, children, map[string]any{"label": "c2", "ref": p2.ID})

	children = mustChangeCollection(t, s, "children", func(c *loam.Collection) { c.Field("ref").OnDelete = loam.OnDeleteRestrict })
	if err := s.DeleteRecord(t.Context(), schema(t, s), parents, p1.ID, nil); !errors.Is(err, loam.ErrConflict) {
		t.Fatalf("delete a parent after cascade became restrict: got %v, want ErrConflict", err)
	}
	sameRecord(t, children, get(t, s, children, c1.ID), c1)

	children = mustChangeCollection(t, s, "children", func(c *loam.Collection) { c.Field("ref").OnDelete = loam.OnDeleteSetNull })
	if err := s.DeleteRecord(t.Context(), schema(t, s), parents, p1.ID, nil); err != nil {
		t.Fatalf("delete a parent after restrict became setNull: %v", err)
	}
	w1 := c1.Clone()
	w1.Data["ref"] = nil
	changedBy(t, s, children, w1)

	children = mustChangeCollection(t, s, "children", func(c *loam.Collection) { dropField(c, "ref") })
	if err := s.DeleteRecord(t.Context(), schema(t, s), parents, p2.ID, nil); err != nil {
		t.Fatalf("delete a parent after the relation was dropped: %v", err)
	}
	w2 := c2.Clone()
	delete(w2.Data, "ref")
	sameRecord(t, children, get(t, s, children, c2.ID), w2)
	wantCount(t, s, children, 2)
}
