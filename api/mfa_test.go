package api_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/png"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"loam"
)

// totpCode is the TOTP code of secret at the app's clock.
func totpCode(t *testing.T, secret string, clock *fakeClock) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, clock.Now())
	if err != nil {
		t.Fatalf("totp.GenerateCode: %v", err)
	}
	return code
}

// otherCode is a 6-digit code that is not code.
func otherCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

// turnOnMFA switches the users collection's methods to password (and OTP
// when otp) with MFA on.
func turnOnMFA(t *testing.T, e *mailEnv, otp bool) {
	t.Helper()
	body := `{"auth":{"methods":{"password":true,"otp":` + strconv.FormatBool(otp) + `,"mfa":true}}}`
	if a := e.do(t, call{Method: "PATCH", Path: "/api/collections/users", Token: e.super, Body: body}); a.Status != 200 {
		t.Fatalf("turn MFA on: %d %s", a.Status, a.Body)
	}
}

// enrolMFA turns MFA on for users, enrols ann (token) and confirms it; it
// returns the secret and the recovery codes. The clock then moves past the
// confirming code's step.
func enrolMFA(t *testing.T, e *mailEnv, ann string) (secret string, recovery []string) {
	t.Helper()
	base := "/api/collections/users/auth/mfa/"
	a := e.do(t, call{Method: "POST", Path: base + "totp/enroll", Token: ann})
	if a.Status != 200 {
		t.Fatalf("enroll: %d %s", a.Status, a.Body)
	}
	secret = str(a.JSON(t)["secret"])
	a = e.do(t, call{Method: "POST", Path: base + "totp/confirm", Token: ann,
		Body: map[string]string{"code": totpCode(t, secret, e.clock)}})
	if a.Status != 200 {
		t.Fatalf("confirm: %d %s", a.Status, a.Body)
	}
	for _, c := range a.JSON(t)["recoveryCodes"].([]any) {
		recovery = append(recovery, c.(string))
	}
	e.clock.Advance(30 * time.Second)
	return secret, recovery
}

// mfaID signs ann in with her password and returns the mfaId of the
// mfa_required answer.
func mfaID(t *testing.T, e *mailEnv) string {
	t.Helper()
	a := e.do(t, call{Method: "POST", Path: "/api/collections/users/auth/password",
		Body: map[string]string{"identity": "ann@example.com", "password": "ann's long password"}})
	m := a.JSON(t)
	if a.Status != 401 || m["code"] != loam.CodeMFARequired || str(m["mfaId"]) == "" {
		t.Fatalf("password sign-in with MFA on: %d %s, want 401 mfa_required with an mfaId", a.Status, a.Body)
	}
	return str(m["mfaId"])
}

// TestMFAEnrolment: enrolment answers a secret, its otpauth URI and a PNG
// QR code; a wrong first code is refused; the right one turns MFA on and
// answers recovery codes once; the secret never appears again.
func TestMFAEnrolment(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			e := newMailEnv(t, store, loam.Throttle{})
			annID, ann := e.signUp(t)
			base := "/api/collections/users/auth/mfa/"
			e.run(t, []scenario{
				{Name: "mfa is off for the collection", Method: "POST", Path: base + "totp/enroll", Token: ann,
					Status: 403, Code: "forbidden"},
				{Name: "turn mfa on", Method: "PATCH", Path: "/api/collections/users", Token: e.super,
					Body: `{"auth":{"methods":{"password":true,"otp":true,"mfa":true}}}`, Status: 200},
				{Name: "anonymous enrolment", Method: "POST", Path: base + "totp/enroll", Status: 401, Code: "unauthenticated"},
				{Name: "nothing to confirm yet", Method: "POST", Path: base + "totp/confirm", Token: ann,
					Body: `{"code":"123456"}`, Status: 404, Code: "not_found"},
				{Name: "status before", Method: "GET", Path: base[:len(base)-1], Token: ann, Status: 200,
					Contains: []string{`"enabled":false`}},
			})
			a := e.do(t, call{Method: "POST", Path: base + "totp/enroll", Token: ann})
			if a.Status != 200 {
				t.Fatalf("enroll: %d %s", a.Status, a.Body)
			}
			m := a.JSON(t)
			secret, uri, qr := str(m["secret"]), str(m["uri"]), str(m["qr"])
			if len(secret) < 16 || !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "secret="+secret) {
				t.Errorf("enrolment: secret %q, uri %q", secret, uri)
			}
			raw, ok := strings.CutPrefix(qr, "data:image/png;base64,")
			pngBytes, err := base64.StdEncoding.DecodeString(raw)
			if !ok || err != nil {
				t.Fatalf("qr is not a base64 PNG data URL: %.60q (%v)", qr, err)
			}
			img, err := png.Decode(bytes.NewReader(pngBytes))
			if err != nil {
				t.Fatalf("the QR code does not decode as PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != loam.QRSize || b.Dy() != loam.QRSize {
				t.Errorf("QR code is %dx%d, want %dx%d", b.Dx(), b.Dy(), loam.QRSize, loam.QRSize)
			}
			code := totpCode(t, secret, e.clock)
			var recovery []any
			e.run(t, []scenario{
				{Name: "a wrong first code", Method: "POST", Path: base + "totp/confirm", Token: ann,
					Body: map[string]string{"code": otherCode(code)}, Status: 400, Code: "validation_failed", Fields: errs{"code": "invalid"}},
				{Name: "a signed-in user without MFA still signs in", Method: "POST", Path: "/api/collections/users/auth/password",
					Body: map[string]string{"identity": "ann@example.com", "password": "ann's long password"}, Status: 200},
				{Name: "the right code", Method: "POST", Path: base + "totp/confirm", Token: ann,
					Body: map[string]string{"code": code}, Status: 200,
					Check: func(t *testing.T, a *answer) {
						recovery, _ = a.JSON(t)["recoveryCodes"].([]any)
						if len(recovery) != loam.RecoveryCodeCount {
							t.Errorf("%d recovery codes, want %d: %s", len(recovery), loam.RecoveryCodeCount, a.Body)
						}
					}},
				{Name: "enrolling again while on", Method: "POST", Path: base + "totp/enroll", Token: ann, Status: 409, Code: "conflict"},
				{Name: "status after", Method: "GET", Path: base[:len(base)-1], Token: ann, Status: 200,
					Contains: []string{`"enabled":true`, `"recoveryCodesLeft":10`}},
				{Name: "the record never shows the secret", Method: "GET", Path: "/api/collections/users/records/" + annID,
					Token: e.super, Status: 200, Absent: []string{secret}},
			})
			if len(recovery) > 0 {
				e.run(t, []scenario{{Name: "the records list neither", Method: "GET", Path: "/api/collections/users/records",
					Token: e.super, Status: 200, Absent: []string{secret, recovery[0].(string)}}})
			}
		})
	}
}

