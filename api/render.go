package api

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"loam"
)

// appendRecord renders a record as JSON: id, collectionName, created,
// updated, then the fields in schema order. Passwords are never rendered;
// hidden fields only for superusers; fields the record withholds from its
// reader (an auth record's email) not at all.
func appendRecord(b []byte, c *loam.Collection, r *loam.Record, superuser bool) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, r.ID)
	b = append(b, `,"collectionName":`...)
	b = appendString(b, c.Name)
	b = append(b, `,"created":`...)
	b = appendTime(b, r.Created)
	b = append(b, `,"updated":`...)
	b = appendTime(b, r.Updated)
	for i := range c.Fields {
		f := &c.Fields[i]
		if f.Type == loam.TypePassword || (f.Hidden && !superuser) || r.IsWithheld(f.Name) {
			continue
		}
		b = append(b, ',')
		b = appendString(b, f.Name)
		b = append(b, ':')
		b = appendValue(b, f, r.Data[f.Name])
	}
	return append(b, '}')
}

// appendShaped renders a record as appendRecord does, with the relations
// opts expands under "expand" (a list for multi relations and
// back-relations; a single relation without a target is left out) and only
// the keys opts.Fields selects. Without options it is appendRecord.
func appendShaped(b []byte, c *loam.Collection, r *loam.Record, superuser bool, opts *loam.ReadOptions) []byte {
	if opts == nil {
		return appendRecord(b, c, r, superuser)
	}
	return appendSelected(b, c, r, superuser, opts.Expand, opts.Fields)
}

func appendSelected(b []byte, c *loam.Collection, r *loam.Record, superuser bool, nodes []*loam.ExpandNode, sel *loam.Fields) []byte {
	if len(nodes) == 0 && sel == nil {
		return appendRecord(b, c, r, superuser)
	}
	b = append(b, '{')
	start := len(b)
	key := func(b []byte, name string) []byte {
		if len(b) > start {
			b = append(b, ',')
		}
		b = appendString(b, name)
		return append(b, ':')
	}
	if ok, _ := sel.Pick(loam.ColID); ok {
		b = appendString(key(b, loam.ColID), r.ID)
	}
	if ok, _ := sel.Pick("collectionName"); ok {
		b = appendString(key(b, "collectionName"), c.Name)
	}
	if ok, _ := sel.Pick(loam.ColCreated); ok {
		b = appendTime(key(b, loam.ColCreated), r.Created)
	}
	if ok, _ := sel.Pick(loam.ColUpdated); ok {
		b = appendTime(key(b, loam.ColUpdated), r.Updated)
	}
	for i := range c.Fields {
		f := &c.Fields[i]
		if f.Type == loam.TypePassword || (f.Hidden && !superuser) || r.IsWithheld(f.Name) {
			continue
		}
		if ok, _ := sel.Pick(f.Name); ok {
			b = appendValue(key(b, f.Name), f, r.Data[f.Name])
		}
	}
	if ok, inside := sel.Pick("expand"); ok && len(nodes) > 0 {
		b = append(key(b, "expand"), '{')
		first := len(b)
		for _, n := range nodes {
			list, has := r.Expand[n.Name]
			ok, rsel := inside.Pick(n.Name)
			if n.Denied || !has || !ok || (!n.Many() && len(list) == 0) {
				continue
			}
			if len(b) > first {
				b = append(b, ',')
			}
			b = append(appendString(b, n.Name), ':')
			if !n.Many() {
				b = appendSelected(b, n.Collection, list[0], superuser, n.Children, rsel)
				continue
			}
			b = append(b, '[')
			for i, x := range list {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendSelected(b, n.Collection, x, superuser, n.Children, rsel)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendValue(b []byte, f *loam.Field, v any) []byte {
	switch x := v.(type) {
	case nil:
		if f.MultiValued() {
			return append(b, "[]"...)
		}
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return appendFloat(b, x)
	case time.Time:
		return appendTime(b, x)
	case json.RawMessage:
		return append(b, x...)
	case []string:
		b = append(b, '[')
		for i, s := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']')
	}
	out, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, out...)
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = loam.AppendTime(b, t)
	return append(b, '"')
}

// appendFloat formats like encoding/json: no exponent for ordinary sizes.
func appendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString writes a JSON string, escaping what JSON requires plus
// <, > and & (so a body is safe to embed in HTML) and U+2028/U+2029.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"':
				b = append(b, `\"`...)
			case '\\':
				b = append(b, `\\`...)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			default:
				b = append(b, `\u00`...)
				b = append(b, hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
