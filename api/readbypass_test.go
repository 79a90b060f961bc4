package api_test

import (
	"net/url"
	"slices"
	"testing"
)

// diaries are private to their owner and carry a hidden field; tags are
// public and point at diaries, so every read through a tag is a read
// through a relation into records the caller may not see.
const (
	diariesDef = `{"name":"diaries","fields":[
	{"name":"body","type":"text"},
	{"name":"secret","type":"text","hidden":true},
	{"name":"owner","type":"relation","collection":"users"}],
 "rules":{"list":"owner = @request.auth.id","view":"owner = @request.auth.id",
	"create":"owner = @request.auth.id",
	"update":"owner = @request.auth.id && (@request.body.owner = null || @request.body.owner = @request.auth.id)","delete":"owner = @request.auth.id"}}`
	tagsDef = `{"name":"tags","fields":[
	{"name":"label","type":"text"},
	{"name":"diary","type":"relation","collection":"diaries"}],
 "rules":{"list":"","view":""}}`
)

// TestReadBypass: the read side of the bypass suite. Bob tries to learn
// what is in Ann's private diaries through every parameter that reads:
// filter, sort, expand, fields, relation paths, back-relations,
// @collection, aggregates and batch. Each attempt answers as if the
// diaries were not there (or refuses), changes nothing, and the same
// request by Ann, who may see them, shows that the attempt would have
// found them: so every check can fail. On both stores.
func TestReadBypass(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		s := e.staff(t)
		e.mustCreateCollection(t, diariesDef)
		e.mustCreateCollection(t, tagsDef)
		diary := func(owner, body string) string {
			return str(e.mustCreate(t, "diaries", map[string]any{"body": body, "secret": "pin " + body, "owner": owner})["id"])
		}
		annA := diary(s.ann, "apples in ann's diary")
		annZ := diary(s.ann, "zebras in ann's diary")
		bobs := diary(s.bob, "bob's diary")
		tagA := str(e.mustCreate(t, "tags", map[string]any{"label": "t1", "diary": annA})["id"])
		tagZ := str(e.mustCreate(t, "tags", map[string]any{"label": "t2", "diary": annZ})["id"])
		tagB := str(e.mustCreate(t, "tags", map[string]any{"label": "t3", "diary": bobs})["id"])

		tags := "/api/collections/tags/records"
		diaries := "/api/collections/diaries/records"
		users := "/api/collections/users/records"
		q := url.QueryEscape
		ids := func(want ...string) func(t *testing.T, a *answer) {
			return func(t *testing.T, a *answer) {
				got := items2ids(t, a.JSON(t))
				if !slices.Equal(got, want) {
					t.Errorf("ids in order %v, want %v", got, want)
				}
			}
		}
		sameSet := func(want ...string) func(t *testing.T, a *answer) {
			return func(t *testing.T, a *answer) {
				got := items2ids(t, a.JSON(t))
				slices.Sort(got)
				want = slices.Clone(want)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("ids %v, want %v", got, want)
				}
			}
		}
		// Sorting by a hidden value must not order by it: bob's pages in
		// both directions put the two tags of ann's diaries in the same
		// order (both read as missing), while ann's pages reverse them.
		var bobAsc []string
		e.run(t, []scenario{
			// Filters and relation paths.
			{Name: "bob filters diaries by ann's text", Method: "GET", Path: diaries + "?filter=" + q(`body ~ "ann"`),
				Token: s.bobTok, Status: 200, Check: ids()},
			{Name: "bob filters tags through the relation", Method: "GET", Path: tags + "?filter=" + q(`diary.body ~ "zebras"`),
				Token: s.bobTok, Status: 200, Check: ids()},
			{Name: "ann's same filter finds it", Method: "GET", Path: tags + "?filter=" + q(`diary.body ~ "zebras"`),
				Token: s.annTok, Status: 200, Check: ids(tagZ)},
			{Name: "bob filters tags by the diaries' owner", Method: "GET", Path: tags + "?filter=" + q(`diary.owner = "`+s.ann+`"`),
				Token: s.bobTok, Status: 200, Check: ids()},
			{Name: "bob filters two relations deep, into an email", Method: "GET", Path: tags + "?filter=" + q(`diary.owner.email = "ann@example.com"`),
				Token: s.bobTok, Status: 400, Code: "invalid_filter", Unchanged: true},
			{Name: "bob filters two relations deep", Method: "GET", Path: tags + "?filter=" + q(`diary.owner.id = "`+s.ann+`"`),
				Token: s.bobTok, Status: 200, Check: ids()},
			{Name: "ann's same filter finds hers", Method: "GET", Path: tags + "?filter=" + q(`diary.owner.id = "`+s.ann+`"`),
				Token: s.annTok, Status: 200, Check: sameSet(tagA, tagZ)},
			{Name: "bob negates a hidden path", Method: "GET", Path: tags + "?filter=" + q(`!(diary.body ~ "zebras")`),
				Token: s.bobTok, Status: 200, Check: sameSet(tagA, tagZ, tagB)},
			{Name: "bob asks @collection", Method: "GET", Path: tags + "?filter=" + q(`@collection.diaries.body ?~ "zebras"`),
				Token: s.bobTok, Status: 200, Check: ids()},
			{Name: "ann's @collection finds it", Method: "GET", Path: tags + "?filter=" + q(`@collection.diaries.body ?~ "zebras"`),
				Token: s.annTok, Status: 200, Check: sameSet(tagA, tagZ, tagB)},
			{Name: "bob filters by a hidden field", Method: "GET", Path: diaries + "?filter=" + q(`secret = "pin bob's diary"`),
				Token: s.bobTok, Status: 400, Code: "invalid_filter", Unchanged: true},
			{Name: "bob filters by a hidden field through a relation", Method: "GET", Path: tags + "?filter=" + q(`diary.secret ~ "pin"`),
				Token: s.bobTok, Status: 400, Code: "invalid_filter", Unchanged: true},
			// Emails are not in the filter language of others than
			// superusers at all: which records hold one is hidden per record.
			{Name: "bob filters users by ann's withheld email", Method: "GET", Path: users + "?filter=" + q(`email = "ann@example.com"`),
				Token: s.bobTok, Status: 400, Code: "invalid_filter", Unchanged: true},
			{Name: "bob sorts users by email", Method: "GET", Path: users + "?sort=email", Token: s.bobTok,
				Status: 400, Code: "invalid_sort", Unchanged: true},
			{Name: "the superuser finds ann by her email", Method: "GET", Path: users + "?filter=" + q(`email = "ann@example.com"`),
				Token: e.super, Status: 200, Check: ids(s.ann)},
			// Back-relations.
			{Name: "bob filters users through their diaries", Method: "GET",
				Path: users + "?filter=" + q(`diaries_via_owner.body ?~ "zebras"`), Token: s.bobTok, Status: 200, Check: ids()},
			{Name: "ann's back-relation filter finds her", Method: "GET",
				Path: users + "?filter=" + q(`diaries_via_owner.body ?~ "zebras"`), Token: s.annTok, Status: 200, Check: ids(s.ann)},
			{Name: "bob expands ann's diaries from her record", Method: "GET", Path: users + "/" + s.ann + "?expand=diaries_via_owner",
				Token: s.bobTok, Status: 200, Absent: []string{"apples", "zebras", annA, annZ}},
			{Name: "ann expands her own", Method: "GET", Path: users + "/" + s.ann + "?expand=diaries_via_owner",
				Token: s.annTok, Status: 200, Contains: []string{"apples", "zebras"}},
			// Sort.
			{Name: "bob sorts tags by the hidden text", Method: "GET", Path: tags + "?sort=diary.body,label&filter=" + q(`diary != "`+bobs+`"`),
				Token: s.bobTok, Status: 200, Check: func(t *testing.T, a *answer) { bobAsc = items2ids(t, a.JSON(t)) }},
			{Name: "and the other way, the order does not change", Method: "GET",
				Path: tags + "?sort=-diary.body,label&filter=" + q(`diary != "`+bobs+`"`), Token: s.bobTok, Status: 200,
				Check: func(t *testing.T, a *answer) {
					if got := items2ids(t, a.JSON(t)); !slices.Equal(got, bobAsc) || len(got) != 2 {
						t.Errorf("bob's descending order %v differs from ascending %v: the sort reads hidden text", got, bobAsc)
					}
				}},
			{Name: "ann's sort does order by it", Method: "GET", Path: tags + "?sort=-diary.body&filter=" + q(`diary != "`+bobs+`"`),
				Token: s.annTok, Status: 200, Check: ids(tagZ, tagA)},
			{Name: "bob sorts by a hidden field", Method: "GET", Path: tags + "?sort=diary.secret", Token: s.bobTok,
				Status: 400, Code: "invalid_sort", Unchanged: true},
			// Expand and fields.
			{Name: "bob expands tags into ann's diaries", Method: "GET", Path: tags + "?expand=diary.owner", Token: s.bobTok,
				Status: 200, Absent: []string{"apples", "zebras"}, Contains: []string{"bob's diary"}},
			{Name: "bob views a tag expanded", Method: "GET", Path: tags + "/" + tagZ + "?expand=diary", Token: s.bobTok,
				Status: 200, Absent: []string{"zebras", `"expand":{"diary"`}},
			{Name: "ann views it expanded", Method: "GET", Path: tags + "/" + tagZ + "?expand=diary", Token: s.annTok,
				Status: 200, Contains: []string{"zebras", `"expand":{"diary"`}},
			{Name: "bob asks for a hidden field by fields", Method: "GET", Path: diaries + "?fields=id,secret", Token: s.bobTok,
				Status: 400, Code: "invalid_query", Unchanged: true},
			{Name: "bob asks for a hidden field inside expand", Method: "GET", Path: tags + "?expand=diary&fields=id,expand.diary.secret",
				Token: s.bobTok, Status: 400, Code: "invalid_query", Unchanged: true},
			{Name: "bob asks for passwords by fields", Method: "GET", Path: users + "?fields=id,password", Token: s.bobTok,
				Status: 400, Code: "invalid_query", Unchanged: true},
			{Name: "bob views ann's diary", Method: "GET", Path: diaries + "/" + annA, Token: s.bobTok, Status: 404, Code: "not_found"},
			// Aggregates.
			{Name: "bob counts diaries", Method: "GET", Path: "/api/collections/diaries/aggregate?count=1", Token: s.bobTok,
				Status: 200, Contains: []string{`"count":1`}},
			{Name: "bob counts tags by a hidden path", Method: "GET",
				Path: "/api/collections/tags/aggregate?count=1&filter=" + q(`diary.body ~ "zebras"`), Token: s.bobTok,
				Status: 200, Contains: []string{`"count":0`}},
			{Name: "ann's count finds it", Method: "GET",
				Path: "/api/collections/tags/aggregate?count=1&filter=" + q(`diary.body ~ "zebras"`), Token: s.annTok,
				Status: 200, Contains: []string{`"count":1`}},
			{Name: "bob groups tags by the hidden text", Method: "GET", Path: "/api/collections/tags/aggregate?groupBy=diary.body",
				Token: s.bobTok, Status: 200, Absent: []string{"apples", "zebras"}, Contains: []string{"bob's diary"}},
			{Name: "bob groups diaries by their owners' email", Method: "GET",
				Path: "/api/collections/diaries/aggregate?groupBy=owner.email", Token: s.bobTok, Status: 400,
				Code: "invalid_query", Unchanged: true},
			// Batch.
			{Name: "bob deletes ann's diary in a batch", Method: "POST", Path: "/api/batch", Token: s.bobTok,
				Body:   map[string]any{"requests": []map[string]any{{"method": "DELETE", "url": diaries + "/" + annA}}},
				Status: 404, Code: "not_found", Fields: errs{"requests.0": "not_found"}, Unchanged: true},
			{Name: "bob updates ann's diary in a batch", Method: "POST", Path: "/api/batch", Token: s.bobTok,
				Body: map[string]any{"requests": []map[string]any{
					{"method": "PATCH", "url": diaries + "/" + bobs, "body": map[string]any{"body": "fine"}},
					{"method": "PATCH", "url": diaries + "/" + annZ, "body": map[string]any{"body": "bob was here"}}}},
				Status: 404, Code: "not_found", Fields: errs{"requests.1": "not_found"}, Unchanged: true},
			{Name: "bob moves his diary to ann in a batch", Method: "POST", Path: "/api/batch", Token: s.bobTok,
				Body: map[string]any{"requests": []map[string]any{
					{"method": "PATCH", "url": diaries + "/" + bobs, "body": map[string]any{"owner": s.ann}}}},
				Status: 403, Code: "forbidden", Fields: errs{"requests.0": "forbidden"}, Unchanged: true},
			{Name: "bob upserts over ann's diary in a batch", Method: "POST", Path: "/api/batch", Token: s.bobTok,
				Body: map[string]any{"requests": []map[string]any{
					{"method": "PUT", "url": diaries + "/" + annA, "body": map[string]any{"body": "mine", "owner": s.bob}}}},
				Status: 404, Code: "not_found", Fields: errs{"requests.0": "*"}, Unchanged: true},
		})
	})
}
