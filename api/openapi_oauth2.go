package api

import (
	"net/http"

	"loam"
	"loam/openapi"
)

// oauth2 adds the OAuth2 sign-in routes of auth collection c and the
// routes of its records' external auths.
func (b *docBuilder) oauth2(c *loam.Collection, tags []string) {
	base := "/api/collections/" + c.Name + "/auth/oauth2/{provider}/"
	str := func() *openapi.Schema { return &openapi.Schema{Type: openapi.Types{"string"}, MinLength: intp(1)} }
	provider := &openapi.Parameter{Name: "provider", In: "path", Required: true, Schema: str(),
		Description: "A provider named in the collection's auth.methods.oauth2 (GET .../auth/methods lists them)."}
	redirect := describe(&openapi.Schema{Type: openapi.Types{"string"}, Format: "uri"},
		"Where the browser lands after the callback, with #token=...&record=... (or #error=...&message=...) "+
			"in the fragment: a URL on the app URL's origin or one the server allows. Without it the callback "+
			"answers with JSON.")
	location := map[string]*openapi.Header{"Location": {Required: true, Schema: stringSchema()}}
	noStore := map[string]*openapi.Header{"Cache-Control": {Schema: stringSchema()}}
	errs := []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusServiceUnavailable}
	startErrs := append([]int{http.StatusTooManyRequests}, errs...)
	cbErrs := append([]int{http.StatusConflict}, errs...)
	startText := "Stores the sign-in's state, nonce and PKCE verifier (for 10 minutes, once) and gives the " +
		"provider's authorization URL (code flow, S256 challenge). A provider that is not configured is 404, " +
		"one that is not on 403; a redirect outside the allow-list is 400; too many starts from one address 429; a " +
		"provider that cannot be reached 503."
	started := object([]string{"url", "expires"}, prop("url", describe(str(), "The provider's authorization URL.")),
		prop("expires", describe(dateTime(), "When the sign-in's state expires.")))
	b.op(base+"start", "GET", &openapi.Operation{OperationID: c.Name + ".oauth2StartRedirect",
		Summary: "Start a sign-in through a provider (browser)", Description: startText,
		Tags: tags, Security: []openapi.SecurityRequirement{{}},
		Parameters: []*openapi.Parameter{provider, {Name: "redirect", In: "query", Schema: redirect}},
		Responses: b.responses(map[string]*openapi.Response{
			"302": {Description: "To the provider's authorization URL.", Headers: location},
			"200": okJSON("Asked with Accept: application/json (and not text/html): send the browser to url.", started)},
			startErrs...)})
	b.op(base+"start", "POST", &openapi.Operation{OperationID: c.Name + ".oauth2Start",
		Summary: "Start a sign-in through a provider (script)", Description: startText + " The body is optional.",
		Tags: tags, Security: []openapi.SecurityRequirement{{}}, Parameters: []*openapi.Parameter{provider},
		RequestBody: &openapi.RequestBody{Content: jsonContent(object(nil, prop("redirect", redirect)))},
		Responses:   b.responses(map[string]*openapi.Response{"200": okJSON("Send the browser to url.", started)}, startErrs...)})
	cbText := "The provider sends the browser here. The state is used once; the code is exchanged with the " +
		"PKCE verifier and the ID token verified (issuer, audience, expiry, signature, nonce). The record linked " +
		"to the provider's account signs in; else the record with the provider's verified email, which gets " +
		"linked; else a new record, under the create rule (a null rule: sign-up is closed, 403; an address another " +
		"record has, unverified by the provider, 409). A bad state is " +
		"400, a refusal by the provider or a token that does not verify 401. When the sign-in was started with a " +
		"redirect, every answer after a good state is a 303 to it."
	signedIn := okJSON("Signed in (the sign-in was started without redirect).", openapi.Ref(c.Name+"Auth"))
	signedIn.Headers = noStore
	toRedirect := &openapi.Response{Description: "To the sign-in's redirect, with the token or the error in the fragment.",
		Headers: location}
	b.op(base+"callback", "GET", &openapi.Operation{OperationID: c.Name + ".oauth2Callback",
		Summary: "Complete a sign-in through a provider", Description: cbText,
		Tags: tags, Security: []openapi.SecurityRequirement{{}},
		Parameters: []*openapi.Parameter{provider, {Name: "state", In: "query", Schema: stringSchema()},
			{Name: "code", In: "query", Schema: stringSchema()},
			{Name: "error", In: "query", Schema: stringSchema(), Description: "The provider's refusal, such as access_denied."}},
		Responses: b.responses(map[string]*openapi.Response{"200": signedIn, "303": toRedirect}, cbErrs...)})
	fields := object(nil, prop("state", stringSchema()), prop("code", stringSchema()), prop("error", stringSchema()))
	b.op(base+"callback", "POST", &openapi.Operation{OperationID: c.Name + ".oauth2CallbackPost",
		Summary:     "Complete a sign-in through a provider (form post)",
		Description: cbText + " The form_post response mode (Apple) posts state and code as a form; a script may post them as JSON.",
		Tags:        tags, Security: []openapi.SecurityRequirement{{}}, Parameters: []*openapi.Parameter{provider},
		RequestBody: &openapi.RequestBody{Required: true, Content: map[string]*openapi.MediaType{
			"application/json": {Schema: fields}, "application/x-www-form-urlencoded": {Schema: fields}}},
		Responses: b.responses(map[string]*openapi.Response{"200": signedIn, "303": toRedirect}, cbErrs...)})

	records := "/api/collections/" + c.Name + "/records/{id}/external-auths"
	recordID := &openapi.Parameter{Name: "id", In: "path", Required: true, Schema: idSchema()}
	link := object([]string{"id", "provider", "subject", "created"}, prop("id", idSchema()),
		prop("provider", stringSchema()), prop("subject", describe(stringSchema(), "The account's id at the provider.")),
		prop("created", dateTime()))
	b.op(records, "GET", &openapi.Operation{OperationID: c.Name + ".externalAuths",
		Summary: "List the provider accounts linked to a record", Description: "The record itself, or superusers.",
		Tags: tags, Parameters: []*openapi.Parameter{recordID},
		Responses: b.responses(map[string]*openapi.Response{"200": okJSON("The links, oldest first.",
			object([]string{"items"}, prop("items", arrayOf(link))))}, http.StatusForbidden, http.StatusNotFound)})
	b.op(records+"/{link}", "DELETE", &openapi.Operation{OperationID: c.Name + ".unlinkExternalAuth",
		Summary: "Unlink a provider account from a record", Description: "The record itself, or superusers.",
		Tags: tags, Parameters: []*openapi.Parameter{recordID, {Name: "link", In: "path", Required: true, Schema: str()}},
		Responses: b.responses(map[string]*openapi.Response{"204": {Description: "Unlinked."}},
			http.StatusForbidden, http.StatusNotFound)})
}

