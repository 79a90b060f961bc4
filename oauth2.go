package loam

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Sign-in through an OAuth2 / OpenID Connect provider is the authorization
// code flow with PKCE (S256), a state and a nonce:
//
//  1. StartOAuth2 stores the state (its hash), the nonce, the PKCE verifier
//     and where the browser lands at the end, for OAuth2StateTTL, and
//     returns the provider's authorization URL.
//  2. The provider sends the browser back to the callback with a code and
//     the state. CompleteOAuth2 takes the state (once: it is deleted),
//     exchanges the code with the verifier, verifies the ID token (issuer,
//     audience, expiry, signature by the provider's published keys, nonce)
//     and signs a record in:
//     - the record linked to the provider's subject, if any;
//     - else the record with the same email, when the provider says the
//     email is verified: it gets linked (and, if it was not verified,
//     it becomes verified and its password is replaced by a random one,
//     ending its sessions, so that whoever set it cannot sign in);
//     - else a new record, created as an anonymous sign-up would be: under
//     the collection's create rule (a null rule refuses: sign-up is
//     closed), with the provider's email, verified when the provider
//     says so, a random password, and the link.
//
// The state lives in the database, so any instance can serve the callback.

// OAuth2StateTTL is how long a started sign-in may take to come back.
const OAuth2StateTTL = 10 * time.Minute

// OAuth2Start is a started sign-in: the browser goes to URL.
type OAuth2Start struct {
	URL     string
	Expires time.Time
}

// OAuth2Callback is what the provider sent back to the callback URL.
type OAuth2Callback struct {
	State string
	Code  string
	// Error is the provider's error code (such as access_denied), if any.
	Error string
}

// OAuth2SignIn is the end of a sign-in through a provider. Redirect is
// where the sign-in asked the browser to land ("" for a JSON answer); it
// is set, from a valid state, also when err is not nil.
type OAuth2SignIn struct {
	Token    string
	Record   *Record
	Redirect string
}

// oauth2Provider returns c's provider name if it is enabled: a provider
// that is not configured is not_found, one configured but not listed in
// methods.oauth2 is forbidden.
func oauth2Provider(c *Collection, name string) (*OAuth2Provider, error) {
	if p := c.Auth.OAuth2Enabled(name); p != nil {
		return p, nil
	}
	if c.Auth.OAuth2Provider(name) != nil {
		return nil, Errorf(CodeForbidden, "sign-in with %s is off for %s", name, c.Name)
	}
	return nil, Errorf(CodeNotFound, "%s has no OAuth2 provider %q", c.Name, truncate(name, 80))
}

// oauth2Config is the OAuth2 client of p at d, coming back to callbackURL.
func oauth2Config(p *OAuth2Provider, d *discovered, callbackURL string) *oauth2.Config {
	return &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: d.provider.Endpoint(),
		RedirectURL: callbackURL, Scopes: p.scopes()}
}

// StartOAuth2 starts a sign-in to collection through provider and returns
// the provider's authorization URL. callbackURL is the URL of the callback
// route, which the provider must know as a redirect URI. redirect, when
// not empty, is where the browser lands after the callback, with the
// token in the URL fragment; it must be on the allow-list (the origin of
// AppURL, or Config.OAuth2Redirects), else it is validation_failed. Too
// many starts from one client address are rate_limited
// (Throttle.OAuth2StartsPerIP).
func (a *App) StartOAuth2(ctx context.Context, collection, provider, redirect, callbackURL string) (*OAuth2Start, error) {
	c, err := a.authCollection(collection)
	if err != nil {
		return nil, err
	}
	p, err := oauth2Provider(c, provider)
	if err != nil {
		return nil, err
	}
	if redirect != "" && !a.allowedRedirect(a.Settings(ctx).Settings.AppURL, redirect) {
		var fe FieldErrors
		fe.Add("redirect", FieldInvalidURL, "is not an allowed redirect URL (the app URL's origin or a configured one)")
		return nil, fe.Err(CodeValidationFailed, "the redirect is not allowed")
	}
	if err := a.countOAuth2Start(ctx); err != nil {
		return nil, err
	}
	d, err := a.discover(ctx, p)
	if err != nil {
		return nil, err
	}
	state, hash := NewToken()
	nonce, _ := NewToken()
	now := a.now()
	st := &OAuth2State{Hash: hash, Collection: c.Name, Provider: p.Name, Nonce: nonce, Verifier: oauth2.GenerateVerifier(),
		Redirect: redirect, Created: now, Expires: now.Add(OAuth2StateTTL)}
	if err := a.store.CreateOAuth2State(ctx, st); err != nil {
		return nil, fmt.Errorf("start oauth2 sign-in: %w", err)
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce), oauth2.S256ChallengeOption(st.Verifier)}
	if p.Name == "apple" {
		// Apple sends the name and email scopes' answers only by form post.
		opts = append(opts, oauth2.SetAuthURLParam("response_mode", "form_post"))
	}
	return &OAuth2Start{URL: oauth2Config(p, d, callbackURL).AuthCodeURL(state, opts...), Expires: st.Expires}, nil
}

