package api

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"loam"
	"loam/openapi"
)

// openAPIPath is the route of the API's own OpenAPI document.
const openAPIPath = "/api/openapi.json"

// docCache holds the encoded documents of one schema snapshot: one as
// superusers see it, one for everybody else. A new snapshot replaces them.
type docCache struct {
	mu     sync.Mutex
	schema *loam.Schema
	docs   [2][]byte // [other callers, superusers]
}

// get returns the encoded document of s for the caller, generating it once
// per schema snapshot.
func (c *docCache) get(s *loam.Schema, superuser bool) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.schema != s {
		c.schema, c.docs = s, [2][]byte{}
	}
	i := 0
	if superuser {
		i = 1
	}
	if c.docs[i] == nil {
		b, err := json.Marshal(OpenAPI(s, superuser))
		if err != nil {
			return nil, fmt.Errorf("encode openapi document: %w", err)
		}
		c.docs[i] = b
	}
	return c.docs[i], nil
}

// openAPI answers GET /api/openapi.json: the document of the live schema as
// the caller may see it, with an ETag over its bytes.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	b, err := s.docs.get(s.app.Schema(), PrincipalFrom(r).IsSuperuser())
	if err != nil {
		WriteError(w, r, err)
		return
	}
	h := fnv.New64a()
	h.Write(b)
	etag := `"d` + strconv.FormatUint(h.Sum64(), 36) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeBody(w, http.StatusOK, b)
}

// OpenAPI returns the OpenAPI 3.1 document of the API over schema s, limited
// to what a caller may see: for superusers every route and field; for
// others, only the record routes whose rule is not null (superusers only),
// and no hidden field. Each collection has its own paths and schemas, built
// from its fields; the component schemas of a collection c are cRecord (as
// answered), cCreate and cUpdate (request bodies), cList, cAggregate and
// cAuth. No other schema name ends in one of those words, so no collection
// name can make two of them clash.
func OpenAPI(s *loam.Schema, superuser bool) *openapi.Document {
	d := &openapi.Document{
		OpenAPI: openapi.Version,
		Info: openapi.Info{
			Title:   "Loam",
			Version: "schema-" + strconv.FormatInt(s.Version, 10),
			Description: "The HTTP API of one Loam instance, generated from its live schema (the version " +
				"names the schema). JSON in and out; times are RFC 3339 in UTC with milliseconds; ids are " +
				"15 characters of a-z and 0-9. Every answer of 400 and above is the Error object. Every " +
				"answer carries X-Request-Id and the security headers X-Content-Type-Options: nosniff, " +
				"X-Frame-Options: DENY, Referrer-Policy: no-referrer and a Content-Security-Policy (default-src " +
				"'none' for JSON), with Strict-Transport-Security when the request came over TLS. Any route may " +
				"answer 429 rate_limited, with Retry-After, under the rate limits of the settings. CORS: from an " +
				"origin of the corsOrigins setting, answers carry Access-Control-Allow-Origin (and " +
				"Access-Control-Allow-Credentials for a listed origin, never under *) and Vary: Origin; a " +
				"preflight (OPTIONS with Origin and Access-Control-Request-Method) on any path answers 204 with " +
				"Access-Control-Allow-Methods, Access-Control-Allow-Headers (Authorization, Content-Type, " +
				"Idempotency-Key, If-Match, If-None-Match, X-Request-Id) and Access-Control-Max-Age for an " +
				"allowed origin, and without them for any other.",
		},
		Servers:  []openapi.Server{{URL: "/", Description: "this instance"}},
		Security: []openapi.SecurityRequirement{{}, {bearerScheme: {}}},
		Paths:    map[string]*openapi.PathItem{},
		Components: openapi.Components{
			Schemas:    map[string]*openapi.Schema{},
			Parameters: map[string]*openapi.Parameter{},
			Responses:  map[string]*openapi.Response{},
			Headers:    map[string]*openapi.Header{},
			SecuritySchemes: map[string]*openapi.SecurityScheme{bearerScheme: {Type: "http", Scheme: "bearer",
				Description: "A session token from POST /api/collections/{collection}/auth/password, or an API key (lk_...)."}},
		},
	}
	b := &docBuilder{doc: d, superuser: superuser, schema: s}
	b.common()
	b.system()
	b.jobs()
	b.settings()
	for _, c := range s.Collections() {
		b.collection(c)
	}
	b.batch()
	b.realtime()
	return d
}