// TestMFASignIn: with MFA on, the password answers 401 mfa_required; a
// wrong code is refused, the right one signs in once; a code is not
// accepted twice; a recovery code works once; an expired, exhausted or
// misdirected mfaId is refused; disabling needs a code.
func TestMFASignIn(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			e := newMailEnv(t, store, loam.Throttle{})
			_, ann := e.signUp(t)
			turnOnMFA(t, e, true)
			secret, recovery := enrolMFA(t, e, ann)
			verify := "/api/collections/users/auth/mfa/verify"
			refused := func(name, id, code string) scenario {
				return scenario{Name: name, Method: "POST", Path: verify, Body: map[string]string{"mfaId": id, "code": code},
					Status: 401, Code: "unauthenticated", Unchanged: true}
			}
			id := mfaID(t, e)
			code := totpCode(t, secret, e.clock)
			var token string
			e.run(t, []scenario{
				refused("a wrong code", id, otherCode(code)),
				refused("an altered mfaId", alter(id, len(id)-3), code),
				{Name: "no code", Method: "POST", Path: verify, Body: map[string]string{"mfaId": id}, Status: 400,
					Code: "validation_failed", Fields: errs{"code": "required"}},
				{Name: "the right code", Method: "POST", Path: verify, Body: map[string]string{"mfaId": id, "code": code},
					Status: 200, Contains: []string{`"email":"ann@example.com"`},
					Check: func(t *testing.T, a *answer) { token = str(a.JSON(t)["token"]) }},
				refused("the mfaId is used up", id, code),
			})
			e.run(t, []scenario{{Name: "the token works", Method: "GET", Path: "/api/collections/users/auth/sessions",
				Token: token, Status: 200, Contains: []string{`"method":"mfa"`}}})

			// The same code (its step is used) is not accepted again.
			e.run(t, []scenario{refused("a replayed code", mfaID(t, e), code)})

			// A recovery code works once.
			e.run(t, []scenario{
				{Name: "a recovery code", Method: "POST", Path: verify, Body: map[string]string{"mfaId": mfaID(t, e), "code": recovery[0]},
					Status: 200},
				refused("the recovery code again", mfaID(t, e), recovery[0]),
				{Name: "nine left", Method: "GET", Path: "/api/collections/users/auth/mfa", Token: ann, Status: 200,
					Contains: []string{`"recoveryCodesLeft":9`}},
			})

			// An mfaId expires after five minutes.
			late := mfaID(t, e)
			e.clock.Advance(loam.MFATTL + time.Second)
			e.run(t, []scenario{refused("an expired mfaId", late, totpCode(t, secret, e.clock))})

			// Five tries, then the mfaId is gone, the right code too.
			e.clock.Advance(30 * time.Second)
			tried := mfaID(t, e)
			code = totpCode(t, secret, e.clock)
			for i := range loam.MaxTokenAttempts {
				e.run(t, []scenario{refused("wrong code "+string(rune('1'+i)), tried, otherCode(code))})
			}
			e.run(t, []scenario{refused("the right code after five wrong ones", tried, code)})

			// An mfaId of users does nothing for another auth collection, and
			// still works where it belongs.
			e.mustCreateCollection(t, `{"name":"staff","type":"auth","auth":{"methods":{"password":true,"mfa":true}}}`)
			misdirected := mfaID(t, e)
			e.run(t, []scenario{
				{Name: "another collection", Method: "POST", Path: "/api/collections/staff/auth/mfa/verify",
					Body: map[string]string{"mfaId": misdirected, "code": code}, Status: 401, Code: "unauthenticated", Unchanged: true},
				{Name: "its own collection", Method: "POST", Path: verify, Body: map[string]string{"mfaId": misdirected, "code": code},
					Status: 200},
			})

			// New recovery codes replace the old ones; disabling needs a code.
			e.clock.Advance(30 * time.Second)
			var fresh []any
			e.run(t, []scenario{
				{Name: "new recovery codes need a TOTP code", Method: "POST", Path: "/api/collections/users/auth/mfa/recovery-codes",
					Token: ann, Body: map[string]string{"code": recovery[1]}, Status: 400, Code: "validation_failed",
					Fields: errs{"code": "invalid"}},
				{Name: "new recovery codes", Method: "POST", Path: "/api/collections/users/auth/mfa/recovery-codes",
					Token: ann, Body: map[string]string{"code": totpCode(t, secret, e.clock)}, Status: 200,
					Check: func(t *testing.T, a *answer) { fresh, _ = a.JSON(t)["recoveryCodes"].([]any) }},
				refused("an old recovery code", mfaID(t, e), recovery[2]),
				{Name: "disable with a wrong code", Method: "POST", Path: "/api/collections/users/auth/mfa/disable", Token: ann,
					Body: map[string]string{"code": recovery[3]}, Status: 400, Code: "validation_failed", Fields: errs{"code": "invalid"}},
			})
			if len(fresh) != loam.RecoveryCodeCount {
				t.Fatalf("new recovery codes: %v", fresh)
			}
			e.run(t, []scenario{
				{Name: "disable with a new recovery code", Method: "POST", Path: "/api/collections/users/auth/mfa/disable", Token: ann,
					Body: map[string]string{"code": fresh[0].(string)}, Status: 204},
				{Name: "the password alone signs in again", Method: "POST", Path: "/api/collections/users/auth/password",
					Body: map[string]string{"identity": "ann@example.com", "password": "ann's long password"}, Status: 200},
			})
		})
	}
}

