// Package mail sends Loam's mails over SMTP. Each kind of message
// (verification, password reset, one-time code, email change) has a text
// and an HTML template; a mail goes out as multipart/alternative with both.
//
//	m, err := mail.New(mail.Config{Host: "smtp.example.com", Port: 587,
//		Username: "loam", Password: "...", From: "Loam <noreply@example.com>"})
//	app, _ := loam.New(loam.Config{Store: store, Mailer: m, AppURL: "https://app.example.com"})
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"loam"
)

//go:embed templates/*
var builtin embed.FS

// Config configures an SMTP sender. Host and From are required.
type Config struct {
	// Host and Port name the SMTP server (port default 587). Port 465
	// speaks TLS from the start; on others the connection turns to TLS
	// with STARTTLS when the server offers it.
	Host string
	Port int
	// TLS is how the connection is secured: loam.SMTPTLSAuto ("auto", the
	// default: as just said), loam.SMTPTLSStartTLS ("starttls": STARTTLS
	// is required), loam.SMTPTLSImplicit ("tls": TLS from the start on any
	// port) or loam.SMTPTLSNone ("none": never).
	TLS string
	// Username and Password, when set, sign in with AUTH PLAIN, which the
	// client sends only over TLS or to a server on this machine.
	Username string
	Password string
	// From is the sender: "Loam <noreply@example.com>" or an address.
	From string
	// AppName names the product in subjects and bodies (default "Loam").
	AppName string
	// Templates replaces built-in templates: <kind>.txt (which defines
	// "subject") and <kind>.html, kind being verification, reset, otp or
	// email-change. A kind it lacks keeps the built-in one.
	Templates fs.FS
	// LocalName is the name the client greets the server with (default
	// "localhost").
	LocalName string
	// Logger receives a line per mail sent; nil discards them.
	Logger *slog.Logger
}

// SMTP sends mails through one SMTP server. It is safe for concurrent use.
type SMTP struct {
	cfg   Config
	from  *netmail.Address
	kinds map[loam.MailKind]*kind
}

var _ loam.Mailer = (*SMTP)(nil)

// kind is the templates of one kind of mail.
type kind struct {
	text *texttemplate.Template // defines "subject" too
	html *htmltemplate.Template
}

// Kinds are the kinds of mail the templates cover.
var Kinds = []loam.MailKind{loam.MailVerification, loam.MailReset, loam.MailOTP, loam.MailEmailChange}

// New checks cfg and parses the templates.
func New(cfg Config) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, errors.New("mail: Config.Host is required")
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("mail: port %d is out of range", cfg.Port)
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = loam.SMTPTLSAuto
	case loam.SMTPTLSAuto, loam.SMTPTLSStartTLS, loam.SMTPTLSImplicit, loam.SMTPTLSNone:
	default:
		return nil, fmt.Errorf("mail: TLS mode %q: want auto, starttls, tls or none", cfg.TLS)
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail: the sender %q is not an address: %w", cfg.From, err)
	}
	if cfg.AppName == "" {
		cfg.AppName = "Loam"
	}
	if cfg.LocalName == "" {
		cfg.LocalName = "localhost"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &SMTP{cfg: cfg, from: from, kinds: map[loam.MailKind]*kind{}}
	for _, k := range Kinds {
		tk, err := parseKind(cfg.Templates, k)
		if err != nil {
			return nil, err
		}
		s.kinds[k] = tk
	}
	return s, nil
}

// parseKind reads the templates of k from fsys, or the built-in ones.
func parseKind(fsys fs.FS, k loam.MailKind) (*kind, error) {
	read := func(ext string) (string, error) {
		name := string(k) + ext
		if fsys != nil {
			if b, err := fs.ReadFile(fsys, name); err == nil {
				return string(b), nil
			} else if !errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("mail: read template %s: %w", name, err)
			}
		}
		b, err := builtin.ReadFile("templates/" + name)
		return string(b), err
	}
	txt, err := read(".txt")
	if err != nil {
		return nil, err
	}
	html, err := read(".html")
	if err != nil {
		return nil, err
	}
	tk := &kind{}
	if tk.text, err = texttemplate.New(string(k)).Option("missingkey=error").Parse(txt); err != nil {
		return nil, fmt.Errorf("mail: template %s.txt: %w", k, err)
	}
	if tk.text.Lookup("subject") == nil {
		return nil, fmt.Errorf("mail: template %s.txt defines no subject", k)
	}
	if tk.html, err = htmltemplate.New(string(k)).Option("missingkey=error").Parse(html); err != nil {
		return nil, fmt.Errorf("mail: template %s.html: %w", k, err)
	}
	return tk, nil
}

