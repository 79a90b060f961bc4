package loam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Settings are what every instance of a deployment shares: the mail server
// and sender, the app URL, the per-route rate limits, the CORS origins, the
// trusted proxies and the allowed outbound hosts.
//
// They come from two places: Config.Settings holds the defaults (loam serve
// fills them from its flags and LOAM_* variables), and the values set
// through UpdateSettings (PATCH /api/settings), stored in the database,
// override them member by member. A member set to null in a change goes
// back to its default.
type Settings struct {
	// AppURL is where the links in mails lead:
	// <AppURL>/auth/<collection>/<action>#token=<token>.
	AppURL string         `json:"appURL"`
	SMTP   SMTPSettings   `json:"smtp"`
	Sender SenderSettings `json:"sender"`
	// RateLimits are the per-route limits, counted in the database.
	RateLimits []RateLimit `json:"rateLimits"`
	// CORSOrigins are the origins browsers may call the API from:
	// "https://app.example.com" (scheme, host and port, exactly) or "*".
	CORSOrigins []string `json:"corsOrigins"`
	// TrustedProxies are the addresses (CIDRs or single IPs) of the proxies
	// whose X-Forwarded-For and X-Forwarded-Proto are believed.
	TrustedProxies []string `json:"trustedProxies"`
	// OutboundHosts are the hosts outbound requests (the "http" job kind)
	// may reach, as ParseAllowlist reads them.
	OutboundHosts []string `json:"outboundHosts"`
}

// SMTPSettings name the SMTP server mails go through; no Host, no mail.
type SMTPSettings struct {
	Host string `json:"host"`
	// Port defaults to 587.
	Port     int    `json:"port"`
	Username string `json:"username"`
	// Password is write-only: the API answers passwordSet instead.
	Password string `json:"password,omitempty"`
	// TLS is how the connection is secured: SMTPTLSAuto (the default),
	// SMTPTLSStartTLS, SMTPTLSImplicit or SMTPTLSNone.
	TLS string `json:"tls"`
}

// The SMTP TLS modes.
const (
	// SMTPTLSAuto speaks TLS from the start on port 465 and turns to TLS
	// with STARTTLS on other ports when the server offers it.
	SMTPTLSAuto = "auto"
	// SMTPTLSStartTLS requires STARTTLS: a server that does not offer it
	// gets no mail.
	SMTPTLSStartTLS = "starttls"
	// SMTPTLSImplicit speaks TLS from the start, whatever the port.
	SMTPTLSImplicit = "tls"
	// SMTPTLSNone never uses TLS (a relay on the same host or network).
	SMTPTLSNone = "none"
)

// SenderSettings are the From of every mail.
type SenderSettings struct {
	Name    string `json:"name"`
	Address string `json:"address"`
}

// String is the sender as a From header value: "Acme <noreply@acme.example>".
func (s SenderSettings) String() string {
	if s.Address == "" {
		return ""
	}
	return (&mail.Address{Name: s.Name, Address: s.Address}).String()
}

// MailSettings are the parts of the settings a mail transport needs.
type MailSettings struct {
	SMTP   SMTPSettings
	Sender SenderSettings
}

// RateLimit is one per-route limit: at most Max requests per Window on
// the routes Route matches, per client address (By "ip") or per caller
// (By "auth": the signed-in record, or the address of anonymous callers).
type RateLimit struct {
	// Route is "METHOD /path" or "/path" (any method); a path segment "*"
	// matches any one segment: "POST /api/collections/*/records".
	Route  string `json:"route"`
	Max    int    `json:"max"`
	Window string `json:"window"`
	By     string `json:"by"`
}

// Rate limit keys.
const (
	RateByIP   = "ip"
	RateByAuth = "auth"
)

// Limits of the settings.
const (
	maxSettingsList = 100
	minRateWindow   = time.Second
	maxRateWindow   = 24 * time.Hour
)

