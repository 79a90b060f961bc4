package mail_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"loam"
	"loam/mail"
	"loam/mail/mailtest"
)

func sender(t *testing.T, srv *mailtest.Server, cfg mail.Config) *mail.SMTP {
	t.Helper()
	cfg.Host, cfg.Port = srv.Host, srv.Port
	if cfg.From == "" {
		cfg.From = "Loam <noreply@example.com>"
	}
	m, err := mail.New(cfg)
	if err != nil {
		t.Fatalf("mail.New: %v", err)
	}
	return m
}

// TestSendEveryKind: each kind of mail reaches a real SMTP server as text
// and HTML, with its link or code, and nothing is left unrendered.
func TestSendEveryKind(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{Username: "loam", Password: "smtp secret"})
	m := sender(t, srv, mail.Config{Username: "loam", Password: "smtp secret", AppName: "Acme"})
	link := "https://app.example.com/auth/users/reset#token=abc.def"
	for i, k := range mail.Kinds {
		in := &loam.Mail{Kind: k, To: "Ann@Example.com", Collection: "users", Link: link, Token: "abc.def",
			Code: "12345678", Valid: time.Hour}
		if err := m.Send(t.Context(), in); err != nil {
			t.Fatalf("send %s: %v", k, err)
		}
		got := srv.WaitFor(t, "ann@example.com", i, 10*time.Second)
		if got.From != "noreply@example.com" || len(got.To) != 1 || got.To[0] != "Ann@Example.com" {
			t.Errorf("%s: envelope from %q to %v", k, got.From, got.To)
		}
		if !strings.Contains(got.Subject, "Acme") || got.Text == "" || got.HTML == "" {
			t.Errorf("%s: subject %q, text %d bytes, html %d bytes", k, got.Subject, len(got.Text), len(got.HTML))
		}
		want := link
		if k == loam.MailOTP {
			want = "12345678"
		}
		for _, body := range []string{got.Text, got.HTML} {
			if !strings.Contains(body, want) || !strings.Contains(body, "1 hour") || strings.Contains(body, "{{") ||
				strings.Contains(body, "no value") {
				t.Errorf("%s: a body lacks %q or 1 hour, or holds template leftovers:\n%s", k, want, body)
			}
		}
		if h := got.Header.Get("Message-ID"); !strings.HasSuffix(h, "@example.com>") {
			t.Errorf("%s: Message-ID %q", k, h)
		}
	}
}

// TestSendFailures: a wrong SMTP password, a server that is gone, and a
// context that ends all come back as errors.
func TestSendFailures(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{Username: "loam", Password: "smtp secret"})
	in := &loam.Mail{Kind: loam.MailOTP, To: "ann@example.com", Code: "1", Valid: time.Minute}
	if err := sender(t, srv, mail.Config{Username: "loam", Password: "wrong"}).Send(t.Context(), in); err == nil {
		t.Error("a wrong SMTP password sent the mail")
	}
	if err := sender(t, srv, mail.Config{}).Send(t.Context(), in); err == nil {
		t.Error("a mail went out without the AUTH the server requires")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := sender(t, srv, mail.Config{Username: "loam", Password: "smtp secret"}).Send(ctx, in); err == nil {
		t.Error("a mail went out with an ended context")
	}
	if n := len(srv.Received()); n != 0 {
		t.Errorf("%d mails arrived, want none", n)
	}
	bad := &loam.Mail{Kind: loam.MailOTP, To: "ann@example.com\r\nBcc: eve@example.com", Code: "1"}
	if err := sender(t, srv, mail.Config{Username: "loam", Password: "smtp secret"}).Send(t.Context(), bad); err == nil {
		t.Error("a recipient with a header in it was sent to")
	}
}

// TestTemplates: templates given in Config replace the built-in ones of
// their kind; broken ones are refused by New.
func TestTemplates(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{})
	m := sender(t, srv, mail.Config{Templates: fstest.MapFS{
		"otp.txt":  {Data: []byte(`{{define "subject"}}Code {{.Code}}{{end}}Use {{.Code}} within {{.Valid}}.`)},
		"otp.html": {Data: []byte(`<p>Use <b>{{.Code}}</b> &lt;{{.Email}}&gt;</p>`)},
	}})
	if err := m.Send(t.Context(), &loam.Mail{Kind: loam.MailOTP, To: "a<b>@example.com", Code: "42", Valid: 5 * time.Minute}); err == nil {
		t.Error("an address with < in it was accepted")
	}
	if err := m.Send(t.Context(), &loam.Mail{Kind: loam.MailOTP, To: "ann@example.com", Code: "42<script>", Valid: 5 * time.Minute}); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := srv.WaitFor(t, "ann@example.com", 0, 10*time.Second)
	if got.Subject != "Code 42<script>" || strings.TrimSpace(got.Text) != "Use 42<script> within 5 minutes." {
		t.Errorf("custom text template: subject %q, text %q", got.Subject, got.Text)
	}
	if !strings.Contains(got.HTML, "42&lt;script&gt;") {
		t.Errorf("the HTML template does not escape: %q", got.HTML)
	}
	for name, tmpl := range map[string]string{"otp.txt": `no subject`, "reset.html": `{{.Nope`} {
		_, err := mail.New(mail.Config{Host: "127.0.0.1", From: "a@example.com", Templates: fstest.MapFS{name: {Data: []byte(tmpl)}}})
		if err == nil {
			t.Errorf("a broken %s was accepted", name)
		}
	}
	if _, err := mail.New(mail.Config{Host: "127.0.0.1", From: "not an address"}); err == nil {
		t.Error("a sender that is not an address was accepted")
	}
}