const bearerScheme = "bearerAuth"

// docBuilder adds the routes and components of one document.
type docBuilder struct {
	doc       *openapi.Document
	schema    *loam.Schema
	superuser bool
	// records are the record schemas the document holds, by collection,
	// in schema order: a batch answer is one of them.
	records []string
}

// op adds an operation on path.
func (b *docBuilder) op(path, method string, o *openapi.Operation) {
	p := b.doc.Paths[path]
	if p == nil {
		p = &openapi.PathItem{}
		b.doc.Paths[path] = p
	}
	switch method {
	case "GET":
		p.Get = o
	case "POST":
		p.Post = o
	case "PATCH":
		p.Patch = o
	case "DELETE":
		p.Delete = o
	}
}

// superusersOnly is the security of routes only superusers may use.
var superusersOnly = []openapi.SecurityRequirement{{bearerScheme: {}}}

// Helpers for schemas.
func stringSchema() *openapi.Schema { return &openapi.Schema{Type: openapi.Types{"string"}} }
func boolSchema() *openapi.Schema   { return &openapi.Schema{Type: openapi.Types{"boolean"}} }
func arrayOf(s *openapi.Schema) *openapi.Schema {
	return &openapi.Schema{Type: openapi.Types{"array"}, Items: s}
}
func intp(n int64) *int64       { return &n }
func floatp(x float64) *float64 { return &x }

// object is a closed object schema: the properties in order, the required
// ones named, nothing else allowed.
func object(required []string, props ...openapi.Property) *openapi.Schema {
	return &openapi.Schema{Type: openapi.Types{"object"}, Properties: props, Required: required,
		AdditionalProperties: openapi.False()}
}

// mapOf is an object whose members, of any name, are all s.
func mapOf(s *openapi.Schema) *openapi.Schema {
	return &openapi.Schema{Type: openapi.Types{"object"}, AdditionalProperties: s}
}

func prop(name string, s *openapi.Schema) openapi.Property {
	return openapi.Property{Name: name, Schema: s}
}

func describe(s *openapi.Schema, text string) *openapi.Schema { s.Description = text; return s }

// nullable lets s be null too.
func nullable(s *openapi.Schema) *openapi.Schema {
	if len(s.Type) > 0 && !slices.Contains(s.Type, "null") {
		s.Type = append(s.Type, "null")
	}
	if len(s.Enum) > 0 && !slices.Contains(s.Enum, any(nil)) {
		s.Enum = append(s.Enum, nil)
	}
	return s
}

func jsonContent(s *openapi.Schema) map[string]*openapi.MediaType {
	return map[string]*openapi.MediaType{"application/json": {Schema: s}}
}

func jsonBody(s *openapi.Schema) *openapi.RequestBody {
	return &openapi.RequestBody{Required: true, Content: jsonContent(s)}
}

// okJSON is a successful JSON answer with the given schema.
func okJSON(description string, s *openapi.Schema) *openapi.Response {
	return &openapi.Response{Description: description, Content: jsonContent(s)}
}

// responses returns an operation's answers: the given successful ones, and
// the error answers of the given statuses plus those every route can give
// (401 for a bad Authorization header, 429 under a rate limit, 500).
func (b *docBuilder) responses(success map[string]*openapi.Response, statuses ...int) map[string]*openapi.Response {
	out := map[string]*openapi.Response{}
	for k, v := range success {
		out[k] = v
	}
	for _, st := range append(statuses, http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusInternalServerError) {
		out[strconv.Itoa(st)] = &openapi.Response{Ref: "#/components/responses/" + b.errorResponse(st)}
	}
	return out
}

