package loam

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Multi-factor sign-in: a record enrols a TOTP authenticator (RFC 6238,
// 30-second steps, 6 digits, SHA-1, as authenticator apps expect) and
// confirms it with a first code; it then gets recovery codes, shown once
// and stored as hashes. When its collection has auth.methods.mfa on, every
// first factor (password, one-time code; OAuth2 later) answers
// mfa_required with an mfaId instead of a token, and POST .../auth/mfa/verify
// with the mfaId and a TOTP or recovery code finishes the sign-in.
//
// The pending sign-in is an auth token of kind "mfa" ("<id>.<secret>", only
// a hash kept) in the database, so any instance can finish it; it lasts
// MFATTL, allows MaxTokenAttempts codes and is used once. A TOTP code is
// accepted for its step and the steps either side, and never twice: the
// last accepted step is stored. Codes are compared in constant time.

// MFA parameters.
const (
	MFATTL            = 5 * time.Minute
	RecoveryCodeCount = 10
	totpPeriod        = 30
	totpSkew          = 1
	// QRSize is the width and height, in pixels, of an enrolment's QR code.
	QRSize = 256
)

const tokenMFA = "mfa"

// TOTPEnrollment is a new TOTP secret waiting for its first code: the
// secret (base32), the otpauth:// URI an authenticator reads, and that URI
// as a QR code PNG.
type TOTPEnrollment struct {
	Secret string
	URI    string
	QRPNG  []byte
}

// mfaOn reports whether the second factor is on for rec: its collection
// asks for it and the record enrolled.
func (a *App) mfaOn(ctx context.Context, c *Collection, rec *Record) (*MFA, error) {
	if !c.Auth.Methods.MFA {
		return nil, nil
	}
	m, err := a.store.MFAOf(ctx, c.Name, rec.ID)
	if errors.Is(err, ErrNotFound) || (err == nil && !m.Enabled) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the second factor: %w", err)
	}
	return m, nil
}

// firstFactor ends a first factor that succeeded for rec: it opens a
// session, or, when the record has a second factor on, stores a pending
// sign-in and answers mfa_required with its id. Every sign-in method that
// is a first factor calls it.
func (a *App) firstFactor(ctx context.Context, c *Collection, rec *Record, method string) (string, *Record, error) {
	m, err := a.mfaOn(ctx, c, rec)
	if err != nil {
		return "", nil, err
	}
	if m == nil {
		return a.startSession(ctx, c, rec, method, 0)
	}
	if _, err := a.admitted(ctx, c, rec.ID); errors.Is(err, ErrNotFound) {
		return "", nil, Errorf(CodeForbidden, "the auth rule of %s does not admit this record", c.Name)
	} else if err != nil {
		return "", nil, fmt.Errorf("sign in: %w", err)
	}
	secret := newSecret()
	id, err := a.issue(ctx, c, tokenMFA, rec.ID, "", secret, MFATTL)
	if err != nil {
		return "", nil, err
	}
	return "", nil, &Error{Code: CodeMFARequired, MFAID: id + "." + secret,
		Message: "a second factor is needed: send mfaId and a code to .../auth/mfa/verify"}
}