// ParseSender reads a From value such as "Acme <noreply@acme.example>".
func ParseSender(s string) (SenderSettings, error) {
	if strings.TrimSpace(s) == "" {
		return SenderSettings{}, nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return SenderSettings{}, fmt.Errorf("the sender %q is not an address: %w", s, err)
	}
	return SenderSettings{Name: a.Name, Address: a.Address}, nil
}

// Validate reports every problem of s (its zero members taking their
// defaults) as a validation_failed *Error whose fields name the members
// ("smtp.port", "rateLimits.0.window").
func (s *Settings) Validate() error {
	d := s.withDefaults()
	_, err := compileSettings(&d)
	return err
}

// settingsView is Settings as the API answers it: the password left out,
// passwordSet in its place, and lists never null.
type settingsView struct {
	AppURL string `json:"appURL"`
	SMTP   struct {
		Host        string `json:"host"`
		Port        int    `json:"port"`
		Username    string `json:"username"`
		PasswordSet bool   `json:"passwordSet"`
		TLS         string `json:"tls"`
	} `json:"smtp"`
	Sender         SenderSettings `json:"sender"`
	RateLimits     []RateLimit    `json:"rateLimits"`
	CORSOrigins    []string       `json:"corsOrigins"`
	TrustedProxies []string       `json:"trustedProxies"`
	OutboundHosts  []string       `json:"outboundHosts"`
}

// MarshalPublic encodes s as the API answers it: the SMTP password is
// never answered, passwordSet says whether there is one.
func (s *Settings) MarshalPublic() ([]byte, error) {
	var v settingsView
	v.AppURL = s.AppURL
	v.SMTP.Host, v.SMTP.Port, v.SMTP.Username, v.SMTP.TLS = s.SMTP.Host, s.SMTP.Port, s.SMTP.Username, s.SMTP.TLS
	v.SMTP.PasswordSet = s.SMTP.Password != ""
	v.Sender = s.Sender
	orEmpty := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	v.RateLimits = s.RateLimits
	if v.RateLimits == nil {
		v.RateLimits = []RateLimit{}
	}
	v.CORSOrigins, v.TrustedProxies, v.OutboundHosts = orEmpty(s.CORSOrigins), orEmpty(s.TrustedProxies), orEmpty(s.OutboundHosts)
	return json.Marshal(v)
}

// withDefaults fills what a zero value leaves open, in the defaults.
func (s Settings) withDefaults() Settings {
	if s.SMTP.Port == 0 {
		s.SMTP.Port = 587
	}
	if s.SMTP.TLS == "" {
		s.SMTP.TLS = SMTPTLSAuto
	}
	return s.normal()
}

// normal is s in the form it is used and answered: the app URL without a
// trailing slash, every rate limit with its key.
func (s Settings) normal() Settings {
	s.AppURL = strings.TrimRight(s.AppURL, "/")
	for i := range s.RateLimits {
		if s.RateLimits[i].By == "" {
			s.RateLimits[i].By = RateByIP
		}
	}
	return s
}

// settingsShape lists the members a settings change may hold, with the Go
// value each decodes into (for its type check); objects list their own.
var settingsShape = map[string]any{
	"appURL": "",
	"smtp": map[string]any{"host": "", "port": 0, "username": "", "password": "",
		"tls": ""},
	"sender":         map[string]any{"name": "", "address": ""},
	"rateLimits":     []RateLimit{},
	"corsOrigins":    []string{},
	"trustedProxies": []string{},
	"outboundHosts":  []string{},
}

// checkSettingsChange checks the members and types of a change (a JSON
// merge patch of the settings) and returns it decoded.
func checkSettingsChange(raw []byte) (map[string]any, error) {
	var change map[string]json.RawMessage
	if err := json.Unmarshal(raw, &change); err != nil || change == nil {
		return nil, Errorf(CodeInvalidJSON, "the body must be a JSON object of the settings to change")
	}
	var fe FieldErrors
	checkShape(&fe, "", change, settingsShape)
	if err := fe.Err(CodeValidationFailed, "the settings are not valid"); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, Errorf(CodeInvalidJSON, "the body must be a JSON object of the settings to change")
	}
	return out, nil
}

