package loam

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"loam/expr"
	"time"
)

// Body is a record write as clients send it: field name to raw JSON value.
type Body map[string]json.RawMessage

// JSONBody turns Go values into a Body, for callers using Loam as a library.
func JSONBody(values map[string]any) (Body, error) {
	b := make(Body, len(values))
	for k, v := range values {
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", k, err)
		}
		b[k] = raw
	}
	return b, nil
}

func (a *App) collection(name string) (*Collection, error) {
	c := a.Schema().Collection(name)
	if c == nil {
		return nil, Errorf(CodeNotFound, "collection %q not found", name)
	}
	return c, nil
}

// LiveCollection returns the collection called name for the record
// services (not_found when there is none). When name is not in
// the schema this instance holds, it asks the database whether another
// instance changed the schema since, and if so loads it and looks again.
// A collection created through one instance is then usable through every
// other at once, without waiting for the schema poll. A name that is not
// there costs one read of the schema counter.
func (a *App) LiveCollection(ctx context.Context, name string) (*Collection, error) {
	c, err := a.collection(name)
	if err == nil {
		return c, nil
	}
	if _, rerr := a.RefreshSchema(ctx); rerr != nil {
		return nil, err
	}
	// Look again even when this call loaded nothing: a concurrent request
	// may have loaded the schema between the first look and the check.
	return a.collection(name)
}

// RefreshSchema loads the schema again when another instance changed it
// since this one loaded it, and reports whether it did. It costs one read
// of the schema counter. Inside a transaction (App.InTx) it reads through
// that transaction: a request holding a connection must not wait for a
// second one, or a burst of such requests would exhaust the pool.
func (a *App) RefreshSchema(ctx context.Context) (bool, error) {
	v, err := a.schemaSource(ctx).SchemaVersion(ctx)
	if err != nil {
		return false, fmt.Errorf("refresh schema: %w", err)
	}
	if v == a.Schema().Version {
		return false, nil
	}
	if err := a.reloadSchema(ctx); err != nil {
		return false, fmt.Errorf("refresh schema: %w", err)
	}
	return true, nil
}

// GetRecord returns one record under the collection's view rule.
func (a *App) GetRecord(ctx context.Context, who *Principal, collection, id string) (*Record, error) {
	c, err := a.scopedCollection(ctx, who, collection, ScopeView)
	if err != nil {
		return nil, err
	}
	cond, err := a.ruleCond(who, c, c.Rules.View, "viewing "+c.Name, envOf(who, "GET", nil))
	if err != nil {
		return nil, err
	}
	var rec *Record
	if cond == nil {
		rec, err = a.records(ctx).GetRecord(ctx, c, id)
	} else if rec, err = visible(ctx, a.records(ctx), c, id, cond); err == nil && rec == nil {
		err = notFound(c, id)
	}
	if err != nil {
		return nil, err
	}
	a.withholdEmails(ctx, who, c, []*Record{rec})
	return rec, nil
}

// ListRecords returns a page of records under the collection's list rule,
// filtered and sorted as q asks.
func (a *App) ListRecords(ctx context.Context, who *Principal, collection string, q ListQuery) (*RecordList, error) {
	c, err := a.scopedCollection(ctx, who, collection, ScopeList)
	if err != nil {
		return nil, err
	}
	env := requestEnv(who, "GET", nil)
	env.Query = q.Query
	rule, err := a.ruleCond(who, c, c.Rules.List, "listing "+c.Name, func() *expr.Env { return env })
	if err != nil {
		return nil, err
	}
	rq, err := a.recordQuery(who, c, q, env)
	if err != nil {
		return nil, err
	}
	rq.Where = both(rule, rq.Where)
	list, err := a.records(ctx).ListRecords(ctx, c, rq)
	if err != nil {
		return nil, err
	}
	list.NextCursor = encodeCursor(rq.Sort, list.Next)
	a.withholdEmails(ctx, who, c, list.Items)
	return list, nil
}

