package loam

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Principal is who makes a request: a signed-in record of an auth collection.
// A nil *Principal is an anonymous caller.
type Principal struct {
	Collection string
	Record     *Record
	Session    *Session
	// System marks trusted in-process callers (the CLI, Go code) that act as superusers.
	System bool
}

// System is the principal of trusted in-process callers: the CLI and Go code.
var System = &Principal{System: true}

// IsSuperuser reports whether p may do anything.
func (p *Principal) IsSuperuser() bool {
	return p != nil && (p.System || p.Collection == SuperusersCollection)
}

// allow checks a rule for p: a nil rule admits superusers only, an empty one
// everybody. Anonymous callers refused by a nil rule get ErrUnauthenticated,
// others ErrForbidden.
func allow(p *Principal, rule *string, action string) error {
	if p.IsSuperuser() {
		return nil
	}
	if rule != nil && *rule == "" {
		return nil
	}
	if p == nil {
		return Errorf(CodeUnauthenticated, "%s needs a superuser", action)
	}
	return Errorf(CodeForbidden, "%s needs a superuser", action)
}

// AuthWithPassword signs a record of an auth collection in and returns a new
// session token (only its hash is stored) and the record.
func (a *App) AuthWithPassword(ctx context.Context, collection, identity, password string) (string, *Record, error) {
	c := a.Schema().Collection(collection)
	if c == nil || !c.IsAuth() {
		return "", nil, Errorf(CodeNotFound, "no auth collection %q", collection)
	}
	var rec *Record
	for _, field := range c.Auth.IdentityFields {
		f := c.Field(field)
		if f == nil || identity == "" {
			continue
		}
		r, err := a.store.FindRecord(ctx, c, field, identity)
		if err == nil {
			rec = r
			break
		}
		if !errors.Is(err, ErrNotFound) {
			return "", nil, fmt.Errorf("sign in: %w", err)
		}
	}
	hash := dummyHash
	if rec != nil {
		hash, _ = rec.Data["password"].(string)
	}
	if !CheckPassword(hash, password) || rec == nil {
		return "", nil, Errorf(CodeUnauthenticated, "wrong identity or password")
	}
	token, tokenHash := NewToken()
	now := Now()
	s := &Session{ID: NewID(), Collection: c.Name, RecordID: rec.ID, TokenHash: tokenHash, Created: now,
		Expires: now.Add(time.Duration(c.Auth.TokenTTL) * time.Second)}
	if err := a.store.CreateSession(ctx, s); err != nil {
		return "", nil, fmt.Errorf("sign in: %w", err)
	}
	return token, rec, nil
}

// Authenticate returns the principal of a session token, or ErrUnauthenticated
// (unknown, expired or revoked token, or a deleted user).
func (a *App) Authenticate(ctx context.Context, token string) (*Principal, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, Errorf(CodeUnauthenticated, "no token")
	}
	s, err := a.store.SessionByHash(ctx, HashToken(token), Now())
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(CodeUnauthenticated, "the token is invalid, expired or revoked")
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	c := a.Schema().Collection(s.Collection)
	if c == nil {
		return nil, Errorf(CodeUnauthenticated, "the token is invalid, expired or revoked")
	}
	rec, err := a.store.GetRecord(ctx, c, s.RecordID)
	if errors.Is(err, ErrNotFound) {
		return nil, Errorf(CodeUnauthenticated, "the token is invalid, expired or revoked")
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	return &Principal{Collection: c.Name, Record: rec, Session: s}, nil
}

// UpsertSuperuser creates a superuser, or sets the password of an existing one.
func (a *App) UpsertSuperuser(ctx context.Context, email, password string) (*Record, error) {
	c := a.Schema().Collection(SuperusersCollection)
	if c == nil {
		return nil, errors.New("upsert superuser: the app is not started")
	}
	existing, err := a.store.FindRecord(ctx, c, "email", email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("upsert superuser: %w", err)
	}
	body, err := JSONBody(map[string]any{"email": email, "password": password})
	if err != nil {
		return nil, err
	}
	if existing != nil {
		return a.UpdateRecord(ctx, System, SuperusersCollection, existing.ID, body, "")
	}
	return a.CreateRecord(ctx, System, SuperusersCollection, body)
}
