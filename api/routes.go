package api

import (
	"net/http"
	"strings"

	"loam"
)

// routes installs the API. Each path is also registered without a method so
// that a wrong method gets a JSON 405 with Allow instead of the mux's text.
func (s *Server) routes() {
	type route struct {
		path    string
		methods map[string]http.HandlerFunc
	}
	for _, rt := range []route{
		{"/api/health", map[string]http.HandlerFunc{"GET": s.health}},
		{"/api/ready", map[string]http.HandlerFunc{"GET": s.ready}},
		{"/api/collections", map[string]http.HandlerFunc{"GET": s.listCollections, "POST": s.createCollection}},
		{"/api/collections/{name}", map[string]http.HandlerFunc{
			"GET": s.getCollection, "PATCH": s.updateCollection, "DELETE": s.deleteCollection}},
		{"/api/collections/{name}/records", map[string]http.HandlerFunc{"GET": s.listRecords, "POST": s.idempotent(s.createRecord)}},
		{"/api/collections/{name}/records/{id}", map[string]http.HandlerFunc{
			"GET": s.getRecord, "PATCH": s.idempotent(s.updateRecord), "DELETE": s.idempotent(s.deleteRecord)}},
		{"/api/collections/{name}/aggregate", map[string]http.HandlerFunc{"GET": s.aggregate}},
		{"/api/collections/{name}/auth/refresh", map[string]http.HandlerFunc{"POST": s.authRefresh}},
		{"/api/collections/{name}/auth/logout", map[string]http.HandlerFunc{"POST": s.authLogout}},
		{"/api/collections/{name}/auth/sessions", map[string]http.HandlerFunc{"GET": s.authSessions, "DELETE": s.authRevokeSessions}},
		{"/api/collections/{name}/auth/sessions/{session}", map[string]http.HandlerFunc{"DELETE": s.authRevokeSession}},
		{"/api/collections/{name}/auth/methods", map[string]http.HandlerFunc{"GET": s.authMethods}},
		{"/api/collections/{name}/auth/impersonate/{id}", map[string]http.HandlerFunc{"POST": s.authImpersonate}},
		{"/api/collections/{name}/auth/otp/request", map[string]http.HandlerFunc{"POST": s.otpRequest}},
		{"/api/collections/{name}/auth/otp/verify", map[string]http.HandlerFunc{"POST": s.otpVerify}},
		{"/api/collections/{name}/auth/verify/request", map[string]http.HandlerFunc{"POST": s.verifyRequest}},
		{"/api/collections/{name}/auth/verify/confirm", map[string]http.HandlerFunc{"POST": s.verifyConfirm}},
		{"/api/collections/{name}/auth/reset/request", map[string]http.HandlerFunc{"POST": s.resetRequest}},
		{"/api/collections/{name}/auth/reset/confirm", map[string]http.HandlerFunc{"POST": s.resetConfirm}},
		{"/api/collections/{name}/auth/email-change/request", map[string]http.HandlerFunc{"POST": s.emailChangeRequest}},
		{"/api/collections/{name}/auth/email-change/confirm", map[string]http.HandlerFunc{"POST": s.emailChangeConfirm}},
		{"/api/collections/{name}/auth/password", map[string]http.HandlerFunc{"POST": s.authWithPassword}},
		{"/api/collections/{name}/auth/oauth2/{provider}/start", map[string]http.HandlerFunc{"GET": s.oauth2Start, "POST": s.oauth2Start}},
		{"/api/collections/{name}/auth/oauth2/{provider}/callback", map[string]http.HandlerFunc{
			"GET": s.oauth2Callback, "POST": s.oauth2Callback}},
		{"/api/collections/{name}/records/{id}/external-auths", map[string]http.HandlerFunc{"GET": s.externalAuths}},
		{"/api/collections/{name}/records/{id}/external-auths/{link}", map[string]http.HandlerFunc{"DELETE": s.unlinkExternalAuth}},
		{"/api/collections/{name}/auth/mfa", map[string]http.HandlerFunc{"GET": s.mfaStatus}},
		{"/api/collections/{name}/auth/mfa/totp/enroll", map[string]http.HandlerFunc{"POST": s.mfaEnroll}},
		{"/api/collections/{name}/auth/mfa/totp/confirm", map[string]http.HandlerFunc{"POST": s.mfaConfirm}},
		{"/api/collections/{name}/auth/mfa/verify", map[string]http.HandlerFunc{"POST": s.mfaVerify}},
		{"/api/collections/{name}/auth/mfa/recovery-codes", map[string]http.HandlerFunc{"POST": s.mfaRecoveryCodes}},
		{"/api/collections/{name}/auth/mfa/disable", map[string]http.HandlerFunc{"POST": s.mfaDisable}},
		{"/api/collections/{name}/records/{id}/api-keys", map[string]http.HandlerFunc{"GET": s.listAPIKeys, "POST": s.createAPIKey}},
		{"/api/collections/{name}/records/{id}/api-keys/{key}", map[string]http.HandlerFunc{"GET": s.getAPIKey,
			"DELETE": s.deleteAPIKey}},
		{batchPath, map[string]http.HandlerFunc{"POST": s.idempotent(s.batch)}},
		{"/api/jobs", map[string]http.HandlerFunc{"GET": s.listJobs, "POST": s.idempotent(s.enqueueJob)}},
		{"/api/jobs/{id}", map[string]http.HandlerFunc{"GET": s.getJob}},
		{"/api/jobs/{id}/retry", map[string]http.HandlerFunc{"POST": s.retryJob}},
		{"/api/jobs/{id}/cancel", map[string]http.HandlerFunc{"POST": s.cancelJob}},
		{"/api/schedules", map[string]http.HandlerFunc{"GET": s.listSchedules, "POST": s.createSchedule}},
		{"/api/schedules/{id}", map[string]http.HandlerFunc{"GET": s.getSchedule, "PATCH": s.updateSchedule,
			"DELETE": s.deleteSchedule}},
		{settingsPath, map[string]http.HandlerFunc{"GET": s.getSettings, "PATCH": s.updateSettings}},
		{settingsPath + "/test-email", map[string]http.HandlerFunc{"POST": s.testEmail}},
		{realtimePath, map[string]http.HandlerFunc{"GET": s.realtimeStream}},
		{realtimeTicketPath, map[string]http.HandlerFunc{"POST": s.realtimeTicket}},
		{openAPIPath, map[string]http.HandlerFunc{"GET": s.openAPI}},
		{docsPath, map[string]http.HandlerFunc{"GET": s.docsPage}},
		{docsPath + "/assets/{version}/{name}", map[string]http.HandlerFunc{"GET": s.docsAsset}},
	} {
		var allow []string
		for m, h := range rt.methods {
			s.mux.HandleFunc(m+" "+rt.path, h)
			allow = append(allow, m)
			if m == "GET" {
				allow = append(allow, "HEAD")
			}
		}
		allowed := strings.Join(allow, ", ")
		s.mux.HandleFunc(rt.path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allowed)
			WriteError(w, r, loam.Errorf(loam.CodeMethodNotAllowed, "%s is not allowed here; allowed: %s", r.Method, allowed))
		})
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, loam.Errorf(loam.CodeNotFound, "no route %s %s", r.Method, r.URL.Path))
	})
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeBody(w, http.StatusOK, []byte(`{"status":"ok"}`))
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if err := s.app.Ready(r.Context()); err != nil {
		logger(r).Warn("not ready", "err", err)
		WriteError(w, r, loam.Errorf(loam.CodeUnavailable, "the database is not ready"))
		return
	}
	writeBody(w, http.StatusOK, []byte(`{"status":"ok"}`))
}
