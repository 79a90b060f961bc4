package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"loam"
)

// statusOf maps stable error codes to HTTP statuses (API.md).
var statusOf = map[string]int{
	loam.CodeInvalidJSON:          http.StatusBadRequest,
	loam.CodeValidationFailed:     http.StatusBadRequest,
	loam.CodeUnknownField:         http.StatusBadRequest,
	loam.CodeInvalidFilter:        http.StatusBadRequest,
	loam.CodeInvalidSort:          http.StatusBadRequest,
	loam.CodeInvalidQuery:         http.StatusBadRequest,
	loam.CodeInvalidSchema:        http.StatusBadRequest,
	loam.CodeUnauthenticated:      http.StatusUnauthorized,
	loam.CodeMFARequired:          http.StatusUnauthorized,
	loam.CodeForbidden:            http.StatusForbidden,
	loam.CodeNotFound:             http.StatusNotFound,
	loam.CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
	loam.CodeConflict:             http.StatusConflict,
	loam.CodePreconditionFailed:   http.StatusPreconditionFailed,
	loam.CodeBodyTooLarge:         http.StatusRequestEntityTooLarge,
	loam.CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	loam.CodeRateLimited:          http.StatusTooManyRequests,
	loam.CodeUnavailable:          http.StatusServiceUnavailable,
	loam.CodeInternal:             http.StatusInternalServerError,
}

// errorBody is the JSON error object of API.md.
type errorBody struct {
	Status  int                        `json:"status"`
	Code    string                     `json:"code"`
	Message string                     `json:"message"`
	Errors  map[string]loam.FieldError `json:"errors,omitempty"`
	// MFAID comes with mfa_required: the pending sign-in a second factor finishes.
	MFAID string `json:"mfaId,omitempty"`
}

// WriteError answers err as the JSON error object. Errors that are not
// *loam.Error become 500 internal, with the cause logged (never sent) next to
// the request id.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e, status := publicError(r, err)
	if e.Code == loam.CodeRateLimited && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
	writeJSON(w, status, errorBody{Status: status, Code: e.Code, Message: e.Message, Errors: e.Fields, MFAID: e.MFAID})
}

// publicError is what a client may see of err, with its status: errors that
// are not *loam.Error become internal, their cause logged (never sent) next
// to the request id; an empty message becomes the status text.
func publicError(r *http.Request, err error) (*loam.Error, int) {
	var e *loam.Error
	if !errors.As(err, &e) || statusOf[e.Code] == 0 || e.Code == loam.CodeInternal {
		logger(r).LogAttrs(r.Context(), slog.LevelError, "internal error", slog.String("err", err.Error()))
		e = &loam.Error{Code: loam.CodeInternal, Message: "internal error; the log has the cause under request id " + requestID(r)}
	}
	status := statusOf[e.Code]
	if e.Message == "" {
		e = &loam.Error{Code: e.Code, Message: http.StatusText(status), Fields: e.Fields}
	}
	return e, status
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"status":500,"code":"internal","message":"internal error"}`)
	}
	writeBody(w, status, b)
}

func writeBody(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}
