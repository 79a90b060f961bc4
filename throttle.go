package loam

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"
)

// Throttle limits failed sign-ins and mail requests. The counters live in
// the database (Store.HitThrottle), so the limits hold across every
// instance that shares it; the per-route rate limits of the settings
// (RateLimit) count in the same table, each in its own window. A zero value takes the default; a negative one
// turns that limit off.
type Throttle struct {
	// Window is how long a counter counts (default 15 minutes).
	Window time.Duration
	// FailuresPerIdentity is how many failed sign-ins (a wrong password or
	// one-time code) one identity of one collection may have in a window
	// (default 5).
	FailuresPerIdentity int
	// FailuresPerIP is how many failed sign-ins may come from one client
	// address in a window, over every identity (default 50).
	FailuresPerIP int
	// MailsPerAddress is how many mails (verification, reset, one-time
	// code, email change) may be asked for one address of one collection
	// in a window, whether it has an account or not (default 5).
	MailsPerAddress int
	// MailsPerIP is how many mails one client address may ask for in a
	// window (default 30).
	MailsPerIP int
	// OAuth2StartsPerIP is how many OAuth2 sign-ins one client address may
	// start in a window (default 60): each start stores a state.
	OAuth2StartsPerIP int
}

func (t Throttle) withDefaults() Throttle {
	if t.Window <= 0 {
		t.Window = 15 * time.Minute
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&t.FailuresPerIdentity, 5)
	def(&t.FailuresPerIP, 50)
	def(&t.MailsPerAddress, 5)
	def(&t.MailsPerIP, 30)
	def(&t.OAuth2StartsPerIP, 60)
	return t
}

type clientIPKey struct{}

// WithClientIP returns ctx carrying the address of the client a request
// comes from; sign-ins and mail requests are also counted per address.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

func clientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}

// throttleKey is the stored key of a counter: a hash, so the table holds
// no addresses or identities.
func throttleKey(parts ...string) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// counter is one throttle counter, its limit (negative: none) and its
// window (zero: the Throttle's).
type counter struct {
	key    []byte
	limit  int
	window time.Duration
}

// hit counts one hit on each counter and answers rate_limited, with how
// long to wait, when one is over its limit; the hit is then taken back from
// the others, so they count only what was let through.
func (a *App) hit(ctx context.Context, what string, counters ...counter) error {
	now := a.now()
	var wait time.Duration
	var under []counter
	for _, c := range counters {
		if c.key == nil || c.limit < 0 {
			continue
		}
		if c.window <= 0 {
			c.window = a.throttle.Window
		}
		hits, started, err := a.store.HitThrottle(ctx, c.key, now, now.Add(-c.window))
		if err != nil {
			return fmt.Errorf("throttle: %w", err)
		}
		if hits > c.limit {
			wait = max(wait, started.Add(c.window).Sub(now))
		} else {
			under = append(under, c)
		}
	}
	if wait <= 0 {
		return nil
	}
	for _, c := range under {
		if err := a.store.ForgiveThrottle(ctx, c.key, now.Add(-c.window)); err != nil {
			return fmt.Errorf("throttle: %w", err)
		}
	}
	secs := int64((wait + time.Second - 1) / time.Second)
	return &Error{Code: CodeRateLimited, Message: fmt.Sprintf("too many %s; try again in %d seconds", what, secs),
		RetryAfter: time.Duration(secs) * time.Second}
}

// signIn is one sign-in attempt, counted before the credentials are
// checked, so that racing attempts cannot get past the limit.
type signIn struct {
	identity, ip []byte
}

// startSignIn counts an attempt to sign in as identity to c, from the
// request's client address.
func (a *App) startSignIn(ctx context.Context, c *Collection, identity string) (*signIn, error) {
	s := &signIn{identity: throttleKey("signin", c.Name, FoldEmail(identity))}
	if ip := clientIP(ctx); ip != "" {
		s.ip = throttleKey("signin-ip", ip)
	}
	err := a.hit(ctx, "failed sign-ins", counter{key: s.identity, limit: a.throttle.FailuresPerIdentity}, counter{key: s.ip, limit: a.throttle.FailuresPerIP})
	return s, err
}

// succeeded takes a successful attempt off the counters: the identity's
// failures are forgiven, and the address's count loses this attempt.
func (a *App) succeeded(ctx context.Context, s *signIn) {
	if a.throttle.FailuresPerIdentity >= 0 {
		if err := a.store.ResetThrottle(ctx, s.identity); err != nil {
			a.log.Warn("throttle reset failed", "err", err)
		}
	}
	if s.ip != nil && a.throttle.FailuresPerIP >= 0 {
		if err := a.store.ForgiveThrottle(ctx, s.ip, a.now().Add(-a.throttle.Window)); err != nil {
			a.log.Warn("throttle forgive failed", "err", err)
		}
	}
}

// countOAuth2Start counts a started OAuth2 sign-in from the request's
// client address (nothing when it is unknown, as for Go callers).
func (a *App) countOAuth2Start(ctx context.Context) error {
	addr := clientIP(ctx)
	if addr == "" {
		return nil
	}
	return a.hit(ctx, "started sign-ins", counter{key: throttleKey("oauth2-ip", addr), limit: a.throttle.OAuth2StartsPerIP})
}

// countMail counts a request for a mail to address in c, from the request's
// client address; the count is the same whether the address has an account.
func (a *App) countMail(ctx context.Context, c *Collection, address string) error {
	var ip []byte
	if addr := clientIP(ctx); addr != "" {
		ip = throttleKey("mail-ip", addr)
	}
	return a.hit(ctx, "mail requests", counter{key: throttleKey("mail", c.Name, FoldEmail(address)), limit: a.throttle.MailsPerAddress},
		counter{key: ip, limit: a.throttle.MailsPerIP})
}
