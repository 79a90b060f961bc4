package loam

import (
	"context"
	"strings"

	"loam/expr"
)

// Limits of an aggregate.
const (
	// MaxGroupKeys is the most groupBy keys.
	MaxGroupKeys = 3
	// MaxGroups is the most groups an aggregate answers.
	MaxGroups = 1000
)

// AggregateRequest is an aggregate as a client writes it.
type AggregateRequest struct {
	Filter string
	// GroupBy holds fields or single relation paths, dates with a bucket
	// suffix (:day, :week, :month, :year).
	GroupBy []string
	// Count asks for the number of records of each group.
	Count bool
	// Sum, Avg, Min and Max name number fields.
	Sum, Avg, Min, Max []string
	// Query holds the request's query parameters, for @request.query.*.
	Query map[string]string
}

// Aggregate is the answer to an AggregateRequest: the query as checked and
// one row per group.
type Aggregate struct {
	Query AggregateQuery
	Count bool
	Rows  []AggregateRow
}

// Aggregate groups the records that meet the filter and computes the
// requested metrics per group, under the collection's list rule.
func (a *App) Aggregate(ctx context.Context, who *Principal, collection string, req AggregateRequest) (*Aggregate, error) {
	c, err := a.scopedCollection(ctx, who, collection, ScopeList)
	if err != nil {
		return nil, err
	}
	env := requestEnv(who, "GET", nil)
	env.Query = req.Query
	rule, err := a.ruleCond(who, c, c.Rules.List, "listing "+c.Name, func() *expr.Env { return env })
	if err != nil {
		return nil, err
	}
	s := a.Schema()
	q := AggregateQuery{Limit: MaxGroups + 1}
	if q.Where, err = a.Condition(who, s, c.Name, req.Filter, env); err != nil {
		return nil, err
	}
	q.Where = both(rule, q.Where)
	if len(req.GroupBy) > MaxGroupKeys {
		return nil, Errorf(CodeInvalidQuery, "groupBy: at most %d keys", MaxGroupKeys)
	}
	opt := expr.Options{Hidden: who.IsSuperuser()}
	seen := map[string]bool{}
	for _, name := range req.GroupBy {
		if seen[name] {
			return nil, Errorf(CodeInvalidQuery, "groupBy: %s is named twice", name)
		}
		seen[name] = true
		path, bucket, _ := strings.Cut(name, ":")
		p, err := expr.ResolvePath(callerSchema(who, s), c.Name, strings.Split(path, "."), opt)
		if err != nil {
			return nil, filterError(CodeInvalidQuery, "groupBy", err)
		}
		if p.Multi || p.Kind == expr.KindJSON {
			return nil, Errorf(CodeInvalidQuery, "groupBy: %s may hold several values", path)
		}
		switch bucket {
		case "":
		case "day", "week", "month", "year":
			if p.Kind != expr.KindDate {
				return nil, Errorf(CodeInvalidQuery, "groupBy: %s is not a date, so it has no :%s", path, bucket)
			}
		default:
			return nil, Errorf(CodeInvalidQuery, "groupBy: %s: expected :day, :week, :month or :year", name)
		}
		a.guard(who).path(p)
		q.Groups = append(q.Groups, GroupKey{Name: name, Path: p, Bucket: bucket})
	}
	for _, m := range []struct {
		fn     string
		fields []string
	}{{MetricSum, req.Sum}, {MetricAvg, req.Avg}, {MetricMin, req.Min}, {MetricMax, req.Max}} {
		for _, f := range m.fields {
			p, err := expr.ResolvePath(callerSchema(who, s), c.Name, strings.Split(f, "."), opt)
			if err != nil {
				return nil, filterError(CodeInvalidQuery, m.fn, err)
			}
			if p.Multi || p.Kind != expr.KindNumber {
				return nil, Errorf(CodeInvalidQuery, "%s: %s is not a number field", m.fn, f)
			}
			a.guard(who).path(p)
			q.Metrics = append(q.Metrics, Metric{Fn: m.fn, Field: f, Path: p})
		}
	}
	rows, err := a.store.Aggregate(ctx, c, q)
	if err != nil {
		return nil, err
	}
	if len(rows) > MaxGroups {
		return nil, Errorf(CodeInvalidQuery, "more than %d groups: narrow the filter or group more coarsely", MaxGroups)
	}
	return &Aggregate{Query: q, Count: req.Count || len(q.Metrics) == 0, Rows: rows}, nil
}