// invalidState is the error of a state that is unknown, altered, used,
// expired, or of another collection or provider.
func invalidState() error {
	var fe FieldErrors
	fe.Add("state", FieldInvalid, "is invalid, expired or used")
	return fe.Err(CodeValidationFailed, "the sign-in state is invalid, expired or used; start again")
}

// CompleteOAuth2 completes a sign-in to collection through provider with
// what the provider sent back, and signs a record in (see the top of this
// file for which). callbackURL must be the one StartOAuth2 was given. A
// state that is not good is validation_failed on "state"; a provider that
// refused, or a code or ID token that does not verify, is unauthenticated;
// a sign-up the create rule refuses is forbidden. The sign-in is a first
// factor: a record with a second factor on gets mfa_required.
func (a *App) CompleteOAuth2(ctx context.Context, collection, provider string, cb OAuth2Callback, callbackURL string) (*OAuth2SignIn, error) {
	c, err := a.authCollection(collection)
	if err != nil {
		return nil, err
	}
	if cb.State == "" || len(cb.State) > 200 {
		return nil, invalidState()
	}
	st, err := a.store.TakeOAuth2State(ctx, HashToken(cb.State))
	if errors.Is(err, ErrNotFound) {
		return nil, invalidState()
	}
	if err != nil {
		return nil, fmt.Errorf("oauth2 callback: %w", err)
	}
	if st.Collection != c.Name || st.Provider != provider || !a.now().Before(st.Expires) {
		return nil, invalidState()
	}
	res := &OAuth2SignIn{Redirect: st.Redirect}
	p, err := oauth2Provider(c, provider)
	if err != nil {
		return res, err
	}
	if cb.Error != "" {
		return res, Errorf(CodeUnauthenticated, "the provider did not sign you in: %s", truncate(cb.Error, 80))
	}
	if cb.Code == "" {
		var fe FieldErrors
		fe.Add("code", FieldRequired, "is required")
		return res, fe.Err(CodeValidationFailed, "the provider sent no code")
	}
	id, err := a.verifyCode(ctx, p, st, cb.Code, callbackURL)
	if err != nil {
		return res, err
	}
	rec, err := a.externalRecord(ctx, c, p, id)
	if err != nil {
		return res, err
	}
	res.Token, res.Record, err = a.firstFactor(ctx, c, rec, SessionOAuth2) // mfa_required when the record has a second factor on
	return res, err
}

// externalIdentity is who the provider says signed in.
type externalIdentity struct {
	Subject  string
	Email    string
	Verified bool
}

// idClaims are the claims of an ID token or userinfo answer Loam reads.
// email_verified comes as a bool, or (Apple, Cognito) as a string.
type idClaims struct {
	Email         string          `json:"email"`
	EmailVerified json.RawMessage `json:"email_verified"`
	TenantID      string          `json:"tid"`
	// AuthorizedParty is the client the token was issued to.
	AuthorizedParty string `json:"azp"`
}