// errorResponse adds the error answer of a status to the components, the
// first time it is used, and returns its name (NotFound, Conflict). Its
// status and codes are those statusOf maps to each other.
func (b *docBuilder) errorResponse(status int) string {
	name := strings.NewReplacer(" ", "", "-", "").Replace(http.StatusText(status))
	if _, done := b.doc.Components.Responses[name]; done {
		return name
	}
	var codes []any
	for code, st := range statusOf {
		if st == status {
			codes = append(codes, code)
		}
	}
	slices.SortFunc(codes, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	var headers map[string]*openapi.Header
	if status == http.StatusTooManyRequests {
		headers = map[string]*openapi.Header{"Retry-After": {Description: "Seconds to wait before trying again.",
			Required: true, Schema: &openapi.Schema{Type: openapi.Types{"string"}, Pattern: "^[1-9][0-9]*$"}}}
	}
	b.doc.Components.Responses[name] = &openapi.Response{
		Description: fmt.Sprintf("%s: %s.", http.StatusText(status), joinCodes(codes)),
		Headers:     headers,
		Content: jsonContent(&openapi.Schema{AllOf: []*openapi.Schema{openapi.Ref("Error"), {Properties: openapi.Properties{
			prop("status", &openapi.Schema{Const: status}),
			prop("code", &openapi.Schema{Enum: codes}),
		}}}}),
	}
	return name
}

// common adds the components every document shares: the error object and
// its answers, list parameters and headers.
func (b *docBuilder) common() {
	c := &b.doc.Components
	var codes []string
	for code := range statusOf {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	codeEnum := make([]any, len(codes))
	for i, code := range codes {
		codeEnum[i] = code
	}
	fieldCodes := []any{loam.FieldRequired, loam.FieldInvalidType, loam.FieldTooShort, loam.FieldTooLong,
		loam.FieldTooSmall, loam.FieldTooLarge, loam.FieldPattern, loam.FieldInvalidEmail, loam.FieldInvalidURL,
		loam.FieldInvalidDate, loam.FieldInvalidChoice, loam.FieldNotFound, loam.FieldUnique, loam.FieldUnknown,
		loam.FieldReadOnly, loam.FieldInvalid}
	c.Schemas["FieldError"] = describe(object([]string{"code", "message"},
		prop("code", &openapi.Schema{Type: openapi.Types{"string"}, Enum: fieldCodes}),
		prop("message", stringSchema())), "What is wrong with one field (or member) of a request.")
	c.Schemas["RequestError"] = describe(object([]string{"code", "message"},
		prop("code", &openapi.Schema{Type: openapi.Types{"string"}, Enum: codeEnum}),
		prop("message", stringSchema()),
		prop("errors", mapOf(openapi.Ref("FieldError")))),
		"The error of one request of a batch, under the key requests.N.")
	c.Schemas["Error"] = describe(object([]string{"status", "code", "message"},
		prop("status", describe(&openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(400), Maximum: floatp(599)},
			"The HTTP status.")),
		prop("code", describe(&openapi.Schema{Type: openapi.Types{"string"}, Enum: codeEnum}, "Stable: clients switch on it.")),
		prop("message", describe(stringSchema(), "For people.")),
		prop("errors", describe(mapOf(&openapi.Schema{AnyOf: []*openapi.Schema{openapi.Ref("FieldError"), openapi.Ref("RequestError")}}),
			"Present when fields are at fault, keyed by field name (requests.N for the requests of a batch).")),
		prop("mfaId", describe(&openapi.Schema{Type: openapi.Types{"string"}, MinLength: intp(1)},
			"With mfa_required only: send it with a second factor to POST /api/collections/{collection}/auth/mfa/verify."))),
		"The answer of every request that fails (status 400 and above).")

}

// parameterDefs and headerDefs are the shared parameters and headers; a
// document holds those its routes use.
func parameterDefs() map[string]*openapi.Parameter {
	params := map[string]*openapi.Parameter{}
	params["filter"] = &openapi.Parameter{Name: "filter", In: "query",
		Description: "Only the records the expression holds for, in the filter language: views > 500 && title ~ \"go\".",
		Schema:      &openapi.Schema{Type: openapi.Types{"string"}, MaxLength: intp(8192)}}
	params["sort"] = &openapi.Parameter{Name: "sort", In: "query",
		Description: "Comma-separated sort keys, each a field or single relation path, - in front for descending; or @random. At most 8.",
		Schema:      stringSchema()}
	params["page"] = &openapi.Parameter{Name: "page", In: "query", Description: "The page, from 1.",
		Schema: &openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(1), Maximum: floatp(1_000_000)}}
	params["perPage"] = &openapi.Parameter{Name: "perPage", In: "query",
		Description: fmt.Sprintf("Records per page (default 30); values above %d are taken as %d.", MaxPerPage, MaxPerPage),
		Schema:      &openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(1)}}
	params["skipTotal"] = &openapi.Parameter{Name: "skipTotal", In: "query",
		Description: "1 to skip counting: totalItems and totalPages are then -1.",
		Schema:      &openapi.Schema{Type: openapi.Types{"string"}, Enum: []any{"1", "0", "true", "false"}}}
	params["cursor"] = &openapi.Parameter{Name: "cursor", In: "query",
		Description: "The nextCursor of the previous page, with the same sort: the next page in constant time. Not with page.",
		Schema:      &openapi.Schema{Type: openapi.Types{"string"}, MinLength: intp(1)}}
	params["expand"] = &openapi.Parameter{Name: "expand", In: "query",
		Description: "Comma-separated relation paths whose records come under expand: author,comments_via_post.author.",
		Schema:      stringSchema()}
	params["fields"] = &openapi.Parameter{Name: "fields", In: "query",
		Description: "Comma-separated members to answer (id,title,expand.author.name); the others are left out.",
		Schema:      stringSchema()}
	params["recordId"] = &openapi.Parameter{Name: "id", In: "path", Required: true, Description: "The record's id.",
		Schema: idSchema()}
	params["If-Match"] = &openapi.Parameter{Name: "If-Match", In: "header",
		Description: "Write only if the record's ETag is this one (* for any version); else 412.",
		Schema:      stringSchema()}
	params["If-None-Match"] = &openapi.Parameter{Name: "If-None-Match", In: "header",
		Description: "An ETag from an earlier answer: 304 when it is still current.",
		Schema:      stringSchema()}
	params["Idempotency-Key"] = &openapi.Parameter{Name: "Idempotency-Key", In: "header",
		Description: "A retry with the same key within 24 h answers as the first request did and writes nothing.",
		Schema:      &openapi.Schema{Type: openapi.Types{"string"}, MinLength: intp(1), MaxLength: intp(maxIdempotencyKey), Pattern: "^[\\x20-\\x7e]+$"}}

	return params
}

