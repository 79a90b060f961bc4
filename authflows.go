package loam

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"
)

// The auth flows send a link or a code by mail and complete when it comes
// back. Their tokens are random, single-use, stored as a hash with an
// expiry in _auth_tokens, and compared in constant time: a token is
// "<id>.<secret>" (a one-time code travels as its id, otpId, and the code),
// found by its id and checked against sha256("<id>.<secret>"). Every try
// at a token counts, and a token tried MaxTokenAttempts times is gone.
//
// A request that names an address (OTP, verification, reset) answers the
// same, after the same work, whether the address has an account or not: a
// token is stored either way (one that can never complete when there is no
// account), and the mail goes to a background sender.

// Lifetimes of the tokens of the auth flows, and how many tries one takes.
const (
	OTPTTL           = 5 * time.Minute
	VerificationTTL  = 72 * time.Hour
	ResetTTL         = time.Hour
	EmailChangeTTL   = time.Hour
	MaxTokenAttempts = 5
)

// Kinds of auth tokens.
const (
	tokenVerify      = "verify"
	tokenReset       = "reset"
	tokenEmailChange = "email_change"
	tokenOTP         = "otp"
)

// secretHash is the stored form of a token's secret.
func secretHash(id, secret string) []byte { return HashToken(id + "." + secret) }

// newSecret is the secret of a link token.
func newSecret() string {
	token, _ := NewToken()
	return token
}

// newCode is an 8-digit one-time code.
func newCode() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(100_000_000)) // crypto/rand never fails
	return fmt.Sprintf("%08d", n)
}

// invalidToken is the error of a token that is unknown, altered, expired,
// used, or of another flow.
func invalidToken(field string) error {
	return &Error{Code: CodeValidationFailed, Message: "the token is invalid, expired or used",
		Fields: map[string]FieldError{field: {Code: FieldInvalid, Message: "is invalid, expired or used"}}}
}

// issue stores a token of kind for recordID ("" when there is no account)
// and returns its id.
func (a *App) issue(ctx context.Context, c *Collection, kind, recordID, email, secret string, ttl time.Duration) (string, error) {
	now := a.now()
	id := NewID()
	t := &AuthToken{ID: id, Kind: kind, Collection: c.Name, RecordID: recordID, Email: email,
		SecretHash: secretHash(id, secret), Created: now, Expires: now.Add(ttl)}
	if err := a.store.CreateAuthToken(ctx, t); err != nil {
		return "", fmt.Errorf("issue a %s token: %w", kind, err)
	}
	return id, nil
}

// tryToken counts a try at the token id and compares secret with it in
// constant time. ok reports whether the token is of kind and of c,
// unexpired, unused, within MaxTokenAttempts tries, for a record, and its
// secret matches. t is the token whenever it exists (for the throttle's
// identity), nil otherwise. A token whose last try failed is deleted.
func (a *App) tryToken(ctx context.Context, c *Collection, kind, id, secret string) (t *AuthToken, ok bool, err error) {
	if !ValidID(id) || secret == "" {
		return nil, false, nil
	}
	t, err = a.store.UseAuthToken(ctx, id, a.now())
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	match := subtle.ConstantTimeCompare(secretHash(id, secret), t.SecretHash) == 1
	if t.Attempts > MaxTokenAttempts || (!match && t.Attempts == MaxTokenAttempts) {
		if err := a.store.DeleteAuthToken(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, false, err
		}
	}
	ok = match && t.Attempts <= MaxTokenAttempts && t.Kind == kind && t.Collection == c.Name && t.RecordID != ""
	return t, ok, nil
}

// consume deletes a token that tryToken returned; of two callers that
// tried it at once, only one consumes it (the other gets invalid_token).
func (a *App) consume(ctx context.Context, t *AuthToken, field string) error {
	err := a.store.DeleteAuthToken(ctx, t.ID)
	if errors.Is(err, ErrNotFound) {
		return invalidToken(field)
	}
	return err
}

// mailTarget checks an address a request endpoint was given, counts the
// mail towards the throttle, and returns the record it belongs to (nil when
// none does: the caller then does the same work for nobody).
func (a *App) mailTarget(ctx context.Context, c *Collection, email string) (*Record, error) {
	if err := checkEmail("email", email); err != nil {
		return nil, err
	}
	if err := a.countMail(ctx, c, email); err != nil {
		return nil, err
	}
	return a.byEmail(ctx, c, email)
}

