package api

import (
	"net/http"

	"loam"
	"loam/openapi"
)

// settings adds, for superusers, the routes of the shared settings with
// their schemas: Settings (as answered), SettingsChange (as sent),
// RateLimit and TestEmail.
func (b *docBuilder) settings() {
	if !b.superuser {
		return
	}
	d := b.doc
	d.Tags = append(d.Tags, openapi.Tag{Name: "settings",
		Description: "The settings every instance shares, kept in the database (superusers)."})
	c := &d.Components
	str := func(text string) *openapi.Schema { return describe(stringSchema(), text) }
	strList := func(text string) *openapi.Schema {
		return describe(&openapi.Schema{Type: openapi.Types{"array"}, Items: stringSchema(), MaxItems: intp(100)}, text)
	}
	// Fresh schemas each time: nullable changes the schema it is given.
	port := func() *openapi.Schema {
		return &openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(1), Maximum: floatp(65535)}
	}
	tls := func() *openapi.Schema {
		return describe(&openapi.Schema{Type: openapi.Types{"string"},
			Enum: []any{loam.SMTPTLSAuto, loam.SMTPTLSStartTLS, loam.SMTPTLSImplicit, loam.SMTPTLSNone}},
			"auto: TLS from the start on port 465, else STARTTLS when offered; starttls: STARTTLS required; "+
				"tls: TLS from the start on any port; none: never.")
	}
	c.Schemas["RateLimit"] = describe(object([]string{"route", "max", "window"},
		prop("route", str("\"METHOD /path\" or \"/path\" (any method); a segment * matches any one segment: "+
			"\"POST /api/collections/*/records\".")),
		prop("max", &openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(1), Maximum: floatp(1_000_000)}),
		prop("window", str("A duration of whole seconds from 1s to 24h: \"30s\", \"1m\", \"1h\".")),
		prop("by", describe(&openapi.Schema{Type: openapi.Types{"string"}, Enum: []any{loam.RateByIP, loam.RateByAuth}},
			"ip (the default): per client address; auth: per signed-in record (anonymous callers per address)."))),
		"At most max requests per window on the routes route matches; more answer 429 rate_limited with Retry-After.")
	sender := object([]string{"name", "address"}, prop("name", stringSchema()), prop("address", stringSchema()))
	listProps := func(nullable func(*openapi.Schema) *openapi.Schema) []openapi.Property {
		return []openapi.Property{
			prop("rateLimits", nullable(describe(&openapi.Schema{Type: openapi.Types{"array"}, Items: openapi.Ref("RateLimit"),
				MaxItems: intp(100)}, "Per-route limits, counted in the database across instances."))),
			prop("corsOrigins", nullable(strList("Origins browsers may call the API from: https://app.example.com or *."))),
			prop("trustedProxies", nullable(strList("Proxies (IPs or CIDRs) whose X-Forwarded-For and X-Forwarded-Proto are believed."))),
			prop("outboundHosts", nullable(strList("Hosts http jobs may reach: host, host:port, *.domain or *."))),
		}
	}
	same := func(s *openapi.Schema) *openapi.Schema { return s }
	c.Schemas["Settings"] = describe(object([]string{"appURL", "smtp", "sender", "rateLimits", "corsOrigins",
		"trustedProxies", "outboundHosts"},
		append([]openapi.Property{
			prop("appURL", str("Where the links in mails lead.")),
			prop("smtp", object([]string{"host", "port", "username", "passwordSet", "tls"},
				prop("host", str("The SMTP server; empty: no mail is sent.")), prop("port", port()),
				prop("username", stringSchema()),
				prop("passwordSet", describe(boolSchema(), "Whether a password is set; the password itself is never answered.")),
				prop("tls", tls()))),
			prop("sender", sender),
		}, listProps(same)...)...),
		"The settings in effect: the flags of loam serve as defaults, overridden by the values set here.")
	c.Schemas["SettingsChange"] = describe(object(nil,
		append([]openapi.Property{
			prop("appURL", nullable(stringSchema())),
			prop("smtp", nullable(object(nil,
				prop("host", nullable(stringSchema())), prop("port", nullable(port())),
				prop("username", nullable(stringSchema())),
				prop("password", nullable(str("Write-only."))), prop("tls", nullable(tls()))))),
			prop("sender", nullable(object(nil, prop("name", nullable(stringSchema())), prop("address", nullable(stringSchema()))))),
		}, listProps(nullable)...)...),
		"A JSON merge patch of the settings: members present replace the current values (objects merge member by "+
			"member, lists are replaced whole), null returns a member to its default (the flags of loam serve).")
	c.Schemas["TestEmail"] = object([]string{"to"}, prop("to", str("The address the test mail goes to.")))
	tags := []string{"settings"}
	ok := map[string]*openapi.Response{"200": okJSON("The settings in effect.", openapi.Ref("Settings"))}
	b.op(settingsPath, "GET", &openapi.Operation{OperationID: "settings.get", Summary: "Get the settings",
		Description: "The settings in effect on every instance; the SMTP password is never answered.",
		Tags:        tags, Security: superusersOnly, Responses: b.responses(ok, http.StatusForbidden)})
	b.op(settingsPath, "PATCH", &openapi.Operation{OperationID: "settings.update", Summary: "Change the settings",
		Description: "Checks the whole result: any bad value is a 400 validation_failed naming it (smtp.port, " +
			"rateLimits.0.window) and nothing changes. Every instance uses the new settings within a second.",
		Tags: tags, Security: superusersOnly, RequestBody: jsonBody(openapi.Ref("SettingsChange")),
		Responses: b.responses(ok, http.StatusBadRequest, http.StatusForbidden, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusPreconditionFailed)})
	b.op(settingsPath+"/test-email", "POST", &openapi.Operation{OperationID: "settings.testEmail",
		Summary:     "Send a test mail",
		Description: "Sends a short mail through the SMTP server of the current settings and waits for its answer: 503 says why it refused.",
		Tags:        tags, Security: superusersOnly, RequestBody: jsonBody(openapi.Ref("TestEmail")),
		Responses: b.responses(map[string]*openapi.Response{"204": {Description: "The server took the mail."}},
			http.StatusBadRequest, http.StatusForbidden, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType,
			http.StatusServiceUnavailable)})
}
