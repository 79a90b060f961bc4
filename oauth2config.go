package loam

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// OAuth2Provider configures sign-in through one OAuth2 / OpenID Connect
// provider for an auth collection (AuthOptions.OAuth2Providers). A provider
// signs in only while its name is also listed in auth.methods.oauth2.
//
// Name is a preset (google, microsoft, gitlab, apple: their issuer is
// known) or any other name for a generic OpenID Connect provider, which
// then needs Issuer or DiscoveryURL. ClientSecret is write-only: answers
// never carry it, and a save that leaves it out keeps the stored one of
// the provider with the same name.
type OAuth2Provider struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	ClientID    string `json:"clientId"`
	// ClientSecret is the client's secret at the provider; empty for a
	// public client (PKCE only). Never answered.
	ClientSecret string `json:"clientSecret,omitempty"`
	// Issuer is the provider's issuer URL; its discovery document is
	// <Issuer>/.well-known/openid-configuration. Presets have a default.
	Issuer string `json:"issuer,omitempty"`
	// DiscoveryURL is the discovery document's URL, when it is not under
	// the issuer; the document's issuer must then be Issuer (when set).
	DiscoveryURL string `json:"discoveryUrl,omitempty"`
	// Tenant is the Microsoft tenant: common (default), organizations,
	// consumers or a tenant id. Microsoft only.
	Tenant string `json:"tenant,omitempty"`
	// Scopes asked for; default openid, email and profile. openid is
	// always asked for.
	Scopes []string `json:"scopes,omitempty"`
}

// MarshalJSON leaves the client secret out: no answer carries it.
func (p OAuth2Provider) MarshalJSON() ([]byte, error) {
	type plain OAuth2Provider
	q := plain(p)
	q.ClientSecret = ""
	return json.Marshal(q)
}

// storedProvider is an OAuth2Provider as stores keep it: with its secret.
type storedProvider OAuth2Provider

// MarshalStored encodes c as stores keep it: its JSON answer plus the
// client secrets of its OAuth2 providers, which answers leave out.
func (c *Collection) MarshalStored() ([]byte, error) {
	if c.Auth == nil || len(c.Auth.OAuth2Providers) == 0 {
		return json.Marshal(c)
	}
	type storedAuth struct {
		AuthOptions
		OAuth2Providers []storedProvider `json:"oauth2Providers"`
	}
	type storedCollection struct {
		*Collection
		Auth storedAuth `json:"auth"`
	}
	a := storedAuth{AuthOptions: *c.Auth}
	for _, p := range c.Auth.OAuth2Providers {
		a.OAuth2Providers = append(a.OAuth2Providers, storedProvider(p))
	}
	return json.Marshal(storedCollection{Collection: c, Auth: a})
}

// oauth2Preset is what Loam knows of a common provider.
type oauth2Preset struct {
	displayName string
	issuer      string // for microsoft, with {tenant}
	scopes      []string
}

// oauth2Presets are the providers known by name. GitHub is not among
// them: it speaks plain OAuth2, without ID tokens.
var oauth2Presets = map[string]oauth2Preset{
	"google":    {"Google", "https://accounts.google.com", nil},
	"microsoft": {"Microsoft", "https://login.microsoftonline.com/{tenant}/v2.0", nil},
	"gitlab":    {"GitLab", "https://gitlab.com", nil},
	"apple":     {"Apple", "https://appleid.apple.com", []string{"openid", "email", "name"}},
}

// Defaults and limits of provider configs.
var (
	defaultOAuth2Scopes = []string{"openid", "email", "profile"}
	providerNameRe      = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)
	tenantRe            = regexp.MustCompile(`^[A-Za-z0-9.-]{1,100}$`)
	scopeRe             = regexp.MustCompile(`^[\x21\x23-\x5b\x5d-\x7e]{1,100}$`) // RFC 6749 scope-token
)

// displayName is the name sign-in pages show.
func (p *OAuth2Provider) displayName() string {
	if p.DisplayName != "" {
		return p.DisplayName
	}
	if pre, ok := oauth2Presets[p.Name]; ok {
		return pre.displayName
	}
	return p.Name
}

// multiTenant reports whether p is Microsoft's endpoint for many tenants,
// whose tokens each carry the issuer of the user's own tenant.
func (p *OAuth2Provider) multiTenant() bool {
	if p.Name != "microsoft" || p.Issuer != "" {
		return false
	}
	switch p.tenant() {
	case "common", "organizations", "consumers":
		return true
	}
	return false
}

func (p *OAuth2Provider) tenant() string {
	if p.Tenant == "" {
		return "common"
	}
	return p.Tenant
}

// issuer is the issuer p's tokens must carry ("" when only the discovery
// document names it).
func (p *OAuth2Provider) issuer() string {
	if p.Issuer != "" {
		return strings.TrimRight(p.Issuer, "/")
	}
	if pre, ok := oauth2Presets[p.Name]; ok {
		return strings.ReplaceAll(pre.issuer, "{tenant}", p.tenant())
	}
	return ""
}

// discoveryURL is where p's discovery document is.
func (p *OAuth2Provider) discoveryURL() string {
	if p.DiscoveryURL != "" {
		return p.DiscoveryURL
	}
	return p.issuer() + "/.well-known/openid-configuration"
}

