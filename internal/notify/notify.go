// Package notify delivers messages to users: one-time codes for password
// recovery and email verification today, by SMTP, to the log, or (tests)
// to memory.
package notify

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"strings"
	"sync"
	"time"
)

// Message is a code sent to a user: password recovery or email
// verification.
type Message struct {
	Kind          string // recovery | verification
	To            string
	Subject       string
	Text          string
	Code          string
	EnvironmentID string
	UserID        string
	// ContentType is the body's: text/plain (when "") or text/html (a
	// notification template's email content may be HTML).
	ContentType string
}

// Notifier delivers messages to users.
type Notifier interface {
	Notify(ctx context.Context, m Message) error
}

// LogNotifier writes messages to the log: the default when no SMTP server
// is configured, so that a local or CI deployment can still recover
// passwords.
type LogNotifier struct{ Log *slog.Logger }

func (n LogNotifier) Notify(ctx context.Context, m Message) error {
	l := n.Log
	if l == nil {
		l = slog.Default()
	}
	l.InfoContext(ctx, "notification (no SMTP server configured)", "kind", m.Kind, "to", m.To, "environmentId", m.EnvironmentID,
		"userId", m.UserID, "code", m.Code)
	return nil
}

// SMTPNotifier sends mail through an SMTP server (STARTTLS when the
// server offers it; PLAIN auth when a username is set).
type SMTPNotifier struct {
	Addr     string // host:port
	From     string
	Username string
	Password string
	Timeout  time.Duration
}

func (n SMTPNotifier) Notify(ctx context.Context, m Message) error {
	if strings.ContainsAny(m.To, "\r\n") || strings.ContainsAny(m.Subject, "\r\n") {
		return fmt.Errorf("smtp: header injection refused")
	}
	timeout := n.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", n.Addr)
	if err != nil {
		return err
	}
	conn.SetDeadline(time.Now().Add(timeout))
	host, _, _ := net.SplitHostPort(n.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(tlsConfig(host)); err != nil {
			return err
		}
	}
	if n.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", n.Username, n.Password, host)); err != nil {
			return err
		}
	}
	if err := c.Mail(n.From); err != nil {
		return err
	}
	if err := c.Rcpt(m.To); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	body := "From: " + n.From + "\r\nTo: " + m.To + "\r\nSubject: " + m.Subject +
		"\r\nMIME-Version: 1.0\r\nContent-Type: " + bodyType(m.ContentType) + "; charset=utf-8\r\n\r\n" + strings.ReplaceAll(m.Text, "\n", "\r\n")
	if _, err := w.Write([]byte(body)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// MemoryNotifier keeps messages in memory: tests read the codes from it.
type MemoryNotifier struct {
	mu   sync.Mutex
	msgs []Message
}

func (n *MemoryNotifier) Notify(_ context.Context, m Message) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.msgs = append(n.msgs, m)
	return nil
}

// Last returns the newest message to address, if any.
func (n *MemoryNotifier) Last(to string) (Message, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := len(n.msgs) - 1; i >= 0; i-- {
		if strings.EqualFold(n.msgs[i].To, to) {
			return n.msgs[i], true
		}
	}
	return Message{}, false
}

// Count is how many messages were sent.
func (n *MemoryNotifier) Count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.msgs)
}

func tlsConfig(host string) *tls.Config {
	return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
}

// bodyType is the Content-Type of a message body: text/html when asked,
// else text/plain (never a caller's raw value in a header).
func bodyType(ct string) string {
	if strings.EqualFold(strings.TrimSpace(ct), "text/html") {
		return "text/html"
	}
	return "text/plain"
}