// CreateRecord validates body against the live schema, runs the create hooks
// and writes the record with its event. Every field error comes back at once.
func (a *App) CreateRecord(ctx context.Context, who *Principal, collection string, body Body) (*Record, error) {
	c, err := a.scopedCollection(ctx, who, collection, ScopeCreate)
	if err != nil {
		return nil, err
	}
	rule, err := a.ruleCond(who, c, c.Rules.Create, "creating "+c.Name+" records", envOf(who, "POST", body))
	if err != nil {
		return nil, err
	}
	manage, err := a.checkAuthCreate(who, c, body)
	if err != nil {
		return nil, err
	}
	now := Now()
	r := &Record{Collection: c.Name, Created: now, Updated: now, Data: make(map[string]any, len(c.Fields))}
	var fe FieldErrors
	unknown := false
	if raw, ok := body[ColID]; ok {
		var id string
		if err := json.Unmarshal(raw, &id); err != nil || !ValidID(id) {
			fe.Add(ColID, FieldInvalidType, "must be 15 characters of a-z and 0-9")
		} else {
			r.ID = id
		}
	}
	if r.ID == "" {
		r.ID = NewID()
	}
	unknown = a.applyBody(c, r, body, true, &fe)
	for i := range c.Fields {
		f := &c.Fields[i]
		if _, given := body[f.Name]; given {
			continue
		}
		switch {
		case f.Type == TypeAutodate:
			r.Data[f.Name] = now
		case len(f.Default) > 0:
			v, _ := f.Normalize(f.Default) // checked when the collection was saved
			r.Data[f.Name] = v
		case f.Type == TypeBool:
			r.Data[f.Name] = false
		default:
			r.Data[f.Name] = nil
		}
	}
	addRequired(c, r, &fe)
	if err := bodyError(fe, unknown); err != nil {
		return nil, err
	}
	e := &RecordEvent{Context: ctx, App: a, Collection: c, Record: r, Principal: who}
	hooked, ran := a.onRecordCreate.Bound(), false
	err = a.onRecordCreate.Trigger(e, func(e *RecordEvent) error {
		ran = true
		if err := recheck(e.Collection, e.Record, hooked); err != nil {
			return err
		}
		if rule == nil && manage == nil {
			return a.records(e.Context).InsertRecord(e.Context, e.Collection, e.Record)
		}
		// The create rule (and the manage rule, for a record created
		// verified) must hold for the record as stored: write it, check,
		// and roll back when one does not.
		return a.inTx(e.Context, func(ctx context.Context, tx RecordStore) error {
			if err := tx.InsertRecord(ctx, e.Collection, e.Record); err != nil {
				return err
			}
			for _, cond := range []expr.Cond{rule, manage} {
				if cond == nil {
					continue
				}
				rec, err := visible(ctx, tx, e.Collection, e.Record.ID, cond)
				if err == nil && rec == nil {
					err = refused(who, "creating this "+c.Name+" record")
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if !ran {
		return nil, fmt.Errorf("create %s record: %w", c.Name, errHookSkipped)
	}
	return e.Record, nil
}

// UpdateRecord merges body into the stored record, validates the result and
// writes it. With ifMatch (an ETag), a record changed since is refused with
// ErrPreconditionFailed; without it, a concurrent change is merged again.
func (a *App) UpdateRecord(ctx context.Context, who *Principal, collection, id string, body Body, ifMatch string) (*Record, error) {
	c, err := a.scopedCollection(ctx, who, collection, ScopeUpdate)
	if err != nil {
		return nil, err
	}
	if err := a.writable(ctx, who, c, id, c.Rules.Update, "updating "+c.Name+" records", envOf(who, "PATCH", body)); err != nil {
		return nil, err
	}
	// The retries are bounded. Inside a batch the re-read runs in the batch's
	// transaction and sees the write that made the first read stale (on
	// PostgreSQL each statement reads what is committed), so it makes
	// progress there too; on SQLite a batch's reads cannot go stale.
	for attempt := 0; ; attempt++ {
		rec, err := a.updateOnce(ctx, who, c, id, body, ifMatch)
		if errors.Is(err, ErrPreconditionFailed) && ifMatch == "" && attempt < 3 {
			continue
		}
		if err == nil {
			a.withholdEmails(ctx, who, c, []*Record{rec})
		}
		return rec, err
	}
}

func (a *App) updateOnce(ctx context.Context, who *Principal, c *Collection, id string, body Body, ifMatch string) (*Record, error) {
	cur, err := a.records(ctx).GetRecord(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if ifMatch != "" && ifMatch != "*" && ifMatch != cur.ETag() {
		return nil, Errorf(CodePreconditionFailed, "the record changed since that version")
	}
	if err := a.checkAuthUpdate(ctx, who, c, cur, body); err != nil {
		return nil, err
	}
	r := cur.Clone()
	now := Now()
	if !now.After(cur.Updated) {
		now = cur.Updated.Add(time.Millisecond) // every write moves the version
	}
	r.Updated = now
	var fe FieldErrors
	if raw, ok := body[ColID]; ok {
		var s string
		if json.Unmarshal(raw, &s) != nil || s != cur.ID {
			fe.Add(ColID, FieldReadOnly, "cannot be changed")
		}
	}
	unknown := a.applyBody(c, r, body, false, &fe)
	for i := range c.Fields {
		if f := &c.Fields[i]; f.Type == TypeAutodate && f.OnUpdate {
			r.Data[f.Name] = now
		}
	}
	addRequired(c, r, &fe)
	if err := bodyError(fe, unknown); err != nil {
		return nil, err
	}
	e := &RecordEvent{Context: ctx, App: a, Collection: c, Record: r, Principal: who}
	hooked, ran := a.onRecordUpdate.Bound(), false
	err = a.onRecordUpdate.Trigger(e, func(e *RecordEvent) error {
		ran = true
		if err := recheck(e.Collection, e.Record, hooked); err != nil {
			return err
		}
		// Compared after the hooks, which may set a password too.
		passwordChanged := e.Collection.IsAuth() && e.Record.Data["password"] != cur.Data["password"]
		return a.records(ctx).UpdateRecord(e.Context, e.Collection, cur, e.Record, passwordChanged)
	})
	if err != nil {
		return nil, err
	}
	if !ran {
		return nil, fmt.Errorf("update %s/%s: %w", c.Name, id, errHookSkipped)
	}
	return e.Record, nil
}

// DeleteRecord deletes a record, applying the onDelete rule of every relation
// that points at it.
func (a *App) DeleteRecord(ctx context.Context, who *Principal, collection, id string, ifMatch string) error {
	c, err := a.scopedCollection(ctx, who, collection, ScopeDelete)
	if err != nil {
		return err
	}
	if err := a.writable(ctx, who, c, id, c.Rules.Delete, "deleting "+c.Name+" records", envOf(who, "DELETE", nil)); err != nil {
		return err
	}
	cur, err := a.records(ctx).GetRecord(ctx, c, id)
	if err != nil {
		return err
	}
	var version *time.Time
	if ifMatch != "" && ifMatch != "*" {
		if ifMatch != cur.ETag() {
			return Errorf(CodePreconditionFailed, "the record changed since that version")
		}
		version = &cur.Updated
	}
	e := &RecordEvent{Context: ctx, App: a, Collection: c, Record: cur, Principal: who}
	ran := false
	err = a.onRecordDelete.Trigger(e, func(e *RecordEvent) error {
		ran = true
		return a.records(ctx).DeleteRecord(e.Context, a.Schema(), e.Collection, e.Record.ID, version)
	})
	if err == nil && !ran {
		return fmt.Errorf("delete %s/%s: %w", c.Name, id, errHookSkipped)
	}
	return err
}

// errHookSkipped reports a hook chain that ended without running the write
// and without an error: a hook that forgot to call Next. Answering success
// would claim a write that never happened.
var errHookSkipped = errors.New("a hook returned without calling e.Next() and without an error")

// applyBody normalises every field of body into r, collecting field errors.
// It reports whether body named a field the collection does not have.
func (a *App) applyBody(c *Collection, r *Record, body Body, create bool, fe *FieldErrors) (unknown bool) {
	for name, raw := range body {
		switch name {
		case ColID:
			continue
		case ColCreated, ColUpdated, "collectionName", "collectionId", "expand":
			fe.Add(name, FieldReadOnly, "is set by the server")
			continue
		case "oldPassword":
			if c.IsAuth() {
				continue // checked by checkAuthUpdate
			}
		case "passwordConfirm":
			if c.IsAuth() {
				var confirm string
				pw, _ := jsonString(body["password"])
				if json.Unmarshal(raw, &confirm) != nil || confirm != pw {
					fe.Add(name, FieldInvalid, "does not match the password")
				}
				continue
			}
		}
		f := c.Field(name)
		if f == nil {
			fe.Add(name, FieldUnknown, "is not a field of %s", c.Name)
			unknown = true
			continue
		}
		v, ferr := f.Normalize(raw)
		if ferr != nil {
			fe.Add(name, ferr.Code, "%s", ferr.Message)
			continue
		}
		if f.Type == TypePassword && v != nil {
			pw := v.(string)
			if n := len([]rune(pw)); c.Auth != nil && n < c.Auth.MinPasswordLength {
				fe.Add(name, FieldTooShort, "must be at least %d characters", c.Auth.MinPasswordLength)
				continue
			}
			v = HashPassword(pw)
		}
		r.Data[f.Name] = v
	}
	return unknown
}

func bodyError(fe FieldErrors, unknown bool) error {
	if unknown {
		return fe.Err(CodeUnknownField, "the body names fields the collection does not have")
	}
	return fe.Err(CodeValidationFailed, "some fields are invalid")
}

// recheck validates a record again just before it is written. The body was
// checked already; when hooks ran they may have changed any value, so then
// every value is checked against its field as if a client had sent it (and
// brought to its canonical form: "" becomes no value).
func recheck(c *Collection, r *Record, hooked bool) error {
	var fe FieldErrors
	if hooked {
		for i := range c.Fields {
			f := &c.Fields[i]
			v := r.Data[f.Name]
			switch f.Type {
			case TypePassword: // holds the hash, set by the service
				if _, ok := v.(string); !ok && v != nil {
					fe.Add(f.Name, FieldInvalidType, "must be set through the body")
				}
				continue
			case TypeAutodate:
				if _, ok := v.(time.Time); !ok && v != nil {
					fe.Add(f.Name, FieldInvalidType, "must be a time")
				}
				continue
			}
			nv, ferr := f.Normalize(ValueJSON(v))
			if ferr != nil {
				fe.Add(f.Name, ferr.Code, "%s (set by a hook)", ferr.Message)
				continue
			}
			r.Data[f.Name] = nv
		}
	}
	addRequired(c, r, &fe)
	return fe.Err(CodeValidationFailed, "some fields are invalid")
}

// addRequired adds a required error for every required field without a value
// that has no other error yet.
func addRequired(c *Collection, r *Record, fe *FieldErrors) {
	for i := range c.Fields {
		f := &c.Fields[i]
		if f.Required && IsEmpty(r.Data[f.Name]) {
			fe.Add(f.Name, FieldRequired, "is required")
		}
	}
}