// checkShape checks the members of obj against shape, naming them under
// prefix.
func checkShape(fe *FieldErrors, prefix string, obj map[string]json.RawMessage, shape map[string]any) {
	for name, raw := range obj {
		path := prefix + name
		want, known := shape[name]
		if !known {
			fe.Add(path, FieldUnknown, "is not a setting")
			continue
		}
		if string(raw) == "null" {
			continue // back to the default
		}
		if sub, ok := want.(map[string]any); ok {
			var inner map[string]json.RawMessage
			if err := json.Unmarshal(raw, &inner); err != nil {
				fe.Add(path, FieldInvalidType, "must be an object")
				continue
			}
			checkShape(fe, path+".", inner, sub)
			continue
		}
		if err := decodeAs(raw, want); err != nil {
			fe.Add(path, FieldInvalidType, "%s", typeMessage(want, err))
		}
	}
}

// decodeAs decodes raw into a new value of like's type, refusing
// unknown members.
func decodeAs(raw json.RawMessage, like any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	switch like.(type) {
	case string:
		var v string
		return dec.Decode(&v)
	case int:
		var v int
		return dec.Decode(&v)
	case []string:
		var v []string
		return dec.Decode(&v)
	case []RateLimit:
		var v []RateLimit
		return dec.Decode(&v)
	}
	return fmt.Errorf("no type to check %T", like)
}

func typeMessage(like any, err error) string {
	switch like.(type) {
	case string:
		return "must be a string"
	case int:
		return "must be an integer"
	case []string:
		return "must be a list of strings"
	}
	return "must be a list of {route, max, window, by}: " + strings.TrimPrefix(err.Error(), "json: ")
}

// mergePatch applies a JSON merge patch (RFC 7386) to target: null removes
// a member, an object merges into the object there, anything else replaces.
func mergePatch(target, patch map[string]any) map[string]any {
	if target == nil {
		target = map[string]any{}
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(target, k)
		case map[string]any:
			tv, _ := target[k].(map[string]any)
			merged := mergePatch(tv, pv)
			if len(merged) == 0 {
				delete(target, k)
			} else {
				target[k] = merged
			}
		default:
			target[k] = v
		}
	}
	return target
}

// effective returns defaults with the stored overrides applied.
func effectiveSettings(defaults Settings, stored []byte) (Settings, error) {
	b, err := json.Marshal(defaults) // a deep copy: the overrides must not reach the defaults' lists
	if err != nil {
		return Settings{}, fmt.Errorf("copy settings: %w", err)
	}
	var s Settings
	if err := json.Unmarshal(b, &s); err != nil {
		return Settings{}, fmt.Errorf("copy settings: %w", err)
	}
	if len(stored) > 0 {
		if err := json.Unmarshal(stored, &s); err != nil {
			return Settings{}, fmt.Errorf("read stored settings: %w", err)
		}
	}
	return s.normal(), nil
}

// compiled settings: what requests read, parsed once per version.
type compiledSettings struct {
	proxies   []netip.Prefix
	origins   map[string]bool
	anyOrigin bool
	limits    []rateRule
	outbound  *Allowlist
}