func (c *idClaims) verified() bool {
	s := strings.Trim(strings.TrimSpace(string(c.EmailVerified)), `"`)
	return s == "true"
}

// verifyCode exchanges code for tokens with the PKCE verifier, verifies
// the ID token and its nonce, and returns the identity it names (the
// email from the userinfo endpoint when the token has none).
func (a *App) verifyCode(ctx context.Context, p *OAuth2Provider, st *OAuth2State, code, callbackURL string) (*externalIdentity, error) {
	refused := func(what string, err error) error {
		a.log.Warn("oauth2 sign-in refused", "provider", p.Name, "step", what, "err", err)
		return Errorf(CodeUnauthenticated, "the sign-in with %s failed: %s", p.Name, what)
	}
	d, err := a.discover(ctx, p)
	if err != nil {
		return nil, err
	}
	octx := context.WithValue(ctx, oauth2.HTTPClient, a.oauth2Client)
	tok, err := oauth2Config(p, d, callbackURL).Exchange(octx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return nil, refused("the provider refused the code", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, refused("the provider sent no ID token", nil)
	}
	v := d.provider.VerifierContext(oidc.ClientContext(ctx, a.oauth2Client),
		&oidc.Config{ClientID: p.ClientID, SkipIssuerCheck: p.multiTenant(), Now: a.now})
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return nil, refused("the ID token does not verify", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return nil, refused("the ID token is not for this sign-in (nonce)", nil)
	}
	var claims idClaims
	if err := idt.Claims(&claims); err != nil {
		return nil, refused("the ID token's claims do not decode", err)
	}
	if claims.AuthorizedParty != "" && claims.AuthorizedParty != p.ClientID {
		// go-oidc checks that the audience holds the client; a token for
		// several audiences must also have been issued to this one.
		return nil, refused("the ID token was issued to another client (azp)", nil)
	}
	if p.multiTenant() && (claims.TenantID == "" || idt.Issuer != "https://login.microsoftonline.com/"+claims.TenantID+"/v2.0") {
		return nil, refused("the ID token's issuer is not its tenant's", fmt.Errorf("iss %q, tid %q", idt.Issuer, claims.TenantID))
	}
	if idt.Subject == "" {
		return nil, refused("the ID token names no subject", nil)
	}
	if claims.Email == "" && d.provider.UserInfoEndpoint() != "" {
		ui, err := d.provider.UserInfo(oidc.ClientContext(ctx, a.oauth2Client), oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, refused("the userinfo request failed", err)
		}
		if ui.Subject != idt.Subject {
			return nil, refused("the userinfo is of another subject", nil)
		}
		if err := ui.Claims(&claims); err != nil {
			return nil, refused("the userinfo claims do not decode", err)
		}
	}
	return &externalIdentity{Subject: idt.Subject, Email: claims.Email, Verified: claims.verified()}, nil
}

// externalRecord returns the record id signs in as, linking or creating
// it (see the top of this file).
func (a *App) externalRecord(ctx context.Context, c *Collection, p *OAuth2Provider, id *externalIdentity) (*Record, error) {
	link, err := a.store.ExternalAuth(ctx, c.Name, p.Name, id.Subject)
	if err == nil {
		return a.store.GetRecord(ctx, c, link.RecordID)
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("oauth2 sign-in: %w", err)
	}
	var rec *Record
	err = a.inTx(ctx, func(ctx context.Context, tx RecordStore) error {
		var err error
		if id.Email != "" && id.Verified {
			if rec, err = a.linkByEmail(ctx, c, p, id); err != nil || rec != nil {
				return err
			}
		}
		rec, err = a.signUpExternal(ctx, c, p, id)
		return err
	})
	if errors.Is(err, ErrConflict) {
		// The same account signed in twice at once: the other one linked it.
		if link, lerr := a.store.ExternalAuth(ctx, c.Name, p.Name, id.Subject); lerr == nil {
			return a.store.GetRecord(ctx, c, link.RecordID)
		}
	}
	return rec, err
}

// authStore is the AuthStore of ctx's transaction, or the app's store.
func (a *App) authStore(ctx context.Context) AuthStore {
	if as, ok := a.records(ctx).(AuthStore); ok {
		return as
	}
	return a.store
}

// linkAccount links rec to id's account at p.
func (a *App) linkAccount(ctx context.Context, c *Collection, rec *Record, p *OAuth2Provider, id *externalIdentity) error {
	x := &ExternalAuth{ID: NewID(), Collection: c.Name, RecordID: rec.ID, Provider: p.Name, Subject: id.Subject, Created: a.now()}
	if err := a.authStore(ctx).CreateExternalAuth(ctx, x); err != nil {
		return fmt.Errorf("link %s account: %w", p.Name, err)
	}
	return nil
}

// linkByEmail links the record with id's (verified) email, if there is
// one. A record that was not verified becomes verified, and gets a random
// password (its sessions end): a stranger may have signed up with the
// address before its owner came through the provider.
func (a *App) linkByEmail(ctx context.Context, c *Collection, p *OAuth2Provider, id *externalIdentity) (*Record, error) {
	rec, err := a.records(ctx).FindRecord(ctx, c, "email", id.Email)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("oauth2 sign-in: %w", err)
	}
	if v, _ := rec.Data["verified"].(bool); !v {
		password, _ := NewToken()
		body, err := JSONBody(map[string]any{"verified": true, "password": password})
		if err != nil {
			return nil, err
		}
		if rec, err = a.UpdateRecord(ctx, System, c.Name, rec.ID, body, ""); err != nil {
			return nil, fmt.Errorf("oauth2 sign-in: verify a record: %w", err)
		}
	}
	return rec, a.linkAccount(ctx, c, rec, p, id)
}