// TestSendMessage: a composed message (the "mail" job kind) reaches every
// recipient, To and Cc in its headers and Bcc in the envelope only, with
// both bodies.
func TestSendMessage(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{})
	m := sender(t, srv, mail.Config{})
	in := &loam.Message{To: []string{"Ann <ann@example.com>"}, Cc: []string{"bob@example.com"},
		Bcc: []string{"cy@example.com"}, ReplyTo: "desk@example.com", Subject: "Your  invoice",
		Text: "line one\nline two", HTML: "<p>line one</p>"}
	if err := m.SendMessage(t.Context(), in); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	got := srv.WaitFor(t, "ann@example.com", 0, 10*time.Second)
	if len(got.To) != 3 {
		t.Errorf("envelope recipients %v, want ann, bob and cy", got.To)
	}
	if got.Subject != "Your invoice" || !strings.Contains(got.Text, "line two") || !strings.Contains(got.HTML, "<p>line one</p>") {
		t.Errorf("subject %q, text %q, html %q", got.Subject, got.Text, got.HTML)
	}
	if h := got.Header.Get("Cc"); !strings.Contains(h, "bob@example.com") || strings.Contains(string(got.Raw), "cy@example.com") {
		t.Errorf("Cc %q; Bcc must not appear in the message", h)
	}
	if h := got.Header.Get("Reply-To"); !strings.Contains(h, "desk@example.com") {
		t.Errorf("Reply-To %q", h)
	}
	for _, bad := range []*loam.Message{
		{Subject: "x", Text: "no recipient"},
		{To: []string{"ann@example.com"}, Subject: "no body"},
		{To: []string{"not an address"}, Text: "x"},
	} {
		if err := m.SendMessage(t.Context(), bad); err == nil {
			t.Errorf("SendMessage(%+v) succeeded", bad)
		}
	}
}

// TestTLSModes: the TLS mode decides how the connection is secured. The
// test server offers no TLS: auto and none send in plain text; starttls
// refuses to send without STARTTLS, and tls cannot speak to it at all.
func TestTLSModes(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{})
	for i, tc := range []struct {
		mode string
		ok   bool
	}{{"", true}, {loam.SMTPTLSAuto, true}, {loam.SMTPTLSNone, true}, {loam.SMTPTLSStartTLS, false}, {loam.SMTPTLSImplicit, false}} {
		to := "mode" + strconv.Itoa(i) + "@example.com"
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err := sender(t, srv, mail.Config{TLS: tc.mode}).SendMessage(ctx, &loam.Message{To: []string{to}, Subject: "x", Text: "x"})
		cancel()
		if (err == nil) != tc.ok {
			t.Errorf("TLS mode %q: err %v, want success %v", tc.mode, err, tc.ok)
		}
		if !tc.ok {
			for _, m := range srv.Received() {
				if slices.Contains(m.To, to) {
					t.Errorf("TLS mode %q: the mail went out in plain text", tc.mode)
				}
			}
		}
	}
	if _, err := mail.New(mail.Config{Host: "127.0.0.1", From: "a@example.com", TLS: "ssl"}); err == nil {
		t.Error("an unknown TLS mode was accepted")
	}
	// FromSettings builds the same sender from the settings' values.
	tr, err := mail.FromSettings(loam.MailSettings{SMTP: loam.SMTPSettings{Host: srv.Host, Port: srv.Port, TLS: loam.SMTPTLSNone},
		Sender: loam.SenderSettings{Name: "Acme", Address: "noreply@acme.example"}})
	if err != nil {
		t.Fatalf("FromSettings: %v", err)
	}
	if err := tr.SendMessage(t.Context(), &loam.Message{To: []string{"fs@example.com"}, Subject: "x", Text: "x"}); err != nil {
		t.Fatalf("send through FromSettings: %v", err)
	}
	if got := srv.WaitFor(t, "fs@example.com", 0, 10*time.Second); !strings.Contains(got.Header.Get("From"), `"Acme" <noreply@acme.example>`) &&
		!strings.Contains(got.Header.Get("From"), `Acme <noreply@acme.example>`) {
		t.Errorf("From %q", got.Header.Get("From"))
	}
}
