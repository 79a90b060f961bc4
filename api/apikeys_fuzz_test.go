package api

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"loam"
)

// FuzzParseNewAPIKey: any JSON object parses into a key request or a
// validation error (validation_failed or unknown_field with field errors),
// never a panic; what parses holds only what the body said.
func FuzzParseNewAPIKey(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"name":"ci"}`, `{"name":"ci","scopes":[{"collection":"posts","actions":["list","view"]}]}`,
		`{"name":"ops","system":["jobs","settings"]}`, `{"name":"x","expires":"2030-01-01T00:00:00Z"}`,
		`{"name":"x","expires":null}`, `{"name":"x","expires":"soon"}`, `{"name":"x","expires":5}`,
		`{"name":1}`, `{"scopes":"posts"}`, `{"scopes":[1]}`, `{"scopes":[{"collection":1}]}`, `{"scopes":[{}]}`,
		`{"scopes":[{"collection":"p","actions":"list"}]}`, `{"scopes":[{"collection":"p","verbs":[]}]}`,
		`{"system":"jobs"}`, `{"owner":"x"}`, `{"name":"\u0000","scopes":null}`, `{"scopes":[null]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var body map[string]json.RawMessage
		if json.Unmarshal([]byte(raw), &body) != nil {
			return
		}
		nk, err := parseNewAPIKey(body)
		if err != nil {
			var e *loam.Error
			if c := loam.CodeOf(err); (c != loam.CodeValidationFailed && c != loam.CodeUnknownField) || !errors.As(err, &e) || len(e.Fields) == 0 {
				t.Fatalf("%s: error %v", raw, err)
			}
			return
		}
		if _, ok := body["scopes"]; !ok && len(nk.Scopes.Collections) > 0 {
			t.Fatalf("%s: scopes from nowhere: %+v", raw, nk.Scopes)
		}
		for _, sc := range nk.Scopes.Collections {
			if sc.Collection == "" {
				t.Fatalf("%s: a scope without a collection passed", raw)
			}
		}
		if _, ok := body["system"]; !ok && !slices.Equal(nk.Scopes.System, nil) {
			t.Fatalf("%s: system areas from nowhere: %v", raw, nk.Scopes.System)
		}
	})
}
