// Package oidctest runs a real OpenID provider on 127.0.0.1 for tests: the
// zitadel OP (github.com/zitadel/oidc/v3/pkg/op) over the module's
// in-memory example storage, with its login form. Tests drive it over
// HTTP as a browser would (Login), and may make it issue ID tokens with
// another nonce or for another client (Twist) to see the client refuse them.
package oidctest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// User is an account at the provider.
type User struct {
	ID            string
	Username      string
	Password      string
	Email         string
	EmailVerified bool
}

// Client is an OAuth2 client registered at the provider.
type Client struct {
	ID           string
	Secret       string
	RedirectURIs []string
}

// Twist changes what the provider puts in the ID tokens it issues next.
type Twist struct {
	// Nonce, when set, replaces the nonce the client sent.
	Nonce string
	// ClientID, when set, is the client the ID token is for (its aud and
	// azp), instead of the client that exchanged the code: a token for
	// another audience, signed by the provider.
	ClientID string
	// KeepAudience keeps the exchanging client in the audience next to
	// ClientID, which stays the authorized party (azp).
	KeepAudience bool
}

// Provider is a running OpenID provider.
type Provider struct {
	// Issuer is the provider's issuer URL, http://127.0.0.1:port; its
	// discovery document is at Issuer + "/.well-known/openid-configuration".
	Issuer string
	store  *twisted
	srv    *http.Server
}

// Start runs a provider with users and clients until the test ends.
// quiet is the provider's logger: the example server logs every request
// through the default logger, which it replaces with this one.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func Start(t testing.TB, users []User, clients []Client) *Provider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("oidctest: listen: %v", err)
	}
	issuer := "http://" + ln.Addr().String()
	us := userStore{}
	for _, u := range users {
		us[u.ID] = &storage.User{ID: u.ID, Username: u.Username, Password: u.Password, FirstName: u.Username,
			LastName: "Test", Email: u.Email, EmailVerified: u.EmailVerified}
	}
	cs := map[string]*storage.Client{}
	for _, c := range clients {
		cs[c.ID] = storage.WebClient(c.ID, c.Secret, c.RedirectURIs...)
	}
	st := &twisted{Storage: storage.NewStorageWithClients(us, cs)}
	p := &Provider{Issuer: issuer, store: st,
		srv: &http.Server{Handler: exampleop.SetupServer(issuer, st, quiet, false), ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = p.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.srv.Shutdown(ctx)
	})
	return p
}

// Twist makes the provider's next ID tokens carry tw's values; the zero
// Twist restores honest tokens.
func (p *Provider) Twist(tw Twist) {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	p.store.twist = tw
}

// Login signs username in at the provider as a browser does: it follows
// authURL (an authorization URL a client made) to the login form, posts
// the credentials, and returns the URL the provider then sends the
// browser to: the client's redirect URI with code and state (or error).
// The client's redirect URI itself is not visited.
func (p *Provider) Login(ctx context.Context, authURL, username, password string) (*url.URL, error) {
	c := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	step := func(req *http.Request) (*url.URL, error) {
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			return nil, fmt.Errorf("%s %s: status %d: %s", req.Method, req.URL, resp.StatusCode, body)
		}
		return resp.Location()
	}
	get := func(u string) (*url.URL, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		return step(req)
	}
	login, err := get(authURL)
	if err != nil {
		return nil, fmt.Errorf("authorize: %w", err)
	}
	id := login.Query().Get("authRequestID")
	if id == "" {
		if login.Query().Get("error") != "" {
			return login, nil // the provider refused the request itself
		}
		return nil, fmt.Errorf("authorize sent the browser to %s, not to the login form", login)
	}
	form := url.Values{"username": {username}, "password": {password}, "id": {id}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.Issuer+"/login/username", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	done, err := step(req)
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	back, err := get(done.String())
	if err != nil {
		return nil, fmt.Errorf("after login: %w", err)
	}
	if back.Query().Get("code") == "" && back.Query().Get("error") == "" {
		return nil, errors.New("the provider sent the browser back without code or error: " + back.String())
	}
	return back, nil
}

// userStore holds the provider's users by id.
type userStore map[string]*storage.User

func (u userStore) GetUserByID(id string) *storage.User { return u[id] }

func (u userStore) GetUserByUsername(name string) *storage.User {
	for _, x := range u {
		if x.Username == name {
			return x
		}
	}
	return nil
}

func (u userStore) ExampleClientID() string { return storage.ServiceUserID }

// twisted is the example storage whose auth requests, when a code is
// exchanged, carry the twist's nonce and audience.
type twisted struct {
	*storage.Storage
	mu    sync.Mutex
	twist Twist
}

func (s *twisted) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, err := s.Storage.AuthRequestByCode(ctx, code)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	tw := s.twist
	s.mu.Unlock()
	if tw == (Twist{}) {
		return r, nil
	}
	return &twistedRequest{AuthRequest: r, twist: tw}, nil
}

// twistedRequest is an auth request with another nonce or client. The op
// asks for the client twice: first to check that the code is the
// exchanging client's (the real one answers), then for the ID token.
type twistedRequest struct {
	op.AuthRequest
	twist   Twist
	clients atomic.Int32
}

func (r *twistedRequest) GetNonce() string {
	if r.twist.Nonce != "" {
		return r.twist.Nonce
	}
	return r.AuthRequest.GetNonce()
}

func (r *twistedRequest) GetAudience() []string {
	if r.twist.ClientID != "" && !r.twist.KeepAudience {
		return []string{r.twist.ClientID}
	}
	return r.AuthRequest.GetAudience()
}

func (r *twistedRequest) GetClientID() string {
	if r.twist.ClientID != "" && r.clients.Add(1) > 1 {
		return r.twist.ClientID
	}
	return r.AuthRequest.GetClientID()
}
