package api

import (
	"fmt"
	"net/http"
	"strings"

	"loam"
	"loam/openapi"
)

// maxSafeInteger bounds integer fields: a JSON client reads them exactly.
const maxSafeInteger = 1<<53 - 1

// collection adds the routes of collection c the caller may use, with the
// schemas they need: a non-superuser gets the record routes whose rule is
// not null, and every auth collection's sign-in.
func (b *docBuilder) collection(c *loam.Collection) {
	may := func(rule *string) bool { return b.superuser || rule != nil }
	list, view, create, update, del := may(c.Rules.List), may(c.Rules.View), may(c.Rules.Create),
		may(c.Rules.Update), may(c.Rules.Delete)
	if !list && !view && !create && !update && !del && !c.IsAuth() {
		return
	}
	b.doc.Tags = append(b.doc.Tags, openapi.Tag{Name: c.Name, Description: "The records of " + c.Name + "."})
	tags := []string{c.Name}
	records := "/api/collections/" + c.Name + "/records"
	one := records + "/{id}"
	name := c.Name + "Record"
	if list || view || create || update {
		b.doc.Components.Schemas[name] = b.recordSchema(c, b.superuser)
		b.records = append(b.records, name)
	}
	recordID := func() *openapi.Parameter { return b.paramRef("recordId") }
	if list {
		b.doc.Components.Schemas[c.Name+"List"] = object([]string{"items", "page", "perPage", "totalItems", "totalPages"},
			prop("items", arrayOf(openapi.Ref(name))),
			prop("page", describe(&openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(-1)},
				"The page, from 1; -1 for a page read with a cursor.")),
			prop("perPage", &openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(1), Maximum: floatp(MaxPerPage)}),
			prop("totalItems", describe(&openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(-1)},
				"Every record the filter holds for; -1 with skipTotal.")),
			prop("totalPages", describe(&openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(-1)},
				"-1 with skipTotal.")),
			prop("nextCursor", describe(&openapi.Schema{Type: openapi.Types{"string"}, MinLength: intp(1)},
				"On every full page of an order that is not random: pass it as cursor for the next page.")))
		b.op(records, "GET", &openapi.Operation{OperationID: c.Name + ".list", Summary: "List " + c.Name + " records",
			Description: "The default order is id ascending (creation order). " + ruleText("list", c.Rules.List),
			Tags:        tags, Security: security(c.Rules.List),
			Parameters: []*openapi.Parameter{b.paramRef("filter"), b.paramRef("sort"), b.paramRef("page"),
				b.paramRef("perPage"), b.paramRef("skipTotal"), b.paramRef("cursor"), b.paramRef("expand"),
				b.paramRef("fields"), b.paramRef("If-None-Match")},
			Responses: b.responses(map[string]*openapi.Response{
				"200": {Description: "A page of records.", Headers: map[string]*openapi.Header{"ETag": b.headerRef("ETag")},
					Content: jsonContent(openapi.Ref(c.Name + "List"))},
				"304": {Description: "The page is unchanged since the If-None-Match ETag."},
			}, http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound)})
		b.aggregate(c, tags)
	}
	if view {
		b.op(one, "GET", &openapi.Operation{OperationID: c.Name + ".get", Summary: "Get a " + c.Name + " record",
			Description: ruleText("view", c.Rules.View), Tags: tags, Security: security(c.Rules.View),
			Parameters: []*openapi.Parameter{recordID(), b.paramRef("expand"), b.paramRef("fields"), b.paramRef("If-None-Match")},
			Responses: b.responses(map[string]*openapi.Response{
				"200": {Description: "The record.", Headers: map[string]*openapi.Header{"ETag": b.headerRef("ETag")},
					Content: jsonContent(openapi.Ref(name))},
				"304": {Description: "The record is unchanged since the If-None-Match ETag."},
			}, http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound)})
	}
	replayed := b.headerRef("Idempotent-Replayed")
	if create {
		b.doc.Components.Schemas[c.Name+"Create"] = b.writeSchema(c, true)
		b.op(records, "POST", &openapi.Operation{OperationID: c.Name + ".create", Summary: "Create a " + c.Name + " record",
			Description: "Every field error comes back at once. " + ruleText("create", c.Rules.Create),
			Tags:        tags, Security: security(c.Rules.Create),
			Parameters:  []*openapi.Parameter{b.paramRef("expand"), b.paramRef("fields"), b.paramRef("Idempotency-Key")},
			RequestBody: jsonBody(openapi.Ref(c.Name + "Create")),
			Responses: b.responses(map[string]*openapi.Response{
				"201": {Description: "The new record.", Content: jsonContent(openapi.Ref(name)),
					Headers: map[string]*openapi.Header{"ETag": b.headerRef("ETag"), "Location": b.headerRef("Location"),
						"Idempotent-Replayed": replayed}},
			}, http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusConflict,
				http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)})
	}
	if update {
		b.doc.Components.Schemas[c.Name+"Update"] = b.writeSchema(c, false)
		b.op(one, "PATCH", &openapi.Operation{OperationID: c.Name + ".update", Summary: "Change a " + c.Name + " record",
			Description: "Fields left out keep their values. " + ruleText("update", c.Rules.Update),
			Tags:        tags, Security: security(c.Rules.Update),
			Parameters: []*openapi.Parameter{recordID(), b.paramRef("expand"), b.paramRef("fields"), b.paramRef("If-Match"),
				b.paramRef("Idempotency-Key")},
			RequestBody: jsonBody(openapi.Ref(c.Name + "Update")),
			Responses: b.responses(map[string]*openapi.Response{
				"200": {Description: "The record as written.", Content: jsonContent(openapi.Ref(name)),
					Headers: map[string]*openapi.Header{"ETag": b.headerRef("ETag"), "Idempotent-Replayed": replayed}},
			}, http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusConflict,
				http.StatusPreconditionFailed, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)})
	}
	if del {
		b.op(one, "DELETE", &openapi.Operation{OperationID: c.Name + ".delete", Summary: "Delete a " + c.Name + " record",
			Description: "Records that refer to it follow their relation's onDelete; restrict answers 409. " +
				ruleText("delete", c.Rules.Delete),
			Tags: tags, Security: security(c.Rules.Delete),
			Parameters: []*openapi.Parameter{recordID(), b.paramRef("If-Match"), b.paramRef("Idempotency-Key")},
			Responses: b.responses(map[string]*openapi.Response{
				"204": {Description: "Deleted.", Headers: map[string]*openapi.Header{"Idempotent-Replayed": replayed}},
			}, http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusConflict,
				http.StatusPreconditionFailed, http.StatusRequestEntityTooLarge)})
	}
	if c.IsAuth() {
		b.auth(c, tags)
	}
}

