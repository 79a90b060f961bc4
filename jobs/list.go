package jobs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"loam"
	"loam/expr"
)

// jobSchema gives the filter language the fields of jobs (loam.JobFields),
// as the fields of a collection named "_jobs".
type jobSchema struct{}

func (jobSchema) Field(collection, name string) (expr.Field, bool) {
	f, ok := loam.JobFields[name]
	return f, ok && collection == "_jobs"
}

// checkFilter parses and checks a list filter over schema's collection and
// binds it to the present; nil for an empty filter.
func (c *Client) checkFilter(filter string, s expr.Schema, collection string) (expr.Cond, error) {
	if strings.TrimSpace(filter) == "" {
		return nil, nil
	}
	if len(filter) > expr.MaxLength {
		return nil, loam.Errorf(loam.CodeInvalidFilter, "filter: longer than %d bytes", expr.MaxLength)
	}
	cond, err := expr.ParseCheck(filter, s, collection, expr.Options{Hidden: true})
	if err != nil {
		var ee *expr.Error
		if errors.As(err, &ee) {
			return nil, loam.Errorf(loam.CodeInvalidFilter, "filter: %s", ee.Error())
		}
		return nil, loam.Errorf(loam.CodeInvalidFilter, "filter: %v", err)
	}
	return expr.Bind(cond, &expr.Env{Now: c.now()}), nil
}

// List returns a page of jobs as q asks, with the list parameters of
// records: a filter over the fields of loam.JobFields, sort keys among
// loam.JobSortFields (id breaks ties), a page or a cursor (the nextCursor
// of the page before, with the same sort), and the total unless skipped.
// Mistakes are invalid_filter, invalid_sort and invalid_query errors.
func (c *Client) List(ctx context.Context, q loam.ListQuery) (*loam.JobList, string, error) {
	where, err := c.checkFilter(q.Filter, jobSchema{}, "_jobs")
	if err != nil {
		return nil, "", err
	}
	jq := loam.JobQuery{Where: where, Page: q.Page, PerPage: q.PerPage, SkipTotal: q.SkipTotal}
	for _, k := range q.Sort {
		if !slices.Contains(loam.JobSortFields, k.Field) {
			return nil, "", loam.Errorf(loam.CodeInvalidSort, "jobs sort by %s, not by %q", strings.Join(loam.JobSortFields, ", "), k.Field)
		}
		jq.Sort = append(jq.Sort, loam.SortKey{Field: k.Field, Desc: k.Desc})
	}
	if q.Cursor != "" {
		if jq.After, err = decodeJobCursor(q.Cursor, jq.Sort); err != nil {
			return nil, "", err
		}
	}
	list, err := c.app.Store().ListJobs(ctx, jq)
	if err != nil {
		return nil, "", err
	}
	return list, encodeCursor(jq.Sort, list.Next), nil
}

// Retry puts a job that is not running back in the queue, available now,
// with one attempt more when it has used them all. A running job is
// loam.ErrConflict, a missing one loam.ErrNotFound.
func (c *Client) Retry(ctx context.Context, id int64) (*loam.Job, error) {
	j, err := c.app.Store().RetryJob(ctx, id, c.now())
	if err != nil {
		return nil, err
	}
	c.mu.RLock()
	w := c.worker
	c.mu.RUnlock()
	if w != nil {
		w.wakeUp()
	}
	return j, nil
}

// cursorJSON is a list position as clients carry it (base64url of this
// JSON): the order it belongs to, the sort values and the key.
type cursorJSON struct {
	Sort   string `json:"s"`
	Values []any  `json:"v"`
	ID     string `json:"i"`
}

func sortSignature(keys []loam.SortKey) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		if k.Desc {
			b.WriteByte('-')
		}
		b.WriteString(k.Field)
	}
	return b.String()
}

// encodeCursor writes a position as an opaque token; "" for none.
func encodeCursor(keys []loam.SortKey, c *loam.Cursor) string {
	if c == nil {
		return ""
	}
	vals := make([]any, len(c.Values))
	for i, v := range c.Values {
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Format(loam.TimeLayout)
		}
		vals[i] = v
	}
	b, _ := json.Marshal(cursorJSON{Sort: sortSignature(keys), Values: vals, ID: c.ID}) // plain values marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a token of encodeCursor made for the order keys; kind
// gives each sort field's kind, to bring its value back to its type.
func decodeCursor(token string, keys []loam.SortKey, kind func(field string) expr.Kind) (*loam.Cursor, error) {
	bad := loam.Errorf(loam.CodeInvalidQuery, "cursor is not a cursor of this list: use the nextCursor of a page with the same sort")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(token) > 4096 {
		return nil, bad
	}
	var cj cursorJSON
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&cj); err != nil || cj.Sort != sortSignature(keys) || len(cj.Values) != len(keys) || cj.ID == "" {
		return nil, bad
	}
	c := &loam.Cursor{ID: cj.ID, Values: make([]any, len(keys))}
	for i, k := range keys {
		v, ok := fromCursorValue(cj.Values[i], kind(k.Field))
		if !ok {
			return nil, bad
		}
		c.Values[i] = v
	}
	return c, nil
}

func decodeJobCursor(token string, keys []loam.SortKey) (*loam.Cursor, error) {
	c, err := decodeCursor(token, keys, func(field string) expr.Kind { return loam.JobFields[field].Kind })
	if err != nil {
		return nil, err
	}
	if _, err := strconv.ParseInt(c.ID, 10, 64); err != nil {
		return nil, loam.Errorf(loam.CodeInvalidQuery, "cursor is not a cursor of this list: use the nextCursor of a page with the same sort")
	}
	return c, nil
}

// fromCursorValue brings a cursor's value back to the type of kind.
func fromCursorValue(v any, kind expr.Kind) (any, bool) {
	switch kind {
	case expr.KindNumber:
		n, ok := v.(json.Number)
		if !ok {
			return nil, false
		}
		x, err := n.Int64()
		return x, err == nil && x > math.MinInt64
	case expr.KindBool:
		b, ok := v.(bool)
		return b, ok
	case expr.KindDate:
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		t, err := loam.ParseTime(s)
		return t, err == nil
	}
	s, ok := v.(string)
	return s, ok
}
