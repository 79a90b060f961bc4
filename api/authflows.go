package api

import "net/http"

// The auth flows: one-time codes, verification, password reset and email
// change. Requests answer alike whether an account exists or not.

func (s *Server) otpRequest(w http.ResponseWriter, r *http.Request) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	body, ok := authBody(w, r, []string{"email"})
	if !ok {
		return
	}
	id, err := s.app.RequestOTP(r.Context(), c.Name, body["email"])
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeBody(w, http.StatusOK, append(appendString([]byte(`{"otpId":`), id), '}'))
}

func (s *Server) otpVerify(w http.ResponseWriter, r *http.Request) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	body, ok := authBody(w, r, []string{"otpId", "code"})
	if !ok {
		return
	}
	token, rec, err := s.app.AuthWithOTP(r.Context(), c.Name, body["otpId"], body["code"])
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeAuth(w, r, c, token, rec)
}

// noContent answers 204 for a flow step that succeeded, or the error.
func noContent(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) verifyRequest(w http.ResponseWriter, r *http.Request) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	if body, ok := authBody(w, r, []string{"email"}); ok {
		noContent(w, r, s.app.RequestVerification(r.Context(), c.Name, body["email"]))
	}
}

func (s *Server) verifyConfirm(w http.ResponseWriter, r *http.Request) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	if body, ok := authBody(w, r, []string{"token"}); ok {
		noContent(w, r, s.app.ConfirmVerification(r.Context(), c.Name, body["token"]))
	}
}

func (s *Server) resetRequest(w http.ResponseWriter, r *http.Request) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	if body, ok := authBody(w, r, []string{"email"}); ok {
		noContent(w, r, s.app.RequestPasswordReset(r.Context(), c.Name, body["email"]))
	}
}

func (s *Server) resetConfirm(w http.ResponseWriter, r *http.Request) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	body, ok := authBody(w, r, []string{"token", "password"}, "passwordConfirm")
	if !ok {
		return
	}
	var confirm *string
	if v, sent := body["passwordConfirm"]; sent {
		confirm = &v
	}
	noContent(w, r, s.app.ConfirmPasswordReset(r.Context(), c.Name, body["token"], body["password"], confirm))
}

func (s *Server) emailChangeRequest(w http.ResponseWriter, r *http.Request) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	if who := PrincipalFrom(r); who == nil || who.Collection != c.Name {
		// Refused before the body is read: nothing is said to others.
		noContent(w, r, s.app.RequestEmailChange(r.Context(), who, c.Name, ""))
		return
	}
	if body, ok := authBody(w, r, []string{"newEmail"}); ok {
		noContent(w, r, s.app.RequestEmailChange(r.Context(), PrincipalFrom(r), c.Name, body["newEmail"]))
	}
}

func (s *Server) emailChangeConfirm(w http.ResponseWriter, r *http.Request) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	if body, ok := authBody(w, r, []string{"token", "password"}); ok {
		noContent(w, r, s.app.ConfirmEmailChange(r.Context(), c.Name, body["token"], body["password"]))
	}
}