func headerDefs() map[string]*openapi.Header {
	headers := map[string]*openapi.Header{}
	headers["ETag"] = &openapi.Header{Description: "The version of what was answered; changes on every write.",
		Required: true, Schema: stringSchema()}
	headers["Location"] = &openapi.Header{Description: "The path of the new record.", Required: true, Schema: stringSchema()}
	headers["Idempotent-Replayed"] = &openapi.Header{
		Description: "true when this is the kept answer of an earlier request with the same Idempotency-Key.",
		Schema:      &openapi.Schema{Type: openapi.Types{"string"}, Enum: []any{"true"}}}
	return headers
}

// paramRef refers to the shared parameter name, adding it to the document.
func (b *docBuilder) paramRef(name string) *openapi.Parameter {
	if _, done := b.doc.Components.Parameters[name]; !done {
		b.doc.Components.Parameters[name] = parameterDefs()[name]
	}
	return &openapi.Parameter{Ref: "#/components/parameters/" + name}
}

// headerRef refers to the shared header name, adding it to the document.
func (b *docBuilder) headerRef(name string) *openapi.Header {
	if _, done := b.doc.Components.Headers[name]; !done {
		b.doc.Components.Headers[name] = headerDefs()[name]
	}
	return &openapi.Header{Ref: "#/components/headers/" + name}
}

func joinCodes(codes []any) string {
	s := make([]string, len(codes))
	for i, c := range codes {
		s[i] = c.(string)
	}
	return strings.Join(s, ", ")
}

// idSchema is a record id.
func idSchema() *openapi.Schema {
	return &openapi.Schema{Type: openapi.Types{"string"}, Pattern: "^[a-z0-9]{15}$"}
}

func dateTime() *openapi.Schema {
	return &openapi.Schema{Type: openapi.Types{"string"}, Format: "date-time"}
}