// compileSettings validates s and parses what requests use.
func compileSettings(s *Settings) (*compiledSettings, error) {
	var fe FieldErrors
	c := &compiledSettings{origins: map[string]bool{}}
	if s.AppURL != "" {
		if u, err := url.Parse(s.AppURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			fe.Add("appURL", FieldInvalidURL, "must be an absolute http or https URL without query or fragment")
		}
	}
	checkLine := func(field, v string, max int) bool {
		switch {
		case len(v) > max:
			fe.Add(field, FieldTooLong, "at most %d bytes", max)
		case strings.ContainsAny(v, "\r\n\x00"):
			fe.Add(field, FieldInvalid, "must be one line")
		default:
			return true
		}
		return false
	}
	if checkLine("smtp.host", s.SMTP.Host, 253) && strings.ContainsAny(s.SMTP.Host, " /:@?#[]") {
		fe.Add("smtp.host", FieldInvalid, "must be a host name or an IP address, without scheme or port")
	}
	switch {
	case s.SMTP.Port < 1:
		fe.Add("smtp.port", FieldTooSmall, "must be 1 to 65535")
	case s.SMTP.Port > 65535:
		fe.Add("smtp.port", FieldTooLarge, "must be 1 to 65535")
	}
	checkLine("smtp.username", s.SMTP.Username, 256)
	checkLine("smtp.password", s.SMTP.Password, 1024)
	if !slices.Contains([]string{SMTPTLSAuto, SMTPTLSStartTLS, SMTPTLSImplicit, SMTPTLSNone}, s.SMTP.TLS) {
		fe.Add("smtp.tls", FieldInvalidChoice, "must be auto, starttls, tls or none")
	}
	checkLine("sender.name", s.Sender.Name, 200)
	if s.Sender.Address != "" {
		if a, err := mail.ParseAddress(s.Sender.Address); err != nil || a.Address != s.Sender.Address {
			fe.Add("sender.address", FieldInvalidEmail, "must be an email address (the name goes in sender.name)")
		}
	} else if s.SMTP.Host != "" {
		fe.Add("sender.address", FieldRequired, "is required when smtp.host is set")
	}
	listLen := func(field string, n int) bool {
		if n > maxSettingsList {
			fe.Add(field, FieldTooLong, "at most %d entries", maxSettingsList)
			return false
		}
		return true
	}
	if listLen("corsOrigins", len(s.CORSOrigins)) {
		for i, o := range s.CORSOrigins {
			if o == "*" {
				c.anyOrigin = true
				continue
			}
			if norm, ok := normalOrigin(o); ok && norm == o {
				c.origins[o] = true
				continue
			}
			fe.Add("corsOrigins."+strconv.Itoa(i), FieldInvalidURL,
				"must be * or an origin: scheme://host[:port] in lower case, no path")
		}
	}
	if listLen("trustedProxies", len(s.TrustedProxies)) {
		for i, p := range s.TrustedProxies {
			prefix, err := parseProxy(p)
			if err != nil {
				fe.Add("trustedProxies."+strconv.Itoa(i), FieldInvalid, "must be an IP address or a CIDR such as 10.0.0.0/8")
				continue
			}
			c.proxies = append(c.proxies, prefix)
		}
	}
	if listLen("outboundHosts", len(s.OutboundHosts)) {
		for i, h := range s.OutboundHosts {
			if _, err := ParseAllowlist([]string{h}); err != nil {
				fe.Add("outboundHosts."+strconv.Itoa(i), FieldInvalid, "must be a host, host:port, *.domain or *")
			}
		}
		if len(fe) == 0 {
			c.outbound, _ = ParseAllowlist(s.OutboundHosts)
		}
	}
	if listLen("rateLimits", len(s.RateLimits)) {
		seen := map[string]bool{}
		for i, rl := range s.RateLimits {
			rule, err := compileRateLimit(rl)
			if err != nil {
				fe.Add("rateLimits."+strconv.Itoa(i)+"."+err.member, err.code, "%s", err.msg)
				continue
			}
			if seen[string(rule.id)] {
				fe.Add("rateLimits."+strconv.Itoa(i), FieldUnique, "the same route, window and key as an earlier rule")
				continue
			}
			seen[string(rule.id)] = true
			c.limits = append(c.limits, rule)
		}
	}
	if err := fe.Err(CodeValidationFailed, "the settings are not valid"); err != nil {
		return nil, err
	}
	return c, nil
}

// normalOrigin returns the origin of s (scheme://host[:port], lower case,
// default ports dropped) and whether s is an origin at all.
func normalOrigin(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" ||
		u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", false
	}
	host := strings.ToLower(u.Host)
	if p := u.Port(); (u.Scheme == "http" && p == "80") || (u.Scheme == "https" && p == "443") {
		host = strings.TrimSuffix(host, ":"+p)
	}
	return strings.ToLower(u.Scheme) + "://" + host, true
}

// parseProxy reads a trusted proxy: a CIDR or a single address.
func parseProxy(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
