package openapi_test

import (
	"encoding/json"
	"testing"

	"loam/openapi"
)

// The keywords that do not map to plain struct fields encode as JSON Schema
// has them: one type as a string, several as a list; the false schema as
// false; properties as one object, in the order given.
func TestSchemaJSON(t *testing.T) {
	for _, tc := range []struct {
		name   string
		schema *openapi.Schema
		want   string
	}{
		{"one type", &openapi.Schema{Type: openapi.Types{"string"}}, `{"type":"string"}`},
		{"several types", &openapi.Schema{Type: openapi.Types{"string", "null"}}, `{"type":["string","null"]}`},
		{"closed object in order", &openapi.Schema{Type: openapi.Types{"object"},
			Properties:           openapi.Properties{{Name: "z", Schema: &openapi.Schema{}}, {Name: "a", Schema: openapi.Ref("A")}},
			AdditionalProperties: openapi.False()},
			`{"type":"object","properties":{"z":{},"a":{"$ref":"#/components/schemas/A"}},"additionalProperties":false}`},
		{"enum with null and a constant", &openapi.Schema{Enum: []any{"a", nil}, Const: 404},
			`{"enum":["a",null],"const":404}`},
		{"the false schema", openapi.False(), `false`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.schema)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("got  %s\nwant %s", b, tc.want)
			}
		})
	}
}