// ruleText says who may use a route.
func ruleText(action string, rule *string) string {
	switch {
	case rule == nil:
		return "Superusers only."
	case *rule == "":
		return "Everyone."
	}
	return fmt.Sprintf("Under the %s rule: %s", action, *rule)
}

// security is the security of a route under rule: a null rule needs a
// superuser's token; others take the document's (a token or none).
func security(rule *string) []openapi.SecurityRequirement {
	if rule == nil {
		return superusersOnly
	}
	return nil
}

// aggregate adds GET .../aggregate, under the list rule.
func (b *docBuilder) aggregate(c *loam.Collection, tags []string) {
	var numbers []any
	for i := range c.Fields {
		if f := &c.Fields[i]; f.Type == loam.TypeNumber && (b.superuser || !f.Hidden) {
			numbers = append(numbers, f.Name)
		}
	}
	props := []openapi.Property{
		prop("group", describe(mapOf(&openapi.Schema{Type: openapi.Types{"string", "number", "boolean", "null"}}),
			"The group's key: one member per groupBy key (dates by bucket as text: 2026-11-25, 2026-W48, 2026-11, 2026).")),
		prop("count", &openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(0)}),
	}
	if len(numbers) > 0 {
		metric := func(nullable bool) *openapi.Schema {
			v := &openapi.Schema{Type: openapi.Types{"number"}}
			if nullable {
				v.Type = append(v.Type, "null")
			}
			return &openapi.Schema{Type: openapi.Types{"object"}, PropertyNames: &openapi.Schema{Enum: numbers},
				AdditionalProperties: v}
		}
		props = append(props, prop("sum", metric(false)), prop("avg", metric(true)), prop("min", metric(true)),
			prop("max", metric(true)))
	}
	b.doc.Components.Schemas[c.Name+"Aggregate"] = object([]string{"items"},
		prop("items", arrayOf(object([]string{"group"}, props...))))
	list := func(name, text string) *openapi.Parameter {
		return &openapi.Parameter{Name: name, In: "query", Description: text, Schema: stringSchema()}
	}
	b.op("/api/collections/"+c.Name+"/aggregate", "GET", &openapi.Operation{OperationID: c.Name + ".aggregate",
		Summary: "Count and sum " + c.Name + " records by group",
		Description: "Groups come in ascending key order, missing values first; at most 1 000. Members appear only " +
			"when asked for. " + ruleText("list", c.Rules.List),
		Tags: tags, Security: security(c.Rules.List),
		Parameters: []*openapi.Parameter{b.paramRef("filter"),
			list("groupBy", "Comma-separated fields or single relation paths; dates by bucket with :day, :week, :month or :year."),
			{Name: "count", In: "query", Description: "1 to count the records of each group.",
				Schema: &openapi.Schema{Type: openapi.Types{"string"}, Enum: []any{"1", "0", "true", "false"}}},
			list("sum", "Comma-separated number fields to sum."),
			list("avg", "Comma-separated number fields to average."),
			list("min", "Comma-separated number fields to take the least value of."),
			list("max", "Comma-separated number fields to take the greatest value of."),
		},
		Responses: b.responses(map[string]*openapi.Response{"200": okJSON("The groups.", openapi.Ref(c.Name+"Aggregate"))},
			http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound)})
}

