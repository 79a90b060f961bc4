package loam

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// EventPage is one read of the event log.
//
// Xmin and Xmax describe the snapshot of the read on PostgreSQL, where a
// seq is taken before its transaction commits, so seq 12 may be visible
// before seq 11. A seq missing from a read is final (its transaction rolled
// back) once a later read's Xmin is at or above this read's Xmax: every
// transaction that could hold it has then ended. Both are 0 where events
// become visible in seq order (SQLite's one writer): a missing seq there is
// never coming.
type EventPage struct {
	Events []Event
	// Oldest is the smallest seq the log keeps (0: none at all).
	Oldest int64
	Xmin   int64
	Xmax   int64
}

// EventNotifier is a Store that can tell when events may have been
// committed: by this process's own writes, and on PostgreSQL by any
// instance's (LISTEN/NOTIFY). Readers still poll now and then, since a
// wake-up can be missed (a dropped connection).
type EventNotifier interface {
	// EventSignal returns a channel that receives (without blocking the
	// writer; wake-ups coalesce) after events were committed. Background
	// work it needs stops when ctx ends. Call it once per store.
	EventSignal(ctx context.Context) <-chan struct{}
}

// MarshalStored writes a record of c as JSON for the event log: id,
// created, updated and every field but passwords, in the types
// UnmarshalStored reads back.
func MarshalStored(c *Collection, r *Record) ([]byte, error) {
	m := make(map[string]any, 3+len(c.Fields))
	m[ColID] = r.ID
	m[ColCreated] = string(AppendTime(nil, r.Created))
	m[ColUpdated] = string(AppendTime(nil, r.Updated))
	for i := range c.Fields {
		f := &c.Fields[i]
		if f.Type == TypePassword {
			continue
		}
		v := r.Data[f.Name]
		if t, ok := v.(time.Time); ok {
			v = string(AppendTime(nil, t))
		}
		m[f.Name] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s/%s: %w", c.Name, r.ID, err)
	}
	return b, nil
}

// UnmarshalStored reads a record of MarshalStored against the fields c has
// now: a field the JSON lacks is nil, one c no longer has is dropped, and a
// value that no longer fits its field's type reads as nil.
func UnmarshalStored(c *Collection, data []byte) (*Record, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decode a record of %s: %w", c.Name, err)
	}
	r := &Record{Collection: c.Name, Data: make(map[string]any, len(c.Fields))}
	_ = json.Unmarshal(m[ColID], &r.ID)
	var at string
	if json.Unmarshal(m[ColCreated], &at) == nil {
		r.Created, _ = ParseTime(at)
	}
	if json.Unmarshal(m[ColUpdated], &at) == nil {
		r.Updated, _ = ParseTime(at)
	}
	if r.ID == "" {
		return nil, fmt.Errorf("decode a record of %s: no id", c.Name)
	}
	for i := range c.Fields {
		f := &c.Fields[i]
		raw, ok := m[f.Name]
		if !ok || f.Type == TypePassword {
			r.Data[f.Name] = nil
			continue
		}
		r.Data[f.Name] = storedValue(f, raw)
	}
	return r, nil
}

// storedValue reads one value of MarshalStored in its field's canonical
// type, or nil.
func storedValue(f *Field, raw json.RawMessage) any {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if f.MultiValued() {
		var list []string
		if json.Unmarshal(raw, &list) != nil {
			return nil
		}
		return list
	}
	switch f.Type {
	case TypeNumber:
		if f.Integer {
			var n int64
			if json.Unmarshal(raw, &n) == nil {
				return n
			}
		}
		var x float64
		if json.Unmarshal(raw, &x) != nil {
			return nil
		}
		if f.Integer {
			return int64(x)
		}
		return x
	case TypeBool:
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return nil
		}
		return b
	case TypeDate, TypeAutodate:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil
		}
		t, err := ParseTime(s)
		if err != nil {
			return nil
		}
		return t
	case TypeJSON:
		return json.RawMessage(raw)
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil
	}
	return s
}
