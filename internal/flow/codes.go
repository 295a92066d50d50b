package flow

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"

	"github.com/gatehouse-id/gatehouse/internal/notify"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Code is a one-time code a flow sent to its user (password recovery,
// email verification), as the method that sent it keeps it: its hash.
// The zero Code is no code.
type Code struct {
	Hash      string `json:"hash,omitempty"`
	ExpiresAt int64  `json:"expiresAt,omitempty"` // unix ms
	Attempts  int    `json:"attempts,omitempty"`
}

// CodeMail is what a code's message says.
type CodeMail struct {
	Kind    string // recovery | verification: the code is only good for its kind
	Subject string
	// What the code is, as the message names it ("verification code").
	What string
}

// newCode is an 8-digit one-time code.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%08d", n.Int64())
}

func (s *Step) codeHash(kind, code string) string {
	return session.HashToken(s.Flow.ID + ":" + kind + ":" + code)
}

// SendCode makes a code of m.Kind for u, sends it, and keeps it in c (the
// method's state) once sent. With no user (a username that names none),
// or one without an email address, it keeps a hash that no code matches
// and sends nothing, so the answer does not tell. Sends are limited per
// source address and per recipient username (Limits), a username that
// names no user counting as if it did.
func (s *Step) SendCode(ctx context.Context, u *store.User, m CodeMail, c *Code) error {
	name := s.Identifier()
	if u != nil {
		name = u.Username
	}
	recipient := recipientKey(s.Flow.EnvironmentID, name)
	if recipient == "" && s.Flow.UserID != "" {
		recipient = s.Flow.EnvironmentID + "/id/" + s.Flow.UserID
	}
	addr, err := s.e.Limits.sendCheck(ctx, recipient, true, s.Now)
	if err != nil {
		return err
	}
	code := newCode()
	next := Code{Hash: s.codeHash(m.Kind, code), ExpiresAt: s.Now.Add(CodeLifetime).UnixMilli()}
	if u == nil || u.Email == "" {
		next.Hash = session.HashToken(secrets.Random(32))
	} else if s.e.Notifier != nil {
		minutes := int(CodeLifetime.Minutes())
		msg := notify.Message{Kind: m.Kind, To: u.Email, EnvironmentID: u.EnvironmentID, UserID: u.ID, Code: code, Subject: m.Subject,
			Text: fmt.Sprintf("Hello %s,\n\nYour %s is %s. It expires in %d minutes.\n", u.Username, m.What, code, minutes)}
		if err := s.e.Notifier.Notify(ctx, msg); err != nil {
			s.e.Logger().ErrorContext(ctx, "sending a code failed", "kind", m.Kind, "user", u.ID, "err", err)
			s.e.Limits.unsend(addr, recipient, s.Now)
			return &wire.Error{Status: 503, Code: "SERVICE_UNAVAILABLE", Message: "The code could not be sent. Try again later."}
		}
	}
	*c = next
	return nil
}

// CheckCode compares code with c, a code of kind; target names the field
// in errors. A wrong code counts, and the fifth voids it.
func (s *Step) CheckCode(ctx context.Context, c *Code, kind, code, target string) error {
	if c == nil || c.Hash == "" || c.Attempts >= maxCodeAttempts || s.Now.UnixMilli() >= c.ExpiresAt {
		return wire.InvalidData(wire.InvalidValue(target, "The code has expired or was used too many times: send a new one."))
	}
	// The attempt is counted, and saved with the flow's version check,
	// before the code is compared: of guesses sent in parallel only the
	// one whose save wins is compared at all.
	c.Attempts++
	if err := s.Save(ctx); err != nil {
		return err
	}
	if secrets.Equal(c.Hash, s.codeHash(kind, code)) {
		return nil
	}
	return wire.InvalidData(wire.InvalidValue(target, fmt.Sprintf("The code is not correct. %d attempt(s) remain.", maxCodeAttempts-c.Attempts)))
}

// AllowSend admits one more code sent to u by a method that sends its own
// (MFA passcodes), under the same limits as SendCode's, per source address
// and per user. undo gives the send back when it did not happen.
func (s *Step) AllowSend(ctx context.Context, u *store.User) (undo func(), err error) {
	recipient := recipientKey(s.Flow.EnvironmentID, u.Username)
	if recipient == "" {
		recipient = s.Flow.EnvironmentID + "/id/" + u.ID
	}
	addr, err := s.e.Limits.sendCheck(ctx, recipient, true, s.Now)
	if err != nil {
		return nil, err
	}
	return func() { s.e.Limits.unsend(addr, recipient, s.Now) }, nil
}
