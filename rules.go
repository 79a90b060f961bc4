package loam

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"loam/expr"
)

// Access rules are expressions of the filter language, one per action. A
// nil rule admits superusers only, "" everybody, and an expression the
// records for which it holds, for the caller at hand: list, view, update
// and delete rules become part of the SQL WHERE of the read or write; a
// create rule must hold for the record as it would be stored, checked in
// the transaction that writes it. Superusers pass every rule.

// ruleOptions are the checker's options for rules: hidden fields and
// @request values are allowed, as rules are written by superusers.
var ruleOptions = expr.Options{Hidden: true, Request: true}

// checkRuleSyntax parses every expression rule of c, for Validate.
func (c *Collection) checkRuleSyntax(fe *FieldErrors) {
	for _, r := range c.namedRules() {
		if r.rule == nil || strings.TrimSpace(*r.rule) == "" {
			continue
		}
		if _, err := expr.Parse(*r.rule); err != nil {
			fe.Add(r.key, FieldInvalid, "%v", err)
		}
	}
}

type namedRule struct {
	key  string // where errors name it: rules.list, ..., auth.rule
	rule *string
}

// namedRules lists every rule of c: the actions', the manage rule and the
// auth rule of an auth collection.
func (c *Collection) namedRules() []namedRule {
	r := c.Rules
	out := []namedRule{{"rules.list", r.List}, {"rules.view", r.View}, {"rules.create", r.Create},
		{"rules.update", r.Update}, {"rules.delete", r.Delete}, {"rules.manage", r.Manage}}
	if c.Auth != nil {
		out = append(out, namedRule{"auth.rule", &c.Auth.Rule})
	}
	return out
}

// checkRules checks every expression rule of c against the schema c will
// be part of, so a rule that does not compile is refused when the
// collection is saved.
func (a *App) checkRules(c *Collection, replaces string) error {
	cur := a.Schema()
	cols := make([]*Collection, 0, len(cur.Collections())+1)
	for _, x := range cur.Collections() {
		if x.Name != replaces && x.Name != c.Name {
			cols = append(cols, x)
		}
	}
	s := NewSchema(cur.Version, append(cols, c))
	var fe FieldErrors
	for _, r := range c.namedRules() {
		if r.rule == nil || strings.TrimSpace(*r.rule) == "" {
			continue
		}
		if _, err := expr.ParseCheck(*r.rule, s, c.Name, ruleOptions); err != nil {
			fe.Add(r.key, FieldInvalid, "%v", err)
		}
	}
	return fe.Err(CodeInvalidSchema, "a rule does not compile")
}

type ruleKey struct {
	collection, rule string
}

// checkedRule returns a rule checked against s, cached on the schema
// snapshot (a schema change makes a new snapshot, so a rule is checked
// again against the new fields).
func (s *Schema) checkedRule(c *Collection, rule string) (expr.Cond, error) {
	key := ruleKey{c.Name, rule}
	if v, ok := s.rules.Load(key); ok {
		if err, ok := v.(error); ok {
			return nil, err
		}
		return v.(expr.Cond), nil
	}
	cond, err := expr.ParseCheck(rule, s, c.Name, ruleOptions)
	if err != nil {
		s.rules.Store(key, err)
		return nil, err
	}
	s.rules.Store(key, cond)
	return cond, nil
}

// ruleCond returns the condition under which who may act on records of c
// by rule: nil when every record passes (superusers, or the rule ""), an
// error when who may not act at all (a nil rule). A rule that no longer
// compiles (a field it names was dropped since) admits superusers only.
func (a *App) ruleCond(who *Principal, c *Collection, rule *string, action string, env func() *expr.Env) (expr.Cond, error) {
	if who.IsSuperuser() {
		return nil, nil
	}
	if rule == nil {
		return nil, allow(who, rule, action)
	}
	if strings.TrimSpace(*rule) == "" {
		return nil, nil
	}
	cond, err := a.Schema().checkedRule(c, *rule)
	if err != nil {
		a.log.Warn("a rule no longer compiles; only superusers pass it", "collection", c.Name, "rule", *rule, "err", err)
		return nil, refused(who, action)
	}
	bound := expr.Bind(cond, env())
	if k, ok := bound.(expr.Const); ok && bool(k) {
		return nil, nil
	}
	return bound, nil
}

