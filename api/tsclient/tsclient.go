// Package tsclient writes TypeScript for one Loam instance from the OpenAPI
// documents package api builds of its live schema: types.ts, a type for every
// schema of the document (a record, create and update body, list and
// aggregate answer per collection, the error object), and client.ts, a small
// typed fetch client over them. `loam gen ts` writes both. Nothing but this
// package and the document is involved: no generator runs at build time.
package tsclient

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"loam/openapi"
)

//go:embed client.ts
var clientTS []byte

// File is one generated file.
type File struct {
	Name string
	Body []byte
}

// Generate returns types.ts and client.ts for the API that doc describes:
// the document as superusers see it, with every route and field. others is
// the document as other callers see it (it may be nil): a record member it
// does not show, a hidden field, is optional in the types, as other callers
// never receive it. It fails when two schemas would get the same type name.
func Generate(doc, others *openapi.Document) ([]File, error) {
	g := &generator{doc: doc, names: map[string]string{}}
	taken := map[string]string{}
	for _, helper := range helperNames {
		taken[helper] = "the generated " + helper
	}
	for _, name := range sortedKeys(doc.Components.Schemas) {
		ts := typeName(name)
		if other, clash := taken[ts]; clash {
			return nil, fmt.Errorf("typescript: schema %s and %s would both be the type %s", name, other, ts)
		}
		taken[ts] = "schema " + name
		g.names[name] = ts
	}
	g.others = map[string]map[string]bool{}
	if others != nil {
		for name, s := range others.Components.Schemas {
			if strings.HasSuffix(name, "Record") {
				shown := map[string]bool{}
				for _, p := range s.Properties {
					shown[p.Name] = true
				}
				g.others[name] = shown
			}
		}
	}
	types := g.types()
	return []File{{Name: "types.ts", Body: types}, {Name: "client.ts", Body: clientTS}}, nil
}

// helperNames are the names types.ts declares besides the schemas.
var helperNames = []string{"JsonValue", "CollectionTypes", "AuthCollectionTypes"}

// typeName is the TypeScript name of schema name: its first letter in upper
// case (postsRecord is PostsRecord), and Error, which would hide the global
// Error class, as ApiError.
func typeName(name string) string {
	if name == "Error" {
		return "ApiError"
	}
	if name != "" && name[0] >= 'a' && name[0] <= 'z' {
		return strings.ToUpper(name[:1]) + name[1:]
	}
	return name
}

type generator struct {
	doc   *openapi.Document
	names map[string]string // schema name -> type name
	// others holds, per record schema of the others' document, the members
	// it shows.
	others map[string]map[string]bool
	b      strings.Builder
}

func (g *generator) types() []byte {
	g.b.WriteString("// The types of a Loam API, written by `loam gen ts` from its OpenAPI document (" + g.doc.Info.Version + ").\n" +
		"// Do not edit: run `loam gen ts` again when the schema changes. client.ts is the client that uses them.\n\n")
	g.b.WriteString("/** Any JSON value. */\n" +
		"export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };\n")
	schemas := sortedKeys(g.doc.Components.Schemas)
	slices.SortFunc(schemas, func(a, b string) int { return strings.Compare(g.names[a], g.names[b]) })
	for _, name := range schemas {
		g.b.WriteByte('\n')
		g.declare(name, g.doc.Components.Schemas[name])
	}
	g.collections()
	return []byte(g.b.String())
}

// declare writes schema s as the exported type of its name: an interface
// for an object with members, an alias otherwise.
func (g *generator) declare(name string, s *openapi.Schema) {
	g.b.WriteString(comment("", s))
	ts := g.names[name]
	if isObject(s) && len(s.Properties) > 0 && s.AdditionalProperties != nil && isFalse(s.AdditionalProperties) {
		g.b.WriteString("export interface " + ts + " " + g.members(s, "", g.others[name], strings.HasSuffix(name, "Record") && g.others[name] != nil) + "\n")
		return
	}
	g.b.WriteString("export type " + ts + " = " + g.expr(s, "") + ";\n")
}

// comment is the doc comment of s, if it has anything to say.
func comment(indent string, s *openapi.Schema, extra ...string) string {
	var lines []string
	if s.Description != "" {
		lines = append(lines, s.Description)
	}
	if s.Format != "" {
		lines = append(lines, "Format: "+s.Format+".")
	}
	lines = append(lines, extra...)
	if len(lines) == 0 {
		return ""
	}
	text := strings.ReplaceAll(strings.Join(lines, " "), "*/", "*\\/")
	return indent + "/** " + text + " */\n"
}

// members writes the properties of an object schema as a type literal.
// With public set, members that shown does not hold are optional: only
// superusers receive them.
func (g *generator) members(s *openapi.Schema, indent string, shown map[string]bool, public bool) string {
	var b strings.Builder
	inner := indent + "  "
	b.WriteString("{\n")
	for _, p := range s.Properties {
		optional := !slices.Contains(s.Required, p.Name)
		var extra []string
		if public && !shown[p.Name] {
			optional = true
			extra = append(extra, "Missing for callers other than superusers.")
		}
		b.WriteString(comment(inner, p.Schema, extra...))
		b.WriteString(inner)
		if p.Schema.ReadOnly {
			b.WriteString("readonly ")
		}
		b.WriteString(propertyName(p.Name))
		if optional {
			b.WriteByte('?')
		}
		b.WriteString(": " + g.expr(p.Schema, inner) + ";\n")
	}
	b.WriteString(indent + "}")
	return b.String()
}

