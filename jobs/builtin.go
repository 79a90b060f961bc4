package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"

	"loam"
)

// The built-in kinds, usable without Go code: enqueued through the HTTP
// API and run by any worker that registered them (loam serve does).
const (
	// KindMail sends an email (MailArgs) through the app's MessageSender.
	KindMail = "mail"
	// KindHTTP makes an outbound HTTP request (HTTPArgs), for webhooks,
	// to the hosts of an allowlist only.
	KindHTTP = "http"
)

// MailArgs are the arguments of the built-in kind "mail".
type MailArgs struct {
	To      []string `json:"to"`
	Cc      []string `json:"cc,omitempty"`
	Bcc     []string `json:"bcc,omitempty"`
	ReplyTo string   `json:"replyTo,omitempty"`
	Subject string   `json:"subject"`
	// Text and HTML are the bodies; at least one is required.
	Text string `json:"text,omitempty"`
	HTML string `json:"html,omitempty"`
}

// HTTPArgs are the arguments of the built-in kind "http".
type HTTPArgs struct {
	// Method is GET, HEAD, POST (the default), PUT, PATCH or DELETE.
	Method string `json:"method,omitempty"`
	// URL is an absolute http or https URL whose host the allowlist holds.
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	// Body is sent as it is; JSON, any JSON value, is sent encoded with
	// Content-Type application/json (unless Headers set one). Not both.
	Body string          `json:"body,omitempty"`
	JSON json.RawMessage `json:"json,omitempty"`
}

// HTTPResult is what a completed "http" job stores.
type HTTPResult struct {
	Status int `json:"status"`
}

// Limits of the built-in kinds' arguments.
const (
	maxRecipients   = 50
	maxSubject      = 998 // an RFC 5322 line
	maxMailBody     = 512 << 10
	maxHTTPBody     = 512 << 10
	maxHeaders      = 50
	maxRedirects    = 5
	maxResponseRead = 64 << 10
)

// BuiltinConfig configures the built-in kinds.
type BuiltinConfig struct {
	// OutboundHosts, when not nil, are the hosts "http" jobs may reach,
	// always the same: "hooks.example.com" (any port),
	// "hooks.example.com:8443" (that port), "*.example.com" (its
	// subdomains, not itself), or "*" (any host). Names compare without
	// regard to case. Nil: the outboundHosts of the app's current settings
	// (loam.Settings), whose default loam serve takes from --outbound-hosts.
	OutboundHosts []string
	// Transport makes the requests of "http" jobs (default: a clone of
	// http.DefaultTransport).
	Transport http.RoundTripper
}

// builtin is a kind that can be enqueued with JSON arguments: check
// validates them (a validation_failed *loam.Error naming "args.<member>")
// and returns them as they are stored.
type builtin struct {
	check func(raw json.RawMessage) (json.RawMessage, error)
}

// Allowlist is a set of outbound hosts (see BuiltinConfig.OutboundHosts).
type Allowlist = loam.Allowlist

// ParseAllowlist reads allowlist entries (loam.ParseAllowlist).
func ParseAllowlist(entries []string) (*Allowlist, error) { return loam.ParseAllowlist(entries) }