// tryLink tries a link token (<id>.<secret>) of kind, as tryToken does; a
// token that is not good for kind is invalid_token.
func (a *App) tryLink(ctx context.Context, c *Collection, kind, token string) (*AuthToken, error) {
	id, secret := linkToken(token)
	t, ok, err := a.tryToken(ctx, c, kind, id, secret)
	if err == nil && !ok {
		err = invalidToken("token")
	}
	return t, err
}

// tokenRecord reads the record a token was sent for; a record deleted
// since makes the token invalid.
func (a *App) tokenRecord(ctx context.Context, c *Collection, t *AuthToken) (*Record, error) {
	rec, err := a.store.GetRecord(ctx, c, t.RecordID)
	if errors.Is(err, ErrNotFound) {
		return nil, invalidToken("token")
	}
	return rec, err
}

// linkToken splits a link token into its id and secret.
func linkToken(token string) (id, secret string) {
	id, secret, _ = strings.Cut(strings.TrimSpace(token), ".")
	return id, secret
}

// link is the page a mail leads to: <AppURL>/auth/<collection>/<action>#token=...
func (a *App) link(c *Collection, action, token string) string {
	if a.appURL == "" {
		return ""
	}
	return a.appURL + "/auth/" + url.PathEscape(c.Name) + "/" + action + "#token=" + url.QueryEscape(token)
}

// checkEmail refuses what is not an email address, under field.
func checkEmail(field, email string) error {
	raw, _ := json.Marshal(email)
	f := Field{Name: field, Type: TypeEmail}
	if _, ferr := f.Normalize(raw); ferr != nil || email == "" {
		var fe FieldErrors
		fe.Add(field, FieldInvalidEmail, "must be an email address")
		return fe.Err(CodeValidationFailed, "the body is invalid")
	}
	return nil
}

// byEmail returns the record of c with that email (without regard to
// ASCII case), or nil.
func (a *App) byEmail(ctx context.Context, c *Collection, email string) (*Record, error) {
	rec, err := a.store.FindRecord(ctx, c, "email", email)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return rec, err
}

// sameEmail reports whether rec still has the address a token was sent to.
func sameEmail(rec *Record, email string) bool {
	s, _ := rec.Data["email"].(string)
	return s != "" && FoldEmail(s) == FoldEmail(email)
}

// setVerified marks rec verified (through the record services, so hooks
// and events follow), unless it is already.
func (a *App) setVerified(ctx context.Context, c *Collection, rec *Record) (*Record, error) {
	if v, _ := rec.Data["verified"].(bool); v {
		return rec, nil
	}
	return a.UpdateRecord(ctx, System, c.Name, rec.ID, Body{"verified": json.RawMessage("true")}, "")
}

// RequestOTP sends a one-time sign-in code to email and returns the id it
// is checked under. The answer, and the work, are the same whether the
// address has an account or not (then no mail goes out and the id never
// signs in).
func (a *App) RequestOTP(ctx context.Context, collection, email string) (string, error) {
	c, err := a.authCollection(collection)
	if err != nil {
		return "", err
	}
	if !c.Auth.Methods.OTP {
		return "", Errorf(CodeForbidden, "one-time codes are off for %s", c.Name)
	}
	if err := checkEmail("email", email); err != nil {
		return "", err
	}
	if err := a.countMail(ctx, c, email); err != nil {
		return "", err
	}
	rec, err := a.byEmail(ctx, c, email)
	if err != nil {
		return "", err
	}
	code, recordID := newCode(), ""
	if rec != nil {
		recordID, email = rec.ID, rec.Data["email"].(string)
	}
	id, err := a.issue(ctx, c, tokenOTP, recordID, email, code, OTPTTL)
	if err != nil {
		return "", err
	}
	if rec != nil {
		a.mail.enqueue(&Mail{Kind: MailOTP, To: email, Collection: c.Name, Code: code, Valid: OTPTTL})
	}
	return id, nil
}

