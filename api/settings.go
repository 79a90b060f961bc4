package api

import (
	"encoding/json"
	"net/http"

	"loam"
)

// settingsPath is the route of the shared settings.
const settingsPath = "/api/settings"

// getSettings answers GET /api/settings (superusers): the settings in
// effect, the SMTP password left out.
func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) {
	snap, err := s.app.SettingsFor(r.Context(), PrincipalFrom(r))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeSettings(w, r, snap)
}

// updateSettings answers PATCH /api/settings (superusers): a JSON merge
// patch of the settings; null returns a member to its default.
func (s *Server) updateSettings(w http.ResponseWriter, r *http.Request) {
	if err := PrincipalFrom(r).InArea(loam.AreaSettings); err != nil {
		WriteError(w, r, err) // before the body is read
		return
	}
	body, err := readJSON(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	snap, err := s.app.UpdateSettings(r.Context(), PrincipalFrom(r), body)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeSettings(w, r, snap)
}

func writeSettings(w http.ResponseWriter, r *http.Request, snap *loam.SettingsSnapshot) {
	b, err := snap.Settings.MarshalPublic()
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeBody(w, http.StatusOK, b)
}

// testEmail answers POST /api/settings/test-email (superusers): {"to"}
// gets a short mail through the SMTP server of the current settings.
func (s *Server) testEmail(w http.ResponseWriter, r *http.Request) {
	if err := PrincipalFrom(r).InArea(loam.AreaSettings); err != nil {
		WriteError(w, r, err)
		return
	}
	m, err := readObject(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	var fe loam.FieldErrors
	var to string
	for k, v := range m {
		if k != "to" {
			fe.Add(k, loam.FieldUnknown, "is not a member of a test mail request")
		} else if err := json.Unmarshal(v, &to); err != nil {
			fe.Add("to", loam.FieldInvalidType, "must be a string")
		}
	}
	if _, ok := m["to"]; !ok {
		fe.Add("to", loam.FieldRequired, "is required")
	}
	if err := fe.Err(loam.CodeValidationFailed, "the test mail request is not valid"); err != nil {
		WriteError(w, r, err)
		return
	}
	if err := s.app.SendTestMail(r.Context(), PrincipalFrom(r), to); err != nil {
		WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