// RegisterBuiltins registers the built-in kinds "mail" and "http" on c.
// Registering them twice, or after a kind of either name, is an error.
func (c *Client) RegisterBuiltins(cfg BuiltinConfig) error {
	var fixed *Allowlist
	if cfg.OutboundHosts != nil {
		var err error
		if fixed, err = ParseAllowlist(cfg.OutboundHosts); err != nil {
			return fmt.Errorf("jobs: %w", err)
		}
	}
	allowed := func(ctx context.Context) *Allowlist {
		if fixed != nil {
			return fixed
		}
		return c.app.Settings(ctx).Outbound()
	}
	c.mu.RLock()
	_, mailTaken := c.kinds[KindMail]
	_, httpTaken := c.kinds[KindHTTP]
	c.mu.RUnlock()
	if mailTaken || httpTaken {
		return errors.New("jobs: the built-in kinds are registered already")
	}
	transport := cfg.Transport
	if transport == nil {
		transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	client := &http.Client{Transport: transport, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("more than %d redirects", maxRedirects)
		}
		if !allowed(r.Context()).Allows(r.URL) {
			return fmt.Errorf("redirected to %s, which is not an allowed outbound host", r.URL.Host)
		}
		return nil
	}}
	Register(c, KindMail, func(ctx context.Context, j *Job[MailArgs]) error {
		if err := checkMail(&j.Args); err != nil {
			return badArgs{err}
		}
		sender := c.app.MessageSender()
		if sender == nil {
			return loam.ErrNoMessageSender
		}
		a := j.Args
		return sender.SendMessage(ctx, &loam.Message{To: a.To, Cc: a.Cc, Bcc: a.Bcc, ReplyTo: a.ReplyTo,
			Subject: a.Subject, Text: a.Text, HTML: a.HTML})
	})
	Register(c, KindHTTP, func(ctx context.Context, j *Job[HTTPArgs]) error {
		req, err := newHTTPRequest(ctx, &j.Args, allowed(ctx))
		if err != nil {
			return badArgs{err}
		}
		resp, err := client.Do(req)
		if err != nil {
			// *url.Error names the whole URL, query included: name it ourselves.
			if inner := errors.Unwrap(err); inner != nil {
				err = inner
			}
			return fmt.Errorf("%s %s: %w", req.Method, redactURL(req.URL), err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("%s %s answered %d", req.Method, redactURL(req.URL), resp.StatusCode)
		}
		return j.SetResult(HTTPResult{Status: resp.StatusCode})
	})
	c.mu.Lock()
	c.builtins = map[string]*builtin{
		KindMail: {check: checker(checkMail)},
		KindHTTP: {check: checker(func(a *HTTPArgs) error {
			ctx := context.Background()
			_, err := newHTTPRequest(ctx, a, allowed(ctx))
			return err
		})},
	}
	c.mu.Unlock()
	return nil
}

// Builtins returns the names of the kinds that can be enqueued with JSON
// arguments (EnqueueJSON), sorted.
func (c *Client) Builtins() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var names []string
	for n := range c.builtins {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// argsError is a problem with one member of a built-in kind's arguments.
type argsError struct {
	member, code, msg string
}

func (e *argsError) Error() string { return e.member + ": " + e.msg }

func argErr(member, code, format string, a ...any) *argsError {
	return &argsError{member: member, code: code, msg: fmt.Sprintf(format, a...)}
}

// checker decodes arguments strictly (unknown members are errors), checks
// them, and returns them re-encoded, as they are stored.
func checker[A any](check func(*A) error) func(json.RawMessage) (json.RawMessage, error) {
	return func(raw json.RawMessage) (json.RawMessage, error) {
		if len(raw) == 0 {
			raw = json.RawMessage("null") // none: every required member is missing
		}
		var a A
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil || dec.More() {
			msg := "must be an object of the kind's arguments"
			if err != nil {
				msg += ": " + strings.TrimPrefix(err.Error(), "json: ")
			}
			return nil, argsFailure(argErr("args", loam.FieldInvalidType, "%s", msg))
		}
		if err := check(&a); err != nil {
			var ae *argsError
			if errors.As(err, &ae) {
				return nil, argsFailure(ae)
			}
			return nil, err
		}
		return json.Marshal(a)
	}
}

// argsFailure is the validation error of bad arguments.
func argsFailure(ae *argsError) error {
	var fe loam.FieldErrors
	name := "args"
	if ae.member != "args" {
		name += "." + ae.member
	}
	fe.Add(name, ae.code, "%s", ae.msg)
	return fe.Err(loam.CodeValidationFailed, "the job's arguments are not valid")
}

func checkMail(a *MailArgs) error {
	if len(a.To) == 0 {
		return argErr("to", loam.FieldRequired, "needs at least one address")
	}
	if n := len(a.To) + len(a.Cc) + len(a.Bcc); n > maxRecipients {
		return argErr("to", loam.FieldTooLong, "%d recipients, at most %d", n, maxRecipients)
	}
	for _, l := range []struct {
		member string
		addrs  []string
	}{{"to", a.To}, {"cc", a.Cc}, {"bcc", a.Bcc}} {
		for _, addr := range l.addrs {
			if _, err := mail.ParseAddress(addr); err != nil || strings.ContainsAny(addr, "\r\n") {
				return argErr(l.member, loam.FieldInvalidEmail, "%q is not an email address", addr)
			}
		}
	}
	if a.ReplyTo != "" {
		if _, err := mail.ParseAddress(a.ReplyTo); err != nil || strings.ContainsAny(a.ReplyTo, "\r\n") {
			return argErr("replyTo", loam.FieldInvalidEmail, "%q is not an email address", a.ReplyTo)
		}
	}
	switch {
	case strings.TrimSpace(a.Subject) == "":
		return argErr("subject", loam.FieldRequired, "is required")
	case len(a.Subject) > maxSubject:
		return argErr("subject", loam.FieldTooLong, "at most %d bytes", maxSubject)
	case strings.ContainsAny(a.Subject, "\r\n"):
		return argErr("subject", loam.FieldInvalid, "must be one line")
	case a.Text == "" && a.HTML == "":
		return argErr("text", loam.FieldRequired, "text or html is required")
	case len(a.Text)+len(a.HTML) > maxMailBody:
		return argErr("text", loam.FieldTooLong, "the bodies hold more than %d bytes", maxMailBody)
	}
	return nil
}

var httpMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}

