package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"loam"
)

// batchPath is the route of POST /api/batch.
const batchPath = "/api/batch"

// batchOps maps the methods a batch request may use to what they do.
var batchOps = map[string]loam.BatchOp{
	"POST":   loam.BatchCreate,
	"PATCH":  loam.BatchUpdate,
	"PUT":    loam.BatchUpsert,
	"DELETE": loam.BatchDelete,
}

// requestError is the error of one request of a batch, under the key
// requests.N of the answer's errors: the request's own code and message,
// and its own field errors (record fields, or the request's members when
// the request itself is malformed).
type requestError struct {
	Code    string                     `json:"code"`
	Message string                     `json:"message"`
	Errors  map[string]loam.FieldError `json:"errors,omitempty"`
}

// batchErrorBody is the JSON error object of API.md with requests at fault.
type batchErrorBody struct {
	Status  int                     `json:"status"`
	Code    string                  `json:"code"`
	Message string                  `json:"message"`
	Errors  map[string]requestError `json:"errors"`
}

// batch runs POST /api/batch: every request is read and checked first, and
// only a well-formed batch runs, in one transaction (loam.App.Batch).
func (s *Server) batch(w http.ResponseWriter, r *http.Request) {
	top, err := readObject(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	reqs, err := s.parseBatch(top)
	if err != nil {
		writeBatchError(w, r, err)
		return
	}
	results, err := s.app.Batch(r.Context(), PrincipalFrom(r), reqs)
	if err != nil {
		writeBatchError(w, r, err)
		return
	}
	super := PrincipalFrom(r).IsSuperuser()
	b := make([]byte, 0, 64+len(results)*256)
	b = append(b, '[')
	for i, res := range results {
		if i > 0 {
			b = append(b, ',')
		}
		status := http.StatusOK
		switch {
		case res.Record == nil:
			status = http.StatusNoContent
		case res.Created:
			status = http.StatusCreated
		}
		b = append(b, `{"status":`...)
		b = strconv.AppendInt(b, int64(status), 10)
		b = append(b, `,"body":`...)
		if res.Record == nil {
			b = append(b, "null"...)
		} else {
			b = appendRecord(b, res.Collection, res.Record, super)
		}
		b = append(b, '}')
	}
	writeBody(w, http.StatusOK, append(b, ']'))
}

// malformedBatch names the malformed requests of a batch, before any ran.
type malformedBatch map[string]requestError

func (m malformedBatch) Error() string { return fmt.Sprintf("%d malformed batch requests", len(m)) }

// writeBatchError answers a batch's error: a failed request's error under
// requests.N, with its status and code; malformed requests all at once.
func writeBatchError(w http.ResponseWriter, r *http.Request, err error) {
	var bad malformedBatch
	if errors.As(err, &bad) {
		writeJSON(w, http.StatusBadRequest, batchErrorBody{Status: http.StatusBadRequest, Code: loam.CodeValidationFailed,
			Message: "some requests of the batch are malformed; none ran", Errors: bad})
		return
	}
	var be *loam.BatchError
	if !errors.As(err, &be) {
		WriteError(w, r, err)
		return
	}
	e, status := publicError(r, be.Err)
	writeJSON(w, status, batchErrorBody{Status: status, Code: e.Code,
		Message: fmt.Sprintf("request %d failed, so none was written: %s", be.Index, e.Message),
		Errors:  map[string]requestError{requestKey(be.Index): {Code: e.Code, Message: e.Message, Errors: e.Fields}}})
}

func requestKey(i int) string { return "requests." + strconv.Itoa(i) }

// parseBatch reads the batch body. Problems of the body as a whole are a
// *loam.Error naming requests; malformed requests are a malformedBatch
// naming every one of them.
func (s *Server) parseBatch(top map[string]json.RawMessage) ([]loam.BatchRequest, error) {
	var fe loam.FieldErrors
	for k := range top {
		if k != "requests" {
			fe.Add(k, loam.FieldUnknown, "is not a member of a batch; send only requests")
		}
	}
	if err := fe.Err(loam.CodeUnknownField, "the body names members a batch does not have"); err != nil {
		return nil, err
	}
	var raws []json.RawMessage
	list, ok := top["requests"]
	switch {
	case !ok || isNull(list):
		fe.Add("requests", loam.FieldRequired, "is required")
	case json.Unmarshal(list, &raws) != nil:
		fe.Add("requests", loam.FieldInvalidType, "must be a list of requests")
	case len(raws) == 0:
		fe.Add("requests", loam.FieldTooShort, "must hold at least one request")
	case len(raws) > loam.MaxBatchRequests:
		fe.Add("requests", loam.FieldTooLong, "must hold at most %d requests", loam.MaxBatchRequests)
	}
	if err := fe.Err(loam.CodeValidationFailed, "the batch is invalid"); err != nil {
		return nil, err
	}
	reqs := make([]loam.BatchRequest, len(raws))
	bad := malformedBatch{}
	for i, raw := range raws {
		req, rerr := parseBatchRequest(raw, s.cfg.BodyLimit)
		if rerr != nil {
			bad[requestKey(i)] = *rerr
			continue
		}
		reqs[i] = req
	}
	if len(bad) > 0 {
		return nil, bad
	}
	return reqs, nil
}

// parseBatchRequest reads one request: {"method","url","body","ifMatch"}.
func parseBatchRequest(raw json.RawMessage, bodyLimit int64) (loam.BatchRequest, *requestError) {
	var req loam.BatchRequest
	var m map[string]json.RawMessage
	if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &m) != nil {
		return req, &requestError{Code: loam.CodeValidationFailed, Message: "a request must be an object with method, url and body"}
	}
	var fe loam.FieldErrors
	unknown := false
	for k := range m {
		switch k {
		case "method", "url", "body", "ifMatch":
		default:
			fe.Add(k, loam.FieldUnknown, "is not a member of a batch request")
			unknown = true
		}
	}
	method, ok := stringMember(m, "method", &fe)
	op, known := batchOps[method]
	if ok && !known {
		fe.Add("method", loam.FieldInvalidChoice, "must be POST, PATCH, PUT or DELETE")
	}
	req.Op = op
	if u, ok := stringMember(m, "url", &fe); ok {
		collection, id, isRecords := parseRecordsURL(u)
		switch {
		case !isRecords:
			fe.Add("url", loam.FieldInvalid, "must be /api/collections/{name}/records, or .../records/{id}")
		case op == loam.BatchCreate && id != "":
			fe.Add("url", loam.FieldInvalid, "POST takes /api/collections/{name}/records")
		case known && op != loam.BatchCreate && id == "":
			fe.Add("url", loam.FieldInvalid, "%s takes /api/collections/{name}/records/{id}", method)
		}
		req.Collection, req.ID = collection, id
	}
	body, hasBody := m["body"]
	switch {
	case !known:
	case op == loam.BatchDelete:
		if hasBody && !isNull(body) {
			fe.Add("body", loam.FieldInvalid, "DELETE takes no body")
		}
	case !hasBody || isNull(body):
		fe.Add("body", loam.FieldRequired, "is required: the record's fields, as an object")
	case int64(len(body)) > bodyLimit:
		fe.Add("body", loam.FieldTooLarge, "is larger than %d bytes", bodyLimit)
	default:
		if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &req.Body) != nil {
			fe.Add("body", loam.FieldInvalidType, "must be an object of the record's fields")
		}
	}
	if _, has := m["ifMatch"]; has {
		if tag, ok := stringMember(m, "ifMatch", &fe); ok {
			switch {
			case tag == "":
				fe.Add("ifMatch", loam.FieldInvalid, "must be an ETag, or * for any version")
			case op == loam.BatchCreate:
				fe.Add("ifMatch", loam.FieldInvalid, "POST cannot be conditional")
			}
			req.IfMatch = tag
		}
	}
	if len(fe) == 0 {
		return req, nil
	}
	e := &requestError{Code: loam.CodeValidationFailed, Message: "the request is malformed", Errors: fe}
	if unknown {
		e.Code, e.Message = loam.CodeUnknownField, "the request names members a batch request does not have"
	}
	return req, e
}

// stringMember reads the string member name of m; a missing or non-string
// member is a field error.
func stringMember(m map[string]json.RawMessage, name string, fe *loam.FieldErrors) (string, bool) {
	raw, ok := m[name]
	if !ok || isNull(raw) {
		fe.Add(name, loam.FieldRequired, "is required")
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		fe.Add(name, loam.FieldInvalidType, "must be a string")
		return "", false
	}
	return s, true
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// parseRecordsURL splits /api/collections/{name}/records[/{id}], a path
// with no query, into the collection and the id ("" for the first form).
func parseRecordsURL(s string) (collection, id string, ok bool) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.User != nil || u.Host != "" || u.Opaque != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", "", false
	}
	rest, ok := strings.CutPrefix(u.Path, "/api/collections/")
	if !ok {
		return "", "", false
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] != "records" {
		return "", "", false
	}
	if len(parts) == 3 {
		if parts[2] == "" {
			return "", "", false
		}
		id = parts[2]
	}
	return parts[0], id, true
}
