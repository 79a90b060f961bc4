package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	"loam"
)

// readJSON reads a JSON request body: the content type must be JSON, the
// body within the limit, valid UTF-8 and one JSON value.
func readJSON(r *http.Request) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		return nil, loam.Errorf(loam.CodeUnsupportedMediaType, "send the body as application/json")
	}
	if cs, ok := params["charset"]; ok && !equalFold(cs, "utf-8") {
		return nil, loam.Errorf(loam.CodeUnsupportedMediaType, "only UTF-8 bodies are accepted")
	}
	b, err := readBody(r)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(b) {
		return nil, loam.Errorf(loam.CodeInvalidJSON, "the body is not valid UTF-8")
	}
	if !json.Valid(b) {
		return nil, loam.Errorf(loam.CodeInvalidJSON, "the body is not valid JSON")
	}
	return b, nil
}

// readObject reads a JSON object body into its keys.
func readObject(r *http.Request) (map[string]json.RawMessage, error) {
	b, err := readJSON(r)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, loam.Errorf(loam.CodeInvalidJSON, "the body must be a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, loam.Errorf(loam.CodeInvalidJSON, "the body must be a JSON object")
	}
	return m, nil
}

func equalFold(a, b string) bool { return bytes.EqualFold([]byte(a), []byte(b)) }

// readBody reads the whole body within the server's limit.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, loam.Errorf(loam.CodeBodyTooLarge, "the body is larger than %d bytes", mbe.Limit)
		}
		return nil, loam.Errorf(loam.CodeInvalidJSON, "the body could not be read")
	}
	return b, nil
}
