package postgres_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"loam"
	"loam/postgres"
)

func TestDialectPlaceholder(t *testing.T) {
	t.Parallel()
	d := postgres.Dialect{}
	for n, want := range map[int]string{1: "$1", 2: "$2", 10: "$10", 65535: "$65535"} {
		if got := d.Placeholder(n); got != want {
			t.Errorf("Placeholder(%d) = %q, want %q", n, got, want)
		}
	}
	if d.Name() != "postgres" {
		t.Errorf("Name() = %q, want postgres", d.Name())
	}
	if d.RebuildToAlter() {
		t.Error("RebuildToAlter() = true, want false: PostgreSQL alters in place")
	}
}

func TestDialectColumnType(t *testing.T) {
	t.Parallel()
	const text = `text COLLATE "C"`
	tests := []struct {
		field    loam.Field
		col      string
		selected string
	}{
		{loam.Field{Type: loam.TypeText}, text, `"c"`},
		{loam.Field{Type: loam.TypeEmail}, text, `"c"`},
		{loam.Field{Type: loam.TypeURL}, text, `"c"`},
		{loam.Field{Type: loam.TypePassword}, text, `"c"`},
		{loam.Field{Type: loam.TypeSelect, Values: []string{"a"}}, text, `"c"`},
		{loam.Field{Type: loam.TypeRelation, Collection: "users"}, text, `"c"`},
		{loam.Field{Type: loam.TypeNumber}, "double precision", `"c"`},
		{loam.Field{Type: loam.TypeNumber, Integer: true}, "bigint", `"c"`},
		{loam.Field{Type: loam.TypeBool}, "boolean", `"c"`},
		{loam.Field{Type: loam.TypeDate}, "timestamptz(3)", `"c"`},
		{loam.Field{Type: loam.TypeAutodate, OnCreate: true}, "timestamptz(3)", `"c"`},
		{loam.Field{Type: loam.TypeJSON}, "jsonb", `"c"::text`},
		{loam.Field{Type: loam.TypeSelect, Values: []string{"a"}, Multiple: true}, "jsonb", `"c"::text`},
		{loam.Field{Type: loam.TypeRelation, Collection: "users", Multiple: true}, "jsonb", `"c"::text`},
	}
	d := postgres.Dialect{}
	for _, tt := range tests {
		name := string(tt.field.Type)
		if tt.field.Multiple {
			name += " multiple"
		}
		if tt.field.Integer {
			name += " integer"
		}
		if got := d.ColumnType(&tt.field); got != tt.col {
			t.Errorf("%s: ColumnType = %q, want %q", name, got, tt.col)
		}
		if got := d.SelectColumn(&tt.field, `"c"`); got != tt.selected {
			t.Errorf("%s: SelectColumn = %q, want %q", name, got, tt.selected)
		}
	}
	if got := d.IDType(); got != text {
		t.Errorf("IDType = %q, want %q", got, text)
	}
	if got := d.TimeType(); got != "timestamptz(3)" {
		t.Errorf("TimeType = %q, want timestamptz(3)", got)
	}
}

func TestDialectEncode(t *testing.T) {
	t.Parallel()
	berlin := time.FixedZone("CET", 3600)
	local := time.Date(2026, 11, 25, 11, 15, 30, 123456789, berlin)
	utc := time.Date(2026, 11, 25, 10, 15, 30, 123000000, time.UTC)
	tests := []struct {
		name string
		in   any
		want any
	}{
		{"nil", nil, nil},
		{"string", "héllo", "héllo"},
		{"float", 1.5, 1.5},
		{"int", int64(-7), int64(-7)},
		{"bool", true, true},
		{"time to UTC milliseconds", local, utc},
		{"json", json.RawMessage(`{"a":[1,2]}`), `{"a":[1,2]}`},
		{"nil json", json.RawMessage(nil), nil},
		{"list", []string{"a", `b"c`}, `["a","b\"c"]`},
		{"empty list", []string{}, `[]`},
		{"nil list", []string(nil), nil},
	}
	d := postgres.Dialect{}
	f := &loam.Field{Type: loam.TypeText}
	for _, tt := range tests {
		got := d.Encode(f, tt.in)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Encode(%#v) = %#v, want %#v", tt.name, tt.in, got, tt.want)
		}
		if ts, ok := got.(time.Time); ok && ts.Location() != time.UTC {
			t.Errorf("%s: Encode gave a time in %v, want UTC", tt.name, ts.Location())
		}
	}
	if got := d.EncodeTime(local); !reflect.DeepEqual(got, utc) {
		t.Errorf("EncodeTime(%v) = %v, want %v", local, got, utc)
	}
}

func TestDialectLiterals(t *testing.T) {
	t.Parallel()
	d := postgres.Dialect{}
	if d.BoolLiteral(true) != "TRUE" || d.BoolLiteral(false) != "FALSE" {
		t.Errorf("BoolLiteral = %q, %q", d.BoolLiteral(true), d.BoolLiteral(false))
	}
	if got, want := d.ListContains(`"tags"`, "$3"), `"tags" @> jsonb_build_array($3::text)`; got != want {
		t.Errorf("ListContains = %q, want %q", got, want)
	}
	if got, want := d.ListEmpty(`"tags"`), `"tags" = '[]'::jsonb`; got != want {
		t.Errorf("ListEmpty = %q, want %q", got, want)
	}
}
