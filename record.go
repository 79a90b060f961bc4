package loam

import (
	"bytes"
	"encoding/json"
	"math"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Record is one row of a collection. Data holds the field values by field name
// in their canonical Go types:
//
//	text, email, url, select, password, relation: string
//	number: float64, or int64 when the field is an integer
//	bool: bool
//	date, autodate: time.Time (UTC, millisecond precision)
//	json: json.RawMessage (compact)
//	multi select, multi relation: []string
//
// A missing value is nil (SQL NULL).
type Record struct {
	ID         string
	Collection string
	Created    time.Time
	Updated    time.Time
	Data       map[string]any
	// Expand holds the related records a read expanded (see ExpandRecords),
	// by relation name; a single relation holds at most one. Nil otherwise.
	Expand map[string][]*Record
	// Withheld names the fields the caller a service read the record for
	// may not see (an auth record's email, by emailVisibility): answers
	// leave them out. Data still holds them.
	Withheld []string
}

// Withhold marks a field as withheld from the record's reader.
func (r *Record) Withhold(name string) {
	if !r.IsWithheld(name) {
		r.Withheld = append(r.Withheld, name)
	}
}

// IsWithheld reports whether a field is withheld from the record's reader.
func (r *Record) IsWithheld(name string) bool {
	for _, n := range r.Withheld {
		if n == name {
			return true
		}
	}
	return false
}

// Get returns the value of a field, or nil.
func (r *Record) Get(name string) any { return r.Data[name] }

// Set sets the value of a field. The value must be of the field's canonical type.
func (r *Record) Set(name string, v any) {
	if r.Data == nil {
		r.Data = map[string]any{}
	}
	r.Data[name] = v
}

// Clone returns a copy whose Data can be changed without touching r. The
// copy shares r's Expand.
func (r *Record) Clone() *Record {
	n := *r
	n.Withheld = append([]string(nil), r.Withheld...)
	n.Data = make(map[string]any, len(r.Data))
	for k, v := range r.Data {
		if s, ok := v.([]string); ok {
			v = append([]string(nil), s...)
		}
		n.Data[k] = v
	}
	return &n
}

// ETag is the entity tag of the record's current version: it changes on every write.
func (r *Record) ETag() string {
	return `"` + r.ID + "-" + strconv.FormatInt(r.Updated.UnixMilli(), 36) + `"`
}

// TimeLayout is how times are written in JSON and stored as text: RFC 3339, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Now returns the current time as stored: UTC, truncated to milliseconds.
func Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// IsEmpty reports whether v is a missing value for required checks: nil, "",
// an empty list, false for bools, empty JSON.
func IsEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []string:
		return len(x) == 0
	case bool:
		return !x
	case json.RawMessage:
		s := string(x)
		return s == "" || s == "null" || s == `""` || s == "[]" || s == "{}"
	}
	return false
}

// ValueJSON is a canonical value (see Record) as a client would send it.
func ValueJSON(v any) json.RawMessage {
	switch x := v.(type) {
	case time.Time:
		return append(append([]byte{'"'}, AppendTime(nil, x)...), '"')
	case json.RawMessage:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("null")
	}
	return b
}

// maxSafeInteger is the largest integer a JSON client can hold exactly (2^53 - 1).
const maxSafeInteger = 1<<53 - 1

var jsonNull = []byte("null")

