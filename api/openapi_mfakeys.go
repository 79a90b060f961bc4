package api

import (
	"net/http"
	"strings"

	"loam"
	"loam/openapi"
)

// signedIn is the security of routes that need a bearer credential (a
// session token, or where said, an API key).
var signedIn = []openapi.SecurityRequirement{{bearerScheme: {}}}

// mfa adds the second-factor routes of auth collection c.
func (b *docBuilder) mfa(c *loam.Collection, tags []string) {
	base := "/api/collections/" + c.Name + "/auth/mfa"
	str := func() *openapi.Schema { return &openapi.Schema{Type: openapi.Types{"string"}, MinLength: intp(1)} }
	common := []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType}
	code := object([]string{"code"}, prop("code", describe(str(), "A current TOTP code (6 digits).")))
	codes := okJSON("The recovery codes, each good once. They are shown only now; only their hashes are kept.",
		object([]string{"recoveryCodes"}, prop("recoveryCodes", arrayOf(str()))))
	session := " Needs a session of the record itself (an API key is forbidden)."
	b.op(base, "GET", &openapi.Operation{OperationID: c.Name + ".mfaStatus", Summary: "Whether the caller's second factor is on",
		Description: strings.TrimSpace(session), Tags: tags, Security: signedIn,
		Responses: b.responses(map[string]*openapi.Response{"200": okJSON("The state of the second factor.",
			object([]string{"enabled", "recoveryCodesLeft"}, prop("enabled", boolSchema()),
				prop("recoveryCodesLeft", &openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(0)})))},
			http.StatusForbidden, http.StatusNotFound)})
	b.op(base+"/totp/enroll", "POST", &openapi.Operation{OperationID: c.Name + ".mfaEnroll",
		Summary: "Start TOTP enrolment: a new secret, its otpauth URI and QR code",
		Description: "The secret is shown only now; POST .../totp/confirm with a first code turns the factor on. " +
			"A new enrolment replaces one not yet confirmed; when the factor is on already it is 409. " +
			"Forbidden when the collection's auth.methods.mfa is off." + session,
		Tags: tags, Security: signedIn,
		Responses: b.responses(map[string]*openapi.Response{"200": okJSON("The new secret.", object([]string{"secret", "uri", "qr"},
			prop("secret", describe(str(), "The shared secret, base32.")),
			prop("uri", describe(&openapi.Schema{Type: openapi.Types{"string"}, Pattern: "^otpauth://totp/"},
				"The otpauth:// URI authenticator apps read.")),
			prop("qr", describe(&openapi.Schema{Type: openapi.Types{"string"}, Pattern: "^data:image/png;base64,"},
				"The URI as a 256x256 QR code: a PNG data URL.")))),
		}, http.StatusForbidden, http.StatusNotFound, http.StatusConflict)})
	post := func(path, id, summary, desc string, body *openapi.Schema, success map[string]*openapi.Response, security []openapi.SecurityRequirement) {
		b.op(base+path, "POST", &openapi.Operation{OperationID: c.Name + "." + id, Summary: summary, Description: desc,
			Tags: tags, Security: security, RequestBody: jsonBody(body), Responses: b.responses(success, common...)})
	}
	post("/totp/confirm", "mfaConfirm", "Turn the second factor on with a first TOTP code",
		"A wrong code is 400 with errors.code; no enrolment waiting is 404."+session, code, map[string]*openapi.Response{"200": codes}, signedIn)
	post("/verify", "mfaVerify", "Finish a sign-in that answered mfa_required",
		"code is a TOTP code (never accepted twice) or an unused recovery code. The mfaId lasts 5 minutes, "+
			"takes 5 codes and is used once; a wrong, expired or used one, or one of another collection, is 401. "+
			"Wrong codes count as failed sign-ins of the record: past the limit the answer is 429.",
		object([]string{"mfaId", "code"}, prop("mfaId", describe(str(), "The mfaId of the mfa_required answer.")),
			prop("code", describe(str(), "A TOTP code or a recovery code."))),
		map[string]*openapi.Response{"200": okJSON("Signed in.", openapi.Ref(c.Name+"Auth"))}, []openapi.SecurityRequirement{{}})
	b.doc.Paths[base+"/verify"].Post.Responses["429"] = &openapi.Response{Ref: "#/components/responses/" + b.errorResponse(http.StatusTooManyRequests)}
	post("/recovery-codes", "mfaRecoveryCodes", "Replace the recovery codes",
		"Given a current TOTP code; the old codes stop working."+session, code, map[string]*openapi.Response{"200": codes}, signedIn)
	post("/disable", "mfaDisable", "Turn the second factor off",
		"Given a current TOTP code or a recovery code; the secret and recovery codes are deleted."+session,
		object([]string{"code"}, prop("code", describe(str(), "A TOTP code or a recovery code."))),
		map[string]*openapi.Response{"204": {Description: "Done."}}, signedIn)
}

