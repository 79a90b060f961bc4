package loam

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// FieldType names the type of a field; each maps to one typed column.
type FieldType string

// The field types (API.md).
const (
	TypeText     FieldType = "text"
	TypeNumber   FieldType = "number"
	TypeBool     FieldType = "bool"
	TypeEmail    FieldType = "email"
	TypeURL      FieldType = "url"
	TypeDate     FieldType = "date"
	TypeSelect   FieldType = "select"
	TypeJSON     FieldType = "json"
	TypeRelation FieldType = "relation"
	TypeAutodate FieldType = "autodate"
	TypePassword FieldType = "password"
)

// Collection types.
const (
	CollectionBase = "base"
	CollectionAuth = "auth"
)

// Relation onDelete behaviours.
const (
	OnDeleteCascade  = "cascade"
	OnDeleteSetNull  = "setNull"
	OnDeleteRestrict = "restrict"
)

// SuperusersCollection is the auth collection of superusers.
const SuperusersCollection = "_superusers"

// Field is one column of a collection. Options apply per type (API.md).
type Field struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Type     FieldType       `json:"type"`
	System   bool            `json:"system,omitempty"`
	Required bool            `json:"required,omitempty"`
	Hidden   bool            `json:"hidden,omitempty"`
	Unique   bool            `json:"unique,omitempty"`
	Default  json.RawMessage `json:"default,omitempty"`
	Min      *float64        `json:"min,omitempty"`
	Max      *float64        `json:"max,omitempty"`
	Pattern  string          `json:"pattern,omitempty"`
	Integer  bool            `json:"integer,omitempty"`
	Values   []string        `json:"values,omitempty"`
	Multiple bool            `json:"multiple,omitempty"`
	// Collection is the target of a relation, by name.
	Collection string `json:"collection,omitempty"`
	OnDelete   string `json:"onDelete,omitempty"`
	OnCreate   bool   `json:"onCreate,omitempty"`
	OnUpdate   bool   `json:"onUpdate,omitempty"`

	pattern *regexp.Regexp
}

// MultiValued reports whether the field holds a list (multi select, multi relation).
func (f *Field) MultiValued() bool {
	return f.Multiple && (f.Type == TypeSelect || f.Type == TypeRelation)
}

// Index is a collection index over one or more fields.
type Index struct {
	Name   string   `json:"name"`
	Fields []string `json:"fields"`
	Unique bool     `json:"unique,omitempty"`
}

// Rules are the access rules of a collection. A nil rule means superusers only;
// an empty rule means everyone.
type Rules struct {
	List   *string `json:"list"`
	View   *string `json:"view"`
	Create *string `json:"create"`
	Update *string `json:"update"`
	Delete *string `json:"delete"`
	// Manage (auth collections only) admits the callers it holds for, on a
	// record, to change that record's verified, email and password, the
	// password without the old one. Nil (absent): superusers only.
	Manage *string `json:"manage,omitempty"`
}

// AuthOptions configure an auth collection.
type AuthOptions struct {
	IdentityFields    []string `json:"identityFields"`
	MinPasswordLength int      `json:"minPasswordLength"`
	// TokenTTL is how long a session token lives, in seconds.
	TokenTTL int `json:"tokenTTL"`
	// Methods are the sign-in methods that are on; nil is password only.
	Methods *AuthMethods `json:"methods"`
	// OAuth2Providers configure the OAuth2 / OpenID Connect providers;
	// those named in Methods.OAuth2 are on.
	OAuth2Providers []OAuth2Provider `json:"oauth2Providers,omitempty"`
	// Rule, when not empty, is a filter on the collection's records that a
	// record must meet to sign in and for its sessions to be accepted: it
	// is checked on every request, so a record it stops admitting (say,
	// one a superuser marked disabled) is signed out at once everywhere.
	Rule string `json:"rule,omitempty"`
}

