package api_test

import (
	"testing"
)

// TestAuthEmailCase: an auth collection's email is unique without regard to
// the case of ASCII letters, and signs in in any case; the address is kept
// as it was written.
func TestAuthEmailCase(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		_, _ = e.signUp(t) // ann@example.com
		users := "/api/collections/users/records"
		e.run(t, []scenario{
			{Name: "sign up again in capitals", Method: "POST", Path: users,
				Body:   `{"email":"ANN@Example.COM","password":"another long password"}`,
				Status: 409, Code: "conflict", Fields: errs{"email": "unique"}, Unchanged: true},
			{Name: "sign in in capitals", Method: "POST", Path: "/api/collections/users/auth/password",
				Body: `{"identity":"Ann@EXAMPLE.com","password":"ann's long password"}`, Status: 200,
				Contains: []string{`"token":`}},
			{Name: "a mixed-case address is kept as written", Method: "POST", Path: users, Token: e.super,
				Body: `{"email":"Bob.Smith@Example.com","password":"bob's long password"}`, Status: 201,
				Contains: []string{`"email":"Bob.Smith@Example.com"`}},
			{Name: "the superuser signs in in capitals", Method: "POST", Path: "/api/collections/_superusers/auth/password",
				Body: `{"identity":"ROOT@example.com","password":"` + superPassword + `"}`, Status: 200},
		})
	})
}