// AuthWithOTP signs in with a one-time code: it returns a new session token
// and the record, or ErrUnauthenticated for a wrong, expired, used or
// exhausted code (counted as a failed sign-in). A code sent to the record's
// current address marks it verified. With a second factor on, it answers
// mfa_required (see VerifyMFA).
func (a *App) AuthWithOTP(ctx context.Context, collection, otpID, code string) (string, *Record, error) {
	c, err := a.authCollection(collection)
	if err != nil {
		return "", nil, err
	}
	if !c.Auth.Methods.OTP {
		return "", nil, Errorf(CodeForbidden, "one-time codes are off for %s", c.Name)
	}
	wrong := Errorf(CodeUnauthenticated, "wrong or expired code")
	t, ok, err := a.tryToken(ctx, c, tokenOTP, otpID, code)
	if err != nil {
		return "", nil, err
	}
	identity := otpID
	if t != nil {
		identity = t.Email
	}
	attempt, err := a.startSignIn(ctx, c, identity)
	if err != nil || !ok {
		if err == nil {
			err = wrong
		}
		return "", nil, err
	}
	if err := a.consume(ctx, t, "code"); err != nil {
		if CodeOf(err) == CodeValidationFailed {
			err = wrong
		}
		return "", nil, err
	}
	rec, err := a.store.GetRecord(ctx, c, t.RecordID)
	if errors.Is(err, ErrNotFound) {
		return "", nil, wrong
	}
	if err != nil {
		return "", nil, err
	}
	a.succeeded(ctx, attempt)
	if sameEmail(rec, t.Email) {
		if rec, err = a.setVerified(ctx, c, rec); err != nil {
			return "", nil, err
		}
	}
	return a.firstFactor(ctx, c, rec, SessionOTP)
}

// RequestVerification sends a verification link to email when it is the
// address of an unverified record. The answer, and the work, are the same
// whatever the address.
func (a *App) RequestVerification(ctx context.Context, collection, email string) error {
	c, err := a.authCollection(collection)
	if err != nil {
		return err
	}
	rec, err := a.mailTarget(ctx, c, email)
	if err != nil {
		return err
	}
	if rec != nil {
		if v, _ := rec.Data["verified"].(bool); v {
			rec = nil // already verified: nothing to send
		}
	}
	return a.sendLink(ctx, c, rec, email, tokenVerify, MailVerification, "verify", VerificationTTL)
}

// sendLink stores a link token of kind for rec (nil: none, then no mail
// goes out) and mails its link to rec's address.
func (a *App) sendLink(ctx context.Context, c *Collection, rec *Record, email, kind string, mk MailKind, action string, ttl time.Duration) error {
	recordID := ""
	if rec != nil {
		recordID, email = rec.ID, rec.Data["email"].(string)
	}
	secret := newSecret()
	id, err := a.issue(ctx, c, kind, recordID, email, secret, ttl)
	if err != nil {
		return err
	}
	if rec != nil {
		token := id + "." + secret
		a.mail.enqueue(&Mail{Kind: mk, To: email, Collection: c.Name, Token: token, Link: a.link(c, action, token), Valid: ttl})
	}
	return nil
}

// ConfirmVerification marks the record a verification token was sent for
// verified, if its address is still the one the token went to.
func (a *App) ConfirmVerification(ctx context.Context, collection, token string) error {
	c, err := a.authCollection(collection)
	if err != nil {
		return err
	}
	t, err := a.tryLink(ctx, c, tokenVerify, token)
	if err != nil {
		return err
	}
	if err := a.consume(ctx, t, "token"); err != nil {
		return err
	}
	rec, err := a.store.GetRecord(ctx, c, t.RecordID)
	if errors.Is(err, ErrNotFound) || (err == nil && !sameEmail(rec, t.Email)) {
		return invalidToken("token")
	}
	if err != nil {
		return err
	}
	_, err = a.setVerified(ctx, c, rec)
	return err
}

// RequestPasswordReset sends a reset link to email when it is the address
// of a record. The answer, and the work, are the same whatever the address.
func (a *App) RequestPasswordReset(ctx context.Context, collection, email string) error {
	c, err := a.authCollection(collection)
	if err != nil {
		return err
	}
	if !c.Auth.Methods.Password {
		return Errorf(CodeForbidden, "password sign-in is off for %s", c.Name)
	}
	rec, err := a.mailTarget(ctx, c, email)
	if err != nil {
		return err
	}
	return a.sendLink(ctx, c, rec, email, tokenReset, MailReset, "reset", ResetTTL)
}

