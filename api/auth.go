package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

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
	writeAuth(w, r, c, token, rec)
}

// writeAuth answers {"token","record"}: a session token and the record it
// signs in. The record shows hidden fields when the caller or the record
// is a superuser.
func writeAuth(w http.ResponseWriter, r *http.Request, c *loam.Collection, token string, rec *loam.Record) {
	b := append([]byte(`{"token":`), appendString(nil, token)...)
	b = append(b, `,"record":`...)
	b = appendRecord(b, c, rec, c.Name == loam.SuperusersCollection || PrincipalFrom(r).IsSuperuser())
	b = append(b, '}')
	writeBody(w, http.StatusOK, b)
}

// authCollectionFor resolves the route's collection, which must be an
// auth collection; when it is not, it has answered.
func (s *Server) authCollectionFor(w http.ResponseWriter, r *http.Request) *loam.Collection {
	c := s.app.Schema().Collection(r.PathValue("name"))
	if c == nil || !c.IsAuth() {
		WriteError(w, r, loam.Errorf(loam.CodeNotFound, "no auth collection %q", r.PathValue("name")))
		return nil
	}
	return c
}

// authBody reads a JSON object of string members: every name of required
// must be there and not empty, optional ones may be, and any other member
// is unknown_field. When it fails it has answered.
func authBody(w http.ResponseWriter, r *http.Request, required []string, optional ...string) (map[string]string, bool) {
	body, err := readObject(r)
	if err != nil {
		WriteError(w, r, err)
		return nil, false
	}
	out := map[string]string{}
	var fe loam.FieldErrors
	unknown := false
	for k, raw := range body {
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			fe.Add(k, loam.FieldUnknown, "is not accepted here")
			unknown = true
			continue
		}
		var v string
		if json.Unmarshal(raw, &v) != nil {
			fe.Add(k, loam.FieldInvalidType, "must be a string")
			continue
		}
		out[k] = v
	}
	for _, k := range required {
		if _, bad := fe[k]; !bad && out[k] == "" {
			fe.Add(k, loam.FieldRequired, "is required")
		}
	}
	code := loam.CodeValidationFailed
	if unknown {
		code = loam.CodeUnknownField
	}
	if err := fe.Err(code, "the body is invalid"); err != nil {
		WriteError(w, r, err)
		return nil, false
	}
	return out, true
}

func (s *Server) authRefresh(w http.ResponseWriter, r *http.Request) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	token, rec, err := s.app.RefreshSession(r.Context(), PrincipalFrom(r), c.Name)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeAuth(w, r, c, token, rec)
}

func (s *Server) authLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.app.Logout(r.Context(), PrincipalFrom(r), r.PathValue("name")); err != nil {
		WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) authSessions(w http.ResponseWriter, r *http.Request) {
	who := PrincipalFrom(r)
	list, err := s.app.Sessions(r.Context(), who, r.PathValue("name"), r.URL.Query().Get("recordId"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	b := []byte(`{"items":[`)
	for i, ss := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, ss.ID)
		b = append(b, `,"method":`...)
		b = appendString(b, ss.Method)
		b = append(b, `,"created":`...)
		b = appendTime(b, ss.Created)
		b = append(b, `,"expires":`...)
		b = appendTime(b, ss.Expires)
		b = append(b, `,"current":`...)
		b = strconv.AppendBool(b, who != nil && who.Session != nil && who.Session.ID == ss.ID)
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	writeBody(w, http.StatusOK, b)
}

func (s *Server) authRevokeSessions(w http.ResponseWriter, r *http.Request) {
	err := s.app.RevokeSessions(r.Context(), PrincipalFrom(r), r.PathValue("name"), r.URL.Query().Get("recordId"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) authRevokeSession(w http.ResponseWriter, r *http.Request) {
	if err := s.app.RevokeSession(r.Context(), PrincipalFrom(r), r.PathValue("name"), r.PathValue("session")); err != nil {
		WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// authMethods lists the sign-in methods of a collection, to anyone.
func (s *Server) authMethods(w http.ResponseWriter, r *http.Request) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	m := c.Auth.Methods
	b := []byte(`{"password":{"enabled":`)
	b = strconv.AppendBool(b, m.Password)
	b = append(b, `,"identityFields":[`...)
	for i, f := range c.Auth.IdentityFields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, f)
	}
	b = append(b, `]},"otp":{"enabled":`...)
	b = strconv.AppendBool(b, m.OTP)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(loam.OTPTTL/time.Second), 10)
	b = append(b, `},"oauth2":{"enabled":`...)
	b = strconv.AppendBool(b, len(m.OAuth2) > 0)
	b = append(b, `,"providers":[`...)
	for i, p := range c.Auth.OAuth2Methods() {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, p.Name)
		b = append(b, `,"displayName":`...)
		b = appendString(b, p.Title)
		b = append(b, `,"startUrl":`...)
		b = appendString(b, oauth2Path(c.Name, p.Name, "start"))
		b = append(b, '}')
	}
	b = append(b, `]},"mfa":{"enabled":`...)
	b = strconv.AppendBool(b, m.MFA)
	b = append(b, "}}"...)
	writeBody(w, http.StatusOK, b)
}

// authImpersonate signs a superuser in as another record. The body is
// optional: {"duration": seconds}.
func (s *Server) authImpersonate(w http.ResponseWriter, r *http.Request) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	who := PrincipalFrom(r)
	if !who.IsSuperuser() { // before reading the body: refusals describe nothing
		code := loam.CodeForbidden
		if who == nil {
			code = loam.CodeUnauthenticated
		}
		WriteError(w, r, loam.Errorf(code, "impersonating needs a superuser"))
		return
	}
	var duration time.Duration
	if r.ContentLength != 0 {
		body, err := readObject(r)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		var fe loam.FieldErrors
		for k, raw := range body {
			var secs float64
			switch {
			case k != "duration":
				fe.Add(k, loam.FieldUnknown, "is not accepted here")
			case json.Unmarshal(raw, &secs) != nil || secs < 0 || secs != float64(int64(secs)) || secs > 1<<31:
				fe.Add(k, loam.FieldInvalidType, "must be a whole number of seconds")
			default:
				duration = time.Duration(secs) * time.Second
			}
		}
		if err := fe.Err(loam.CodeValidationFailed, "the body is invalid"); err != nil {
			WriteError(w, r, err)
			return
		}
	}
	token, rec, err := s.app.Impersonate(r.Context(), who, c.Name, r.PathValue("id"), duration)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeAuth(w, r, c, token, rec)
}