// system adds the routes that do not depend on the schema: health,
// readiness, this document and, for superusers, the collections routes.
func (b *docBuilder) system() {
	d := b.doc
	d.Tags = append(d.Tags,
		openapi.Tag{Name: "health", Description: "Liveness and readiness."},
		openapi.Tag{Name: "openapi", Description: "This document, and the interactive docs that show it."})
	c := &d.Components
	c.Schemas["Health"] = object([]string{"status"}, prop("status", &openapi.Schema{Const: "ok"}))
	b.op("/api/health", "GET", &openapi.Operation{OperationID: "health", Summary: "Is the process up", Tags: []string{"health"},
		Responses: b.responses(map[string]*openapi.Response{"200": okJSON("It is.", openapi.Ref("Health"))})})
	b.op("/api/ready", "GET", &openapi.Operation{OperationID: "ready", Summary: "Can it serve requests",
		Description: "200 when the database answers and its migrations are applied.", Tags: []string{"health"},
		Responses: b.responses(map[string]*openapi.Response{"200": okJSON("It can.", openapi.Ref("Health"))}, http.StatusServiceUnavailable)})
	b.op(openAPIPath, "GET", &openapi.Operation{OperationID: "openapi", Summary: "This document",
		Description: "The OpenAPI 3.1 document of the live schema, limited to what the caller may see.",
		Tags:        []string{"openapi"}, Parameters: []*openapi.Parameter{b.paramRef("If-None-Match")},
		Responses: b.responses(map[string]*openapi.Response{
			"200": {Description: "The document.", Headers: map[string]*openapi.Header{"ETag": b.headerRef("ETag")},
				Content: jsonContent(&openapi.Schema{Type: openapi.Types{"object"}})},
			"304": {Description: "The document is unchanged."},
		})})
	b.op(docsPath, "GET", &openapi.Operation{OperationID: "docs", Summary: "Interactive docs",
		Description: "An HTML page (Swagger UI, embedded in the binary) that shows this document and sends requests " +
			"to this server from the browser. It loads nothing from other hosts.",
		Tags: []string{"openapi"},
		Responses: b.responses(map[string]*openapi.Response{
			"200": {Description: "The page.", Content: map[string]*openapi.MediaType{"text/html": {Schema: stringSchema()}}},
		})})
	if !b.superuser {
		return // the collections routes are for superusers only
	}
	b.doc.Tags = append(b.doc.Tags, openapi.Tag{Name: "collections", Description: "The schema: collections and their fields (superusers)."})
	b.collectionSchemas()
	name := &openapi.Parameter{Name: "name", In: "path", Required: true, Description: "The collection's name.", Schema: stringSchema()}
	tags := []string{"collections"}
	b.op("/api/collections", "GET", &openapi.Operation{OperationID: "collections.list", Summary: "List the collections",
		Description: "Every collection, system ones included, sorted by name.", Tags: tags, Security: superusersOnly,
		Responses: b.responses(map[string]*openapi.Response{"200": okJSON("The collections.", openapi.Ref("Collections"))},
			http.StatusForbidden)})
	b.op("/api/collections", "POST", &openapi.Operation{OperationID: "collections.create", Summary: "Create a collection",
		Tags: tags, Security: superusersOnly, RequestBody: jsonBody(openapi.Ref("NewCollection")),
		Responses: b.responses(map[string]*openapi.Response{"201": okJSON("The collection.", openapi.Ref("Collection"))},
			http.StatusBadRequest, http.StatusForbidden, http.StatusConflict, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType)})
	b.op("/api/collections/{name}", "GET", &openapi.Operation{OperationID: "collections.get", Summary: "Get a collection",
		Tags: tags, Security: superusersOnly, Parameters: []*openapi.Parameter{name},
		Responses: b.responses(map[string]*openapi.Response{"200": okJSON("The collection.", openapi.Ref("Collection"))},
			http.StatusForbidden, http.StatusNotFound)})
	b.op("/api/collections/{name}", "PATCH", &openapi.Operation{OperationID: "collections.update", Summary: "Change a collection",
		Description: "Members present replace the current ones; fields is the whole new list, matched by id: a known id " +
			"with a new name is a rename, a field without id is added, a field left out is dropped with its data.",
		Tags: tags, Security: superusersOnly, Parameters: []*openapi.Parameter{name},
		RequestBody: jsonBody(openapi.Ref("CollectionChange")),
		Responses: b.responses(map[string]*openapi.Response{"200": okJSON("The collection.", openapi.Ref("Collection"))},
			http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusConflict,
			http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)})
	b.op("/api/collections/{name}", "DELETE", &openapi.Operation{OperationID: "collections.delete", Summary: "Delete a collection",
		Description: "Drops the collection and its records; refused (409) while other collections relate to it.",
		Tags:        tags, Security: superusersOnly, Parameters: []*openapi.Parameter{name},
		Responses: b.responses(map[string]*openapi.Response{"204": {Description: "Deleted."}},
			http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusConflict)})
}

// fieldTypes are the field types of the schema language.
var fieldTypes = []any{string(loam.TypeText), string(loam.TypeNumber), string(loam.TypeBool), string(loam.TypeEmail),
	string(loam.TypeURL), string(loam.TypeDate), string(loam.TypeSelect), string(loam.TypeJSON),
	string(loam.TypeRelation), string(loam.TypeAutodate), string(loam.TypePassword)}

