package notify

import (
	"context"
	"log/slog"
	"sync"
)

// PhoneMessage is a text message or a voice call to a phone: a one-time
// passcode worded by a notification template.
type PhoneMessage struct {
	EnvironmentID string
	UserID        string
	Channel       string // SMS | VOICE
	To            string // E.164, with its leading +
	// Text is the rendered message.
	Text string
	Code string
	// Template is the content before rendering and Vars its variables,
	// for senders that render the passcode their own way (a voice
	// provider's beforeTag and afterTag around each digit).
	Template string
	Vars     map[string]string
	Locale   string
	// Sender is the SMS content's sender id; Voice the voice content's
	// voice.
	Sender string
	Voice  string
}

// PhoneSender delivers text messages and voice calls.
type PhoneSender interface {
	SendPhone(ctx context.Context, m PhoneMessage) error
}

// LogPhoneSender writes phone messages to the log: the default when an
// environment has no phone delivery settings, as email codes go to the
// log without an SMTP server.
type LogPhoneSender struct{ Log *slog.Logger }

func (s LogPhoneSender) SendPhone(ctx context.Context, m PhoneMessage) error {
	l := s.Log
	if l == nil {
		l = slog.Default()
	}
	l.InfoContext(ctx, "phone notification (no phone delivery settings)", "channel", m.Channel, "to", m.To,
		"environmentId", m.EnvironmentID, "userId", m.UserID, "code", m.Code, "text", m.Text)
	return nil
}

// MemoryPhoneSender keeps phone messages in memory: tests read the codes
// from it.
type MemoryPhoneSender struct {
	mu   sync.Mutex
	msgs []PhoneMessage
}

func (s *MemoryPhoneSender) SendPhone(_ context.Context, m PhoneMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	return nil
}

// Last returns the newest message to number to, if any.
func (s *MemoryPhoneSender) Last(to string) (PhoneMessage, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.msgs) - 1; i >= 0; i-- {
		if s.msgs[i].To == to {
			return s.msgs[i], true
		}
	}
	return PhoneMessage{}, false
}