// VerifyMFA finishes a sign-in that answered mfa_required: code is a TOTP
// code or an unused recovery code of the record. It returns a new session
// token and the record. An unknown, expired, used or exhausted mfaId, one
// of another collection, or a wrong or replayed code is unauthenticated.
// Wrong codes also count as failed sign-ins of the record (and of the
// client address): past the throttle's limit the answer is rate_limited.
func (a *App) VerifyMFA(ctx context.Context, collection, mfaID, code string) (string, *Record, error) {
	c, err := a.authCollection(collection)
	if err != nil {
		return "", nil, err
	}
	bad := Errorf(CodeUnauthenticated, "the mfaId or the code is wrong, expired or used")
	id, secret := linkToken(mfaID)
	t, ok, err := a.tryToken(ctx, c, tokenMFA, id, secret)
	if err != nil {
		return "", nil, err
	}
	if !ok {
		return "", nil, bad
	}
	// Second-factor failures count per record, apart from the password's
	// (whose success clears its count): knowing the password does not buy
	// more guesses at the code.
	attempt, err := a.startSignIn(ctx, c, "mfa:"+t.RecordID)
	if err != nil {
		return "", nil, err
	}
	m, err := a.store.MFAOf(ctx, c.Name, t.RecordID)
	if errors.Is(err, ErrNotFound) || (err == nil && !m.Enabled) {
		return "", nil, bad
	}
	if err != nil {
		return "", nil, err
	}
	if good, err := a.checkCode(ctx, m, code, true); err != nil || !good {
		if err == nil {
			err = bad
			if t.Attempts >= MaxTokenAttempts {
				if derr := a.store.DeleteAuthToken(ctx, t.ID); derr != nil && !errors.Is(derr, ErrNotFound) {
					return "", nil, derr
				}
			}
		}
		return "", nil, err
	}
	if err := a.consume(ctx, t, "mfaId"); err != nil {
		if CodeOf(err) == CodeValidationFailed {
			err = bad
		}
		return "", nil, err
	}
	rec, err := a.store.GetRecord(ctx, c, t.RecordID)
	if errors.Is(err, ErrNotFound) {
		return "", nil, bad
	}
	if err != nil {
		return "", nil, err
	}
	a.succeeded(ctx, attempt)
	return a.startSession(ctx, c, rec, SessionMFA, 0)
}

// totpOpts are the TOTP parameters every code is checked with.
var totpOpts = totp.ValidateOpts{Period: totpPeriod, Skew: 0, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// totpStep returns the time step of code for secret at now (that step or
// one either side), or false. Every candidate is computed and compared in
// constant time.
func totpStep(secret, code string, now time.Time) (int64, bool) {
	code = strings.TrimSpace(code)
	cur := now.Unix() / totpPeriod
	var found int64
	ok := 0
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		step := cur + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && ok == 0 {
			found, ok = step, 1
		}
	}
	return found, ok == 1
}