// oauth2ProviderSchema is a provider config of an auth collection; its
// client secret is sent, never answered.
func oauth2ProviderSchema() *openapi.Schema {
	url := func(text string) *openapi.Schema {
		return describe(&openapi.Schema{Type: openapi.Types{"string"}, Format: "uri"}, text)
	}
	return describe(object([]string{"name", "clientId"},
		prop("name", describe(&openapi.Schema{Type: openapi.Types{"string"}, Pattern: "^[a-z0-9][a-z0-9_-]{0,39}$"},
			"google, microsoft, gitlab or apple (presets), or any name for a generic OpenID Connect provider.")),
		prop("displayName", stringSchema()),
		prop("clientId", &openapi.Schema{Type: openapi.Types{"string"}, MinLength: intp(1)}),
		prop("clientSecret", describe(&openapi.Schema{Type: openapi.Types{"string"}, WriteOnly: true},
			"Never answered; left out on a change, the stored one of the same provider name stays.")),
		prop("issuer", url("The issuer URL (presets have one); https, or http on a loopback address.")),
		prop("discoveryUrl", url("The discovery document, when not at <issuer>/.well-known/openid-configuration.")),
		prop("tenant", describe(stringSchema(), "microsoft only: common (default), organizations, consumers or a tenant id.")),
		prop("scopes", describe(arrayOf(stringSchema()), "Default openid, email, profile; openid is always asked for."))),
		"An OAuth2 / OpenID Connect provider.")
}

// oauth2MethodSchema is an enabled provider as GET .../auth/methods lists it.
func oauth2MethodSchema() *openapi.Schema {
	return object([]string{"name", "displayName", "startUrl"}, prop("name", stringSchema()),
		prop("displayName", stringSchema()),
		prop("startUrl", describe(stringSchema(), "The path of GET|POST .../auth/oauth2/{provider}/start.")))
}
