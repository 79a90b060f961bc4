package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"loam"
)

// salesFixture creates a collection whose aggregates are worked out by hand
// below: two weeks straddle a year's end (2027-01-01 is in ISO week
// 2026-W53), and one record has no region, no date and no price.
func salesFixture(t *testing.T, e *env) {
	t.Helper()
	e.mustCreateCollection(t, `{"name":"sales","fields":[
		{"name":"region","type":"select","values":["north","south","east"]},
		{"name":"amount","type":"number","integer":true},
		{"name":"price","type":"number"},
		{"name":"sold","type":"date"},
		{"name":"paid","type":"bool"},
		{"name":"tags","type":"select","values":["a","b"],"multiple":true}],
		"rules":{"list":"","view":""}}`)
	for _, r := range []string{
		`{"region":"north","amount":10,"price":1.5,"sold":"2026-01-01T10:00:00.000Z","paid":true}`,
		`{"region":"north","amount":20,"price":2.5,"sold":"2026-01-03T23:59:59.999Z","paid":false}`,
		`{"region":"south","amount":5,"sold":"2027-01-01T00:00:00.000Z","paid":true}`,
		`{"region":"south","price":4,"sold":"2026-12-31T12:00:00.000Z","paid":false}`,
		`{"amount":7,"price":0.5}`,
	} {
		e.mustCreate(t, "sales", r)
	}
}

func TestAggregate(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		salesFixture(t, e)
		agg := func(q string) string { return "/api/collections/sales/aggregate?" + q }
		body := func(want string) func(t *testing.T, a *answer) {
			return func(t *testing.T, a *answer) {
				if got := string(a.Body); got != want {
					t.Errorf("body\n got %s\nwant %s", got, want)
				}
			}
		}
		e.run(t, []scenario{
			{Name: "count of everything", Method: "GET", Path: agg("count=1"), Status: 200,
				Check: body(`{"items":[{"group":{},"count":5}]}`)},
			{Name: "count is the default metric", Method: "GET", Path: agg(""), Status: 200,
				Check: body(`{"items":[{"group":{},"count":5}]}`)},
			{Name: "every metric by region, missing first", Method: "GET",
				Path: agg("groupBy=region&count=1&sum=amount,price&avg=amount&min=amount&max=amount"), Status: 200,
				Check: body(`{"items":[` +
					`{"group":{"region":null},"count":1,"sum":{"amount":7,"price":0.5},"avg":{"amount":7},"min":{"amount":7},"max":{"amount":7}},` +
					`{"group":{"region":"north"},"count":2,"sum":{"amount":30,"price":4},"avg":{"amount":15},"min":{"amount":10},"max":{"amount":20}},` +
					`{"group":{"region":"south"},"count":2,"sum":{"amount":5,"price":4},"avg":{"amount":5},"min":{"amount":5},"max":{"amount":5}}]}`)},
			{Name: "ISO weeks", Method: "GET", Path: agg("groupBy=sold:week"), Status: 200,
				Check: body(`{"items":[{"group":{"sold:week":null},"count":1},{"group":{"sold:week":"2026-W01"},"count":2},{"group":{"sold:week":"2026-W53"},"count":2}]}`)},
			{Name: "months", Method: "GET", Path: agg("groupBy=sold:month&sum=amount"), Status: 200,
				Check: body(`{"items":[{"group":{"sold:month":null},"sum":{"amount":7}},{"group":{"sold:month":"2026-01"},"sum":{"amount":30}},` +
					`{"group":{"sold:month":"2026-12"},"sum":{"amount":0}},{"group":{"sold:month":"2027-01"},"sum":{"amount":5}}]}`)},
			{Name: "days and years", Method: "GET", Path: agg("groupBy=sold:year,sold:day&count=true"), Status: 200,
				Check: body(`{"items":[{"group":{"sold:year":null,"sold:day":null},"count":1},` +
					`{"group":{"sold:year":"2026","sold:day":"2026-01-01"},"count":1},{"group":{"sold:year":"2026","sold:day":"2026-01-03"},"count":1},` +
					`{"group":{"sold:year":"2026","sold:day":"2026-12-31"},"count":1},{"group":{"sold:year":"2027","sold:day":"2027-01-01"},"count":1}]}`)},
			{Name: "two keys, bools in order", Method: "GET", Path: agg("groupBy=region,paid"), Status: 200,
				Check: body(`{"items":[{"group":{"region":null,"paid":false},"count":1},{"group":{"region":"north","paid":false},"count":1},` +
					`{"group":{"region":"north","paid":true},"count":1},{"group":{"region":"south","paid":false},"count":1},` +
					`{"group":{"region":"south","paid":true},"count":1}]}`)},
			{Name: "a filter narrows", Method: "GET", Path: agg("filter=" + url.QueryEscape(`paid = true`) + "&groupBy=region&sum=amount"), Status: 200,
				Check: body(`{"items":[{"group":{"region":"north"},"sum":{"amount":10}},{"group":{"region":"south"},"sum":{"amount":5}}]}`)},
			{Name: "no rows, no groups: count and sum are 0, the rest null", Method: "GET",
				Path: agg("filter=" + url.QueryEscape(`amount > 1000`) + "&count=1&sum=amount&avg=amount&min=price&max=price"), Status: 200,
				Check: body(`{"items":[{"group":{},"count":0,"sum":{"amount":0},"avg":{"amount":null},"min":{"price":null},"max":{"price":null}}]}`)},
			{Name: "no rows, grouped: no groups", Method: "GET", Path: agg("filter=" + url.QueryEscape(`amount > 1000`) + "&groupBy=region"), Status: 200,
				Check: body(`{"items":[]}`)},
			{Name: "four keys", Method: "GET", Path: agg("groupBy=region,paid,amount,price"), Status: 400, Code: "invalid_query", Unchanged: true},
			{Name: "a key twice", Method: "GET", Path: agg("groupBy=region,region"), Status: 400, Code: "invalid_query"},
			{Name: "a multi-valued key", Method: "GET", Path: agg("groupBy=tags"), Status: 400, Code: "invalid_query", Contains: []string{"several values"}},
			{Name: "a bucket on a number", Method: "GET", Path: agg("groupBy=amount:month"), Status: 400, Code: "invalid_query", Contains: []string{"not a date"}},
			{Name: "an unknown bucket", Method: "GET", Path: agg("groupBy=sold:hour"), Status: 400, Code: "invalid_query", Contains: []string{":week"}},
			{Name: "an unknown key", Method: "GET", Path: agg("groupBy=nope"), Status: 400, Code: "invalid_query", Contains: []string{"nope"}},
			{Name: "sum of text", Method: "GET", Path: agg("sum=region"), Status: 400, Code: "invalid_query", Contains: []string{"not a number"}},
			{Name: "a bad filter", Method: "GET", Path: agg("filter=" + url.QueryEscape(`amount >`)), Status: 400, Code: "invalid_filter"},
			{Name: "a misspelt metric", Method: "GET", Path: agg("summ=amount"), Status: 400, Code: "invalid_query", Contains: []string{"summ"}},
			{Name: "count maybe", Method: "GET", Path: agg("count=maybe"), Status: 400, Code: "invalid_query"},
			{Name: "an unknown collection", Method: "GET", Path: "/api/collections/nope/aggregate", Status: 404, Code: "not_found"},
			{Name: "a method other than GET", Method: "POST", Path: agg(""), Status: 405, Code: "method_not_allowed"},
		})
	})
}

