// Package openapi is the model of an OpenAPI 3.1 document: the objects that
// describe an HTTP API, with JSON Schema 2020-12 schemas, ready for
// encoding/json. It holds only the parts Loam's description uses and knows
// nothing of Loam: package api builds the document of its routes with it.
package openapi

import (
	"bytes"
	"encoding/json"
)

// Version is the OpenAPI version the documents declare.
const Version = "3.1.1"

// Document is an OpenAPI document.
type Document struct {
	OpenAPI    string                `json:"openapi"`
	Info       Info                  `json:"info"`
	Servers    []Server              `json:"servers,omitempty"`
	Security   []SecurityRequirement `json:"security,omitempty"`
	Tags       []Tag                 `json:"tags,omitempty"`
	Paths      map[string]*PathItem  `json:"paths"`
	Components Components            `json:"components"`
}

// Info describes the API.
type Info struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
}

// Server is where the API is served; a relative URL is relative to the
// document's own location.
type Server struct {
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
}

// Tag groups operations.
type Tag struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// SecurityRequirement names the security schemes an operation accepts; the
// empty requirement means none is needed.
type SecurityRequirement map[string][]string

// PathItem holds the operations of one path.
type PathItem struct {
	Get    *Operation `json:"get,omitempty"`
	Post   *Operation `json:"post,omitempty"`
	Delete *Operation `json:"delete,omitempty"`
	Patch  *Operation `json:"patch,omitempty"`
	// Parameters apply to every operation of the path.
	Parameters []*Parameter `json:"parameters,omitempty"`
}

// Operation is one method on one path.
type Operation struct {
	OperationID string       `json:"operationId"`
	Summary     string       `json:"summary"`
	Description string       `json:"description,omitempty"`
	Tags        []string     `json:"tags,omitempty"`
	Parameters  []*Parameter `json:"parameters,omitempty"`
	RequestBody *RequestBody `json:"requestBody,omitempty"`
	// Responses are keyed by status code ("200") or "default".
	Responses map[string]*Response `json:"responses"`
	// Security overrides the document's when not nil.
	Security []SecurityRequirement `json:"security,omitempty"`
}

// Parameter is a query, path or header parameter, or a reference to one.
type Parameter struct {
	Ref         string  `json:"$ref,omitempty"`
	Name        string  `json:"name,omitempty"`
	In          string  `json:"in,omitempty"`
	Description string  `json:"description,omitempty"`
	Required    bool    `json:"required,omitempty"`
	Schema      *Schema `json:"schema,omitempty"`
}

// RequestBody is the body of a request.
type RequestBody struct {
	Description string                `json:"description,omitempty"`
	Required    bool                  `json:"required,omitempty"`
	Content     map[string]*MediaType `json:"content"`
}

// MediaType is the schema of a body in one media type.
type MediaType struct {
	Schema *Schema `json:"schema,omitempty"`
}

// Response is one answer of an operation, or a reference to one.
type Response struct {
	Ref         string                `json:"$ref,omitempty"`
	Description string                `json:"description,omitempty"`
	Headers     map[string]*Header    `json:"headers,omitempty"`
	Content     map[string]*MediaType `json:"content,omitempty"`
}

// Header is a response header, or a reference to one.
type Header struct {
	Ref         string  `json:"$ref,omitempty"`
	Description string  `json:"description,omitempty"`
	Required    bool    `json:"required,omitempty"`
	Schema      *Schema `json:"schema,omitempty"`
}

// SecurityScheme is a way to authenticate.
type SecurityScheme struct {
	Type         string `json:"type"`
	Scheme       string `json:"scheme,omitempty"`
	BearerFormat string `json:"bearerFormat,omitempty"`
	Description  string `json:"description,omitempty"`
}

// Components hold the objects that references point to.
type Components struct {
	Schemas         map[string]*Schema         `json:"schemas,omitempty"`
	Parameters      map[string]*Parameter      `json:"parameters,omitempty"`
	Responses       map[string]*Response       `json:"responses,omitempty"`
	Headers         map[string]*Header         `json:"headers,omitempty"`
	SecuritySchemes map[string]*SecurityScheme `json:"securitySchemes,omitempty"`
}

// Schema is a JSON Schema 2020-12 schema, limited to the keywords used here.
// With Ref set, the other keywords apply next to the referenced schema, as
// JSON Schema 2020-12 has it.
type Schema struct {
	Ref         string `json:"$ref,omitempty"`
	Description string `json:"description,omitempty"`
	// Type is one JSON type, or several ("string", "null").
	Type   Types  `json:"type,omitempty"`
	Format string `json:"format,omitempty"`
	// Enum and Const hold JSON values of any type.
	Enum    []any           `json:"enum,omitempty"`
	Const   any             `json:"const,omitempty"`
	Default json.RawMessage `json:"default,omitempty"`

	MinLength *int64 `json:"minLength,omitempty"`
	MaxLength *int64 `json:"maxLength,omitempty"`
	// Pattern is a regular expression a string must contain a match of.
	Pattern string   `json:"pattern,omitempty"`
	Minimum *float64 `json:"minimum,omitempty"`
	Maximum *float64 `json:"maximum,omitempty"`

	Items       *Schema `json:"items,omitempty"`
	MinItems    *int64  `json:"minItems,omitempty"`
	MaxItems    *int64  `json:"maxItems,omitempty"`
	UniqueItems bool    `json:"uniqueItems,omitempty"`

	Properties           Properties `json:"properties,omitempty"`
	Required             []string   `json:"required,omitempty"`
	AdditionalProperties *Schema    `json:"additionalProperties,omitempty"`
	PropertyNames        *Schema    `json:"propertyNames,omitempty"`

	AllOf []*Schema `json:"allOf,omitempty"`
	AnyOf []*Schema `json:"anyOf,omitempty"`

	ReadOnly  bool `json:"readOnly,omitempty"`
	WriteOnly bool `json:"writeOnly,omitempty"`

	// never makes the schema the boolean schema false, which no value matches.
	never bool
}

// False is the schema no value matches, as in "additionalProperties": false.
func False() *Schema { return &Schema{never: true} }

// Ref returns a schema that refers to the schema component name.
func Ref(name string) *Schema { return &Schema{Ref: "#/components/schemas/" + name} }

// MarshalJSON writes the false schema as false, and others as objects.
func (s *Schema) MarshalJSON() ([]byte, error) {
	if s.never {
		return []byte("false"), nil
	}
	type plain Schema
	return json.Marshal((*plain)(s))
}

// Types is the type keyword: written as a string when it holds one type.
type Types []string

// MarshalJSON writes one type as a string, several as a list.
func (t Types) MarshalJSON() ([]byte, error) {
	if len(t) == 1 {
		return json.Marshal(t[0])
	}
	return json.Marshal([]string(t))
}

// Property is one named member of an object schema.
type Property struct {
	Name   string
	Schema *Schema
}

// Properties are an object's members in the order they are written, so a
// reader sees them in the order the API answers them.
type Properties []Property

// MarshalJSON writes the properties as one JSON object, in order.
func (p Properties) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, prop := range p {
		if i > 0 {
			b.WriteByte(',')
		}
		name, err := json.Marshal(prop.Name)
		if err != nil {
			return nil, err
		}
		b.Write(name)
		b.WriteByte(':')
		v, err := json.Marshal(prop.Schema)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
