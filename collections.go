package loam

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// requireSuperuser admits superusers (with an API key, one that reaches
// AreaCollections).
func requireSuperuser(who *Principal) error {
	return who.InArea(AreaCollections)
}

// Collections returns every collection (superusers only).
func (a *App) Collections(who *Principal) ([]*Collection, error) {
	if err := requireSuperuser(who); err != nil {
		return nil, err
	}
	return a.Schema().Collections(), nil
}

// Collection returns one collection by name (superusers only).
func (a *App) Collection(who *Principal, name string) (*Collection, error) {
	if err := requireSuperuser(who); err != nil {
		return nil, err
	}
	return a.collection(name)
}

// CreateCollection validates a new collection and creates its table.
func (a *App) CreateCollection(ctx context.Context, who *Principal, c *Collection) (*Collection, error) {
	if err := requireSuperuser(who); err != nil {
		return nil, err
	}
	a.schemaMu.Lock()
	defer a.schemaMu.Unlock()
	c = c.Clone()
	c.ID, c.System = "", false
	if c.Type == CollectionAuth {
		c.Fields = withAuthFields(c.Fields)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if err := a.checkRelations(c); err != nil {
		return nil, err
	}
	if err := checkAuthOptions(c); err != nil {
		return nil, err
	}
	if err := a.checkRules(c, ""); err != nil {
		return nil, err
	}
	now := Now()
	c.Created, c.Updated = now, now
	if err := a.store.CreateCollection(ctx, c); err != nil {
		return nil, err
	}
	if err := a.reloadSchema(ctx); err != nil {
		return nil, err
	}
	return a.Schema().Collection(c.Name), nil
}

// checkAuthOptions checks the options of an auth collection that is being
// saved: every identity field is a unique text or email field, so one
// identity names one record. (Collections stored before keep loading.)
func checkAuthOptions(c *Collection) error {
	if c.Auth == nil {
		return nil
	}
	var fe FieldErrors
	for i, name := range c.Auth.IdentityFields {
		f := c.Field(name)
		switch {
		case f == nil:
			fe.Add(fmt.Sprintf("auth.identityFields.%d", i), FieldInvalid, "%q is not a field of %s", truncate(name, 80), c.Name)
		case !f.Unique || (f.Type != TypeText && f.Type != TypeEmail):
			fe.Add(fmt.Sprintf("auth.identityFields.%d", i), FieldInvalid, "an identity field must be a unique text or email field")
		}
	}
	return fe.Err(CodeInvalidSchema, "the auth options are invalid")
}

// checkRelations makes sure every relation targets an existing collection
// (or the collection itself).
func (a *App) checkRelations(c *Collection) error {
	var fe FieldErrors
	for i := range c.Fields {
		f := &c.Fields[i]
		if f.Type != TypeRelation || f.Collection == c.Name {
			continue
		}
		if a.Schema().Collection(f.Collection) == nil {
			fe.Add(fmt.Sprintf("fields.%d.collection", i), FieldNotFound, "no collection %q", truncate(f.Collection, 80))
		}
	}
	return fe.Err(CodeInvalidSchema, "the collection definition is invalid")
}

// UpdateCollection applies a PATCH: keys present replace the current ones;
// fields and indexes are whole lists, fields matched by id (a known id with a
// new name is a rename, a field without id is added, a missing one is dropped).
func (a *App) UpdateCollection(ctx context.Context, who *Principal, name string, patch json.RawMessage) (*Collection, error) {
	if err := requireSuperuser(who); err != nil {
		return nil, err
	}
	a.schemaMu.Lock()
	defer a.schemaMu.Unlock()
	old, err := a.collection(name)
	if err != nil {
		return nil, err
	}
	if old.System {
		return nil, Errorf(CodeInvalidSchema, "%s is a system collection", old.Name)
	}
	var keys map[string]json.RawMessage
	if err := strictDecode(patch, &keys); err != nil || keys == nil {
		return nil, Errorf(CodeInvalidJSON, "the body must be a JSON object")
	}
	n := old.Clone()
	var fe FieldErrors
	for k, raw := range keys {
		var err error
		switch k {
		case "name":
			err = strictDecode(raw, &n.Name)
		case "type":
			var t string
			if err = strictDecode(raw, &t); err == nil && t != old.Type {
				fe.Add("type", FieldInvalid, "the type of a collection cannot change")
			}
		case "fields":
			n.Fields = nil
			err = strictDecode(raw, &n.Fields)
		case "indexes":
			n.Indexes = nil
			err = strictDecode(raw, &n.Indexes)
		case "rules":
			err = patchRules(&n.Rules, raw)
		case "auth":
			if n.Auth == nil {
				fe.Add("auth", FieldInvalid, "only auth collections have auth options")
				continue
			}
			err = patchAuth(n.Auth, raw)
		case "id", "created", "updated", "system":
			continue
		default:
			fe.Add(k, FieldUnknown, "is not a collection key")
			continue
		}
		if err != nil {
			fe.Add(k, FieldInvalidType, "has the wrong shape: %s", decodeProblem(err))
		}
	}
	if len(fe) > 0 {
		return nil, fe.Err(CodeInvalidSchema, "the change is invalid")
	}
	if n.IsAuth() {
		n.Fields = keepSystemFields(old, n.Fields)
		keepSecrets(old.Auth, n.Auth)
	}
	if err := n.Validate(); err != nil {
		return nil, err
	}
	if err := checkFieldChanges(old, n); err != nil {
		return nil, err
	}
	if err := a.checkRelations(n); err != nil {
		return nil, err
	}
	if err := checkAuthOptions(n); err != nil {
		return nil, err
	}
	if err := a.checkRules(n, old.Name); err != nil {
		return nil, err
	}
	if n.Name != old.Name {
		for _, ref := range a.Schema().ReferencesTo(old.Name) {
			if ref.Collection.ID != old.ID {
				continue
			}
			// a self relation follows the rename
			if f := n.FieldByID(ref.Field.ID); f != nil && f.Collection == old.Name {
				f.Collection = n.Name
			}
		}
	}
	n.Updated = Now()
	if !n.Updated.After(old.Updated) {
		n.Updated = old.Updated.Add(time.Millisecond) // every version is distinct
	}
	if err := a.store.UpdateCollection(ctx, old, n); err != nil {
		// Perhaps another instance changed the schema first: load it, so a
		// retry starts from the current definition.
		if rerr := a.reloadSchema(ctx); rerr != nil {
			a.log.Warn("schema reload failed", "err", rerr)
		}
		return nil, err
	}
	if err := a.reloadSchema(ctx); err != nil {
		return nil, err
	}
	return a.Schema().Collection(n.Name), nil
}

// patchAuth decodes the auth options of a PATCH over a: members present
// replace the current ones, oauth2Providers as a whole list (decoded
// afresh, so no member of an old provider leaks into a new one).
func patchAuth(a *AuthOptions, raw json.RawMessage) error {
	providers := a.OAuth2Providers
	a.OAuth2Providers = nil
	if err := strictDecode(raw, a); err != nil {
		return err
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(raw, &keys) == nil {
		if _, ok := keys["oauth2Providers"]; !ok {
			a.OAuth2Providers = providers
		}
	}
	return nil
}

// keepSystemFields puts the auth system fields of old first, unchanged, and
// drops any attempt to redefine them.
func keepSystemFields(old *Collection, fields []Field) []Field {
	out := make([]Field, 0, len(fields)+4)
	for _, f := range old.Fields {
		if f.System {
			out = append(out, f)
		}
	}
	for _, f := range fields {
		if o := old.FieldByID(f.ID); (o != nil && o.System) || f.System {
			continue
		}
		if isAuthSystemField(f.Name) && f.ID == "" {
			continue
		}
		out = append(out, f)
	}
	return out
}

// checkFieldChanges refuses changes of a field's type or storage shape.
func checkFieldChanges(old, n *Collection) error {
	var fe FieldErrors
	for i := range n.Fields {
		f := &n.Fields[i]
		o := old.FieldByID(f.ID)
		if o == nil {
			continue // a new field
		}
		key := fmt.Sprintf("fields.%d", i)
		switch {
		case o.Type != f.Type:
			fe.Add(key, FieldInvalid, "field %q: the type cannot change (%s to %s); add a new field instead", f.Name, o.Type, f.Type)
		case o.Multiple != f.Multiple || o.Integer != f.Integer:
			fe.Add(key, FieldInvalid, "field %q: multiple and integer cannot change", f.Name)
		case o.Type == TypeRelation && o.Collection != f.Collection && !(o.Collection == old.Name && f.Collection == n.Name):
			fe.Add(key, FieldInvalid, "field %q: the relation target cannot change", f.Name)
		}
	}
	return fe.Err(CodeInvalidSchema, "the change is invalid")
}

// patchRules replaces the rules present in raw.
func patchRules(r *Rules, raw json.RawMessage) error {
	var m map[string]json.RawMessage
	if err := strictDecode(raw, &m); err != nil {
		return err
	}
	for k, v := range m {
		var dst **string
		switch k {
		case "list":
			dst = &r.List
		case "view":
			dst = &r.View
		case "create":
			dst = &r.Create
		case "update":
			dst = &r.Update
		case "delete":
			dst = &r.Delete
		case "manage":
			dst = &r.Manage
		default:
			return fmt.Errorf("unknown rule %q", truncate(k, 40))
		}
		// A fresh pointer: decoding into the current one would write through
		// to the live definition the clone shares it with.
		*dst = nil
		if err := strictDecode(v, dst); err != nil {
			return err
		}
	}
	return nil
}

// DeleteCollection drops a collection and its records. A collection that
// others relate to is refused with ErrConflict.
func (a *App) DeleteCollection(ctx context.Context, who *Principal, name string) error {
	if err := requireSuperuser(who); err != nil {
		return err
	}
	a.schemaMu.Lock()
	defer a.schemaMu.Unlock()
	c, err := a.collection(name)
	if err != nil {
		return err
	}
	if c.System {
		return Errorf(CodeInvalidSchema, "%s is a system collection", c.Name)
	}
	var others []string
	for _, ref := range a.Schema().ReferencesTo(c.Name) {
		if ref.Collection.Name != c.Name {
			others = append(others, ref.Collection.Name+"."+ref.Field.Name)
		}
	}
	if len(others) > 0 {
		return Errorf(CodeConflict, "relations point at %s: %s", c.Name, strings.Join(others, ", "))
	}
	if err := a.store.DeleteCollection(ctx, c); err != nil {
		return err
	}
	return a.reloadSchema(ctx)
}

// strictDecode decodes JSON refusing unknown keys and trailing data.
func strictDecode(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data")
	}
	return nil
}

// DecodeCollection decodes a collection definition strictly (unknown keys are errors).
// A body that is not a JSON object is invalid_json; keys of the wrong
// shape or unknown keys are invalid_schema.
func DecodeCollection(raw []byte) (*Collection, error) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return nil, Errorf(CodeInvalidJSON, "the collection definition must be a JSON object")
	}
	c := &Collection{}
	if err := strictDecode(raw, c); err != nil {
		return nil, &Error{Code: CodeInvalidSchema, Message: "the collection definition is malformed: " + decodeProblem(err)}
	}
	return c, nil
}

// decodeProblem describes a JSON decoding error without Go type names.
func decodeProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("%q must not be a JSON %s", te.Field, te.Value)
		}
		return "a value must not be a JSON " + te.Value
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