// reservedHeaders are set by the client itself.
var reservedHeaders = []string{"Host", "Content-Length", "Transfer-Encoding", "Connection", "Te", "Trailer", "Upgrade"}

// newHTTPRequest checks an "http" job's arguments and builds its request.
func newHTTPRequest(ctx context.Context, a *HTTPArgs, allow *Allowlist) (*http.Request, error) {
	method := a.Method
	if method == "" {
		method = "POST"
	}
	if !slices.Contains(httpMethods, method) {
		return nil, argErr("method", loam.FieldInvalidChoice, "must be one of %s", strings.Join(httpMethods, ", "))
	}
	if a.URL == "" {
		return nil, argErr("url", loam.FieldRequired, "is required")
	}
	u, err := url.Parse(a.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return nil, argErr("url", loam.FieldInvalidURL, "must be an absolute http or https URL")
	}
	if u.User != nil {
		return nil, argErr("url", loam.FieldInvalidURL, "must not hold credentials: send them in headers")
	}
	if !allow.Allows(u) {
		return nil, argErr("url", loam.FieldInvalid, "%s is not an allowed outbound host (the outboundHosts setting)", u.Host)
	}
	if len(a.Headers) > maxHeaders {
		return nil, argErr("headers", loam.FieldTooLong, "at most %d headers", maxHeaders)
	}
	if a.Body != "" && len(a.JSON) > 0 {
		return nil, argErr("body", loam.FieldInvalid, "send body or json, not both")
	}
	body := []byte(a.Body)
	if len(a.JSON) > 0 {
		body = a.JSON
	}
	if len(body) > maxHTTPBody {
		return nil, argErr("body", loam.FieldTooLong, "at most %d bytes", maxHTTPBody)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, argErr("url", loam.FieldInvalidURL, "%v", err)
	}
	if len(body) == 0 {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	req.Header.Set("User-Agent", "Loam-Jobs/1")
	if len(a.JSON) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range a.Headers {
		if !validHeaderName(k) {
			return nil, argErr("headers", loam.FieldInvalid, "%q is not a header name", k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, argErr("headers", loam.FieldInvalid, "the value of %s must be one line", k)
		}
		if slices.Contains(reservedHeaders, http.CanonicalHeaderKey(k)) {
			return nil, argErr("headers", loam.FieldInvalid, "%s is set by the client", k)
		}
		req.Header.Set(k, v)
	}
	return req, nil
}

// validHeaderName reports whether s is an HTTP token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// redactURL is a URL for error messages: without its query, which may
// hold secrets.
func redactURL(u *url.URL) string {
	c := *u
	c.RawQuery, c.Fragment, c.User = "", "", nil
	return c.String()
}

// CheckJSON checks the arguments of a job of a built-in kind and returns
// them as they are stored: an unknown kind is a validation_failed
// *loam.Error naming "kind", bad arguments one naming "args.<member>".
func (c *Client) CheckJSON(kind string, args json.RawMessage) (json.RawMessage, error) {
	c.mu.RLock()
	b := c.builtins[kind]
	c.mu.RUnlock()
	if b == nil {
		var fe loam.FieldErrors
		fe.Add("kind", loam.FieldInvalidChoice, "must be one of %s", strings.Join(c.Builtins(), ", "))
		return nil, fe.Err(loam.CodeValidationFailed, "this kind cannot be enqueued without Go code")
	}
	return b.check(args)
}

// EnqueueJSON enqueues a job of a built-in kind with arguments as JSON,
// checked first: bad arguments are a validation_failed *loam.Error whose
// fields name them ("args.url"), and an unknown kind one naming "kind".
// Options are checked as Enqueue's are.
func (c *Client) EnqueueJSON(ctx context.Context, kind string, args json.RawMessage, o Opts) (*Enqueued, error) {
	stored, err := c.CheckJSON(kind, args)
	if err != nil {
		return nil, err
	}
	j, err := c.newJob(kind, stored, o, c.now())
	if err != nil {
		return nil, err
	}
	out, err := c.insert(ctx, []*loam.Job{j})
	if err != nil {
		return nil, err
	}
	return &out[0], nil
}
