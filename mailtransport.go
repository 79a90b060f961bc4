package loam

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
)

// MailTransport sends the mails of the auth flows and composed messages
// through one mail server; mail.SMTP is one.
type MailTransport interface {
	Mailer
	MessageSender
}

// builtTransport is the transport of one version of the mail settings.
type builtTransport struct {
	ms  MailSettings
	t   MailTransport
	err error
}

// transport returns the transport of the current mail settings, built by
// Config.MailTransport when they change; nil without one or without an
// SMTP host.
func (a *App) transport(ctx context.Context) (MailTransport, error) {
	if a.newTransport == nil {
		return nil, nil
	}
	ms := a.Settings(ctx).Mail()
	if ms.SMTP.Host == "" {
		return nil, nil
	}
	if b := a.built.Load(); b != nil && b.ms == ms {
		return b.t, b.err
	}
	t, err := a.newTransport(ms)
	if err != nil {
		err = fmt.Errorf("mail transport: %w", err)
	}
	a.built.Store(&builtTransport{ms: ms, t: t, err: err})
	return t, err
}

// mailer returns what sends the auth flows' mails now: Config.Mailer, or
// the transport of the current settings; nil when there is none.
func (a *App) mailer(ctx context.Context) Mailer {
	if a.fixedMailer != nil {
		return a.fixedMailer
	}
	t, err := a.transport(ctx)
	if err != nil {
		a.log.Error("no mail transport", "err", err)
		return nil
	}
	if t == nil {
		return nil
	}
	return t
}

// liveSender sends composed messages through the transport of the
// current settings.
type liveSender struct{ a *App }

func (l liveSender) SendMessage(ctx context.Context, m *Message) error {
	t, err := l.a.transport(ctx)
	if err != nil {
		return err
	}
	if t == nil {
		return ErrNoMessageSender
	}
	return t.SendMessage(ctx, m)
}

// SendTestMail sends a short mail to the address to through the mail
// server of the current settings, and waits for the server's answer
// (superusers only). A bad address is a validation_failed *Error naming
// "to"; no SMTP host is one naming "smtp.host"; a server that does not take
// the mail is an unavailable *Error saying why.
func (a *App) SendTestMail(ctx context.Context, who *Principal, to string) error {
	if err := who.InArea(AreaSettings); err != nil {
		return err
	}
	var fe FieldErrors
	if addr, err := mail.ParseAddress(to); err != nil || addr.Address != to || strings.ContainsAny(to, "\r\n") {
		fe.Add("to", FieldInvalidEmail, "must be an email address")
		return fe.Err(CodeValidationFailed, "the test mail needs an address")
	}
	sender := a.MessageSender()
	if a.sender == nil {
		if t, err := a.transport(ctx); err != nil {
			return Errorf(CodeUnavailable, "the mail settings do not work: %v", err)
		} else if t == nil {
			fe.Add("smtp.host", FieldRequired, "set an SMTP host first")
			return fe.Err(CodeValidationFailed, "no SMTP server is configured")
		}
	}
	if sender == nil {
		return Errorf(CodeUnavailable, "no mail sender is configured")
	}
	ctx, cancel := context.WithTimeout(ctx, MailTimeout)
	defer cancel()
	err := sender.SendMessage(ctx, &Message{To: []string{to}, Subject: "Loam: a test mail",
		Text: "This mail was sent to test the mail settings of Loam. It went through, so they work.\n"})
	if err != nil {
		a.log.Warn("the test mail failed", "err", err)
		return Errorf(CodeUnavailable, "the mail server did not take the mail: %v", err)
	}
	return nil
}