// AuthMethods are the sign-in methods of an auth collection. In JSON the
// object is replaced whole: a method left out is off.
type AuthMethods struct {
	Password bool `json:"password"`
	OTP      bool `json:"otp"`
	// OAuth2 names the OAuth2 providers that are on, each configured in
	// AuthOptions.OAuth2Providers.
	OAuth2 []string `json:"oauth2"`
	MFA    bool     `json:"mfa"`
}

// UnmarshalJSON decodes the whole object strictly, so that a PATCH that
// names methods replaces them rather than merging into the old ones.
func (m *AuthMethods) UnmarshalJSON(b []byte) error {
	type plain AuthMethods
	var p plain
	if err := strictDecode(b, &p); err != nil {
		return err
	}
	*m = AuthMethods(p)
	return nil
}

// Collection is a user-defined set of records stored as one SQL table.
type Collection struct {
	ID      string       `json:"id"`
	Name    string       `json:"name"`
	Type    string       `json:"type"`
	System  bool         `json:"system,omitempty"`
	Fields  []Field      `json:"fields"`
	Indexes []Index      `json:"indexes"`
	Rules   Rules        `json:"rules"`
	Auth    *AuthOptions `json:"auth,omitempty"`
	Created time.Time    `json:"created"`
	Updated time.Time    `json:"updated"`
}

// Field returns the field called name, or nil.
func (c *Collection) Field(name string) *Field {
	for i := range c.Fields {
		if c.Fields[i].Name == name {
			return &c.Fields[i]
		}
	}
	return nil
}

// FieldByID returns the field with the given id, or nil.
func (c *Collection) FieldByID(id string) *Field {
	for i := range c.Fields {
		if c.Fields[i].ID == id {
			return &c.Fields[i]
		}
	}
	return nil
}

// IsAuth reports whether the collection holds users that can sign in.
func (c *Collection) IsAuth() bool { return c.Type == CollectionAuth }

// FoldsCase reports whether f is the email of an auth collection: its
// values are unique, and found, without regard to the case of ASCII letters.
func (c *Collection) FoldsCase(f *Field) bool {
	return c.IsAuth() && f.System && f.Name == "email"
}