// signUpExternal creates a record for id as an anonymous sign-up would,
// under the create rule, and links it.
func (a *App) signUpExternal(ctx context.Context, c *Collection, p *OAuth2Provider, id *externalIdentity) (*Record, error) {
	if id.Email == "" {
		return nil, Errorf(CodeForbidden, "%s gave no email address, and %s records need one", p.Name, c.Name)
	}
	password, _ := NewToken()
	body, err := JSONBody(map[string]any{"email": id.Email, "password": password})
	if err != nil {
		return nil, err
	}
	rec, err := a.CreateRecord(ctx, nil, c.Name, body)
	switch {
	case CodeOf(err) == CodeUnauthenticated:
		return nil, Errorf(CodeForbidden, "sign-up to %s is closed: a superuser must create the account first", c.Name)
	case errors.Is(err, ErrConflict):
		return nil, Errorf(CodeConflict, "an account with this email exists: sign in to it and link %s from there", p.displayName())
	case err != nil:
		return nil, err
	}
	if id.Verified {
		if rec, err = a.setVerified(ctx, c, rec); err != nil {
			return nil, err
		}
	}
	return rec, a.linkAccount(ctx, c, rec, p, id)
}

// allowedRedirect reports whether a sign-in may end by sending the browser
// to u: an absolute http(s) URL without credentials or fragment, on the
// origin of appURL (the live settings' app URL), or equal to (or on the
// origin of) a URL of Config.OAuth2Redirects.
func (a *App) allowedRedirect(appURL, s string) bool {
	u, err := url.Parse(s)
	if err != nil || len(s) > 2000 || u.User != nil || u.Fragment != "" || u.Opaque != "" || u.Host == "" ||
		(u.Scheme != "https" && u.Scheme != "http") || strings.ContainsAny(s, "\\\r\n\t ") {
		return false
	}
	origin := u.Scheme + "://" + u.Host
	for i, allowed := range append([]string{appURL}, a.redirects...) {
		au, err := url.Parse(allowed)
		if allowed == "" || err != nil || au.Host == "" {
			continue
		}
		if i == 0 || au.Path == "" || au.Path == "/" { // AppURL stands for its whole origin
			if strings.EqualFold(origin, au.Scheme+"://"+au.Host) {
				return true
			}
		} else if s == allowed {
			return true
		}
	}
	return false
}
