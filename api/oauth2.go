package api

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"loam"
)

// oauth2Path is the path of the OAuth2 routes of a collection and provider.
func oauth2Path(collection, provider, action string) string {
	return "/api/collections/" + url.PathEscape(collection) + "/auth/oauth2/" + url.PathEscape(provider) + "/" + action
}

// callbackURL is the URL providers send the browser back to: on
// Config.PublicURL when set, else on the request's own scheme and host.
// (A forged Host cannot divert a sign-in: the provider only sends browsers
// to the redirect URIs registered with it.)
func (s *Server) callbackURL(r *http.Request, c *loam.Collection, provider string) string {
	base := strings.TrimRight(s.cfg.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + oauth2Path(c.Name, provider, "callback")
}

// oauth2Start starts a sign-in through a provider. GET (a browser
// navigation) answers with a redirect to the provider; POST, or a GET
// that accepts JSON and not HTML (a script), answers {"url","expires"}. redirect (query parameter for GET, body
// member for POST) is where the browser lands after the callback.
func (s *Server) oauth2Start(w http.ResponseWriter, r *http.Request) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	redirect := r.URL.Query().Get("redirect")
	if r.Method == http.MethodPost {
		redirect = ""
		if r.ContentLength != 0 {
			body, ok := authBody(w, r, nil, "redirect")
			if !ok {
				return
			}
			redirect = body["redirect"]
		}
	}
	provider := r.PathValue("provider")
	start, err := s.app.StartOAuth2(r.Context(), c.Name, provider, redirect, s.callbackURL(r, c, provider))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Add("Vary", "Accept")
	if r.Method == http.MethodGet && !acceptsJSONOnly(r) {
		w.Header().Set("Location", start.URL)
		w.WriteHeader(http.StatusFound)
		return
	}
	b := append([]byte(`{"url":`), appendString(nil, start.URL)...)
	b = append(b, `,"expires":`...)
	b = appendTime(b, start.Expires)
	writeBody(w, http.StatusOK, append(b, '}'))
}

// acceptsJSONOnly reports whether the request asks for JSON and not for
// HTML: a script's GET rather than a browser's navigation.
func acceptsJSONOnly(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

// oauth2Callback completes a sign-in. The provider sends the browser here
// with code and state: in the query (GET) or as a form post (POST, the
// form_post response mode); a script may also POST them as JSON. When the
// sign-in was started with a redirect, the browser goes there with
// #token=...&record=... (or #error=...&message=..., and mfaId when a
// second factor is needed) in the fragment;
// otherwise the answer is {"token","record"} or the error.
func (s *Server) oauth2Callback(w http.ResponseWriter, r *http.Request) {
	c := s.authCollectionFor(w, r)
	if c == nil {
		return
	}
	cb, err := readCallback(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	provider := r.PathValue("provider")
	res, err := s.app.CompleteOAuth2(r.Context(), c.Name, provider, cb, s.callbackURL(r, c, provider))
	w.Header().Set("Cache-Control", "no-store")
	if res != nil && res.Redirect != "" {
		frag := url.Values{}
		if err != nil {
			e, _ := publicError(r, err)
			frag.Set("error", e.Code)
			frag.Set("message", e.Message)
			if e.MFAID != "" { // the first factor passed: the page goes on with .../auth/mfa/verify
				frag.Set("mfaId", e.MFAID)
			}
		} else {
			frag.Set("token", res.Token)
			frag.Set("record", res.Record.ID)
		}
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Location", res.Redirect+"#"+frag.Encode())
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeAuth(w, r, c, res.Token, res.Record)
}

// readCallback reads code, state and error from the query (GET), a form
// post or a JSON object (POST).
func readCallback(r *http.Request) (loam.OAuth2Callback, error) {
	var cb loam.OAuth2Callback
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		return loam.OAuth2Callback{State: q.Get("state"), Code: q.Get("code"), Error: q.Get("error")}, nil
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		b, err := readBody(r)
		if err != nil {
			return cb, err
		}
		form, err := url.ParseQuery(string(b))
		if err != nil {
			return cb, loam.Errorf(loam.CodeValidationFailed, "the form does not parse")
		}
		return loam.OAuth2Callback{State: form.Get("state"), Code: form.Get("code"), Error: form.Get("error")}, nil
	}
	body, err := readObject(r)
	if err != nil {
		return cb, err
	}
	var fe loam.FieldErrors
	unknown := false
	for k, raw := range body {
		var v string
		switch k {
		case "state", "code", "error":
			if json.Unmarshal(raw, &v) != nil {
				fe.Add(k, loam.FieldInvalidType, "must be a string")
			}
		default:
			fe.Add(k, loam.FieldUnknown, "is not accepted here")
			unknown = true
		}
		switch k {
		case "state":
			cb.State = v
		case "code":
			cb.Code = v
		case "error":
			cb.Error = v
		}
	}
	code := loam.CodeValidationFailed
	if unknown {
		code = loam.CodeUnknownField
	}
	return cb, fe.Err(code, "send state and code (or error), and nothing else")
}

// externalAuths lists the provider accounts linked to a record.
func (s *Server) externalAuths(w http.ResponseWriter, r *http.Request) {
	list, err := s.app.ExternalAuths(r.Context(), PrincipalFrom(r), r.PathValue("name"), r.PathValue("id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	b := []byte(`{"items":[`)
	for i, x := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, x.ID)
		b = append(b, `,"provider":`...)
		b = appendString(b, x.Provider)
		b = append(b, `,"subject":`...)
		b = appendString(b, x.Subject)
		b = append(b, `,"created":`...)
		b = appendTime(b, x.Created)
		b = append(b, '}')
	}
	writeBody(w, http.StatusOK, append(b, "]}"...))
}

// unlinkExternalAuth removes one link of a record.
func (s *Server) unlinkExternalAuth(w http.ResponseWriter, r *http.Request) {
	err := s.app.UnlinkExternalAuth(r.Context(), PrincipalFrom(r), r.PathValue("name"), r.PathValue("id"), r.PathValue("link"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
