package tsclient

import (
	"strings"
	"testing"

	"loam/openapi"
)

// TestExpr: each kind of schema the documents use becomes its TypeScript type.
func TestExpr(t *testing.T) {
	g := &generator{names: map[string]string{"postsRecord": "PostsRecord", "Error": "ApiError"}}
	str := &openapi.Schema{Type: openapi.Types{"string"}}
	for _, tc := range []struct {
		name   string
		schema *openapi.Schema
		want   string
	}{
		{"any value", &openapi.Schema{Description: "any"}, "JsonValue"},
		{"false", openapi.False(), "never"},
		{"ref", openapi.Ref("postsRecord"), "PostsRecord"},
		{"ref to Error", openapi.Ref("Error"), "ApiError"},
		{"unknown ref", openapi.Ref("nope"), "JsonValue"},
		{"const", &openapi.Schema{Type: openapi.Types{"string"}, Const: "posts"}, `"posts"`},
		{"nullable enum", &openapi.Schema{Type: openapi.Types{"string", "null"}, Enum: []any{"a", "b\"", nil}}, `"a" | "b\"" | null`},
		{"numbers", &openapi.Schema{Type: openapi.Types{"integer", "null"}}, "number | null"},
		{"array of union", &openapi.Schema{Type: openapi.Types{"array"}, Items: &openapi.Schema{Type: openapi.Types{"string", "boolean"}}},
			"Array<string | boolean>"},
		{"any object", &openapi.Schema{Type: openapi.Types{"object", "null"}}, "{ [key: string]: JsonValue } | null"},
		{"map", &openapi.Schema{Type: openapi.Types{"object"}, AdditionalProperties: str}, "{ [key: string]: string }"},
		{"closed empty object", &openapi.Schema{Type: openapi.Types{"object"}, AdditionalProperties: openapi.False()}, "{}"},
		{"map of named keys", &openapi.Schema{Type: openapi.Types{"object"}, PropertyNames: &openapi.Schema{Enum: []any{"a", "b"}},
			AdditionalProperties: &openapi.Schema{Type: openapi.Types{"number"}}}, `{ [K in "a" | "b"]?: number }`},
		{"all of", &openapi.Schema{AllOf: []*openapi.Schema{openapi.Ref("Error"), {Properties: openapi.Properties{
			{Name: "status", Schema: &openapi.Schema{Const: 404}}}}}}, "ApiError & {\n  status?: 404;\n}"},
		{"any of", &openapi.Schema{AnyOf: []*openapi.Schema{{Type: openapi.Types{"null"}}, {Type: openapi.Types{"string", "number"}}}},
			"null | (string | number)"},
		{"members", &openapi.Schema{Type: openapi.Types{"object"}, Required: []string{"id"}, Properties: openapi.Properties{
			{Name: "id", Schema: &openapi.Schema{Type: openapi.Types{"string"}, ReadOnly: true, Description: "Ends */ here."}},
			{Name: "a-b", Schema: str}}},
			"{\n  /** Ends *\\/ here. */\n  readonly id: string;\n  \"a-b\"?: string;\n}"},
	} {
		if got := g.expr(tc.schema, ""); got != tc.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tc.name, got, tc.want)
		}
	}
}

// TestGenerateRefusesClashes: two schemas that would be one type name, or
// a schema named like a type types.ts declares itself, are an error rather
// than a file that does not compile.
func TestGenerateRefusesClashes(t *testing.T) {
	for _, names := range [][]string{{"Error", "ApiError"}, {"fooRecord", "FooRecord"}, {"CollectionTypes"}} {
		doc := &openapi.Document{Components: openapi.Components{Schemas: map[string]*openapi.Schema{}}}
		for _, n := range names {
			doc.Components.Schemas[n] = &openapi.Schema{Type: openapi.Types{"string"}}
		}
		if _, err := Generate(doc, nil); err == nil || !strings.Contains(err.Error(), "would both be") {
			t.Errorf("schemas %v: got %v, want a clash", names, err)
		}
	}
}
