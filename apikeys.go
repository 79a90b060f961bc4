package loam

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// API keys are long-lived credentials of an auth record for scripts and
// services: "lk_" and 43 random characters, sent as Authorization: Bearer
// like a session token. Only the key's hash is stored, so a key is shown
// once, when it is made. Each key is limited to its scopes; deleting it
// (or its record) stops it at once on every instance, as every request
// reads the database. A password change does not revoke keys (as Django
// REST framework's tokens): revoke them by hand. The collection's auth
// rule applies to keys as to sessions.

// APIKeyPrefix starts every API key, telling keys from session tokens.
const APIKeyPrefix = "lk_"

// KeyUseInterval is how often, at most, a key's last use is written.
const KeyUseInterval = time.Minute

// MaxKeyName is the longest name of a key, in characters.
const MaxKeyName = 100

// NewAPIKey is what a caller asks for when making a key.
type NewAPIKey struct {
	Name   string
	Scopes KeyScopes
	// Expires is zero for a key that does not expire.
	Expires time.Time
}

// authenticateKey returns the principal of an API key, or
// ErrUnauthenticated (unknown, altered, expired or revoked key, a deleted
// owner, or one the auth rule no longer admits). It writes the key's last
// use at most once per KeyUseInterval.
func (a *App) authenticateKey(ctx context.Context, key string) (*Principal, error) {
	invalid := Errorf(CodeUnauthenticated, "the API key is invalid, expired or revoked")
	now := a.now()
	k, err := a.store.APIKeyByHash(ctx, HashToken(key), now)
	if errors.Is(err, ErrNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate a key: %w", err)
	}
	c, rec, err := a.owner(ctx, k.Collection, k.RecordID, invalid)
	if err != nil {
		return nil, fmt.Errorf("authenticate a key: %w", err)
	}
	if k.LastUsed.IsZero() || !now.Before(k.LastUsed.Add(KeyUseInterval)) {
		if err := a.store.TouchAPIKey(ctx, k.ID, now, now.Add(-KeyUseInterval)); err != nil {
			a.log.Warn("writing the last use of an API key failed", "key", k.ID, "err", err)
		}
	}
	return &Principal{Collection: c.Name, Record: rec, APIKey: k}, nil
}

// keyOwner returns the record whose keys who manages: the record itself
// (with a session) or a superuser (with a session); API keys never manage
// keys. Another record's keys are forbidden to others than superusers.
func (a *App) keyOwner(ctx context.Context, who *Principal, collection, recordID string) (*Collection, *Record, error) {
	c, err := a.authCollection(collection)
	if err != nil {
		return nil, nil, err
	}
	if err := who.noKey("managing API keys"); err != nil {
		return nil, nil, err
	}
	switch {
	case who == nil:
		return nil, nil, Errorf(CodeUnauthenticated, "managing API keys needs a signed-in caller")
	case isSelf(who, c, recordID) || who.IsSuperuser():
	default:
		return nil, nil, Errorf(CodeForbidden, "only the record itself or a superuser manages its API keys")
	}
	rec, err := a.store.GetRecord(ctx, c, recordID)
	if err != nil {
		return nil, nil, err
	}
	return c, rec, nil
}

// CreateAPIKey makes a key for the record recordID of collection and
// returns it with its secret (the only time the secret is shown). The
// record itself or a superuser may; scopes on system areas are for
// superusers' keys only. Invalid input is validation_failed with field
// errors (name, scopes.N.collection, scopes.N.actions, system.N, expires).
func (a *App) CreateAPIKey(ctx context.Context, who *Principal, collection, recordID string, nk NewAPIKey) (*APIKey, string, error) {
	c, rec, err := a.keyOwner(ctx, who, collection, recordID)
	if err != nil {
		return nil, "", err
	}
	if err := a.checkNewKey(c, &nk); err != nil {
		return nil, "", err
	}
	secret, _ := NewToken()
	key := APIKeyPrefix + secret
	now := a.now()
	k := &APIKey{ID: NewID(), Collection: c.Name, RecordID: rec.ID, Name: nk.Name, KeyHash: HashToken(key),
		Hint: key[:len(APIKeyPrefix)+4] + "..." + key[len(key)-4:], Scopes: nk.Scopes, Created: now, Expires: nk.Expires}
	if err := a.store.CreateAPIKey(ctx, k); err != nil {
		return nil, "", fmt.Errorf("create api key: %w", err)
	}
	if !isSelf(who, c, rec.ID) {
		a.log.Info("a superuser made an API key", "by", principalID(who), "collection", c.Name, "record", rec.ID, "key", k.ID)
	}
	return k, key, nil
}