// Normalize parses a JSON value sent for the field into its canonical Go type
// and checks the field's constraints (except required and unique, which need
// the whole record or the table). It returns a field error for bad input.
func (f *Field) Normalize(raw json.RawMessage) (any, *FieldError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, jsonNull) {
		return nil, nil
	}
	bad := func(code, msg string) (any, *FieldError) { return nil, &FieldError{Code: code, Message: msg} }
	switch f.Type {
	case TypeText, TypeEmail, TypeURL, TypePassword:
		s, ok := jsonString(raw)
		if !ok {
			return bad(FieldInvalidType, "must be a string")
		}
		if strings.IndexByte(s, 0) >= 0 {
			return bad(FieldInvalidType, "must not contain NUL characters")
		}
		if s == "" {
			return nil, nil
		}
		n := utf8.RuneCountInString(s)
		switch f.Type {
		case TypeText:
			if f.Min != nil && float64(n) < *f.Min {
				return bad(FieldTooShort, "must be at least "+fmtNum(*f.Min)+" characters")
			}
			if f.Max != nil && float64(n) > *f.Max {
				return bad(FieldTooLong, "must be at most "+fmtNum(*f.Max)+" characters")
			}
			if f.pattern != nil && !f.pattern.MatchString(s) {
				return bad(FieldPattern, "must match the pattern "+f.Pattern)
			}
		case TypeEmail:
			a, err := mail.ParseAddress(s)
			if err != nil || a.Address != s || a.Name != "" || n > 254 {
				return bad(FieldInvalidEmail, "must be an email address")
			}
		case TypeURL:
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || n > 2048 {
				return bad(FieldInvalidURL, "must be an http or https URL")
			}
		case TypePassword:
			if n > 256 {
				return bad(FieldTooLong, "must be at most 256 characters")
			}
		}
		return s, nil
	case TypeNumber:
		if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') || !json.Valid(raw) {
			return bad(FieldInvalidType, "must be a number") // JSON syntax only: no Inf, hex or leading zeros
		}
		x, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				if raw[0] == '-' {
					return bad(FieldTooSmall, "is out of range")
				}
				return bad(FieldTooLarge, "is out of range")
			}
			return bad(FieldInvalidType, "must be a number")
		}
		if f.Min != nil && x < *f.Min {
			return bad(FieldTooSmall, "must be at least "+fmtNum(*f.Min))
		}
		if f.Max != nil && x > *f.Max {
			return bad(FieldTooLarge, "must be at most "+fmtNum(*f.Max))
		}
		if f.Integer {
			if x != math.Trunc(x) {
				return bad(FieldInvalidType, "must be a whole number")
			}
			if x > maxSafeInteger {
				return bad(FieldTooLarge, "must be at most 9007199254740991")
			}
			if x < -maxSafeInteger {
				return bad(FieldTooSmall, "must be at least -9007199254740991")
			}
			return int64(x), nil
		}
		return x, nil
	case TypeBool:
		switch string(raw) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return bad(FieldInvalidType, "must be true or false")
	case TypeDate, TypeAutodate:
		if f.Type == TypeAutodate {
			return bad(FieldReadOnly, "is set by the server")
		}
		s, ok := jsonString(raw)
		if !ok {
			return bad(FieldInvalidType, "must be a string")
		}
		if s == "" {
			return nil, nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		t = t.UTC() // the range is checked in UTC, as the date is stored
		if err != nil || t.Year() < 1 || t.Year() > 9999 {
			return bad(FieldInvalidDate, "must be an RFC 3339 date from year 1 to 9999, like 2026-11-25T10:15:30.123Z")
		}
		return t.Truncate(time.Millisecond), nil
	case TypeSelect, TypeRelation:
		check := func(s string) *FieldError {
			if f.Type == TypeSelect {
				for _, v := range f.Values {
					if v == s {
						return nil
					}
				}
				return &FieldError{Code: FieldInvalidChoice, Message: "must be one of " + strings.Join(f.Values, ", ")}
			}
			if !ValidID(s) {
				return &FieldError{Code: FieldInvalidType, Message: "must be a record id"}
			}
			return nil
		}
		if !f.Multiple {
			s, ok := jsonString(raw)
			if !ok {
				return bad(FieldInvalidType, "must be a string")
			}
			if s == "" {
				return nil, nil
			}
			if e := check(s); e != nil {
				return nil, e
			}
			return s, nil
		}
		var list []string
		if s, ok := jsonString(raw); ok { // a single value is accepted for a multi field
			if s != "" {
				list = []string{s}
			}
		} else if err := json.Unmarshal(raw, &list); err != nil {
			return bad(FieldInvalidType, "must be a list of strings")
		}
		out := make([]string, 0, len(list))
		seen := make(map[string]bool, len(list))
		for _, s := range list {
			if e := check(s); e != nil {
				return nil, e
			}
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
		if f.Min != nil && float64(len(out)) < *f.Min {
			return bad(FieldTooShort, "must hold at least "+fmtNum(*f.Min)+" values")
		}
		if f.Max != nil && float64(len(out)) > *f.Max {
			return bad(FieldTooLong, "must hold at most "+fmtNum(*f.Max)+" values")
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	case TypeJSON:
		if !json.Valid(raw) {
			return bad(FieldInvalidType, "must be JSON")
		}
		if msg := storableJSON(raw); msg != "" {
			return bad(FieldInvalidType, msg)
		}
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return bad(FieldInvalidType, "must be JSON")
		}
		return json.RawMessage(b.Bytes()), nil
	}
	return bad(FieldInvalidType, "has an unknown type")
}

func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

func fmtNum(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// storableJSON reports why valid JSON cannot be stored alike on both
// databases, or "": PostgreSQL's jsonb refuses NUL characters and lone
// UTF-16 surrogates in strings, and numbers beyond its numeric range; Loam
// refuses those everywhere, with numbers held to what a float64 holds.
func storableJSON(raw []byte) string {
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !inString {
			switch {
			case c == '"':
				inString = true
			case c == '-' || c >= '0' && c <= '9':
				j := i + 1
				for j < len(raw) && (raw[j] >= '0' && raw[j] <= '9' || raw[j] == '.' || raw[j] == 'e' || raw[j] == 'E' || raw[j] == '+' || raw[j] == '-') {
					j++
				}
				num := string(raw[i:j])
				f, err := strconv.ParseFloat(num, 64)
				mantissa, _, _ := strings.Cut(strings.ToLower(num), "e")
				if err != nil || f == 0 && strings.ContainsAny(mantissa, "123456789") { // overflow or underflow
					return "holds a number out of range"
				}
				i = j - 1
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 < len(raw) && raw[i+1] == 'u' && i+5 < len(raw) {
				r, _ := strconv.ParseUint(string(raw[i+2:i+6]), 16, 32)
				switch {
				case r == 0:
					return "must not contain NUL characters"
				case r >= 0xd800 && r <= 0xdbff: // a high surrogate needs a low one next
					if i+11 < len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
						lo, _ := strconv.ParseUint(string(raw[i+8:i+12]), 16, 32)
						if lo >= 0xdc00 && lo <= 0xdfff {
							i += 11
							continue
						}
					}
					return "holds an unpaired UTF-16 surrogate"
				case r >= 0xdc00 && r <= 0xdfff:
					return "holds an unpaired UTF-16 surrogate"
				}
				i += 5
			} else {
				i++ // skip the escaped character, which may be a quote or a backslash
			}
		}
	}
	return ""
}