// collectionSchemas adds the schemas of collection definitions: as
// answered (Collection, Collections) and as sent (NewCollection,
// CollectionChange).
func (b *docBuilder) collectionSchemas() {
	c := &b.doc.Components
	num := func() *openapi.Schema { return &openapi.Schema{Type: openapi.Types{"number"}} }
	fieldProps := []openapi.Property{
		prop("id", describe(&openapi.Schema{Type: openapi.Types{"string"}, Pattern: "^[a-z0-9]{1,15}$"},
			"Stable, assigned when left out.")),
		prop("name", stringSchema()),
		prop("type", &openapi.Schema{Type: openapi.Types{"string"}, Enum: fieldTypes}),
		prop("system", boolSchema()),
		prop("required", boolSchema()),
		prop("hidden", describe(boolSchema(), "Never answered to non-superusers.")),
		prop("unique", boolSchema()),
		prop("default", describe(&openapi.Schema{}, "The value a record gets when none is sent.")),
		prop("min", describe(num(), "Length for text, value for number, count for multi-valued fields.")),
		prop("max", describe(num(), "Length for text, value for number, count for multi-valued fields.")),
		prop("pattern", describe(stringSchema(), "A regular expression (RE2 syntax) text values must match.")),
		prop("integer", boolSchema()),
		prop("values", describe(arrayOf(stringSchema()), "The choices of a select field.")),
		prop("multiple", boolSchema()),
		prop("collection", describe(stringSchema(), "The target of a relation.")),
		prop("onDelete", &openapi.Schema{Type: openapi.Types{"string"},
			Enum: []any{loam.OnDeleteCascade, loam.OnDeleteSetNull, loam.OnDeleteRestrict}}),
		prop("onCreate", boolSchema()),
		prop("onUpdate", boolSchema()),
	}
	c.Schemas["CollectionField"] = describe(object([]string{"id", "name", "type"}, fieldProps...), "A field as answered.")
	c.Schemas["NewCollectionField"] = describe(object([]string{"name", "type"}, fieldProps...),
		"A field as sent: without id it is a new field.")
	c.Schemas["CollectionIndex"] = object([]string{"name", "fields"}, prop("name", stringSchema()),
		prop("fields", &openapi.Schema{Type: openapi.Types{"array"}, Items: stringSchema(), MinItems: intp(1)}),
		prop("unique", boolSchema()))
	rule := func() *openapi.Schema {
		return describe(&openapi.Schema{Type: openapi.Types{"string", "null"}},
			"null: superusers only; \"\": everyone; else an expression in the filter language.")
	}
	ruleProps := []openapi.Property{prop("list", rule()), prop("view", rule()), prop("create", rule()),
		prop("update", rule()), prop("delete", rule()),
		prop("manage", describe(&openapi.Schema{Type: openapi.Types{"string", "null"}},
			"Auth collections only: who may change others' email, verified and password; absent or null: superusers only."))}
	c.Schemas["CollectionRules"] = object([]string{"list", "view", "create", "update", "delete"}, ruleProps...)
	c.Schemas["NewCollectionRules"] = describe(object(nil, ruleProps...), "Rules left out stay or become null.")
	c.Schemas["AuthOptions"] = object(nil,
		prop("identityFields", arrayOf(stringSchema())),
		prop("minPasswordLength", &openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(0)}),
		prop("tokenTTL", describe(&openapi.Schema{Type: openapi.Types{"integer"}, Minimum: floatp(0)},
			"How long a session token lives, in seconds.")),
		prop("methods", describe(object(nil,
			prop("password", boolSchema()), prop("otp", boolSchema()),
			prop("oauth2", describe(arrayOf(stringSchema()), "The providers of oauth2Providers that are on.")),
			prop("mfa", boolSchema())), "The sign-in methods that are on.")),
		prop("oauth2Providers", arrayOf(oauth2ProviderSchema())),
		prop("rule", describe(stringSchema(),
			"An expression every signed-in record must meet, at sign-in and on every request; \"\" for none.")))
	kind := &openapi.Schema{Type: openapi.Types{"string"}, Enum: []any{loam.CollectionBase, loam.CollectionAuth}}
	c.Schemas["Collection"] = object([]string{"id", "name", "type", "fields", "indexes", "rules", "created", "updated"},
		prop("id", idSchema()), prop("name", stringSchema()), prop("type", kind), prop("system", boolSchema()),
		prop("fields", arrayOf(openapi.Ref("CollectionField"))),
		prop("indexes", arrayOf(openapi.Ref("CollectionIndex"))),
		prop("rules", openapi.Ref("CollectionRules")),
		prop("auth", describe(openapi.Ref("AuthOptions"), "Auth collections only.")),
		prop("created", dateTime()), prop("updated", dateTime()))
	c.Schemas["Collections"] = object([]string{"items"}, prop("items", arrayOf(openapi.Ref("Collection"))))
	sent := func(required []string) *openapi.Schema {
		return object(required,
			prop("id", idSchema()), prop("name", &openapi.Schema{Type: openapi.Types{"string"},
				Pattern: "^[A-Za-z_][A-Za-z0-9_]*$", MaxLength: intp(loam.MaxNameLength)}),
			prop("type", kind), prop("system", boolSchema()),
			prop("fields", arrayOf(openapi.Ref("NewCollectionField"))),
			prop("indexes", arrayOf(openapi.Ref("CollectionIndex"))),
			prop("rules", openapi.Ref("NewCollectionRules")),
			prop("auth", openapi.Ref("AuthOptions")),
			prop("created", dateTime()), prop("updated", dateTime()))
	}
	c.Schemas["NewCollection"] = describe(sent([]string{"name"}),
		"A collection definition; id, system, created and updated are set by the server.")
	c.Schemas["CollectionChange"] = describe(sent(nil), "The members to change; the others stay.")
}