// auth adds the sign-in of auth collection c. Its answer shows the signed-in
// record as that record's owner sees it: hidden fields only for superusers.
func (b *docBuilder) auth(c *loam.Collection, tags []string) {
	record := openapi.Ref(c.Name + "Record")
	if own := c.Name == loam.SuperusersCollection; own != b.superuser || b.doc.Components.Schemas[c.Name+"Record"] == nil {
		record = b.recordSchema(c, own)
	}
	b.doc.Components.Schemas[c.Name+"Auth"] = object([]string{"token", "record"},
		prop("token", describe(&openapi.Schema{Type: openapi.Types{"string"}, MinLength: intp(1)},
			"A session token: send it as Authorization: Bearer <token>.")),
		prop("record", record))
	b.op("/api/collections/"+c.Name+"/auth/password", "POST", &openapi.Operation{OperationID: c.Name + ".authWithPassword",
		Summary: "Sign in to " + c.Name + " with a password",
		Description: "Wrong credentials answer 401 after the same work whether or not the identity exists. " +
			"With a second factor on, the answer is 401 mfa_required with an mfaId for POST .../auth/mfa/verify.",
		Tags: tags, Security: []openapi.SecurityRequirement{{}},
		RequestBody: jsonBody(object([]string{"identity", "password"},
			prop("identity", describe(&openapi.Schema{Type: openapi.Types{"string"}, MinLength: intp(1)},
				"The value of one of the identity fields: "+strings.Join(c.Auth.IdentityFields, ", ")+".")),
			prop("password", &openapi.Schema{Type: openapi.Types{"string"}, MinLength: intp(1), WriteOnly: true}))),
		Responses: b.responses(map[string]*openapi.Response{"200": okJSON("Signed in.", openapi.Ref(c.Name+"Auth"))},
			http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusTooManyRequests)})
	b.authFlows(c, tags)
	b.mfa(c, tags)
	b.apiKeys(c, tags)
	if !c.System { // system collections (_superusers) cannot configure providers
		b.oauth2(c, tags)
	}
}

