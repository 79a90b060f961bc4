package loam

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// DiscoveryTTL is how long a provider's discovery document is reused
// before it is fetched again. Its signing keys are cached by go-oidc and
// fetched again when a token names a key it does not know.
const DiscoveryTTL = time.Hour

// The requests to OAuth2 providers (discovery, keys, the code exchange,
// userinfo) go through the App's OAuth2 HTTP client, not through the
// --outbound-hosts allow-list of the http job kind: a provider's URLs are
// set by a superuser in the collection's options (trusted as the rest of
// the schema is), and a URL that is neither https nor http on a loopback
// address is refused when the collection is saved.

// defaultOAuth2Client is the client of Config.OAuth2HTTPClient's default.
func defaultOAuth2Client() *http.Client {
	return &http.Client{Timeout: 15 * time.Second}
}

// discovered is a provider found through its discovery document.
type discovered struct {
	provider *oidc.Provider
	issuer   string
	fetched  time.Time
}

// discoveryCache keeps discovered providers by discovery URL and expected
// issuer, for DiscoveryTTL.
type discoveryCache struct {
	mu sync.Mutex
	m  map[string]*discovered
}

// discoveryDoc is the part of a discovery document Loam reads.
type discoveryDoc struct {
	Issuer     string   `json:"issuer"`
	AuthURL    string   `json:"authorization_endpoint"`
	TokenURL   string   `json:"token_endpoint"`
	UserInfo   string   `json:"userinfo_endpoint"`
	JWKSURL    string   `json:"jwks_uri"`
	Algorithms []string `json:"id_token_signing_alg_values_supported"`
}

// errProvider is what callers see when a provider cannot be used; the log
// has the cause.
func errProvider(p *OAuth2Provider) error {
	return Errorf(CodeUnavailable, "the provider %s cannot be reached or answered wrongly; try again later", p.Name)
}

// discover returns the provider p names, from the cache while it is fresh.
func (a *App) discover(ctx context.Context, p *OAuth2Provider) (*discovered, error) {
	key := p.discoveryURL() + "\x00" + p.issuer()
	a.discovery.mu.Lock()
	d := a.discovery.m[key]
	a.discovery.mu.Unlock()
	if d != nil && a.now().Sub(d.fetched) < DiscoveryTTL {
		return d, nil
	}
	d, err := a.fetchDiscovery(ctx, p)
	if err != nil {
		a.log.Warn("oauth2 discovery failed", "provider", p.Name, "url", p.discoveryURL(), "err", err)
		return nil, errProvider(p)
	}
	a.discovery.mu.Lock()
	if a.discovery.m == nil {
		a.discovery.m = map[string]*discovered{}
	}
	a.discovery.m[key] = d
	a.discovery.mu.Unlock()
	return d, nil
}

// fetchDiscovery reads p's discovery document and checks it: its issuer is
// the one p expects (for Microsoft's multi-tenant endpoints, each token's
// issuer is checked instead), and every endpoint is a provider URL.
func (a *App) fetchDiscovery(ctx context.Context, p *OAuth2Provider) (*discovered, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.discoveryURL(), nil)
	if err != nil {
		return nil, fmt.Errorf("discovery request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := a.oauth2Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch discovery document: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read discovery document: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("discovery document: status %d", resp.StatusCode)
	}
	var doc discoveryDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("decode discovery document: %w", err)
	}
	if want := p.issuer(); want != "" && !p.multiTenant() && doc.Issuer != want {
		return nil, fmt.Errorf("discovery document names issuer %q, want %q", doc.Issuer, want)
	}
	if doc.Issuer == "" {
		return nil, fmt.Errorf("discovery document names no issuer")
	}
	for _, u := range []string{doc.AuthURL, doc.TokenURL, doc.JWKSURL} {
		if !providerURL(u) {
			return nil, fmt.Errorf("discovery document: endpoint %q is not an https URL", u)
		}
	}
	if doc.UserInfo != "" && !providerURL(doc.UserInfo) {
		return nil, fmt.Errorf("discovery document: userinfo endpoint %q is not an https URL", doc.UserInfo)
	}
	cfg := &oidc.ProviderConfig{IssuerURL: doc.Issuer, AuthURL: doc.AuthURL, TokenURL: doc.TokenURL,
		UserInfoURL: doc.UserInfo, JWKSURL: doc.JWKSURL, Algorithms: doc.Algorithms}
	prov := cfg.NewProvider(oidc.ClientContext(context.WithoutCancel(ctx), a.oauth2Client))
	return &discovered{provider: prov, issuer: doc.Issuer, fetched: a.now()}, nil
}