// TestMFAAfterOTP: a one-time code is a first factor too.
func TestMFAAfterOTP(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			e := newMailEnv(t, store, loam.Throttle{})
			_, ann := e.signUp(t)
			turnOnMFA(t, e, true)
			secret, _ := enrolMFA(t, e, ann)
			a := e.do(t, call{Method: "POST", Path: "/api/collections/users/auth/otp/request", Body: `{"email":"ann@example.com"}`})
			otpID := str(a.JSON(t)["otpId"])
			a = e.do(t, call{Method: "POST", Path: "/api/collections/users/auth/otp/verify",
				Body: map[string]string{"otpId": otpID, "code": otpCode(t, e.mailTo(t, "ann@example.com", 0))}})
			m := a.JSON(t)
			if a.Status != 401 || m["code"] != loam.CodeMFARequired {
				t.Fatalf("otp sign-in with MFA on: %d %s", a.Status, a.Body)
			}
			e.run(t, []scenario{{Name: "the second factor", Method: "POST", Path: "/api/collections/users/auth/mfa/verify",
				Body: map[string]string{"mfaId": str(m["mfaId"]), "code": totpCode(t, secret, e.clock)}, Status: 200}})
		})
	}
}

// TestMFAThrottle: wrong second factors count per record across mfaIds,
// so knowing the password buys no more guesses; the right password does
// not clear that count.
func TestMFAThrottle(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			e := newMailEnv(t, store, loam.Throttle{FailuresPerIdentity: 3, FailuresPerIP: 500, MailsPerAddress: 50, MailsPerIP: 500})
			_, ann := e.signUp(t)
			turnOnMFA(t, e, false)
			secret, _ := enrolMFA(t, e, ann)
			verify := "/api/collections/users/auth/mfa/verify"
			code := totpCode(t, secret, e.clock)
			for i := range 3 { // a new mfaId each time: the password is right every time
				e.run(t, []scenario{{Name: fmt.Sprintf("wrong code %d", i+1), Method: "POST", Path: verify,
					Body: map[string]string{"mfaId": mfaID(t, e), "code": otherCode(code)}, Status: 401, Code: "unauthenticated"}})
			}
			e.run(t, []scenario{{Name: "the right code past the limit", Method: "POST", Path: verify,
				Body: map[string]string{"mfaId": mfaID(t, e), "code": code}, Status: 429, Code: "rate_limited"}})
			e.clock.Advance(15 * time.Minute)
			e.run(t, []scenario{{Name: "after the window", Method: "POST", Path: verify,
				Body: map[string]string{"mfaId": mfaID(t, e), "code": totpCode(t, secret, e.clock)}, Status: 200}})
		})
	}
}
