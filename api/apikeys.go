package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"loam"
)

// API keys of an auth record, under /api/collections/{name}/records/{id}/api-keys.
// The record itself (with a session) or a superuser manages them; the key
// itself is answered once, when it is made.

// apiKeyJSON is a key as answered; Key only in the answer that makes it.
type apiKeyJSON struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Hint     string          `json:"hint"`
	Scopes   []loam.KeyScope `json:"scopes"`
	System   []string        `json:"system"`
	Created  string          `json:"created"`
	Expires  *string         `json:"expires"`
	LastUsed *string         `json:"lastUsed"`
	Key      string          `json:"key,omitempty"`
}

func toAPIKeyJSON(k *loam.APIKey) apiKeyJSON {
	opt := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		s := string(loam.AppendTime(nil, t))
		return &s
	}
	out := apiKeyJSON{ID: k.ID, Name: k.Name, Hint: k.Hint, Scopes: k.Scopes.Collections, System: k.Scopes.System,
		Created: string(loam.AppendTime(nil, k.Created)), Expires: opt(k.Expires), LastUsed: opt(k.LastUsed)}
	if out.Scopes == nil {
		out.Scopes = []loam.KeyScope{}
	}
	if out.System == nil {
		out.System = []string{}
	}
	return out
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.app.APIKeys(r.Context(), PrincipalFrom(r), r.PathValue("name"), r.PathValue("id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	items := make([]apiKeyJSON, len(keys))
	for i, k := range keys {
		items[i] = toAPIKeyJSON(k)
	}
	writeJSON(w, http.StatusOK, struct {
		Items []apiKeyJSON `json:"items"`
	}{items})
}

func (s *Server) getAPIKey(w http.ResponseWriter, r *http.Request) {
	k, err := s.app.APIKey(r.Context(), PrincipalFrom(r), r.PathValue("name"), r.PathValue("id"), r.PathValue("key"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAPIKeyJSON(k))
}

func (s *Server) deleteAPIKey(w http.ResponseWriter, r *http.Request) {
	noContent(w, r, s.app.RevokeAPIKey(r.Context(), PrincipalFrom(r), r.PathValue("name"), r.PathValue("id"), r.PathValue("key")))
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) {
	who := PrincipalFrom(r)
	if who == nil { // before reading the body: refusals describe nothing
		WriteError(w, r, loam.Errorf(loam.CodeUnauthenticated, "managing API keys needs a signed-in caller"))
		return
	}
	body, err := readObject(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	nk, err := parseNewAPIKey(body)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	k, key, err := s.app.CreateAPIKey(r.Context(), who, r.PathValue("name"), r.PathValue("id"), nk)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	out := toAPIKeyJSON(k)
	out.Key = key
	writeJSON(w, http.StatusCreated, out)
}

// parseNewAPIKey reads {"name","scopes":[{"collection","actions"}],"system","expires"}:
// members of the wrong type are invalid_type under their path, unknown
// ones unknown_field. The services check the values.
func parseNewAPIKey(body map[string]json.RawMessage) (loam.NewAPIKey, error) {
	var nk loam.NewAPIKey
	var fe loam.FieldErrors
	unknown := false
	for k, raw := range body {
		switch k {
		case "name":
			if json.Unmarshal(raw, &nk.Name) != nil {
				fe.Add(k, loam.FieldInvalidType, "must be a string")
			}
		case "scopes":
			var list []map[string]json.RawMessage
			if json.Unmarshal(raw, &list) != nil {
				fe.Add(k, loam.FieldInvalidType, "must be a list of {\"collection\", \"actions\"} objects")
				continue
			}
			for i, m := range list {
				var sc loam.KeyScope
				at := fmt.Sprintf("scopes.%d.", i)
				for mk, mv := range m {
					switch mk {
					case "collection":
						if json.Unmarshal(mv, &sc.Collection) != nil {
							fe.Add(at+mk, loam.FieldInvalidType, "must be a string")
						}
					case "actions":
						if json.Unmarshal(mv, &sc.Actions) != nil {
							fe.Add(at+mk, loam.FieldInvalidType, "must be a list of strings")
						}
					default:
						fe.Add(at+mk, loam.FieldUnknown, "is not accepted here")
						unknown = true
					}
				}
				if _, bad := fe[at+"collection"]; !bad && sc.Collection == "" {
					fe.Add(at+"collection", loam.FieldRequired, "is required")
				}
				nk.Scopes.Collections = append(nk.Scopes.Collections, sc)
			}
		case "system":
			if json.Unmarshal(raw, &nk.Scopes.System) != nil {
				fe.Add(k, loam.FieldInvalidType, "must be a list of strings")
			}
		case "expires":
			var s *string
			if json.Unmarshal(raw, &s) != nil {
				fe.Add(k, loam.FieldInvalidType, "must be a date and time (RFC 3339) or null")
				continue
			}
			if s == nil {
				continue
			}
			t, err := loam.ParseTime(*s)
			if err != nil {
				fe.Add(k, loam.FieldInvalidDate, "must be a date and time (RFC 3339)")
				continue
			}
			nk.Expires = t.UTC().Truncate(time.Millisecond)
		default:
			fe.Add(k, loam.FieldUnknown, "is not accepted here")
			unknown = true
		}
	}
	code := loam.CodeValidationFailed
	if unknown {
		code = loam.CodeUnknownField
	}
	return nk, fe.Err(code, "the key is invalid")
}