// checkCode checks a TOTP code of m (never a step accepted before) or,
// with recovery, a recovery code (used up). It reports whether it passed.
func (a *App) checkCode(ctx context.Context, m *MFA, code string, recovery bool) (bool, error) {
	if step, ok := totpStep(m.Secret, code, a.now()); ok {
		err := a.store.UseMFAStep(ctx, m.Collection, m.RecordID, step)
		if errors.Is(err, ErrNotFound) {
			return false, nil // replayed
		}
		return err == nil, err
	}
	if !recovery {
		return false, nil
	}
	err := a.store.UseRecoveryCode(ctx, m.Collection, m.RecordID, recoveryHash(code))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ownMFA returns the collection and the factor (nil when none) of who's
// record, for a caller signed in with a session to collection.
func (a *App) ownMFA(ctx context.Context, who *Principal, collection string) (*Collection, *MFA, error) {
	c, err := a.ownSession(who, collection)
	if err != nil {
		return nil, nil, err
	}
	m, err := a.store.MFAOf(ctx, c.Name, who.Record.ID)
	if errors.Is(err, ErrNotFound) {
		return c, nil, nil
	}
	return c, m, err
}

// EnrollTOTP makes a new TOTP secret for who's record (signed in with a
// session) and returns it, with its URI and QR code: the only time the
// secret is shown. It replaces an enrolment not yet confirmed; when the
// factor is on already it is conflict (disable it first). A collection
// with auth.methods.mfa off is forbidden.
func (a *App) EnrollTOTP(ctx context.Context, who *Principal, collection string) (*TOTPEnrollment, error) {
	c, m, err := a.ownMFA(ctx, who, collection)
	if err != nil {
		return nil, err
	}
	if !c.Auth.Methods.MFA {
		return nil, Errorf(CodeForbidden, "multi-factor sign-in is off for %s", c.Name)
	}
	if m != nil && m.Enabled {
		return nil, Errorf(CodeConflict, "the second factor is on already; disable it first")
	}
	account, _ := who.Record.Data["email"].(string)
	if account == "" {
		account = who.Record.ID
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Loam " + c.Name, AccountName: account, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return nil, fmt.Errorf("enrol totp: %w", err)
	}
	img, err := key.Image(QRSize, QRSize)
	if err != nil {
		return nil, fmt.Errorf("enrol totp: qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("enrol totp: qr code: %w", err)
	}
	err = a.store.PutMFA(ctx, &MFA{Collection: c.Name, RecordID: who.Record.ID, Secret: key.Secret(), Created: a.now()})
	if err != nil {
		return nil, err
	}
	return &TOTPEnrollment{Secret: key.Secret(), URI: key.URL(), QRPNG: buf.Bytes()}, nil
}

// ConfirmTOTP turns the second factor of who's record on with a first
// code of the enrolled secret, and returns the recovery codes (shown only
// now). No enrolment waiting is not_found; a wrong code is
// validation_failed on code.
func (a *App) ConfirmTOTP(ctx context.Context, who *Principal, collection, code string) ([]string, error) {
	c, m, err := a.ownMFA(ctx, who, collection)
	if err != nil {
		return nil, err
	}
	if m == nil || m.Enabled {
		return nil, Errorf(CodeNotFound, "no TOTP enrolment is waiting for a code")
	}
	step, ok := totpStep(m.Secret, code, a.now())
	if !ok {
		return nil, wrongCode()
	}
	codes, hashes := newRecoveryCodes()
	if err := a.store.EnableMFA(ctx, c.Name, who.Record.ID, step, hashes); err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableMFA turns the second factor of who's record off, given a current
// TOTP or recovery code (a wrong one is validation_failed on code).
func (a *App) DisableMFA(ctx context.Context, who *Principal, collection, code string) error {
	c, m, err := a.ownMFA(ctx, who, collection)
	if err != nil {
		return err
	}
	if m == nil {
		return Errorf(CodeNotFound, "the second factor is off")
	}
	if m.Enabled {
		if ok, err := a.checkCode(ctx, m, code, true); err != nil || !ok {
			if err == nil {
				err = wrongCode()
			}
			return err
		}
	}
	return a.store.DeleteMFA(ctx, c.Name, who.Record.ID)
}

// RegenerateRecoveryCodes replaces the recovery codes of who's record,
// given a current TOTP code, and returns the new ones.
func (a *App) RegenerateRecoveryCodes(ctx context.Context, who *Principal, collection, code string) ([]string, error) {
	c, m, err := a.ownMFA(ctx, who, collection)
	if err != nil {
		return nil, err
	}
	if m == nil || !m.Enabled {
		return nil, Errorf(CodeNotFound, "the second factor is off")
	}
	if ok, err := a.checkCode(ctx, m, code, false); err != nil || !ok {
		if err == nil {
			err = wrongCode()
		}
		return nil, err
	}
	codes, hashes := newRecoveryCodes()
	if err := a.store.SetRecoveryCodes(ctx, c.Name, who.Record.ID, hashes); err != nil {
		return nil, err
	}
	return codes, nil
}

// MFAStatus reports whether the second factor of who's record is on and
// how many recovery codes it has left.
func (a *App) MFAStatus(ctx context.Context, who *Principal, collection string) (enabled bool, left int, err error) {
	c, m, err := a.ownMFA(ctx, who, collection)
	if err != nil || m == nil || !m.Enabled {
		return false, 0, err
	}
	left, err = a.store.RecoveryCodesLeft(ctx, c.Name, who.Record.ID)
	return err == nil, left, err
}

func wrongCode() error {
	return &Error{Code: CodeValidationFailed, Message: "the code is wrong or used",
		Fields: map[string]FieldError{"code": {Code: FieldInvalid, Message: "is wrong or used"}}}
}

// recoveryAlphabet is lower-case base32.
var recoveryAlphabet = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newRecoveryCodes makes RecoveryCodeCount codes (xxxxx-xxxxx, 50 random
// bits each) and their hashes.
func newRecoveryCodes() ([]string, [][]byte) {
	codes := make([]string, RecoveryCodeCount)
	hashes := make([][]byte, RecoveryCodeCount)
	for i := range codes {
		b := make([]byte, 7)
		_, _ = rand.Read(b) // crypto/rand never fails
		s := recoveryAlphabet.EncodeToString(b)[:10]
		codes[i] = s[:5] + "-" + s[5:]
		hashes[i] = recoveryHash(codes[i])
	}
	return codes, hashes
}

// recoveryHash is the stored form of a recovery code: case and dashes
// do not matter.
func recoveryHash(code string) []byte {
	code = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	return HashToken("recovery:" + code)
}