// scopes are the scopes asked for, openid first.
func (p *OAuth2Provider) scopes() []string {
	s := p.Scopes
	if len(s) == 0 {
		if pre, ok := oauth2Presets[p.Name]; ok && pre.scopes != nil {
			s = pre.scopes
		} else {
			s = defaultOAuth2Scopes
		}
	}
	out := []string{"openid"}
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// OAuth2Provider returns the provider config called name, or nil.
func (a *AuthOptions) OAuth2Provider(name string) *OAuth2Provider {
	for i := range a.OAuth2Providers {
		if a.OAuth2Providers[i].Name == name {
			return &a.OAuth2Providers[i]
		}
	}
	return nil
}

// OAuth2Enabled returns the provider called name when it is configured and
// listed in methods.oauth2, else nil.
func (a *AuthOptions) OAuth2Enabled(name string) *OAuth2Provider {
	if a == nil || a.Methods == nil || !slices.Contains(a.Methods.OAuth2, name) {
		return nil
	}
	return a.OAuth2Provider(name)
}

// OAuth2Method is an enabled provider as sign-in pages list it.
type OAuth2Method struct {
	Name  string
	Title string
}

// OAuth2Methods lists the enabled providers, in the order of
// methods.oauth2.
func (a *AuthOptions) OAuth2Methods() []OAuth2Method {
	var out []OAuth2Method
	if a == nil || a.Methods == nil {
		return nil
	}
	for _, name := range a.Methods.OAuth2 {
		if p := a.OAuth2Provider(name); p != nil {
			out = append(out, OAuth2Method{Name: p.Name, Title: p.displayName()})
		}
	}
	return out
}

// keepSecrets gives each provider of n that comes without a client secret
// the stored secret of old's provider with the same name.
func keepSecrets(old, n *AuthOptions) {
	if old == nil || n == nil {
		return
	}
	for i := range n.OAuth2Providers {
		p := &n.OAuth2Providers[i]
		if p.ClientSecret != "" {
			continue
		}
		if o := old.OAuth2Provider(p.Name); o != nil {
			p.ClientSecret = o.ClientSecret
		}
	}
}

// checkOAuth2 checks the providers of a and the names of methods.oauth2,
// into fe.
func (a *AuthOptions) checkOAuth2(fe *FieldErrors) {
	seen := map[string]bool{}
	for i := range a.OAuth2Providers {
		p := &a.OAuth2Providers[i]
		key := fmt.Sprintf("auth.oauth2Providers.%d.", i)
		switch {
		case !providerNameRe.MatchString(p.Name):
			fe.Add(key+"name", FieldPattern, "a provider name is 1 to 40 of a-z, 0-9, _ and -, starting with a letter or digit")
		case seen[p.Name]:
			fe.Add(key+"name", FieldUnique, "provider %q appears twice", p.Name)
		}
		seen[p.Name] = true
		if strings.TrimSpace(p.ClientID) == "" {
			fe.Add(key+"clientId", FieldRequired, "is required")
		} else if len(p.ClientID) > 500 {
			fe.Add(key+"clientId", FieldTooLong, "is longer than 500 characters")
		}
		if len(p.ClientSecret) > 4000 {
			fe.Add(key+"clientSecret", FieldTooLong, "is longer than 4000 characters")
		}
		if len(p.DisplayName) > 100 {
			fe.Add(key+"displayName", FieldTooLong, "is longer than 100 characters")
		}
		_, preset := oauth2Presets[p.Name]
		if !preset && p.Issuer == "" && p.DiscoveryURL == "" {
			fe.Add(key+"issuer", FieldRequired, "a provider other than %s needs issuer or discoveryUrl", presetNames())
		}
		for _, u := range []struct{ name, value string }{{"issuer", p.Issuer}, {"discoveryUrl", p.DiscoveryURL}} {
			if u.value != "" && !providerURL(u.value) {
				fe.Add(key+u.name, FieldInvalidURL, "must be an https URL (http for a loopback address only), without query or fragment")
			}
		}
		if p.Tenant != "" && (p.Name != "microsoft" || !tenantRe.MatchString(p.Tenant)) {
			fe.Add(key+"tenant", FieldInvalid, "only microsoft has a tenant: common, organizations, consumers or a tenant id")
		}
		if len(p.Scopes) > 20 {
			fe.Add(key+"scopes", FieldTooLong, "at most 20 scopes")
		}
		for j, s := range p.Scopes {
			if !scopeRe.MatchString(s) {
				fe.Add(fmt.Sprintf("%sscopes.%d", key, j), FieldPattern, "a scope is 1 to 100 printable characters without spaces, quotes or backslashes")
			}
		}
	}
	if len(a.OAuth2Providers) > 20 {
		fe.Add("auth.oauth2Providers", FieldTooLong, "at most 20 providers")
	}
	for i, name := range a.Methods.OAuth2 {
		if a.OAuth2Provider(name) == nil {
			fe.Add(fmt.Sprintf("auth.methods.oauth2.%d", i), FieldNotFound, "%q is not in auth.oauth2Providers", truncate(name, 80))
		}
	}
}

// presetNames lists the preset provider names, for messages.
func presetNames() string {
	names := make([]string, 0, len(oauth2Presets))
	for n := range oauth2Presets {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// providerURL reports whether s is a URL a provider may live at: https,
// or http on a loopback address (a provider run for development or tests).
func providerURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || len(s) > 2000 {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		host := u.Hostname()
		ip := net.ParseIP(host)
		return host == "localhost" || (ip != nil && ip.IsLoopback())
	}
	return false
}
