package loam

import (
	"context"
	"errors"
)

// Message is one email as its sender composed it: the built-in job kind
// "mail" sends one. The From address is the MessageSender's own.
type Message struct {
	To      []string
	Cc      []string
	Bcc     []string
	ReplyTo string
	Subject string
	// Text and HTML are the bodies; at least one is set, and a mail with
	// both is sent as multipart/alternative.
	Text string
	HTML string
}

// MessageSender delivers composed emails (an SMTP client, a mail API).
// Send returns nil once the message is accepted for delivery; an error
// means it was not sent and may be tried again.
type MessageSender interface {
	SendMessage(ctx context.Context, m *Message) error
}

// ErrNoMessageSender is the error of sending mail from an App configured
// without a MessageSender.
var ErrNoMessageSender = errors.New("no mail sender is configured (loam.Config.MessageSender): the mail was not sent")

// MessageSender returns the app's sender of composed emails: the one of
// Config.MessageSender, else one that sends through the transport of the
// current mail settings (ErrNoMessageSender while they name no SMTP host);
// nil when it has neither.
func (a *App) MessageSender() MessageSender {
	if a.sender != nil {
		return a.sender
	}
	if a.newTransport != nil {
		return liveSender{a}
	}
	return nil
}