// apiKeys adds the API key routes of the records of auth collection c.
func (b *docBuilder) apiKeys(c *loam.Collection, tags []string) {
	base := "/api/collections/" + c.Name + "/records/{id}/api-keys"
	str := func() *openapi.Schema { return &openapi.Schema{Type: openapi.Types{"string"}, MinLength: intp(1)} }
	actions := make([]any, len(loam.ScopeActions))
	for i, a := range loam.ScopeActions {
		actions[i] = a
	}
	areas := make([]any, len(loam.Areas))
	for i, a := range loam.Areas {
		areas[i] = a
	}
	scope := object([]string{"collection", "actions"}, prop("collection", str()),
		prop("actions", arrayOf(&openapi.Schema{Type: openapi.Types{"string"}, Enum: actions})))
	system := describe(arrayOf(&openapi.Schema{Type: openapi.Types{"string"}, Enum: areas}),
		"System areas (superusers' keys only): collections, jobs (jobs and schedules), settings.")
	if _, done := b.doc.Components.Schemas["APIKey"]; !done {
		b.doc.Components.Schemas["APIKeyScope"] = describe(scope, "The record actions a key may take on one collection.")
		b.doc.Components.Schemas["APIKey"] = describe(object(
			[]string{"id", "name", "hint", "scopes", "system", "created", "expires", "lastUsed"},
			prop("id", idSchema()), prop("name", str()),
			prop("hint", describe(str(), "The key's first and last characters, to tell keys apart.")),
			prop("scopes", arrayOf(openapi.Ref("APIKeyScope"))), prop("system", system),
			prop("created", dateTime()), prop("expires", nullable(dateTime())),
			prop("lastUsed", describe(nullable(dateTime()), "Written at most once a minute.")),
			prop("key", describe(&openapi.Schema{Type: openapi.Types{"string"}, Pattern: "^" + loam.APIKeyPrefix},
				"The key: only in the answer that made it. Send it as Authorization: Bearer <key>."))),
			"An API key of an auth record.")
	}
	who := "The record itself (with a session) or a superuser; an API key cannot manage keys (403). "
	keyID := &openapi.Parameter{Name: "key", In: "path", Required: true, Description: "The key's id.", Schema: idSchema()}
	common := []int{http.StatusForbidden, http.StatusNotFound}
	b.op(base, "GET", &openapi.Operation{OperationID: c.Name + ".apiKeys", Summary: "List a record's API keys",
		Description: who + "The keys themselves are never shown again.", Tags: tags, Security: signedIn,
		Parameters: []*openapi.Parameter{b.paramRef("recordId")},
		Responses: b.responses(map[string]*openapi.Response{"200": okJSON("The keys, newest first.",
			object([]string{"items"}, prop("items", arrayOf(openapi.Ref("APIKey")))))}, common...)})
	b.op(base, "POST", &openapi.Operation{OperationID: c.Name + ".createAPIKey", Summary: "Make an API key",
		Description: who + "The answer holds the key, the only time it is shown. The key acts as the record, " +
			"within its scopes and the collections' rules; it cannot refresh, log out, manage sessions, keys or the " +
			"second factor, or impersonate. A password change does not revoke keys.",
		Tags: tags, Security: signedIn, Parameters: []*openapi.Parameter{b.paramRef("recordId")},
		RequestBody: jsonBody(object([]string{"name"},
			prop("name", &openapi.Schema{Type: openapi.Types{"string"}, MinLength: intp(1), MaxLength: intp(loam.MaxKeyName)}),
			prop("scopes", arrayOf(openapi.Ref("APIKeyScope"))), prop("system", system),
			prop("expires", describe(nullable(dateTime()), "When the key stops working; null or absent: never.")))),
		Responses: b.responses(map[string]*openapi.Response{"201": okJSON("The new key, with the key itself.", openapi.Ref("APIKey"))},
			http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType)})
	b.op(base+"/{key}", "GET", &openapi.Operation{OperationID: c.Name + ".apiKey", Summary: "Read one API key",
		Description: who, Tags: tags, Security: signedIn, Parameters: []*openapi.Parameter{b.paramRef("recordId"), keyID},
		Responses: b.responses(map[string]*openapi.Response{"200": okJSON("The key, without the key itself.", openapi.Ref("APIKey"))},
			common...)})
	b.op(base+"/{key}", "DELETE", &openapi.Operation{OperationID: c.Name + ".revokeAPIKey", Summary: "Revoke an API key",
		Description: who + "The key stops working at once, on every instance.", Tags: tags, Security: signedIn,
		Parameters: []*openapi.Parameter{b.paramRef("recordId"), keyID},
		Responses:  b.responses(map[string]*openapi.Response{"204": {Description: "Revoked."}}, common...)})
}