// ConfirmPasswordReset sets a new password for the record a reset token was
// sent for. The password is checked first (a refused one leaves the token
// usable); then the token is used up, every session of the record ends,
// every other reset token of it too, and the record is marked verified
// when the token went to its current address.
func (a *App) ConfirmPasswordReset(ctx context.Context, collection, token, password string, confirm *string) error {
	c, err := a.authCollection(collection)
	if err != nil {
		return err
	}
	if err := checkNewPassword(c, password, confirm); err != nil {
		return err
	}
	t, err := a.tryLink(ctx, c, tokenReset, token)
	if err != nil {
		return err
	}
	if err := a.consume(ctx, t, "token"); err != nil {
		return err
	}
	rec, err := a.tokenRecord(ctx, c, t)
	if err != nil {
		return err
	}
	pw, _ := json.Marshal(password)
	body := Body{"password": pw}
	if sameEmail(rec, t.Email) {
		body["verified"] = json.RawMessage("true")
	}
	if _, err := a.UpdateRecord(ctx, System, c.Name, rec.ID, body, ""); err != nil {
		return err // a new password ends every session (UpdateRecord)
	}
	return a.store.DeleteAuthTokens(ctx, c.Name, rec.ID, tokenReset)
}

// checkNewPassword checks a password a flow sets, as the records service
// would, and its confirmation when one was sent.
func checkNewPassword(c *Collection, password string, confirm *string) error {
	var fe FieldErrors
	raw, _ := json.Marshal(password)
	f := c.Field("password")
	if _, ferr := f.Normalize(raw); ferr != nil {
		fe.Add("password", ferr.Code, "%s", ferr.Message)
	} else if n := len([]rune(password)); password == "" {
		fe.Add("password", FieldRequired, "is required")
	} else if n < c.Auth.MinPasswordLength {
		fe.Add("password", FieldTooShort, "must be at least %d characters", c.Auth.MinPasswordLength)
	}
	if confirm != nil && *confirm != password {
		fe.Add("passwordConfirm", FieldInvalid, "does not match the password")
	}
	return fe.Err(CodeValidationFailed, "the body is invalid")
}

// RequestEmailChange sends a link to newEmail that makes it the address of
// who's record. Whether another record has that address is not said here
// (nobody learns of accounts this way); the confirmation checks it.
func (a *App) RequestEmailChange(ctx context.Context, who *Principal, collection, newEmail string) error {
	c, err := a.ownSession(who, collection)
	if err != nil {
		return err
	}
	if err := checkEmail("newEmail", newEmail); err != nil {
		return err
	}
	if err := a.countMail(ctx, c, newEmail); err != nil {
		return err
	}
	secret := newSecret()
	id, err := a.issue(ctx, c, tokenEmailChange, who.Record.ID, newEmail, secret, EmailChangeTTL)
	if err != nil {
		return err
	}
	token := id + "." + secret
	a.mail.enqueue(&Mail{Kind: MailEmailChange, To: newEmail, Collection: c.Name, Token: token,
		Link: a.link(c, "email-change", token), Valid: EmailChangeTTL})
	return nil
}

// ConfirmEmailChange makes the address an email-change token was sent to
// the record's email, given the record's current password (a wrong one is
// a failed sign-in and leaves the token usable, within its tries). The
// record is then verified, and every session of it ends.
func (a *App) ConfirmEmailChange(ctx context.Context, collection, token, password string) error {
	c, err := a.authCollection(collection)
	if err != nil {
		return err
	}
	t, err := a.tryLink(ctx, c, tokenEmailChange, token)
	if err != nil {
		return err
	}
	rec, err := a.tokenRecord(ctx, c, t)
	if err != nil {
		return err
	}
	current, _ := rec.Data["email"].(string)
	attempt, err := a.startSignIn(ctx, c, current)
	if err != nil {
		return err
	}
	if hash, _ := rec.Data["password"].(string); !CheckPassword(hash, password) {
		var fe FieldErrors
		fe.Add("password", FieldInvalid, "is not the account's password")
		return fe.Err(CodeValidationFailed, "the body is invalid")
	}
	a.succeeded(ctx, attempt)
	if other, err := a.byEmail(ctx, c, t.Email); err != nil {
		return err
	} else if other != nil && other.ID != rec.ID {
		return &Error{Code: CodeConflict, Message: "the new address is taken",
			Fields: map[string]FieldError{"email": {Code: FieldUnique, Message: "is already taken"}}}
	}
	if err := a.consume(ctx, t, "token"); err != nil {
		return err
	}
	addr, _ := json.Marshal(t.Email)
	if _, err := a.UpdateRecord(ctx, System, c.Name, rec.ID, Body{"email": addr, "verified": json.RawMessage("true")}, ""); err != nil {
		return err
	}
	if err := a.store.DeleteSessions(ctx, c.Name, rec.ID); err != nil {
		return err
	}
	return a.store.DeleteAuthTokens(ctx, c.Name, rec.ID, tokenEmailChange)
}
