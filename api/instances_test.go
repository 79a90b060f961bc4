package api_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"loam"
)

// TestSchemaChangeAcrossInstances: a collection created through one
// instance takes records through another at once. The second instance
// polls the schema only once an hour here, so what serves it is the
// lookup of the schema counter when a collection is missing.
func TestSchemaChangeAcrossInstances(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			open := sharedDB(t, store)
			e := startEnv(t, store, open(), loam.Config{})
			e2 := instance(t, store, open(), loam.Config{SchemaPoll: -1})
			e.mustCreateCollection(t, `{"name":"notes","fields":[{"name":"title","type":"text"}],"rules":{"list":"","view":""}}`)
			e.mustCreateCollection(t, `{"name":"notes2","fields":[{"name":"title","type":"text"}],"rules":{"list":"","view":""}}`)
			var id string
			e2.run(t, []scenario{
				{Name: "the second writes into the new collection", Method: "POST", Path: "/api/collections/notes/records",
					Token: e2.super, Body: `{"title":"written through the second"}`, Status: 201,
					Check: func(t *testing.T, a *answer) { id = str(a.JSON(t)["id"]) }},
				{Name: "and with an Idempotency-Key", Method: "POST", Path: "/api/collections/notes2/records",
					Headers: map[string]string{"Idempotency-Key": "k1"}, Token: e2.super, Body: `{"title":"keyed"}`, Status: 201},
				{Name: "a missing collection is still missing", Method: "GET", Path: "/api/collections/nothing/records",
					Status: 404, Code: "not_found"},
			})
			e.run(t, []scenario{{Name: "the first reads it", Method: "GET", Path: "/api/collections/notes/records/" + id,
				Status: 200, Contains: []string{"written through the second"}}})
		})
	}
}

// TestFieldAddedAcrossInstances: a field added through one instance is
// written through another at once.
func TestFieldAddedAcrossInstances(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			open := sharedDB(t, store)
			e := startEnv(t, store, open(), loam.Config{})
			e.mustCreateCollection(t, `{"name":"notes","fields":[{"name":"title","type":"text"}],"rules":{"list":"","view":""}}`)
			e2 := instance(t, store, open(), loam.Config{SchemaPoll: -1})
			e.run(t, []scenario{{Name: "the first adds a field", Method: "PATCH", Path: "/api/collections/notes", Token: e.super,
				Body: `{"fields":[{"name":"title","type":"text"},{"name":"mood","type":"text"}]}`, Status: 200}})
			e2.run(t, []scenario{
				{Name: "the second writes it", Method: "POST", Path: "/api/collections/notes/records", Token: e2.super,
					Body: `{"title":"t","mood":"glad"}`, Status: 201, Contains: []string{`"mood":"glad"`}},
				{Name: "an unknown member is still refused", Method: "POST", Path: "/api/collections/notes/records", Token: e2.super,
					Body: `{"title":"t","colour":"red"}`, Status: 400, Code: "unknown_field", Fields: errs{"colour": "unknown_field"}, Unchanged: true},
			})
		})
	}
}

// TestKeyedBurstOnAStaleInstance: requests with an Idempotency-Key run in a
// transaction; when the instance does not know their collection yet, it
// reads the schema through that transaction. Were it to ask the pool for a
// second connection, a burst larger than the pool would wait on itself.
func TestKeyedBurstOnAStaleInstance(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			open := sharedDB(t, store)
			e := startEnv(t, store, open(), loam.Config{})
			e2 := instance(t, store, open(), loam.Config{SchemaPoll: -1})
			e.mustCreateCollection(t, `{"name":"keyed","fields":[{"name":"n","type":"number"}],"rules":{"list":"","view":"","create":""}}`)
			const workers, each = 16, 5
			var wg sync.WaitGroup
			for i := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range each {
						a, err := e2.send(call{Method: "POST", Path: "/api/collections/keyed/records", Body: `{"n":1}`,
							Headers: map[string]string{"Idempotency-Key": fmt.Sprint(i, "-", j)}})
						if err != nil {
							t.Errorf("create %d-%d: %v", i, j, err)
							return
						}
						if a.Status != 201 {
							t.Errorf("create %d-%d: %d %s", i, j, a.Status, a.Body)
						}
					}
				}()
			}
			wg.Wait()
			if n := e.count(t, "keyed"); n != workers*each {
				t.Errorf("%d records, want %d", n, workers*each)
			}
		})
	}
}

// TestRuleChangeAcrossInstances: on PostgreSQL a schema change is announced
// as it commits (NOTIFY), so a rule tightened through one instance holds
// on another without waiting for a poll: here the second never polls.
func TestRuleChangeAcrossInstances(t *testing.T) {
	t.Parallel()
	open := sharedDB(t, "postgres")
	e := startEnv(t, "postgres", open(), loam.Config{})
	e2 := instance(t, "postgres", open(), loam.Config{SchemaPoll: -1})
	e.mustCreateCollection(t, `{"name":"notes","fields":[{"name":"title","type":"text"}],"rules":{"list":"","view":""}}`)
	e.mustCreate(t, "notes", map[string]any{"title": "public, for now"})
	e2.run(t, []scenario{{Name: "anyone lists on the second", Method: "GET", Path: "/api/collections/notes/records",
		Status: 200, Contains: []string{"public, for now"}}})
	e.run(t, []scenario{{Name: "the first makes the list superusers only", Method: "PATCH", Path: "/api/collections/notes",
		Token: e.super, Body: `{"rules":{"list":null,"view":null}}`, Status: 200}})
	want := e.app.Schema().Version
	deadline := time.Now().Add(10 * time.Second)
	for e2.app.Schema().Version != want {
		if time.Now().After(deadline) {
			t.Fatalf("the second instance still has schema %d, want %d, 10 s after the change", e2.app.Schema().Version, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	e2.run(t, []scenario{{Name: "the second refuses the anonymous list", Method: "GET", Path: "/api/collections/notes/records",
		Status: 401, Code: "unauthenticated"}})
}