// authFlows adds the session and mail routes of an auth collection.
func (b *docBuilder) authFlows(c *loam.Collection, tags []string) {
	base := "/api/collections/" + c.Name + "/auth/"
	str := func() *openapi.Schema { return &openapi.Schema{Type: openapi.Types{"string"}, MinLength: intp(1)} }
	signedIn := map[string]*openapi.Response{"200": okJSON("A new session.", openapi.Ref(c.Name+"Auth"))}
	done := map[string]*openapi.Response{"204": {Description: "Done."}}
	common := []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusTooManyRequests}
	post := func(path, id, summary string, body *openapi.Schema, success map[string]*openapi.Response, params ...*openapi.Parameter) {
		o := &openapi.Operation{OperationID: c.Name + "." + id, Summary: summary, Tags: tags, Parameters: params,
			Responses: b.responses(success, common...)}
		if body != nil {
			o.RequestBody = jsonBody(body)
		}
		b.op(base+path, "POST", o)
	}
	email := object([]string{"email"}, prop("email", str()))
	token := object([]string{"token"}, prop("token", str()))
	post("refresh", "authRefresh", "A new token for this session (the old one stops working)", nil, signedIn)
	post("logout", "authLogout", "End this session", nil, done)
	post("otp/request", "otpRequest", "Mail a one-time code", email, map[string]*openapi.Response{
		"200": okJSON("The code's id, whether or not the account exists.", object([]string{"otpId"}, prop("otpId", str())))})
	post("otp/verify", "otpVerify", "Sign in with a one-time code",
		object([]string{"otpId", "code"}, prop("otpId", str()), prop("code", str())), signedIn)
	post("verify/request", "verifyRequest", "Mail a verification link", email, done)
	post("verify/confirm", "verifyConfirm", "Verify the email with the link's token", token, done)
	post("reset/request", "resetRequest", "Mail a password reset link", email, done)
	post("reset/confirm", "resetConfirm", "Set a new password with the link's token (ends every session)",
		object([]string{"token", "password"}, prop("token", str()),
			prop("password", &openapi.Schema{Type: openapi.Types{"string"}, MinLength: intp(1), WriteOnly: true}),
			prop("passwordConfirm", &openapi.Schema{Type: openapi.Types{"string"}, WriteOnly: true})), done)
	post("email-change/request", "emailChangeRequest", "Mail a link to a new address",
		object([]string{"newEmail"}, prop("newEmail", str()),
			prop("password", &openapi.Schema{Type: openapi.Types{"string"}, WriteOnly: true})), done)
	post("email-change/confirm", "emailChangeConfirm", "Change the email with the link's token",
		object([]string{"token"}, prop("token", str()),
			prop("password", &openapi.Schema{Type: openapi.Types{"string"}, WriteOnly: true})), done)
	b.doc.Paths[base+"email-change/confirm"].Post.Responses["409"] = &openapi.Response{Ref: "#/components/responses/" + b.errorResponse(http.StatusConflict)}
	post("impersonate/{id}", "impersonate", "Superusers: a session as this record (logged)",
		object(nil, prop("duration", describe(&openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(1)},
			"How long the session lives, in seconds."))),
		map[string]*openapi.Response{"200": okJSON("A session as the record, which is answered as superusers see it.",
			object([]string{"token", "record"}, prop("token", str()), prop("record", b.recordSchema(c, true))))},
		b.paramRef("recordId"))
	session := object([]string{"id", "method", "created", "expires", "current"}, prop("id", str()),
		prop("method", stringSchema()), prop("created", dateTime()), prop("expires", dateTime()), prop("current", boolSchema()))
	recordIDParam := &openapi.Parameter{Name: "recordId", In: "query", Schema: idSchema(),
		Description: "Superusers: the record whose sessions to list or end."}
	b.op(base+"sessions", "GET", &openapi.Operation{OperationID: c.Name + ".sessions", Summary: "List the caller's sessions",
		Tags: tags, Parameters: []*openapi.Parameter{recordIDParam},
		Responses: b.responses(map[string]*openapi.Response{"200": okJSON("Sessions.",
			object([]string{"items"}, prop("items", arrayOf(session))))}, common...)})
	b.op(base+"sessions", "DELETE", &openapi.Operation{OperationID: c.Name + ".endSessions", Summary: "End every session",
		Tags: tags, Parameters: []*openapi.Parameter{recordIDParam}, Responses: b.responses(done, common...)})
	b.op(base+"sessions/{session}", "DELETE", &openapi.Operation{OperationID: c.Name + ".endSession", Summary: "End one session",
		Tags: tags, Parameters: []*openapi.Parameter{{Name: "session", In: "path", Required: true, Schema: str()}},
		Responses: b.responses(done, common...)})
	enabled := func(extra ...openapi.Property) *openapi.Schema {
		return object(nil, append([]openapi.Property{prop("enabled", boolSchema())}, extra...)...)
	}
	b.op(base+"methods", "GET", &openapi.Operation{OperationID: c.Name + ".methods", Summary: "The sign-in methods that are on",
		Tags: tags, Security: []openapi.SecurityRequirement{{}},
		Responses: b.responses(map[string]*openapi.Response{"200": okJSON("The methods.", object(nil,
			prop("password", enabled(prop("identityFields", arrayOf(stringSchema())))),
			prop("otp", enabled(prop("duration", &openapi.Schema{Type: openapi.Types{"integer"}}))),
			prop("oauth2", enabled(prop("providers", arrayOf(oauth2MethodSchema())))),
			prop("mfa", enabled())))}, common...)})
}

