package api

import (
	"encoding/json"
	"net/http"

	"loam"
)

func (s *Server) authWithPassword(w http.ResponseWriter, r *http.Request) {
	c, body, ok := s.objectFor(w, r)
	if !ok {
		return
	}
	var identity, password string
	var fe loam.FieldErrors
	unknown := false
	for k, raw := range body {
		switch k {
		case "identity":
			if json.Unmarshal(raw, &identity) != nil {
				fe.Add(k, loam.FieldInvalidType, "must be a string")
			}
		case "password":
			if json.Unmarshal(raw, &password) != nil {
				fe.Add(k, loam.FieldInvalidType, "must be a string")
			}
		default:
			fe.Add(k, loam.FieldUnknown, "is not accepted here")
			unknown = true
		}
	}
	if identity == "" {
		fe.Add("identity", loam.FieldRequired, "is required")
	}
	if password == "" {
		fe.Add("password", loam.FieldRequired, "is required")
	}
	code := loam.CodeValidationFailed
	if unknown {
		code = loam.CodeUnknownField
	}
	if err := fe.Err(code, "send identity and password, and nothing else"); err != nil {
		WriteError(w, r, err)
		return
	}
	token, rec, err := s.app.AuthWithPassword(r.Context(), c.Name, identity, password)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	b := append([]byte(`{"token":`), appendString(nil, token)...)
	b = append(b, `,"record":`...)
	b = appendRecord(b, c, rec, c.Name == loam.SuperusersCollection)
	b = append(b, '}')
	writeBody(w, http.StatusOK, b)
}
