package api_test

import (
	"encoding/json"
	"testing"
)

// TestAuthOptions: an auth collection's options as saved and answered:
// sign-in methods (replaced whole; password only by default; OAuth2 providers
// must be configured; MFA refused until it exists), identity fields, the manage rule (auth
// collections only) and the auth rule, both checked like the other rules.
func TestAuthOptions(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		e.mustCreateCollection(t, `{"name":"users","type":"auth","fields":[{"name":"nick","type":"text","unique":true},
			{"name":"bio","type":"text"},{"name":"disabled","type":"bool","hidden":true}]}`)
		methods := func(want string) func(t *testing.T, a *answer) {
			return func(t *testing.T, a *answer) {
				var c struct {
					Auth struct {
						Methods json.RawMessage `json:"methods"`
					} `json:"auth"`
				}
				if err := json.Unmarshal(a.Body, &c); err != nil || string(c.Auth.Methods) != want {
					t.Errorf("auth.methods %s, want %s (%v)", c.Auth.Methods, want, err)
				}
			}
		}
		path := "/api/collections/users"
		e.run(t, []scenario{
			{Name: "password only by default", Method: "GET", Path: path, Token: e.super, Status: 200,
				Check: methods(`{"password":true,"otp":false,"oauth2":[],"mfa":false}`)},
			{Name: "turn otp on", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"auth":{"methods":{"password":true,"otp":true,"oauth2":[],"mfa":false}}}`, Status: 200,
				Check: methods(`{"password":true,"otp":true,"oauth2":[],"mfa":false}`)},
			{Name: "methods are replaced whole", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"auth":{"methods":{"otp":true}}}`, Status: 200,
				Check: methods(`{"password":false,"otp":true,"oauth2":[],"mfa":false}`)},
			{Name: "other auth options stay", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"auth":{"minPasswordLength":12}}`, Status: 200, Contains: []string{`"minPasswordLength":12`},
				Check: methods(`{"password":false,"otp":true,"oauth2":[],"mfa":false}`)},
			{Name: "an unknown method", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"auth":{"methods":{"password":true,"sms":true}}}`, Status: 400, Code: "invalid_schema",
				Fields: errs{"auth": "invalid_type"}, Unchanged: true},
			{Name: "an oauth2 provider that is not configured", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"auth":{"methods":{"password":true,"oauth2":["google"]}}}`, Status: 400, Code: "invalid_schema",
				Fields: errs{"auth.methods.oauth2.0": "not_found"}, Unchanged: true},
			{Name: "mfa can be turned on", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"auth":{"methods":{"password":true,"mfa":true}}}`, Status: 200,
				Check: methods(`{"password":true,"otp":false,"oauth2":[],"mfa":true}`)},
			{Name: "an identity field that is not unique", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"auth":{"identityFields":["email","bio"]}}`, Status: 400, Code: "invalid_schema",
				Fields: errs{"auth.identityFields.1": "invalid"}, Unchanged: true},
			{Name: "an identity field that does not exist", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"auth":{"identityFields":["handle"]}}`, Status: 400, Code: "invalid_schema",
				Fields: errs{"auth.identityFields.0": "invalid"}, Unchanged: true},
			{Name: "a unique text identity field", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"auth":{"identityFields":["email","nick"]}}`, Status: 200, Contains: []string{`"identityFields":["email","nick"]`}},
			{Name: "a manage rule", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"rules":{"manage":"@request.auth.nick = \"admin\""}}`, Status: 200,
				Contains: []string{`"manage":"@request.auth.nick = \"admin\""`}},
			{Name: "a manage rule that does not compile", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"rules":{"manage":"nope = 1"}}`, Status: 400, Code: "invalid_schema",
				Fields: errs{"rules.manage": "invalid"}, Unchanged: true},
			{Name: "an auth rule", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"auth":{"rule":"disabled != true"}}`, Status: 200, Contains: []string{`"rule":"disabled != true"`}},
			{Name: "an auth rule that does not compile", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"auth":{"rule":"disabled ="}}`, Status: 400, Code: "invalid_schema",
				Fields: errs{"auth.rule": "invalid"}, Unchanged: true},
			{Name: "an auth rule naming an unknown field", Method: "PATCH", Path: path, Token: e.super,
				Body: `{"auth":{"rule":"banned = true"}}`, Status: 400, Code: "invalid_schema",
				Fields: errs{"auth.rule": "invalid"}, Unchanged: true},
			{Name: "a base collection has no manage rule", Method: "POST", Path: "/api/collections", Token: e.super,
				Body: `{"name":"posts","rules":{"manage":""}}`, Status: 400, Code: "invalid_schema",
				Fields: errs{"rules.manage": "invalid"}, Unchanged: true},
			{Name: "a base collection answers no manage rule", Method: "POST", Path: "/api/collections", Token: e.super,
				Body: `{"name":"posts"}`, Status: 201, Absent: []string{`"manage"`, `"auth"`}},
		})
	})
}
