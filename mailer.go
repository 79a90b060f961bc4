package loam

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// MailKind is a kind of mail the auth flows send.
type MailKind string

// The mails of the auth flows.
const (
	MailVerification MailKind = "verification"
	MailReset        MailKind = "reset"
	MailOTP          MailKind = "otp"
	MailEmailChange  MailKind = "email-change"
)

// Mail is one message of an auth flow, as a Mailer renders and sends it.
type Mail struct {
	Kind MailKind
	// To is the address the mail goes to.
	To         string
	Collection string
	// Link is the page that completes the flow, with the token in its
	// fragment (verification, reset, email change); "" when the App has
	// no AppURL.
	Link string
	// Token is what the page posts to the flow's confirm route.
	Token string
	// Code is the one-time code of an OTP mail.
	Code string
	// Valid is how long the token or code stays valid.
	Valid time.Duration
}

// Mailer delivers the mails of the auth flows; mail.SMTP is the
// implementation. Send renders m and delivers it, or says why not.
type Mailer interface {
	Send(ctx context.Context, m *Mail) error
}

// mailQueue sends mails in the background, one at a time, so that a
// request that asks for a mail answers as fast whether a mail goes out or
// not (no one learns from the timing whether an account exists), and a
// slow mail server never holds a request. The Mailer is asked for at send
// time, so a mail goes through the SMTP server of the current settings.
type mailQueue struct {
	m    func(ctx context.Context) Mailer // nil when the app can never send mail
	log  *slog.Logger
	mu   sync.Mutex
	ch   chan *Mail
	done chan struct{}
	open bool
}

// MailTimeout bounds the delivery of one mail.
const MailTimeout = 30 * time.Second

func newMailQueue(m func(ctx context.Context) Mailer, log *slog.Logger) *mailQueue {
	return &mailQueue{m: m, log: log, ch: make(chan *Mail, 256), done: make(chan struct{})}
}

func (q *mailQueue) start() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.open || q.m == nil {
		return
	}
	q.open = true
	go func() {
		defer close(q.done)
		for m := range q.ch {
			ctx, cancel := context.WithTimeout(context.Background(), MailTimeout)
			if mailer := q.m(ctx); mailer == nil {
				q.log.Warn("no SMTP server is configured: a mail was not sent", "kind", m.Kind, "collection", m.Collection)
			} else if err := mailer.Send(ctx, m); err != nil {
				q.log.Error("sending a mail failed", "kind", m.Kind, "collection", m.Collection, "err", err)
			}
			cancel()
		}
	}()
}

// stop sends what is queued and ends the sender.
func (q *mailQueue) stop() {
	q.mu.Lock()
	if !q.open {
		q.mu.Unlock()
		return
	}
	q.open = false
	close(q.ch)
	q.mu.Unlock()
	<-q.done
}

// enqueue hands m to the sender; it never waits.
func (q *mailQueue) enqueue(m *Mail) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.m == nil:
		q.log.Warn("no mailer is configured: a mail was not sent", "kind", m.Kind, "collection", m.Collection)
	case !q.open:
		q.log.Warn("the app is not running: a mail was not sent", "kind", m.Kind, "collection", m.Collection)
	default:
		select {
		case q.ch <- m:
		default:
			q.log.Error("the mail queue is full: a mail was dropped", "kind", m.Kind, "collection", m.Collection)
		}
	}
}