// FoldEmail lowers the ASCII letters of an address, as auth emails compare.
// Other characters stay as they are: it is what SQL lower() does on both
// databases for text compared by code point, so an index can hold it.
func FoldEmail(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// Clone returns a deep copy, so a cached collection is never mutated.
func (c *Collection) Clone() *Collection {
	n := *c
	n.Fields = make([]Field, len(c.Fields))
	for i, f := range c.Fields {
		f.Values = append([]string(nil), f.Values...)
		f.Default = append(json.RawMessage(nil), f.Default...)
		if len(f.Default) == 0 {
			f.Default = nil
		}
		n.Fields[i] = f
	}
	n.Indexes = make([]Index, len(c.Indexes))
	for i, ix := range c.Indexes {
		ix.Fields = append([]string(nil), ix.Fields...)
		n.Indexes[i] = ix
	}
	if c.Auth != nil {
		a := *c.Auth
		a.IdentityFields = append([]string(nil), a.IdentityFields...)
		if a.Methods != nil {
			m := *a.Methods
			m.OAuth2 = append([]string{}, m.OAuth2...)
			a.Methods = &m
		}
		a.OAuth2Providers = append([]OAuth2Provider(nil), a.OAuth2Providers...)
		for i := range a.OAuth2Providers {
			a.OAuth2Providers[i].Scopes = append([]string(nil), a.OAuth2Providers[i].Scopes...)
		}
		n.Auth = &a
	}
	return &n
}

// System column names every record table has.
const (
	ColID      = "id"
	ColCreated = "created"
	ColUpdated = "updated"
)

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// MaxNameLength is the longest collection, field or index name (PostgreSQL's identifier limit).
const MaxNameLength = 63

// reservedFieldNames cannot be used as field names: system columns, names the
// API gives meaning to, and SQL keywords that would confuse readers of the schema.
var reservedFieldNames = map[string]bool{
	"id": true, "created": true, "updated": true, "collectionname": true, "collectionid": true,
	"expand": true, "passwordconfirm": true, "select": true, "from": true, "where": true,
	"table": true, "order": true, "group": true, "null": true, "true": true, "false": true,
	"and": true, "or": true, "not": true, "rowid": true, "oid": true, "_rowid_": true,
	// PostgreSQL's system columns exist in every table.
	"xmin": true, "xmax": true, "cmin": true, "cmax": true, "ctid": true, "tableoid": true,
}

// reservedCollectionNames cannot be used as collection names: they collide
// with routes. Names starting with sqlite_ or pg_ belong to the databases.
var reservedCollectionNames = map[string]bool{
	"collections": true, "settings": true, "health": true, "ready": true, "batch": true,
	"realtime": true, "jobs": true, "schedules": true, "docs": true, "openapi": true,
	"sqlite_master": true, "sqlite_sequence": true,
}

func checkName(what, name string) string {
	switch {
	case name == "":
		return what + " name is required"
	case len(name) > MaxNameLength:
		return fmt.Sprintf("%s name %q is longer than %d characters", what, truncate(name, 80), MaxNameLength)
	case !identRe.MatchString(name):
		return fmt.Sprintf("%s name %q must start with a letter or _ and hold only letters, digits and _", what, truncate(name, 80))
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Validate checks the collection definition on its own: names, types and options.
// Cross-collection checks (relation targets) are done by the caller that knows
// the schema. It fills in missing ids and defaults. All problems come back at once.
func (c *Collection) Validate() error {
	var fe FieldErrors
	if msg := checkName("collection", c.Name); msg != "" {
		fe.Add("name", FieldInvalid, "%s", msg)
	} else if lower := strings.ToLower(c.Name); !c.System && (strings.HasPrefix(c.Name, "_") || reservedCollectionNames[lower] ||
		strings.HasPrefix(lower, "sqlite_") || strings.HasPrefix(lower, "pg_")) {
		fe.Add("name", FieldInvalid, "collection name %q is reserved", c.Name)
	}
	switch c.Type {
	case "":
		c.Type = CollectionBase
	case CollectionBase, CollectionAuth:
	default:
		fe.Add("type", FieldInvalidChoice, "type must be %q or %q", CollectionBase, CollectionAuth)
	}
	if c.ID == "" {
		c.ID = NewID()
	}
	if c.Fields == nil {
		c.Fields = []Field{} // answered as [], never null
	}
	if c.Indexes == nil {
		c.Indexes = []Index{}
	}
	seen := map[string]bool{}
	seenID := map[string]bool{}
	for i := range c.Fields {
		f := &c.Fields[i]
		key := fmt.Sprintf("fields.%d", i)
		if f.ID == "" {
			f.ID = NewID()
		} else if !validFieldID(f.ID) {
			fe.Add(key+".id", FieldInvalid, "a field id is 1 to 15 characters of a-z and 0-9")
		}
		if seenID[f.ID] {
			fe.Add(key+".id", FieldInvalid, "field id %q appears twice", f.ID)
		}
		seenID[f.ID] = true
		if msg := checkName("field", f.Name); msg != "" {
			fe.Add(key+".name", FieldInvalid, "%s", msg)
			continue
		}
		lower := strings.ToLower(f.Name)
		if reservedFieldNames[lower] || (!f.System && strings.HasPrefix(f.Name, "_")) || (c.IsAuth() && lower == "oldpassword") {
			fe.Add(key+".name", FieldInvalid, "field name %q is reserved", f.Name)
		}
		if seen[lower] {
			fe.Add(key+".name", FieldInvalid, "field name %q appears twice (names are case-insensitive)", f.Name)
		}
		seen[lower] = true
		if msg := f.validate(c); msg != "" {
			fe.Add(key, FieldInvalid, "field %q: %s", f.Name, msg)
		}
	}
	seenIdx := map[string]bool{}
	for i := range c.Indexes {
		ix := &c.Indexes[i]
		key := fmt.Sprintf("indexes.%d", i)
		if msg := checkName("index", ix.Name); msg != "" {
			fe.Add(key+".name", FieldInvalid, "%s", msg)
		} else if strings.HasPrefix(ix.Name, "_") {
			fe.Add(key+".name", FieldInvalid, "index name %q is reserved", ix.Name)
		}
		if seenIdx[strings.ToLower(ix.Name)] {
			fe.Add(key+".name", FieldInvalid, "index name %q appears twice", ix.Name)
		}
		seenIdx[strings.ToLower(ix.Name)] = true
		if len(ix.Fields) == 0 {
			fe.Add(key+".fields", FieldRequired, "an index needs at least one field")
		}
		for _, n := range ix.Fields {
			if n == ColID || n == ColCreated || n == ColUpdated {
				continue
			}
			f := c.Field(n)
			if f == nil {
				fe.Add(key+".fields", FieldInvalid, "index field %q is not a field of the collection", truncate(n, 80))
			} else if f.Type == TypePassword || f.Type == TypeJSON || f.MultiValued() {
				fe.Add(key+".fields", FieldInvalid, "field %q of type %s cannot be indexed", n, f.Type)
			}
		}
	}
	if c.IsAuth() {
		if c.Auth == nil {
			c.Auth = &AuthOptions{}
		}
		if len(c.Auth.IdentityFields) == 0 {
			c.Auth.IdentityFields = []string{"email"}
		}
		if c.Auth.MinPasswordLength <= 0 {
			c.Auth.MinPasswordLength = 8
		}
		if c.Auth.TokenTTL <= 0 {
			c.Auth.TokenTTL = 14 * 24 * 3600
		}
		if c.Auth.Methods == nil {
			c.Auth.Methods = &AuthMethods{Password: true}
		}
		if c.Auth.Methods.OAuth2 == nil {
			c.Auth.Methods.OAuth2 = []string{}
		}
		c.Auth.checkOAuth2(&fe)
	} else {
		c.Auth = nil
		if c.Rules.Manage != nil {
			fe.Add("rules.manage", FieldInvalid, "only auth collections have a manage rule")
		}
	}
	c.checkRuleSyntax(&fe)
	return fe.Err(CodeInvalidSchema, "the collection definition is invalid")
}

func (f *Field) validate(c *Collection) string {
	minMax := func() string {
		if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
			return "min is greater than max"
		}
		return ""
	}
	lengthOK := func() string {
		if f.Min != nil && (*f.Min < 0 || *f.Min != float64(int64(*f.Min))) {
			return "min must be a whole number >= 0"
		}
		if f.Max != nil && (*f.Max < 0 || *f.Max != float64(int64(*f.Max))) {
			return "max must be a whole number >= 0"
		}
		return minMax()
	}
	if f.OnDelete != "" && f.Type != TypeRelation {
		return "onDelete applies to relations only"
	}
	if len(f.Values) > 0 && f.Type != TypeSelect {
		return "values apply to select fields only"
	}
	if f.Pattern != "" && f.Type != TypeText {
		return "pattern applies to text fields only"
	}
	if f.Integer && f.Type != TypeNumber {
		return "integer applies to number fields only"
	}
	if f.Multiple && f.Type != TypeSelect && f.Type != TypeRelation {
		return "multiple applies to select and relation fields only"
	}
	if f.Collection != "" && f.Type != TypeRelation {
		return "collection applies to relation fields only"
	}
	if (f.OnCreate || f.OnUpdate) && f.Type != TypeAutodate {
		return "onCreate and onUpdate apply to autodate fields only"
	}
	switch f.Type {
	case TypeText:
		if f.Pattern != "" {
			re, err := regexp.Compile(f.Pattern)
			if err != nil {
				return "pattern is not a valid regular expression"
			}
			f.pattern = re
		}
		if msg := lengthOK(); msg != "" {
			return msg
		}
	case TypeNumber:
		if msg := minMax(); msg != "" {
			return msg
		}
	case TypeEmail, TypeURL, TypeBool, TypeJSON:
		if (f.Min != nil || f.Max != nil) && f.Type != TypeJSON {
			return "min and max do not apply to " + string(f.Type)
		}
	case TypeDate:
	case TypeSelect:
		if len(f.Values) == 0 {
			return "a select field needs values"
		}
		seen := map[string]bool{}
		for _, v := range f.Values {
			if v == "" || seen[v] {
				return "select values must be distinct and not empty"
			}
			seen[v] = true
		}
		if msg := lengthOK(); msg != "" {
			return msg
		}
	case TypeRelation:
		if f.Collection == "" {
			return "a relation needs a target collection"
		}
		switch f.OnDelete {
		case "":
			f.OnDelete = OnDeleteSetNull
			if f.Required {
				f.OnDelete = OnDeleteRestrict // a required relation cannot be emptied
			}
		case OnDeleteCascade, OnDeleteSetNull, OnDeleteRestrict:
		default:
			return "onDelete must be cascade, setNull or restrict"
		}
		if f.Required && f.OnDelete == OnDeleteSetNull {
			return "a required relation cannot use onDelete setNull; use restrict or cascade"
		}
		if msg := lengthOK(); msg != "" {
			return msg
		}
	case TypeAutodate:
		if !f.OnCreate && !f.OnUpdate {
			return "an autodate field needs onCreate, onUpdate or both"
		}
		if f.Required || f.Unique || len(f.Default) > 0 {
			return "an autodate field is set by the server: no required, unique or default"
		}
	case TypePassword:
		if !c.IsAuth() {
			return "password fields belong to auth collections only"
		}
		if f.Unique || len(f.Default) > 0 {
			return "a password field cannot be unique or have a default"
		}
		f.Hidden = true
	default:
		return fmt.Sprintf("unknown type %q", truncate(string(f.Type), 40))
	}
	if f.Unique && (f.Type == TypeJSON || f.MultiValued()) {
		return "json and multi-valued fields cannot be unique"
	}
	if len(f.Default) > 0 {
		if _, err := f.Normalize(f.Default); err != nil {
			return "default: " + err.Message
		}
	}
	return ""
}

// authSystemFields are the fields every auth collection has.
func authSystemFields() []Field {
	return []Field{
		{Name: "email", Type: TypeEmail, System: true, Required: true, Unique: true},
		{Name: "emailVisibility", Type: TypeBool, System: true},
		{Name: "verified", Type: TypeBool, System: true},
		{Name: "password", Type: TypePassword, System: true, Required: true, Hidden: true},
	}
}

// WithAuthFields returns the fields of an auth collection with its system fields
// first; fields the caller already gave with a system name keep their ids.
func withAuthFields(fields []Field) []Field {
	out := make([]Field, 0, len(fields)+4)
	for _, sf := range authSystemFields() {
		for _, f := range fields {
			if f.Name == sf.Name && f.ID != "" {
				sf.ID = f.ID
			}
		}
		out = append(out, sf)
	}
	for _, f := range fields {
		if !isAuthSystemField(f.Name) {
			out = append(out, f)
		}
	}
	return out
}

// isAuthSystemField reports whether name is one of authSystemFields.
func isAuthSystemField(name string) bool {
	for _, sf := range authSystemFields() {
		if sf.Name == name {
			return true
		}
	}
	return false
}

func validFieldID(id string) bool { return len(id) > 0 && len(id) <= IDLength && idChars(id) }
