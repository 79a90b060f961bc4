package loam

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ownSession returns c when who is signed in to it with a session.
func (a *App) ownSession(who *Principal, collection string) (*Collection, error) {
	c, err := a.authCollection(collection)
	if err != nil {
		return nil, err
	}
	if err := who.noKey("this"); err != nil {
		return nil, err
	}
	if who == nil || who.Session == nil {
		return nil, Errorf(CodeUnauthenticated, "this needs a session token")
	}
	if who.Collection != c.Name {
		return nil, Errorf(CodeForbidden, "the token belongs to %s, not %s", who.Collection, c.Name)
	}
	return c, nil
}

// RefreshSession gives the caller's session a new token and a new
// lifetime, and returns the token and the caller's record. The old token
// stops working at once (the session rotates), so of two refreshes with one
// token only the first succeeds. Impersonation sessions cannot be refreshed.
func (a *App) RefreshSession(ctx context.Context, who *Principal, collection string) (string, *Record, error) {
	c, err := a.ownSession(who, collection)
	if err != nil {
		return "", nil, err
	}
	if who.Session.Method == SessionImpersonate {
		return "", nil, Errorf(CodeForbidden, "an impersonation token cannot be refreshed")
	}
	token, hash := NewToken()
	expires := a.now().Add(time.Duration(c.Auth.TokenTTL) * time.Second)
	err = a.store.RotateSession(ctx, who.Session.ID, who.Session.TokenHash, hash, expires)
	if errors.Is(err, ErrNotFound) {
		return "", nil, Errorf(CodeUnauthenticated, "the token is invalid, expired or revoked")
	}
	if err != nil {
		return "", nil, fmt.Errorf("refresh: %w", err)
	}
	return token, who.Record, nil
}

// Logout ends the caller's session.
func (a *App) Logout(ctx context.Context, who *Principal, collection string) error {
	if _, err := a.ownSession(who, collection); err != nil {
		return err
	}
	err := a.store.DeleteSession(ctx, who.Session.ID)
	if errors.Is(err, ErrNotFound) {
		return Errorf(CodeUnauthenticated, "the token is invalid, expired or revoked")
	}
	return err
}

// sessionOwner returns the record whose sessions who asks about: recordID
// when given (superusers, or the record itself), else who's own record.
func (a *App) sessionOwner(ctx context.Context, who *Principal, collection, recordID string) (*Collection, string, error) {
	c, err := a.authCollection(collection)
	if err != nil {
		return nil, "", err
	}
	if err := who.noKey("managing sessions"); err != nil {
		return nil, "", err
	}
	if recordID == "" || isSelf(who, c, recordID) {
		if _, err := a.ownSession(who, collection); err != nil {
			return nil, "", err
		}
		return c, who.Record.ID, nil
	}
	if err := allow(who, nil, "managing the sessions of others"); err != nil {
		return nil, "", err
	}
	if _, err := a.store.GetRecord(ctx, c, recordID); err != nil {
		return nil, "", err
	}
	return c, recordID, nil
}

// Sessions lists the unexpired sessions of the caller's record in
// collection, or, for superusers, of the record recordID. The session of
// who (if any) is among them.
func (a *App) Sessions(ctx context.Context, who *Principal, collection, recordID string) ([]*Session, error) {
	c, id, err := a.sessionOwner(ctx, who, collection, recordID)
	if err != nil {
		return nil, err
	}
	return a.store.Sessions(ctx, c.Name, id, a.now())
}

// RevokeSession ends one session of the caller's record (any record's, for
// superusers). A session of another record is not_found.
func (a *App) RevokeSession(ctx context.Context, who *Principal, collection, sessionID string) error {
	c, err := a.authCollection(collection)
	if err != nil {
		return err
	}
	if err := who.noKey("managing sessions"); err != nil {
		return err
	}
	if !who.IsSuperuser() {
		if _, err := a.ownSession(who, collection); err != nil {
			return err
		}
	}
	s, err := a.store.SessionByID(ctx, sessionID)
	if err == nil && (s.Collection != c.Name || (!who.IsSuperuser() && s.RecordID != who.Record.ID)) {
		err = ErrNotFound
	}
	if errors.Is(err, ErrNotFound) {
		return Errorf(CodeNotFound, "session %q not found", sessionID)
	}
	if err != nil {
		return err
	}
	if err := a.store.DeleteSession(ctx, s.ID); err != nil {
		return err
	}
	if !isSelf(who, c, s.RecordID) {
		a.log.Info("a superuser ended a session", "by", principalID(who), "collection", c.Name, "record", s.RecordID, "session", s.ID)
	}
	return nil
}

// RevokeSessions ends every session of the caller's record ("log out
// everywhere"), or, for superusers, of the record recordID: every token of
// it stops working at once, on every instance.
func (a *App) RevokeSessions(ctx context.Context, who *Principal, collection, recordID string) error {
	c, id, err := a.sessionOwner(ctx, who, collection, recordID)
	if err != nil {
		return err
	}
	if err := a.store.DeleteSessions(ctx, c.Name, id); err != nil {
		return err
	}
	if !isSelf(who, c, id) {
		a.log.Info("a superuser ended every session of a record", "by", principalID(who), "collection", c.Name, "record", id)
	}
	return nil
}

// Impersonate opens a session for the record id of collection on behalf of
// a superuser, and logs it. It lasts duration (at most, and by default, the
// collection's token lifetime) and cannot be refreshed.
func (a *App) Impersonate(ctx context.Context, who *Principal, collection, id string, duration time.Duration) (string, *Record, error) {
	if err := allow(who, nil, "impersonating"); err != nil {
		return "", nil, err
	}
	if err := who.noKey("impersonating"); err != nil {
		return "", nil, err
	}
	c, err := a.authCollection(collection)
	if err != nil {
		return "", nil, err
	}
	rec, err := a.store.GetRecord(ctx, c, id)
	if err != nil {
		return "", nil, err
	}
	ttl := time.Duration(c.Auth.TokenTTL) * time.Second
	if duration > 0 && duration < ttl {
		ttl = duration
	}
	token, rec, err := a.startSession(ctx, c, rec, SessionImpersonate, ttl)
	if err != nil {
		return "", nil, err
	}
	a.log.Info("impersonation", "by", principalID(who), "collection", c.Name, "record", rec.ID, "ttl", ttl)
	return token, rec, nil
}

// principalID names who in logs: collection/id, or "system".
func principalID(who *Principal) string {
	if who == nil {
		return "anonymous"
	}
	if who.Record == nil {
		return "system"
	}
	return who.Collection + "/" + who.Record.ID
}