// refused is the error of a rule that rejects what who asked: anonymous
// callers are asked to sign in, others are forbidden.
func refused(who *Principal, action string) error {
	if who == nil {
		return Errorf(CodeUnauthenticated, "%s needs a signed-in caller the rule admits", action)
	}
	return Errorf(CodeForbidden, "the rule does not allow %s", action)
}

// envOf returns a function that makes the values a rule reads, only when a
// rule needs them.
func envOf(who *Principal, method string, body Body) func() *expr.Env {
	return func() *expr.Env { return requestEnv(who, method, body) }
}

// requestEnv returns the values a rule reads for who: the time, the
// caller's record, and the body of a write.
func requestEnv(who *Principal, method string, body Body) *expr.Env {
	env := who.env(Now())
	env.Method = method
	if len(body) > 0 {
		env.Body = make(map[string]any, len(body))
		for k, raw := range body {
			var v any
			if json.Unmarshal(raw, &v) == nil {
				env.Body[k] = v
			}
		}
	}
	return env
}

// idIs is the condition "id = id".
func idIs(id string) expr.Cond {
	return &expr.Cmp{Op: expr.Op{Kind: expr.OpEq}, Type: expr.KindText,
		L: &expr.Path{Steps: []expr.Step{{Field: ColID}}, Kind: expr.KindText, Name: ColID},
		R: &expr.Value{V: id}}
}

// visible reports whether the record id of c meets cond, read through st.
func visible(ctx context.Context, st RecordStore, c *Collection, id string, cond expr.Cond) (*Record, error) {
	list, err := st.ListRecords(ctx, c, RecordQuery{Where: expr.And{idIs(id), cond}, Page: 1, PerPage: 1, SkipTotal: true})
	if err != nil {
		return nil, fmt.Errorf("check a rule on %s/%s: %w", c.Name, id, err)
	}
	if len(list.Items) == 0 {
		return nil, nil
	}
	return list.Items[0], nil
}

// notFound is the error of a record that does not exist or that the
// caller may not see.
func notFound(c *Collection, id string) error {
	return Errorf(CodeNotFound, "record %q not found in %s", id, c.Name)
}

// writable checks the update or delete rule of the stored record id for
// who. A null rule answers 401 or 403; a record an expression rule rejects
// answers 404 when who may not see it either, else 403 (401 for anonymous
// callers).
func (a *App) writable(ctx context.Context, who *Principal, c *Collection, id string, rule *string, action string, env func() *expr.Env) error {
	if who.IsSuperuser() {
		return nil
	}
	cond, err := a.ruleCond(who, c, rule, action, env)
	if err != nil {
		return err // a null rule: 401 or 403, as API.md says
	}
	if cond == nil {
		return nil
	}
	rec, err := visible(ctx, a.records(ctx), c, id, cond)
	if err != nil || rec != nil {
		return err
	}
	if seen, err := a.viewable(ctx, who, c, id); err != nil || !seen {
		if err == nil {
			err = notFound(c, id)
		}
		return err
	}
	return refused(who, action)
}

// viewable reports whether who may see the record id of c.
func (a *App) viewable(ctx context.Context, who *Principal, c *Collection, id string) (bool, error) {
	cond, err := a.ruleCond(who, c, c.Rules.View, "viewing "+c.Name, envOf(who, "GET", nil))
	if err != nil {
		return false, nil
	}
	if cond == nil {
		cond = expr.Const(true)
	}
	rec, err := visible(ctx, a.records(ctx), c, id, cond)
	return rec != nil, err
}

// inTx runs fn in a write transaction: the running batch's when ctx comes
// from one, else a new one.
func (a *App) inTx(ctx context.Context, fn func(ctx context.Context, tx RecordStore) error) error {
	if tx, ok := ctx.Value(txKey{a}).(RecordStore); ok {
		return fn(ctx, tx)
	}
	return a.store.InTx(ctx, func(tx RecordStore) error {
		return fn(context.WithValue(ctx, txKey{a}, tx), tx)
	})
}

// both joins two conditions, either of which may be nil (no condition).
func both(a, b expr.Cond) expr.Cond {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return expr.And{a, b}
}