// Data is what the templates read.
type Data struct {
	AppName    string
	Email      string // the address the mail goes to
	Collection string
	Link       string // the page that completes the flow ("" without an app URL)
	Token      string
	Code       string // the one-time code
	Valid      string // how long the link or code works: "1 hour", "5 minutes"
}

// Message renders m as a complete message: headers, then a text and an
// HTML part.
func (s *SMTP) Message(m *loam.Mail) ([]byte, error) {
	k := s.kinds[m.Kind]
	if k == nil {
		return nil, fmt.Errorf("mail: no templates for %q", m.Kind)
	}
	to, err := netmail.ParseAddress(m.To)
	if err != nil || to.Name != "" {
		return nil, fmt.Errorf("mail: the recipient is not an address: %w", err)
	}
	d := Data{AppName: s.cfg.AppName, Email: to.Address, Collection: m.Collection, Link: m.Link, Token: m.Token,
		Code: m.Code, Valid: duration(m.Valid)}
	var subject, text, html bytes.Buffer
	if err := k.text.ExecuteTemplate(&subject, "subject", d); err != nil {
		return nil, fmt.Errorf("mail: subject of %s: %w", m.Kind, err)
	}
	if err := k.text.Execute(&text, d); err != nil {
		return nil, fmt.Errorf("mail: text of %s: %w", m.Kind, err)
	}
	if err := k.html.Execute(&html, d); err != nil {
		return nil, fmt.Errorf("mail: html of %s: %w", m.Kind, err)
	}
	var b bytes.Buffer
	body := multipart.NewWriter(&b) // writes the parts; the headers go first
	subj := strings.Join(strings.Fields(subject.String()), " ")
	var h bytes.Buffer
	header := func(k, v string) { h.WriteString(k + ": " + v + "\r\n") }
	header("From", s.from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", subj))
	header("Date", time.Now().Format(time.RFC1123Z))
	header("Message-ID", "<"+randomHex()+"@"+domainOf(s.from.Address)+">")
	header("MIME-Version", "1.0")
	header("Auto-Submitted", "auto-generated")
	header("Content-Type", `multipart/alternative; boundary="`+body.Boundary()+`"`)
	h.WriteString("\r\n")
	for _, part := range []struct {
		ctype string
		text  []byte
	}{{"text/plain; charset=utf-8", text.Bytes()}, {"text/html; charset=utf-8", html.Bytes()}} {
		w, err := body.CreatePart(textproto.MIMEHeader{"Content-Type": {part.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write(bytes.ReplaceAll(part.text, []byte("\n"), []byte("\r\n"))); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := body.Close(); err != nil {
		return nil, err
	}
	return append(h.Bytes(), b.Bytes()...), nil
}

var _ loam.MessageSender = (*SMTP)(nil)

// SendMessage delivers a composed message (the built-in "mail" job kind)
// from the configured sender: To and Cc in the headers, Bcc in the envelope
// only; a text and an HTML body go as multipart/alternative.
func (s *SMTP) SendMessage(ctx context.Context, m *loam.Message) error {
	var rcpts []string
	list := func(name string, addrs []string) (string, error) {
		out := make([]string, 0, len(addrs))
		for _, a := range addrs {
			p, err := netmail.ParseAddress(a)
			if err != nil {
				return "", fmt.Errorf("mail: %s %q is not an address: %w", name, a, err)
			}
			rcpts = append(rcpts, p.Address)
			out = append(out, p.String())
		}
		return strings.Join(out, ", "), nil
	}
	to, err := list("To", m.To)
	if err != nil {
		return err
	}
	cc, err := list("Cc", m.Cc)
	if err != nil {
		return err
	}
	if _, err := list("Bcc", m.Bcc); err != nil {
		return err
	}
	if len(rcpts) == 0 || (m.Text == "" && m.HTML == "") {
		return errors.New("mail: a message needs a recipient and a body")
	}
	var h bytes.Buffer
	header := func(k, v string) {
		if v != "" {
			h.WriteString(k + ": " + v + "\r\n")
		}
	}
	header("From", s.from.String())
	header("To", to)
	header("Cc", cc)
	if m.ReplyTo != "" {
		rt, err := netmail.ParseAddress(m.ReplyTo)
		if err != nil {
			return fmt.Errorf("mail: Reply-To %q is not an address: %w", m.ReplyTo, err)
		}
		header("Reply-To", rt.String())
	}
	header("Subject", mime.QEncoding.Encode("utf-8", strings.Join(strings.Fields(m.Subject), " ")))
	header("Date", time.Now().Format(time.RFC1123Z))
	header("Message-ID", "<"+randomHex()+"@"+domainOf(s.from.Address)+">")
	header("MIME-Version", "1.0")
	var b bytes.Buffer
	parts := []struct{ ctype, text string }{{"text/plain; charset=utf-8", m.Text}, {"text/html; charset=utf-8", m.HTML}}
	body := multipart.NewWriter(&b)
	header("Content-Type", `multipart/alternative; boundary="`+body.Boundary()+`"`)
	h.WriteString("\r\n")
	for _, part := range parts {
		if part.text == "" {
			continue
		}
		w, err := body.CreatePart(textproto.MIMEHeader{"Content-Type": {part.ctype},
			"Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(strings.ReplaceAll(strings.ReplaceAll(part.text, "\r\n", "\n"), "\n", "\r\n"))); err != nil {
			return err
		}
		if err := qp.Close(); err != nil {
			return err
		}
	}
	if err := body.Close(); err != nil {
		return err
	}
	if err := s.deliver(ctx, rcpts, append(h.Bytes(), b.Bytes()...)); err != nil {
		return fmt.Errorf("mail: send a message through %s: %w", net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)), err)
	}
	return nil
}

// Send renders m and delivers it to the SMTP server, within ctx.
func (s *SMTP) Send(ctx context.Context, m *loam.Mail) error {
	msg, err := s.Message(m)
	if err != nil {
		return err
	}
	to, _ := netmail.ParseAddress(m.To) // checked by Message
	if err := s.deliver(ctx, []string{to.Address}, msg); err != nil {
		return fmt.Errorf("mail: send %s through %s: %w", m.Kind, net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port)), err)
	}
	s.cfg.Logger.Info("mail sent", "kind", m.Kind, "collection", m.Collection)
	return nil
}

func (s *SMTP) deliver(ctx context.Context, rcpts []string, msg []byte) error {
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	tlsConfig := &tls.Config{ServerName: s.cfg.Host, MinVersion: tls.VersionTLS12}
	var conn net.Conn
	var err error
	implicit := s.cfg.TLS == loam.SMTPTLSImplicit || s.cfg.TLS == loam.SMTPTLSAuto && s.cfg.Port == 465
	if implicit {
		conn, err = (&tls.Dialer{Config: tlsConfig}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // ctx ends the conversation
	defer stop()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	c, err := smtp.NewClient(conn, s.cfg.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello(s.cfg.LocalName); err != nil {
		return err
	}
	if !implicit && s.cfg.TLS != loam.SMTPTLSNone {
		ok, _ := c.Extension("STARTTLS")
		if ok {
			if err := c.StartTLS(tlsConfig); err != nil {
				return err
			}
		} else if s.cfg.TLS == loam.SMTPTLSStartTLS {
			return errors.New("the server does not offer STARTTLS, which the TLS mode starttls requires")
		}
	}
	if s.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("the server offers no AUTH, but a username is configured")
		}
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, s.cfg.Host)); err != nil {
			return err
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return err
	}
	for _, to := range rcpts {
		if err := c.Rcpt(to); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// FromSettings returns an SMTP sender for mail settings, as
// loam.Config.MailTransport takes it: the app calls it again whenever the
// settings change (PATCH /api/settings).
func FromSettings(ms loam.MailSettings) (loam.MailTransport, error) {
	s, err := New(Config{Host: ms.SMTP.Host, Port: ms.SMTP.Port, TLS: ms.SMTP.TLS, Username: ms.SMTP.Username,
		Password: ms.SMTP.Password, From: ms.Sender.String()})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// duration says how long d is, in words: "5 minutes", "1 hour", "3 days".
func duration(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.FormatInt(n, 10) + " " + unit + "s"
	}
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return plural(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	default:
		return plural(max(1, int64((d+time.Minute-1)/time.Minute)), "minute")
	}
}

func randomHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func domainOf(address string) string {
	if i := strings.LastIndexByte(address, '@'); i >= 0 {
		return address[i+1:]
	}
	return "localhost"
}