// batch adds POST /api/batch; it comes last, as its answer may be a record
// of any collection the document holds.
func (b *docBuilder) batch() {
	b.doc.Tags = append(b.doc.Tags, openapi.Tag{Name: "batch", Description: "Several record writes, all or nothing."})
	c := &b.doc.Components
	c.Schemas["BatchRequest"] = object([]string{"method", "url"},
		prop("method", &openapi.Schema{Type: openapi.Types{"string"}, Enum: []any{"POST", "PATCH", "PUT", "DELETE"}}),
		prop("url", describe(&openapi.Schema{Type: openapi.Types{"string"}, Pattern: "^/api/collections/[^/?#]+/records(/[^/?#]+)?$"},
			"/api/collections/{name}/records for POST, .../records/{id} for the others.")),
		prop("body", describe(&openapi.Schema{Type: openapi.Types{"object", "null"}},
			"The record's fields: required for POST, PATCH and PUT, absent or null for DELETE.")),
		prop("ifMatch", describe(&openapi.Schema{Type: openapi.Types{"string"}, MinLength: intp(1)},
			"As the If-Match header: PATCH, PUT and DELETE only.")))
	c.Schemas["Batch"] = object([]string{"requests"}, prop("requests", &openapi.Schema{Type: openapi.Types{"array"},
		Items: openapi.Ref("BatchRequest"), MinItems: intp(1), MaxItems: intp(loam.MaxBatchRequests)}))
	body := []*openapi.Schema{{Type: openapi.Types{"null"}}}
	for _, name := range b.records {
		body = append(body, openapi.Ref(name))
	}
	c.Schemas["BatchResult"] = object([]string{"status", "body"},
		prop("status", &openapi.Schema{Type: openapi.Types{"integer"}, Enum: []any{200, 201, 204}}),
		prop("body", describe(&openapi.Schema{AnyOf: body}, "The record as the single route answers it; null for a delete.")))
	b.op(batchPath, "POST", &openapi.Operation{OperationID: "batch", Summary: "Write several records, all or nothing",
		Description: "The requests run in order in one transaction, each under its collection's rules. The first that " +
			"fails ends the batch and nothing is written: the answer has its status and code, with its own error under " +
			"errors.requests.N.",
		Tags: []string{"batch"}, Parameters: []*openapi.Parameter{b.paramRef("Idempotency-Key")},
		RequestBody: jsonBody(openapi.Ref("Batch")),
		Responses: b.responses(map[string]*openapi.Response{"200": {Description: "Every request succeeded.",
			Headers: map[string]*openapi.Header{"Idempotent-Replayed": b.headerRef("Idempotent-Replayed")},
			Content: jsonContent(arrayOf(openapi.Ref("BatchResult")))}},
			http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusConflict,
			http.StatusPreconditionFailed, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)})
}