func TestAggregateRules(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"private","fields":[{"name":"n","type":"number"}]}`)
		e.run(t, []scenario{
			{Name: "anonymous callers meet the list rule", Method: "GET", Path: "/api/collections/private/aggregate",
				Status: 401, Code: "unauthenticated"},
			{Name: "superusers pass it", Method: "GET", Path: "/api/collections/private/aggregate", Token: e.super,
				Status: 200, Contains: []string{`"count":0`}},
		})
	})
}

// TestAggregateGroupLimit shows that more than loam.MaxGroups groups are
// refused rather than truncated, and that exactly that many are answered.
func TestAggregateGroupLimit(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"many","fields":[{"name":"n","type":"number","integer":true}],"rules":{"list":""}}`)
		for i := range loam.MaxGroups + 1 {
			body, err := loam.JSONBody(map[string]any{"n": i})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.app.CreateRecord(t.Context(), loam.System, "many", body); err != nil {
				t.Fatal(err)
			}
		}
		a := e.do(t, call{Method: "GET", Path: "/api/collections/many/aggregate?groupBy=n"})
		if a.Status != 400 || !strings.Contains(string(a.Body), fmt.Sprint(loam.MaxGroups)) {
			t.Errorf("%d groups: %d %s", loam.MaxGroups+1, a.Status, truncate(a.Body))
		}
		a = e.do(t, call{Method: "GET", Path: "/api/collections/many/aggregate?groupBy=n&filter=" + url.QueryEscape(fmt.Sprintf("n < %d", loam.MaxGroups))})
		if a.Status != 200 {
			t.Fatalf("%d groups: %d %s", loam.MaxGroups, a.Status, truncate(a.Body))
		}
		if n := len(items(t, a.JSON(t))); n != loam.MaxGroups {
			t.Errorf("%d groups answered, want %d", n, loam.MaxGroups)
		}
	})
}
