package api

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"time"

	"loam"
)

// members reads the members of a JSON object body into typed values,
// gathering a field error for each one of the wrong type or out of range;
// done adds the unknown members and returns the errors, if any. A member
// that is null is left at its zero value.
type members struct {
	body    map[string]json.RawMessage
	fe      loam.FieldErrors
	unknown bool
}

// get returns the member's value, or nil when it is absent or null.
func (m *members) get(name string) json.RawMessage {
	raw, ok := m.body[name]
	if !ok || string(raw) == "null" {
		return nil
	}
	return raw
}

func (m *members) text(name string, dst *string, required bool) {
	raw := m.get(name)
	if raw == nil {
		if required {
			m.fe.Add(name, loam.FieldRequired, "is required")
		}
		return
	}
	if json.Unmarshal(raw, dst) != nil {
		m.fe.Add(name, loam.FieldInvalidType, "must be a string")
		return
	}
	if required && *dst == "" {
		m.fe.Add(name, loam.FieldRequired, "is required")
	}
}

func (m *members) integer(name string, dst *int, lo, hi int64) {
	raw := m.get(name)
	if raw == nil {
		return
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil || f != math.Trunc(f) {
		m.fe.Add(name, loam.FieldInvalidType, "must be a whole number")
		return
	}
	switch {
	case f < float64(lo):
		m.fe.Add(name, loam.FieldTooSmall, "must be at least %d", lo)
	case f > float64(hi):
		m.fe.Add(name, loam.FieldTooLarge, "must be at most %d", hi)
	default:
		*dst = int(f)
	}
}

// maxSeconds bounds durations sent in seconds: ten years.
const maxSeconds = 10 * 365 * 24 * 3600

// seconds reads a duration sent as a number of seconds (milliseconds
// kept), of at least lo.
func (m *members) seconds(name string, dst *time.Duration, lo float64) {
	raw := m.get(name)
	if raw == nil {
		return
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil {
		m.fe.Add(name, loam.FieldInvalidType, "must be a number of seconds")
		return
	}
	switch {
	case f < lo:
		m.fe.Add(name, loam.FieldTooSmall, "must be at least %g seconds", lo)
	case f > maxSeconds:
		m.fe.Add(name, loam.FieldTooLarge, "must be at most %d seconds", maxSeconds)
	default:
		*dst = time.Duration(math.Round(f*1000)) * time.Millisecond
	}
}

func (m *members) boolean(name string, dst *bool) {
	raw := m.get(name)
	if raw == nil {
		return
	}
	if json.Unmarshal(raw, dst) != nil {
		m.fe.Add(name, loam.FieldInvalidType, "must be true or false")
	}
}

func (m *members) time(name string, dst *time.Time) {
	raw := m.get(name)
	if raw == nil {
		return
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		m.fe.Add(name, loam.FieldInvalidType, "must be a time as text")
		return
	}
	t, err := loam.ParseTime(s)
	if err != nil {
		m.fe.Add(name, loam.FieldInvalidDate, "must be an RFC 3339 time, such as 2026-11-25T10:15:30.123Z")
		return
	}
	*dst = t
}

// texts reads a list of non-empty strings, at most 20 of at most 100 bytes.
func (m *members) texts(name string, dst *[]string) {
	raw := m.get(name)
	if raw == nil {
		return
	}
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		m.fe.Add(name, loam.FieldInvalidType, "must be a list of strings")
		return
	}
	switch {
	case len(list) > 20:
		m.fe.Add(name, loam.FieldTooLong, "at most 20")
	case slices.ContainsFunc(list, func(s string) bool { return s == "" || len(s) > 100 }):
		m.fe.Add(name, loam.FieldInvalid, "each must be 1 to 100 bytes")
	default:
		*dst = list
	}
}

// merge adds the field errors of err, a validation error of the
// service; any other error is returned.
func (m *members) merge(err error) error {
	if err == nil {
		return nil
	}
	var e *loam.Error
	if !errors.As(err, &e) || e.Code != loam.CodeValidationFailed || len(e.Fields) == 0 {
		return err
	}
	for k, v := range e.Fields {
		m.fe.Add(k, v.Code, "%s", v.Message)
	}
	return nil
}

// readOnly refuses members the server sets.
func (m *members) readOnly(names ...string) {
	for _, n := range names {
		if _, ok := m.body[n]; ok {
			m.fe.Add(n, loam.FieldReadOnly, "is set by the server")
		}
	}
}

// done adds an unknown_field error for each member not named in known,
// and returns the errors: unknown_field when there are unknown members,
// else validation_failed; nil when all is well.
func (m *members) done(known ...string) error {
	for k := range m.body {
		if !slices.Contains(known, k) {
			m.fe.Add(k, loam.FieldUnknown, "is not accepted here")
			m.unknown = true
		}
	}
	code := loam.CodeValidationFailed
	if m.unknown {
		code = loam.CodeUnknownField
	}
	return m.fe.Err(code, "the body is not valid")
}