// recordSchema is a record of c as answered: id, collectionName, created,
// updated, then every field but passwords, hidden ones only when
// showHidden; expand when records can be expanded from it. Every member but
// expand is always present, and no other.
func (b *docBuilder) recordSchema(c *loam.Collection, showHidden bool) *openapi.Schema {
	readOnly := func(s *openapi.Schema) *openapi.Schema { s.ReadOnly = true; return s }
	props := []openapi.Property{
		prop("id", readOnly(idSchema())),
		prop("collectionName", readOnly(&openapi.Schema{Type: openapi.Types{"string"}, Const: c.Name})),
		prop("created", readOnly(dateTime())),
		prop("updated", readOnly(dateTime())),
	}
	required := []string{"id", "collectionName", "created", "updated"}
	expandable := len(b.schema.ReferencesTo(c.Name)) > 0
	for i := range c.Fields {
		f := &c.Fields[i]
		if f.Type == loam.TypeRelation {
			expandable = true
		}
		if f.Type == loam.TypePassword || (f.Hidden && !showHidden) {
			continue
		}
		s := valueSchema(c, f)
		withheld := c.IsAuth() && f.Name == "email" && !showHidden // unless emailVisibility, or the record itself
		switch {
		case f.Required: // required values are never empty
		case f.MultiValued(): // no value is an empty list, never null
			s.MinItems = nil
		default:
			nullable(s)
		}
		if f.Type == loam.TypeAutodate {
			s.ReadOnly = true
		}
		s.Description = fieldDescription(f)
		props = append(props, prop(f.Name, s))
		if !withheld {
			required = append(required, f.Name)
		}
	}
	if expandable {
		props = append(props, prop("expand", describe(mapOf(&openapi.Schema{AnyOf: []*openapi.Schema{
			{Type: openapi.Types{"object"}}, arrayOf(&openapi.Schema{Type: openapi.Types{"object"}}),
		}}), "Present with the expand parameter: the related records by relation path (a list for multi relations and back-relations).")))
	}
	s := object(required, props...)
	s.Description = "A " + c.Name + " record."
	return s
}

// writeSchema is the body that creates (create) or changes a record of c:
// every field the server does not set, hidden ones for superusers only, and
// on auth collections password and passwordConfirm, which are never
// answered. null (or "" for text) clears a value.
func (b *docBuilder) writeSchema(c *loam.Collection, create bool) *openapi.Schema {
	var props []openapi.Property
	var required []string
	if create {
		props = append(props, prop("id", describe(idSchema(), "Chosen by the client, or assigned.")))
	}
	for i := range c.Fields {
		f := &c.Fields[i]
		if f.Type == loam.TypeAutodate || (f.Hidden && !b.superuser && f.Type != loam.TypePassword) {
			continue
		}
		s := valueSchema(c, f)
		s.Description = fieldDescription(f)
		if f.MultiValued() {
			s.Description += " A single value is taken as a list of one."
		}
		if f.Type == loam.TypePassword {
			s.WriteOnly = true
		}
		if !f.Required {
			nullable(s)
		}
		if create {
			s.Default = f.Default
			if f.Required && len(f.Default) == 0 {
				required = append(required, f.Name)
			}
		}
		props = append(props, prop(f.Name, s))
	}
	if c.IsAuth() {
		props = append(props, prop("passwordConfirm", describe(&openapi.Schema{Type: openapi.Types{"string"}, WriteOnly: true},
			"When sent, must equal password.")))
	}
	s := object(required, props...)
	if create {
		s.Description = "A new " + c.Name + " record."
	} else {
		s.Description = "The fields of a " + c.Name + " record to change."
	}
	return s
}

