package api

import (
	"context"
	"encoding/base64"
	"net/http"
	"strconv"

	"loam"
)

// The second factor: TOTP enrolment and confirmation, the second step of a
// sign-in that answered mfa_required, recovery codes and switching it off.
// Except for verify, these need a session of the record itself (an API key
// is forbidden).

// qrDataPrefix starts the QR code of an enrolment, a data URL an <img> shows.
const qrDataPrefix = "data:image/png;base64,"

func (s *Server) mfaEnroll(w http.ResponseWriter, r *http.Request) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	en, err := s.app.EnrollTOTP(r.Context(), PrincipalFrom(r), c.Name)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	b := append([]byte(`{"secret":`), appendString(nil, en.Secret)...)
	b = append(b, `,"uri":`...)
	b = appendString(b, en.URI)
	b = append(b, `,"qr":`...)
	b = appendString(b, qrDataPrefix+base64.StdEncoding.EncodeToString(en.QRPNG))
	b = append(b, '}')
	writeBody(w, http.StatusOK, b)
}

// writeRecoveryCodes answers {"recoveryCodes":[...]}.
func writeRecoveryCodes(w http.ResponseWriter, codes []string) {
	b := []byte(`{"recoveryCodes":[`)
	for i, code := range codes {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, code)
	}
	b = append(b, "]}"...)
	writeBody(w, http.StatusOK, b)
}

func (s *Server) mfaConfirm(w http.ResponseWriter, r *http.Request) {
	s.newRecoveryCodes(w, r, s.app.ConfirmTOTP)
}

// newRecoveryCodes answers the recovery codes that run gives for the
// caller's current code: confirming TOTP, or replacing the codes.
func (s *Server) newRecoveryCodes(w http.ResponseWriter, r *http.Request,
	run func(ctx context.Context, who *loam.Principal, collection, code string) ([]string, error)) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	body, ok := authBody(w, r, []string{"code"})
	if !ok {
		return
	}
	codes, err := run(r.Context(), PrincipalFrom(r), c.Name, body["code"])
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeRecoveryCodes(w, codes)
}

func (s *Server) mfaVerify(w http.ResponseWriter, r *http.Request) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	body, ok := authBody(w, r, []string{"mfaId", "code"})
	if !ok {
		return
	}
	token, rec, err := s.app.VerifyMFA(r.Context(), c.Name, body["mfaId"], body["code"])
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeAuth(w, r, c, token, rec)
}

func (s *Server) mfaRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	s.newRecoveryCodes(w, r, s.app.RegenerateRecoveryCodes)
}

func (s *Server) mfaDisable(w http.ResponseWriter, r *http.Request) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	if body, ok := authBody(w, r, []string{"code"}); ok {
		noContent(w, r, s.app.DisableMFA(r.Context(), PrincipalFrom(r), c.Name, body["code"]))
	}
}

func (s *Server) mfaStatus(w http.ResponseWriter, r *http.Request) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	on, left, err := s.app.MFAStatus(r.Context(), PrincipalFrom(r), c.Name)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	b := append([]byte(`{"enabled":`), strconv.FormatBool(on)...)
	b = append(b, `,"recoveryCodesLeft":`...)
	b = strconv.AppendInt(b, int64(left), 10)
	b = append(b, '}')
	writeBody(w, http.StatusOK, b)
}
