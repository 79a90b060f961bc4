package loam

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Stable error codes. They are part of the public HTTP contract (API.md): clients
// switch on them, so a code is never renamed. Only api/ maps them to statuses.
const (
	CodeInvalidJSON          = "invalid_json"
	CodeValidationFailed     = "validation_failed"
	CodeUnknownField         = "unknown_field"
	CodeInvalidFilter        = "invalid_filter"
	CodeInvalidSort          = "invalid_sort"
	CodeInvalidQuery         = "invalid_query"
	CodeInvalidSchema        = "invalid_schema"
	CodeUnauthenticated      = "unauthenticated"
	CodeMFARequired          = "mfa_required"
	CodeForbidden            = "forbidden"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeConflict             = "conflict"
	CodePreconditionFailed   = "precondition_failed"
	CodeBodyTooLarge         = "body_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeRateLimited          = "rate_limited"
	CodeUnavailable          = "unavailable"
	CodeInternal             = "internal"
)

// Field error codes, reported under Error.Fields.
const (
	FieldRequired      = "required"
	FieldInvalidType   = "invalid_type"
	FieldTooShort      = "too_short"
	FieldTooLong       = "too_long"
	FieldTooSmall      = "too_small"
	FieldTooLarge      = "too_large"
	FieldPattern       = "pattern"
	FieldInvalidEmail  = "invalid_email"
	FieldInvalidURL    = "invalid_url"
	FieldInvalidDate   = "invalid_date"
	FieldInvalidChoice = "invalid_choice"
	FieldNotFound      = "not_found"
	FieldUnique        = "unique"
	FieldUnknown       = "unknown_field"
	FieldReadOnly      = "read_only"
	FieldInvalid       = "invalid"
)

// FieldError is one field's problem: a stable code and a message for people.
type FieldError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is the domain error every layer returns. Code is stable; Message is safe
// to show to users; Fields names the fields at fault; Err keeps the cause for logs.
type Error struct {
	Code    string
	Message string
	Fields  map[string]FieldError
	Err     error
	// RetryAfter is how long a rate_limited caller should wait.
	RetryAfter time.Duration
	// MFAID is what an mfa_required caller sends with its second factor
	// (POST .../auth/mfa/verify).
	MFAID string
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Fields) > 0 {
		names := make([]string, 0, len(e.Fields))
		for n := range e.Fields {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, " [%s: %s]", n, e.Fields[n].Code)
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, loam.ErrNotFound) works for any not-found error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == "" && t.Fields == nil && t.Err == nil
}

// Sentinel errors to compare with errors.Is.
var (
	ErrNotFound           = &Error{Code: CodeNotFound}
	ErrConflict           = &Error{Code: CodeConflict}
	ErrPreconditionFailed = &Error{Code: CodePreconditionFailed}
	ErrUnauthenticated    = &Error{Code: CodeUnauthenticated}
	ErrForbidden          = &Error{Code: CodeForbidden}
)

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrors collects per-field problems; the zero value is ready to use.
type FieldErrors map[string]FieldError

// Add records the first problem of a field; later ones for the same field are ignored.
func (fe *FieldErrors) Add(field, code, format string, args ...any) {
	if *fe == nil {
		*fe = FieldErrors{}
	}
	if _, ok := (*fe)[field]; ok {
		return
	}
	(*fe)[field] = FieldError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Err returns nil when empty, else an *Error with the given code.
func (fe FieldErrors) Err(code, message string) error {
	if len(fe) == 0 {
		return nil
	}
	return &Error{Code: code, Message: message, Fields: fe}
}

// CodeOf returns the stable code of err, or CodeInternal for errors that are not *Error.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