// valueSchema is the JSON value of field f, not null.
func valueSchema(c *loam.Collection, f *loam.Field) *openapi.Schema {
	count := func(x *float64) *int64 {
		if x == nil {
			return nil
		}
		return intp(int64(*x))
	}
	var s *openapi.Schema
	switch f.Type {
	case loam.TypeText:
		s = stringSchema()
		s.MinLength, s.MaxLength, s.Pattern = count(f.Min), count(f.Max), f.Pattern
	case loam.TypeEmail:
		s = &openapi.Schema{Type: openapi.Types{"string"}, Format: "email", MaxLength: intp(254)}
	case loam.TypeURL:
		s = &openapi.Schema{Type: openapi.Types{"string"}, Format: "uri", MaxLength: intp(2048)}
	case loam.TypePassword:
		s = &openapi.Schema{Type: openapi.Types{"string"}, MaxLength: intp(256)}
		if c.Auth != nil {
			s.MinLength = intp(int64(c.Auth.MinPasswordLength))
		}
	case loam.TypeNumber:
		s = &openapi.Schema{Type: openapi.Types{"number"}, Minimum: f.Min, Maximum: f.Max}
		if f.Integer {
			s.Type = openapi.Types{"integer"}
			if s.Minimum == nil || *s.Minimum < -maxSafeInteger {
				s.Minimum = floatp(-maxSafeInteger)
			}
			if s.Maximum == nil || *s.Maximum > maxSafeInteger {
				s.Maximum = floatp(maxSafeInteger)
			}
		}
	case loam.TypeBool:
		s = boolSchema()
	case loam.TypeDate, loam.TypeAutodate:
		s = dateTime()
	case loam.TypeSelect:
		s = stringSchema()
		for _, v := range f.Values {
			s.Enum = append(s.Enum, v)
		}
	case loam.TypeRelation:
		s = idSchema()
	default: // json: any JSON value
		s = &openapi.Schema{}
	}
	if f.MultiValued() {
		s = &openapi.Schema{Type: openapi.Types{"array"}, Items: s, MinItems: count(f.Min), MaxItems: count(f.Max), UniqueItems: true}
		if f.Required && (s.MinItems == nil || *s.MinItems < 1) {
			s.MinItems = intp(1)
		}
	}
	return s
}

// fieldDescription tells what a field's schema cannot: its type in Loam's
// terms and the options that act on the server.
func fieldDescription(f *loam.Field) string {
	kind := string(f.Type) + " field"
	if f.Multiple {
		kind = "multiple " + kind
	}
	article := "A "
	if strings.ContainsRune("aeio", rune(kind[0])) { // a url field
		article = "An "
	}
	parts := []string{article + kind}
	switch f.Type {
	case loam.TypeRelation:
		parts[0] += " to " + f.Collection
		parts = append(parts, "on delete: "+f.OnDelete)
	case loam.TypeAutodate:
		var when []string
		if f.OnCreate {
			when = append(when, "create")
		}
		if f.OnUpdate {
			when = append(when, "update")
		}
		parts = append(parts, "set by the server on "+strings.Join(when, " and "))
	case loam.TypeJSON:
		parts = append(parts, "any JSON value")
	case loam.TypeText:
		if f.Pattern != "" {
			parts = append(parts, "matching "+f.Pattern+" (RE2 syntax)")
		}
	}
	if f.MultiValued() && f.Min != nil && *f.Min > 0 && !f.Required {
		unit := "values"
		if *f.Min == 1 {
			unit = "value"
		}
		parts = append(parts, fmt.Sprintf("at least %g %s when not empty", *f.Min, unit))
	}
	if f.Unique {
		parts = append(parts, "unique")
	}
	if f.Hidden && f.Type != loam.TypePassword {
		parts = append(parts, "hidden: superusers only")
	}
	return strings.Join(parts, ", ") + "."
}