// checkNewKey validates a key request for the auth collection c.
func (a *App) checkNewKey(c *Collection, nk *NewAPIKey) error {
	var fe FieldErrors
	nk.Name = strings.TrimSpace(nk.Name)
	switch n := utf8.RuneCountInString(nk.Name); {
	case n == 0:
		fe.Add("name", FieldRequired, "is required")
	case n > MaxKeyName:
		fe.Add("name", FieldTooLong, "must be at most %d characters", MaxKeyName)
	}
	if len(nk.Scopes.Collections) == 0 && len(nk.Scopes.System) == 0 {
		fe.Add("scopes", FieldRequired, "name at least one collection (or, for superusers, a system area)")
	}
	s := a.Schema()
	seen := map[string]bool{}
	for i, sc := range nk.Scopes.Collections {
		at := fmt.Sprintf("scopes.%d.", i)
		switch {
		case s.Collection(sc.Collection) == nil:
			fe.Add(at+"collection", FieldNotFound, "no collection %q", sc.Collection)
		case seen[sc.Collection]:
			fe.Add(at+"collection", FieldInvalid, "%s is named twice", sc.Collection)
		}
		seen[sc.Collection] = true
		if len(sc.Actions) == 0 {
			fe.Add(at+"actions", FieldRequired, "name at least one of %s", strings.Join(ScopeActions, ", "))
		}
		for _, act := range sc.Actions {
			if !slices.Contains(ScopeActions, act) {
				fe.Add(at+"actions", FieldInvalidChoice, "%q is not one of %s", act, strings.Join(ScopeActions, ", "))
			}
		}
	}
	for i, area := range nk.Scopes.System {
		at := fmt.Sprintf("system.%d", i)
		switch {
		case c.Name != SuperusersCollection:
			fe.Add(at, FieldInvalid, "only superusers' keys reach system areas")
		case !slices.Contains(Areas, area):
			fe.Add(at, FieldInvalidChoice, "%q is not one of %s", area, strings.Join(Areas, ", "))
		}
	}
	if !nk.Expires.IsZero() && !nk.Expires.After(a.now()) {
		fe.Add("expires", FieldInvalidDate, "must be in the future")
	}
	if nk.Scopes.Collections == nil {
		nk.Scopes.Collections = []KeyScope{}
	}
	if nk.Scopes.System == nil {
		nk.Scopes.System = []string{}
	}
	return fe.Err(CodeValidationFailed, "the key is invalid")
}

// APIKeys lists the keys of a record (never their secrets), newest first.
func (a *App) APIKeys(ctx context.Context, who *Principal, collection, recordID string) ([]*APIKey, error) {
	c, rec, err := a.keyOwner(ctx, who, collection, recordID)
	if err != nil {
		return nil, err
	}
	return a.store.APIKeys(ctx, c.Name, rec.ID)
}

// APIKey returns one key of a record (never its secret); a key of another
// record is not_found.
func (a *App) APIKey(ctx context.Context, who *Principal, collection, recordID, keyID string) (*APIKey, error) {
	c, rec, err := a.keyOwner(ctx, who, collection, recordID)
	if err != nil {
		return nil, err
	}
	k, err := a.store.APIKeyByID(ctx, keyID)
	if err == nil && (k.Collection != c.Name || k.RecordID != rec.ID) {
		err = ErrNotFound
	}
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(CodeNotFound, "API key %q not found", keyID)
	}
	return k, err
}

// RevokeAPIKey deletes a key of a record: it stops working at once, on
// every instance.
func (a *App) RevokeAPIKey(ctx context.Context, who *Principal, collection, recordID, keyID string) error {
	k, err := a.APIKey(ctx, who, collection, recordID, keyID)
	if err != nil {
		return err
	}
	err = a.store.DeleteAPIKey(ctx, k.ID)
	if errors.Is(err, ErrNotFound) {
		return Errorf(CodeNotFound, "API key %q not found", keyID)
	}
	return err
}
