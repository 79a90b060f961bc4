package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestOAuth2ProviderConfig: provider configs are checked when a collection
// is saved (field errors, nothing changes), and a client secret is kept
// but never answered, by any route.
func TestOAuth2ProviderConfig(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		const secret = "very-secret-client-secret"
		e.mustCreateCollection(t, `{"name":"users","type":"auth"}`)
		path := "/api/collections/users"
		providers := func(list string) string { return `{"auth":{"oauth2Providers":[` + list + `]}}` }
		e.run(t, []scenario{
			{Name: "a bad name", Method: "PATCH", Path: path, Token: e.super,
				Body: providers(`{"name":"Bad Name","clientId":"x","issuer":"https://id.example"}`), Status: 400,
				Code: "invalid_schema", Fields: errs{"auth.oauth2Providers.0.name": "pattern"}, Unchanged: true},
			{Name: "a name twice", Method: "PATCH", Path: path, Token: e.super,
				Body: providers(`{"name":"google","clientId":"x"},{"name":"google","clientId":"y"}`), Status: 400,
				Code: "invalid_schema", Fields: errs{"auth.oauth2Providers.1.name": "unique"}, Unchanged: true},
			{Name: "no client id", Method: "PATCH", Path: path, Token: e.super,
				Body: providers(`{"name":"google"}`), Status: 400,
				Code: "invalid_schema", Fields: errs{"auth.oauth2Providers.0.clientId": "required"}, Unchanged: true},
			{Name: "a generic provider without issuer", Method: "PATCH", Path: path, Token: e.super,
				Body: providers(`{"name":"corp","clientId":"x"}`), Status: 400,
				Code: "invalid_schema", Fields: errs{"auth.oauth2Providers.0.issuer": "required"}, Unchanged: true},
			{Name: "an http issuer elsewhere than on a loopback address", Method: "PATCH", Path: path, Token: e.super,
				Body: providers(`{"name":"corp","clientId":"x","issuer":"http://id.example"}`), Status: 400,
				Code: "invalid_schema", Fields: errs{"auth.oauth2Providers.0.issuer": "invalid_url"}, Unchanged: true},
			{Name: "a discovery URL with a query", Method: "PATCH", Path: path, Token: e.super,
				Body: providers(`{"name":"corp","clientId":"x","discoveryUrl":"https://id.example/d?x=1"}`), Status: 400,
				Code: "invalid_schema", Fields: errs{"auth.oauth2Providers.0.discoveryUrl": "invalid_url"}, Unchanged: true},
			{Name: "a tenant for another provider than microsoft", Method: "PATCH", Path: path, Token: e.super,
				Body: providers(`{"name":"google","clientId":"x","tenant":"common"}`), Status: 400,
				Code: "invalid_schema", Fields: errs{"auth.oauth2Providers.0.tenant": "invalid"}, Unchanged: true},
			{Name: "a scope with a space", Method: "PATCH", Path: path, Token: e.super,
				Body: providers(`{"name":"google","clientId":"x","scopes":["openid","a b"]}`), Status: 400,
				Code: "invalid_schema", Fields: errs{"auth.oauth2Providers.0.scopes.1": "pattern"}, Unchanged: true},
			{Name: "an unknown member", Method: "PATCH", Path: path, Token: e.super,
				Body: providers(`{"name":"google","clientId":"x","colour":"red"}`), Status: 400,
				Code: "invalid_schema", Fields: errs{"auth": "invalid_type"}, Unchanged: true},
			{Name: "a method without its provider", Method: "PATCH", Path: path, Token: e.super,
				Body:   `{"auth":{"methods":{"password":true,"oauth2":["gitlab"]},"oauth2Providers":[{"name":"google","clientId":"x"}]}}`,
				Status: 400, Code: "invalid_schema", Fields: errs{"auth.methods.oauth2.0": "not_found"}, Unchanged: true},
			{Name: "presets and a generic provider", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"auth":{"methods":{"password":true,"oauth2":["google","microsoft","corp"]},"oauth2Providers":[
					{"name":"google","clientId":"g","clientSecret":"` + secret + `"},
					{"name":"microsoft","clientId":"m","clientSecret":"` + secret + `","tenant":"organizations"},
					{"name":"corp","clientId":"c","clientSecret":"` + secret + `","discoveryUrl":"https://id.corp.example/.well-known/openid-configuration"}]}}`,
				Status: 200, Contains: []string{`"clientId":"g"`, `"tenant":"organizations"`}, Absent: []string{secret, "clientSecret"}},
			{Name: "methods list the providers that are on", Method: "GET", Path: path + "/auth/methods", Status: 200,
				Contains: []string{`{"name":"google","displayName":"Google","startUrl":"/api/collections/users/auth/oauth2/google/start"}`,
					`{"name":"microsoft","displayName":"Microsoft"`, `{"name":"corp","displayName":"corp"`}},
		})
		// No answer carries the secret: the collection, the list, the
		// documents, a change that leaves the secret out (which keeps it).
		for _, c := range []call{
			{Method: "GET", Path: path, Token: e.super},
			{Method: "GET", Path: "/api/collections", Token: e.super},
			{Method: "GET", Path: "/api/openapi.json", Token: e.super},
			{Method: "GET", Path: "/api/openapi.json"},
			{Method: "GET", Path: path + "/auth/methods"},
			{Method: "PATCH", Path: path, Token: e.super, Body: `{"auth":{"oauth2Providers":[
				{"name":"google","clientId":"g2"},{"name":"microsoft","clientId":"m"},{"name":"corp","clientId":"c",
				"discoveryUrl":"https://id.corp.example/.well-known/openid-configuration"}]}}`},
		} {
			a := e.do(t, c)
			if a.Status != http.StatusOK || strings.Contains(string(a.Body), secret) {
				t.Errorf("%s %s: %d, holds the secret: %v", c.Method, c.Path, a.Status, strings.Contains(string(a.Body), secret))
			}
		}
		p := e.app.Schema().Collection("users").Auth.OAuth2Provider("google")
		if p == nil || p.ClientID != "g2" || p.ClientSecret != secret {
			t.Errorf("google after a change without its secret: %+v, want clientId g2 and the secret kept", p)
		}
		// A new secret replaces the old one.
		e.do(t, call{Method: "PATCH", Path: path, Token: e.super, Body: `{"auth":{"oauth2Providers":[
			{"name":"google","clientId":"g2","clientSecret":"new"},{"name":"microsoft","clientId":"m"},{"name":"corp","clientId":"c",
			"discoveryUrl":"https://id.corp.example/.well-known/openid-configuration"}]}}`})
		if p := e.app.Schema().Collection("users").Auth.OAuth2Provider("google"); p == nil || p.ClientSecret != "new" {
			t.Errorf("google after a new secret: %+v", p)
		}
	})
}
