package api

import (
	"net/http"
	"strconv"
	"strings"

	"loam"
)

// aggregateParams are the query parameters of the aggregate route; others
// are refused, so a misspelt metric is not silently dropped.
var aggregateParams = map[string]bool{"filter": true, "groupBy": true, "count": true,
	"sum": true, "avg": true, "min": true, "max": true}

func (s *Server) aggregate(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	for k := range v {
		if !aggregateParams[k] {
			WriteError(w, r, loam.Errorf(loam.CodeInvalidQuery, "unknown parameter %q: expected filter, groupBy, count, sum, avg, min or max", k))
			return
		}
	}
	list := func(name string) []string {
		var out []string
		for _, p := range v[name] {
			for _, s := range strings.Split(p, ",") {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
		}
		return out
	}
	req := loam.AggregateRequest{Filter: v.Get("filter"), GroupBy: list("groupBy"), Query: firstValues(v),
		Sum: list("sum"), Avg: list("avg"), Min: list("min"), Max: list("max")}
	switch c := v.Get("count"); c {
	case "", "0", "false":
	case "1", "true":
		req.Count = true
	default:
		WriteError(w, r, loam.Errorf(loam.CodeInvalidQuery, "count must be 1 or 0"))
		return
	}
	agg, err := s.app.Aggregate(r.Context(), PrincipalFrom(r), r.PathValue("name"), req)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeBody(w, http.StatusOK, appendAggregate(make([]byte, 0, 64+len(agg.Rows)*96), agg))
}

// appendAggregate renders {"items":[{"group":{...},"count":n,"sum":{...},...}]}.
// Sums over no values are 0; other metrics over no values are null.
func appendAggregate(b []byte, agg *loam.Aggregate) []byte {
	q := agg.Query
	b = append(b, `{"items":[`...)
	for i, row := range agg.Rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"group":{`...)
		for j, g := range q.Groups {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendString(b, g.Name)
			b = append(b, ':')
			b = appendScalar(b, row.Group[j])
		}
		b = append(b, '}')
		if agg.Count {
			b = append(b, `,"count":`...)
			b = strconv.AppendInt(b, row.Count, 10)
		}
		for _, fn := range []string{loam.MetricSum, loam.MetricAvg, loam.MetricMin, loam.MetricMax} {
			first := true
			for j, m := range q.Metrics {
				if m.Fn != fn {
					continue
				}
				if first {
					b = append(b, ',', '"')
					b = append(b, fn...)
					b = append(b, `":{`...)
					first = false
				} else {
					b = append(b, ',')
				}
				b = appendString(b, m.Field)
				b = append(b, ':')
				v := row.Values[j]
				if v == nil && fn == loam.MetricSum {
					v = int64(0)
				}
				b = appendScalar(b, v)
			}
			if !first {
				b = append(b, '}')
			}
		}
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// appendScalar renders a value of a number, bool, text or date field.
func appendScalar(b []byte, v any) []byte {
	return appendValue(b, &loam.Field{Type: loam.TypeText}, v)
}
