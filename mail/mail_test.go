package mail_test

import (
	"context"
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