var identifier = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

func propertyName(name string) string {
	if identifier.MatchString(name) {
		return name
	}
	return quote(name)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func isFalse(s *openapi.Schema) bool {
	b, err := json.Marshal(s)
	return err == nil && string(b) == "false"
}

func isObject(s *openapi.Schema) bool {
	return slices.Contains(s.Type, "object") || (len(s.Type) == 0 && len(s.Properties) > 0)
}

// expr is the TypeScript type of the values schema s allows.
func (g *generator) expr(s *openapi.Schema, indent string) string {
	switch {
	case s == nil:
		return "JsonValue"
	case isFalse(s):
		return "never"
	case s.Ref != "":
		name := strings.TrimPrefix(s.Ref, "#/components/schemas/")
		if ts, ok := g.names[name]; ok {
			return ts
		}
		return "JsonValue"
	case s.Const != nil:
		return literal(s.Const)
	case len(s.Enum) > 0:
		parts := make([]string, len(s.Enum))
		for i, v := range s.Enum {
			parts[i] = literal(v)
		}
		return strings.Join(parts, " | ")
	case len(s.AllOf) > 0:
		return g.join(s.AllOf, " & ", indent)
	case len(s.AnyOf) > 0:
		return g.join(s.AnyOf, " | ", indent)
	case len(s.Type) == 0 && len(s.Properties) == 0:
		return "JsonValue"
	}
	types := s.Type
	if len(types) == 0 {
		types = openapi.Types{"object"}
	}
	var parts []string
	for _, t := range types {
		switch t {
		case "string":
			parts = append(parts, "string")
		case "number", "integer":
			parts = append(parts, "number")
		case "boolean":
			parts = append(parts, "boolean")
		case "null":
			parts = append(parts, "null")
		case "array":
			parts = append(parts, "Array<"+g.expr(s.Items, indent)+">")
		case "object":
			parts = append(parts, g.object(s, indent))
		}
	}
	return strings.Join(parts, " | ")
}

// object is the type of an object schema: its members, a map of its
// additional members, or any JSON object.
func (g *generator) object(s *openapi.Schema, indent string) string {
	extra := s.AdditionalProperties
	switch {
	case len(s.Properties) > 0:
		return g.members(s, indent, nil, false)
	case extra == nil:
		return "{ [key: string]: JsonValue }"
	case isFalse(extra):
		return "{}"
	case s.PropertyNames != nil && len(s.PropertyNames.Enum) > 0:
		keys := make([]string, len(s.PropertyNames.Enum))
		for i, v := range s.PropertyNames.Enum {
			keys[i] = literal(v)
		}
		return "{ [K in " + strings.Join(keys, " | ") + "]?: " + g.expr(extra, indent) + " }"
	}
	return "{ [key: string]: " + g.expr(extra, indent) + " }"
}

func (g *generator) join(schemas []*openapi.Schema, sep, indent string) string {
	parts := make([]string, len(schemas))
	for i, s := range schemas {
		parts[i] = g.expr(s, indent)
		if strings.Contains(parts[i], " | ") || strings.Contains(parts[i], " & ") {
			parts[i] = "(" + parts[i] + ")"
		}
	}
	return strings.Join(parts, sep)
}

// literal is a JSON value as a TypeScript literal type.
func literal(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "never"
	}
	return string(b)
}

// recordRoute matches the paths of one collection's records routes.
var recordRoute = regexp.MustCompile(`^/api/collections/([^/{}]+)/(records|records/\{id\}|aggregate|auth/password)$`)

// collections writes CollectionTypes and AuthCollectionTypes, the types of
// each collection that the client's methods take and answer, found through
// the collections' routes in the document.
func (g *generator) collections() {
	type kinds map[string]bool
	found := map[string]kinds{}
	var order []string
	for _, path := range sortedKeys(g.doc.Paths) {
		m := recordRoute.FindStringSubmatch(path)
		if m == nil {
			continue
		}
		if found[m[1]] == nil {
			found[m[1]] = kinds{}
			order = append(order, m[1])
		}
		if m[2] == "auth/password" {
			found[m[1]]["auth"] = true
		}
	}
	slices.Sort(order)
	schema := func(name string) string {
		if ts, ok := g.names[name]; ok {
			return ts
		}
		return "never"
	}
	g.b.WriteString("\n/** The types of each collection's records, as the client's methods take and answer them. */\n" +
		"export interface CollectionTypes {\n")
	for _, c := range order {
		fmt.Fprintf(&g.b, "  %s: {\n    record: %s;\n    create: %s;\n    update: %s;\n    list: %s;\n    aggregate: %s;\n  };\n",
			quote(c), schema(c+"Record"), schema(c+"Create"), schema(c+"Update"), schema(c+"List"), schema(c+"Aggregate"))
	}
	g.b.WriteString("}\n\n/** The answer of a sign-in, per auth collection. */\nexport interface AuthCollectionTypes {\n")
	for _, c := range order {
		if found[c]["auth"] {
			fmt.Fprintf(&g.b, "  %s: %s;\n", quote(c), schema(c+"Auth"))
		}
	}
	g.b.WriteString("}\n")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
