package loam

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"loam/expr"
)

// Principal is who makes a request: a signed-in record of an auth collection.
// A nil *Principal is an anonymous caller.
type Principal struct {
	Collection string
	Record     *Record
	Session    *Session
	// APIKey is the key the caller sent instead of a session token; its
	// scopes limit what the caller may do.
	APIKey *APIKey
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

// authCollection returns the auth collection called name, or not_found.
func (a *App) authCollection(name string) (*Collection, error) {
	c := a.Schema().Collection(name)
	if c == nil || !c.IsAuth() {
		return nil, Errorf(CodeNotFound, "no auth collection %q", name)
	}
	return c, nil
}

// AuthWithPassword signs a record of an auth collection in and returns a new
// session token (only its hash is stored) and the record. Wrong credentials
// are ErrUnauthenticated after the same work whether or not the identity
// exists; too many failures (per identity, and per client address, see
// WithClientIP) are rate_limited; a collection whose password method is off
// is forbidden, as is a record its auth rule does not admit. With a second
// factor on, it answers mfa_required (see VerifyMFA).
func (a *App) AuthWithPassword(ctx context.Context, collection, identity, password string) (string, *Record, error) {
	c, err := a.authCollection(collection)
	if err != nil {
		return "", nil, err
	}
	if !c.Auth.Methods.Password {
		return "", nil, Errorf(CodeForbidden, "password sign-in is off for %s", c.Name)
	}
	attempt, err := a.startSignIn(ctx, c, identity)
	if err != nil {
		return "", nil, err
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
	a.succeeded(ctx, attempt)
	return a.firstFactor(ctx, c, rec, SessionPassword)
}

// startSession admits rec to c by the auth rule and opens a session for it
// (of the collection's token lifetime when ttl is 0).
func (a *App) startSession(ctx context.Context, c *Collection, rec *Record, method string, ttl time.Duration) (string, *Record, error) {
	if _, err := a.admitted(ctx, c, rec.ID); errors.Is(err, ErrNotFound) {
		return "", nil, Errorf(CodeForbidden, "the auth rule of %s does not admit this record", c.Name)
	} else if err != nil {
		return "", nil, fmt.Errorf("sign in: %w", err)
	}
	if ttl <= 0 {
		ttl = time.Duration(c.Auth.TokenTTL) * time.Second
	}
	token, tokenHash := NewToken()
	now := a.now()
	s := &Session{ID: NewID(), Collection: c.Name, RecordID: rec.ID, TokenHash: tokenHash, Method: method,
		Created: now, Expires: now.Add(ttl)}
	if err := a.store.CreateSession(ctx, s); err != nil {
		return "", nil, fmt.Errorf("sign in: %w", err)
	}
	return token, rec, nil
}

// admitted returns the record id of c when the collection's auth rule
// admits it (every record when there is none), else ErrNotFound. A rule that
// stopped compiling admits nobody, and the log says why.
func (a *App) admitted(ctx context.Context, c *Collection, id string) (*Record, error) {
	if strings.TrimSpace(c.Auth.Rule) == "" {
		return a.store.GetRecord(ctx, c, id)
	}
	cond, err := a.Schema().checkedRule(c, c.Auth.Rule)
	if err != nil {
		a.log.Warn("an auth rule no longer compiles; nobody signs in", "collection", c.Name, "rule", c.Auth.Rule, "err", err)
		return nil, notFound(c, id)
	}
	rec, err := visible(ctx, a.store, c, id, expr.Bind(cond, requestEnv(nil, "", nil)))
	if err == nil && rec == nil {
		err = notFound(c, id)
	}
	return rec, err
}

// Authenticate returns the principal of a session token or an API key
// (APIKeyPrefix), or ErrUnauthenticated
// (unknown, expired or revoked token, a deleted user, or one the
// collection's auth rule no longer admits). It reads the database every
// time, so a revocation on any instance holds at once.
func (a *App) Authenticate(ctx context.Context, token string) (*Principal, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, Errorf(CodeUnauthenticated, "no token")
	}
	if strings.HasPrefix(token, APIKeyPrefix) {
		return a.authenticateKey(ctx, token)
	}
	invalid := Errorf(CodeUnauthenticated, "the token is invalid, expired or revoked")
	s, err := a.store.SessionByHash(ctx, HashToken(token), a.now())
	if errors.Is(err, ErrNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	c, rec, err := a.owner(ctx, s.Collection, s.RecordID, invalid)
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

// owner returns the auth collection and the record a session or an API
// key belongs to, while the collection exists and its auth rule admits the
// record; invalid when either no longer holds.
func (a *App) owner(ctx context.Context, collection, recordID string, invalid error) (*Collection, *Record, error) {
	c := a.Schema().Collection(collection)
	if c == nil || !c.IsAuth() {
		return nil, nil, invalid
	}
	rec, err := a.admitted(ctx, c, recordID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, invalid
	}
	if err != nil {
		return nil, nil, err
	}
	return c, rec, nil
}
