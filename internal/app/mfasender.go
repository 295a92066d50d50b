package app

import (
	"context"
	"log/slog"

	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/notify"
)

// notifierOTPs delivers MFA passcodes until phone delivery and the
// notification templates are wired: email passcodes through the
// environment's notifier (SMTP, or the log), SMS and voice passcodes to
// the log.
type notifierOTPs struct {
	notifier notify.Notifier
	log      *slog.Logger
}

func (n notifierOTPs) SendOTP(ctx context.Context, m mfa.OTP) error {
	subject := "Your one-time passcode"
	if m.Template == mfa.PurposePairing {
		subject = "Your device pairing passcode"
	}
	if m.Channel == mfa.TypeEmail {
		return n.notifier.Notify(ctx, notify.Message{Kind: m.Template, To: m.To, Subject: subject,
			Text: subject + ": " + m.Code, Code: m.Code, EnvironmentID: m.EnvironmentID, UserID: m.UserID})
	}
	n.log.InfoContext(ctx, "MFA passcode (no phone delivery configured)", "channel", m.Channel, "to", m.To,
		"environmentId", m.EnvironmentID, "userId", m.UserID, "template", m.Template, "code", m.Code)
	return nil
}
