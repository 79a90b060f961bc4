package loam

import (
	"bytes"
	"context"
	"slices"
	"strings"

	"loam/expr"
)

// The system fields of auth records carry rules of their own, on top of
// the collection's rules:
//
//   - verified and email change only for superusers and the callers the
//     manage rule admits for the record (a user verifies through the
//     verification flow and changes an email through the email-change flow);
//   - a password changes for them too, and for the record itself when the
//     body also holds the current password as oldPassword;
//   - the email is withheld from other callers unless emailVisibility is
//     set, and non-superusers cannot filter, sort or group by it.

// isSelf reports whether who is signed in as the record id of c.
func isSelf(who *Principal, c *Collection, id string) bool {
	return who != nil && who.Record != nil && who.Collection == c.Name && who.Record.ID == id
}

// manages reports whether the manage rule of c admits who for the stored
// record id. Superusers manage everything; a null rule admits nobody else.
func (a *App) manages(ctx context.Context, who *Principal, c *Collection, id string, env func() *expr.Env) (bool, error) {
	if who.IsSuperuser() {
		return true, nil
	}
	cond, err := a.ruleCond(who, c, c.Rules.Manage, "managing "+c.Name+" records", env)
	if err != nil {
		return false, nil // a null rule (or one that stopped compiling)
	}
	if cond == nil {
		return true, nil
	}
	rec, err := visible(ctx, a.records(ctx), c, id, cond)
	return rec != nil, err
}

// changesField reports whether body sets field name of c to a value other
// than cur's (a value that does not even parse counts as a change).
func changesField(c *Collection, name string, cur *Record, body Body) bool {
	raw, ok := body[name]
	f := c.Field(name)
	if !ok || f == nil {
		return false
	}
	v, ferr := f.Normalize(raw)
	if ferr != nil {
		return true
	}
	var old any
	if cur != nil {
		old = cur.Data[name]
	} else if f.Type == TypeBool {
		old = false
	}
	if f.Type == TypeBool && v == nil {
		v = false
	}
	return v != old
}

// setsPassword reports whether body sets a password.
func setsPassword(body Body) bool {
	raw, ok := body["password"]
	if !ok {
		return false
	}
	s, isString := jsonString(raw)
	if !isString {
		return string(bytes.TrimSpace(raw)) != "null"
	}
	return s != ""
}

// checkAuthCreate says whether a create of an auth record needs the manage
// rule: a body that marks the record verified does, unless who is a
// superuser. It returns the manage rule's condition to check on the record
// as it would be stored (nil: none to check), or the refusal of a null rule.
func (a *App) checkAuthCreate(who *Principal, c *Collection, body Body) (expr.Cond, error) {
	if !c.IsAuth() || who.IsSuperuser() || !changesField(c, "verified", nil, body) {
		return nil, nil
	}
	cond, err := a.ruleCond(who, c, c.Rules.Manage, "creating verified "+c.Name+" records", envOf(who, "POST", body))
	if err != nil {
		return nil, refused(who, "setting verified (it needs a superuser or the manage rule)")
	}
	return cond, nil
}

// checkAuthUpdate checks a change of cur, a record of an auth collection,
// by who against the rules of its system fields: verified and email need
// the manage rule; a password needs it too, or else who must be the record
// itself and send the current password as oldPassword.
func (a *App) checkAuthUpdate(ctx context.Context, who *Principal, c *Collection, cur *Record, body Body) error {
	if !c.IsAuth() || who.IsSuperuser() {
		return nil
	}
	var protected []string
	for _, name := range []string{"verified", "email"} {
		if changesField(c, name, cur, body) {
			protected = append(protected, name)
		}
	}
	password := setsPassword(body)
	if len(protected) == 0 && !password {
		return nil
	}
	manager, err := a.manages(ctx, who, c, cur.ID, envOf(who, "PATCH", body))
	if err != nil || manager {
		return err
	}
	if len(protected) > 0 {
		return refused(who, "changing "+strings.Join(protected, " and ")+" (it needs a superuser or the manage rule)")
	}
	if !isSelf(who, c, cur.ID) {
		return refused(who, "changing another record's password (it needs a superuser or the manage rule)")
	}
	var fe FieldErrors
	old, _ := jsonString(body["oldPassword"])
	hash, _ := cur.Data["password"].(string)
	switch {
	case old == "":
		fe.Add("oldPassword", FieldRequired, "send the current password to change it")
	case !CheckPassword(hash, old):
		fe.Add("oldPassword", FieldInvalid, "is not the current password")
	}
	return fe.Err(CodeValidationFailed, "some fields are invalid")
}

// withholdEmails marks, on records of c read by who, the email as withheld
// where who may not see it: unless who is a superuser, the record itself,
// admitted by the manage rule for the record, or the record has
// emailVisibility set. It fails closed: when the manage rule cannot be read,
// the emails are withheld.
func (a *App) withholdEmails(ctx context.Context, who *Principal, c *Collection, recs []*Record) {
	if !c.IsAuth() || who.IsSuperuser() || len(recs) == 0 {
		return
	}
	var ids []string
	for _, r := range recs {
		if v, _ := r.Data["emailVisibility"].(bool); v || isSelf(who, c, r.ID) {
			continue
		}
		ids = append(ids, r.ID)
	}
	if len(ids) == 0 {
		return
	}
	managed := map[string]bool{}
	if cond, err := a.ruleCond(who, c, c.Rules.Manage, "", envOf(who, "GET", nil)); err == nil {
		if cond == nil {
			return // the manage rule admits everyone
		}
		list, err := a.records(ctx).RecordsWhereIn(ctx, c, ColID, ids, 0, cond)
		if err != nil {
			a.log.Warn("reading the manage rule failed; emails are withheld", "collection", c.Name, "err", err)
		}
		for _, r := range list {
			managed[r.ID] = true
		}
	}
	for _, r := range recs {
		if slices.Contains(ids, r.ID) && !managed[r.ID] {
			r.Withhold("email")
		}
	}
}

// callerSchema is the schema as the filters, sorts and group keys of who
// see it: for others than superusers, the email of auth collections is
// hidden, so that nobody can search or order records by an address they
// may not see. Rules, written by superusers, see it.
func callerSchema(who *Principal, s *Schema) expr.Schema {
	if who.IsSuperuser() {
		return s
	}
	return emailsHidden{s}
}

type emailsHidden struct{ *Schema }

func (s emailsHidden) Field(collection, name string) (expr.Field, bool) {
	f, ok := s.Schema.Field(collection, name)
	if ok && name == "email" {
		if c := s.Collection(collection); c != nil {
			if fld := c.Field(name); fld != nil && c.FoldsCase(fld) {
				f.Hidden = true
			}
		}
	}
	return f, ok
}
