package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"loam"
)

// recordSQL is the SQL text a collection's record reads and writes reuse,
// built once per collection version instead of on every request.
type recordSQL struct {
	selectFrom string // SELECT <every column> FROM <table>
	columns    string // <every column>, as selectFrom reads them
	get        string // selectFrom WHERE id = $1
	insert     string // INSERT INTO <table> (...) VALUES ($1, ...)
}

// sqlFor returns the cached SQL of c. Collections are immutable snapshots,
// so the snapshot itself is the key: a changed collection is another
// pointer. The cache is emptied on every schema change.
func (s *Store) sqlFor(c *loam.Collection) *recordSQL {
	key := c
	if v, ok := s.sql.Load(key); ok {
		return v.(*recordSQL)
	}
	var sb strings.Builder
	sb.WriteString("SELECT id, created, updated")
	for i := range c.Fields {
		sb.WriteString(", ")
		sb.WriteString(s.d.SelectColumn(&c.Fields[i], quote(c.Fields[i].Name)))
	}
	columns := strings.TrimPrefix(sb.String(), "SELECT ")
	sb.WriteString(" FROM ")
	sb.WriteString(quote(c.Name))
	r := &recordSQL{selectFrom: sb.String(), columns: columns}
	r.get = r.selectFrom + " WHERE id = " + s.d.Placeholder(1)
	sb.Reset()
	sb.WriteString("INSERT INTO " + quote(c.Name) + " (id, created, updated")
	for i := range c.Fields {
		sb.WriteString(", " + quote(c.Fields[i].Name))
	}
	sb.WriteString(") VALUES (")
	for i := 0; i < 3+len(c.Fields); i++ {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(s.d.Placeholder(i + 1))
	}
	sb.WriteString(")")
	r.insert = sb.String()
	s.sql.Store(key, r)
	return r
}

// scanRecords reads every row of a query on recordSQL.selectFrom.
func scanRecords(c *loam.Collection, rows Rows) ([]*loam.Record, error) {
	defer rows.Close()
	n := 3 + len(c.Fields)
	raw := make([]any, n)
	dest := make([]any, n)
	for i := range raw {
		dest[i] = &raw[i]
	}
	var out []*loam.Record
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("scan record: %w", err)
		}
		r, err := decodeRecord(c, raw)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	return out, nil
}

func decodeRecord(c *loam.Collection, raw []any) (*loam.Record, error) {
	r := &loam.Record{Collection: c.Name, Data: make(map[string]any, len(c.Fields))}
	var err error
	if r.ID, err = asString(raw[0]); err != nil {
		return nil, fmt.Errorf("decode id: %w", err)
	}
	if r.Created, err = asTime(raw[1]); err != nil {
		return nil, fmt.Errorf("decode created: %w", err)
	}
	if r.Updated, err = asTime(raw[2]); err != nil {
		return nil, fmt.Errorf("decode updated: %w", err)
	}
	for i := range c.Fields {
		f := &c.Fields[i]
		v, err := decodeValue(f, raw[3+i])
		if err != nil {
			return nil, fmt.Errorf("decode %s.%s: %w", c.Name, f.Name, err)
		}
		r.Data[f.Name] = v
	}
	return r, nil
}

// decodeValue turns what a driver returned into the field's canonical type.
func decodeValue(f *loam.Field, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch f.Type {
	case loam.TypeNumber:
		switch x := v.(type) {
		case int64:
			if f.Integer {
				return x, nil
			}
			return float64(x), nil
		case float64:
			if f.Integer {
				return int64(x), nil
			}
			return x, nil
		case int32:
			return decodeValue(f, int64(x))
		case string:
			return decodeValue(f, []byte(x))
		case []byte:
			if f.Integer {
				return strconv.ParseInt(string(x), 10, 64)
			}
			return strconv.ParseFloat(string(x), 64)
		}
	case loam.TypeBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		}
	case loam.TypeDate, loam.TypeAutodate:
		return asTime(v)
	case loam.TypeJSON:
		s, err := asString(v)
		if err != nil {
			return nil, err
		}
		// PostgreSQL's jsonb prints spaces; answers are compact on every database.
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(s)); err != nil {
			return nil, fmt.Errorf("decode json: %w", err)
		}
		return json.RawMessage(b.Bytes()), nil
	default:
		s, err := asString(v)
		if err != nil {
			return nil, err
		}
		if f.MultiValued() {
			var list []string
			if err := json.Unmarshal([]byte(s), &list); err != nil {
				return nil, fmt.Errorf("decode list: %w", err)
			}
			if len(list) == 0 {
				return nil, nil
			}
			return list, nil
		}
		return s, nil
	}
	return nil, fmt.Errorf("unexpected %T for a %s field", v, f.Type)
}

func asString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	}
	return "", fmt.Errorf("unexpected %T for text", v)
}

func asTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case string:
		return loam.ParseTime(x)
	case []byte:
		return loam.ParseTime(string(x))
	}
	return time.Time{}, fmt.Errorf("unexpected %T for a time", v)
}

// EncodeList is the JSON text of a list value, as multi-valued columns hold it.
func EncodeList(v []string) string {
	b, _ := json.Marshal(v) // a []string always marshals
	return string(b)
}
