package sqlstore

import (
	"context"
	"fmt"
	"strconv"

	"loam"
	"loam/expr"
)

// Aggregate runs one GROUP BY query:
//
//	SELECT <keys>, count(*), <metrics> FROM <table> AS t WHERE <filter>
//	GROUP BY 1, 2 ORDER BY 1, 2 LIMIT <limit>
func (s *Store) Aggregate(ctx context.Context, c *loam.Collection, q loam.AggregateQuery) ([]loam.AggregateRow, error) {
	b := &builder{d: s.d}
	fc := &filterCompiler{d: s.d, b: b, aliases: 100}
	b.sql("SELECT ")
	var positions []string
	for i, g := range q.Groups {
		x := fc.scalar(g.Path)
		if g.Bucket != "" {
			x = s.d.DateBucket(x, g.Bucket)
		}
		b.sql(x, ", ")
		positions = append(positions, strconv.Itoa(i+1))
	}
	b.sql("count(*)")
	for _, m := range q.Metrics {
		x := fc.scalar(m.Path)
		switch m.Fn {
		case loam.MetricSum, loam.MetricAvg:
			b.sql(", ", s.d.Float(m.Fn+"("+x+")"))
		case loam.MetricMin, loam.MetricMax:
			b.sql(", ", m.Fn, "(", x, ")")
		default:
			return nil, fmt.Errorf("aggregate %s: unknown function %q", c.Name, m.Fn)
		}
	}
	b.sql(" FROM ", quote(c.Name), " AS t")
	if q.Where != nil {
		b.sql(" WHERE ")
		compileFilter(s.d, b, q.Where)
	}
	if len(positions) > 0 {
		b.sql(" GROUP BY ")
		for i, p := range positions {
			if i > 0 {
				b.sql(", ")
			}
			b.sql(p)
		}
		b.sql(" ORDER BY ")
		for i, p := range positions {
			if i > 0 {
				b.sql(", ")
			}
			b.sql(s.d.OrderBy(p, false))
		}
	}
	if q.Limit > 0 {
		b.sql(" LIMIT ").arg(q.Limit)
	}
	rows, err := s.db.Query(ctx, b.String(), b.args...)
	if err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", c.Name, err)
	}
	defer rows.Close()
	n := len(q.Groups) + 1 + len(q.Metrics)
	raw := make([]any, n)
	dest := make([]any, n)
	for i := range raw {
		dest[i] = &raw[i]
	}
	var out []loam.AggregateRow
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("aggregate %s: %w", c.Name, err)
		}
		row := loam.AggregateRow{Group: make([]any, len(q.Groups)), Values: make([]any, len(q.Metrics))}
		for i, g := range q.Groups {
			var v any
			if g.Bucket != "" {
				if raw[i] != nil {
					v, err = asString(raw[i])
				}
			} else {
				v, err = decodePathValue(g.Path, raw[i])
			}
			if err != nil {
				return nil, fmt.Errorf("aggregate %s: group %s: %w", c.Name, g.Name, err)
			}
			row.Group[i] = v
		}
		cnt, err := decodeValue(&loam.Field{Type: loam.TypeNumber, Integer: true}, raw[len(q.Groups)])
		if err != nil {
			return nil, fmt.Errorf("aggregate %s: count: %w", c.Name, err)
		}
		row.Count = cnt.(int64)
		for i, m := range q.Metrics {
			p := m.Path
			if m.Fn == loam.MetricSum || m.Fn == loam.MetricAvg {
				p = &expr.Path{Kind: expr.KindNumber}
			}
			v, err := decodePathValue(p, raw[len(q.Groups)+1+i])
			if err != nil {
				return nil, fmt.Errorf("aggregate %s: %s(%s): %w", c.Name, m.Fn, m.Field, err)
			}
			row.Values[i] = v
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", c.Name, err)
	}
	return out, nil
}
