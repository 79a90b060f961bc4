package loam

import (
	"context"
	"slices"
)

// What an API key may do is its scopes: per collection, the record actions
// it may take, and, for superusers' keys only, the system areas it may
// reach. A request made with a key passes the key's scope first and then,
// as any request of the key's owner, the collection's rules.

// Record actions a key scope names.
const (
	ScopeList   = "list"
	ScopeView   = "view"
	ScopeCreate = "create"
	ScopeUpdate = "update"
	ScopeDelete = "delete"
)

// ScopeActions are the record actions, in order.
var ScopeActions = []string{ScopeList, ScopeView, ScopeCreate, ScopeUpdate, ScopeDelete}

// System areas a superuser's key may reach.
const (
	AreaJobs        = "jobs" // jobs and schedules
	AreaSettings    = "settings"
	AreaCollections = "collections"
)

// Areas are the system areas, in order.
var Areas = []string{AreaCollections, AreaJobs, AreaSettings}

// KeyScope lets a key take some actions on the records of one collection.
type KeyScope struct {
	Collection string   `json:"collection"`
	Actions    []string `json:"actions"`
}

// KeyScopes is everything a key may do.
type KeyScopes struct {
	Collections []KeyScope `json:"collections"`
	System      []string   `json:"system"`
}

// Allows reports whether the scopes cover action on the records of collection.
func (s KeyScopes) Allows(collection, action string) bool {
	for _, sc := range s.Collections {
		if sc.Collection == collection && slices.Contains(sc.Actions, action) {
			return true
		}
	}
	return false
}

// inScope checks that who may take action on the records of collection by
// its API key; callers without a key pass. Refusals are forbidden.
func (p *Principal) inScope(collection, action string) error {
	if p == nil || p.APIKey == nil || p.APIKey.Scopes.Allows(collection, action) {
		return nil
	}
	return Errorf(CodeForbidden, "the API key does not allow %s on %s", action, collection)
}

// InArea checks that who may reach a system area (AreaJobs, ...): who must
// be a superuser and, with an API key, one whose scopes name the area.
// Anonymous callers get unauthenticated, others forbidden.
func (p *Principal) InArea(area string) error {
	switch {
	case p == nil:
		return Errorf(CodeUnauthenticated, "the %s area needs a superuser", area)
	case !p.IsSuperuser():
		return Errorf(CodeForbidden, "the %s area needs a superuser", area)
	case p.APIKey != nil && !slices.Contains(p.APIKey.Scopes.System, area):
		return Errorf(CodeForbidden, "the API key does not reach the %s area", area)
	}
	return nil
}

// noKey refuses callers that use an API key: keys never manage keys,
// sessions or second factors, and never impersonate.
func (p *Principal) noKey(what string) error {
	if p != nil && p.APIKey != nil {
		return Errorf(CodeForbidden, "an API key cannot be used for %s", what)
	}
	return nil
}

// scopedCollection returns the live collection called name when who's API
// key (if any) allows action on its records: not_found for a collection
// that does not exist, forbidden for one out of the key's scope.
func (a *App) scopedCollection(ctx context.Context, who *Principal, name, action string) (*Collection, error) {
	c, err := a.LiveCollection(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := who.inScope(c.Name, action); err != nil {
		return nil, err
	}
	return c, nil
}
