package authsvc

import (
	"context"
	"encoding/json"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/telemetry"
)

// Token issuance and revocation and sign-off record activities (through
// Service.Audit) and count telemetry.TokensIssued. What they record is
// what the request has already read: no store read is made for an
// activity, so client_credentials costs one allocation and a queue send
// more.

// grantLabels are the telemetry.TokensIssued labels of the grant types
// (a fixed set), and the activity's details that name the grant.
var grantLabels = map[string]string{
	"authorization_code":   "authorization_code",
	"client_credentials":   "client_credentials",
	"refresh_token":        "refresh_token",
	deviceCodeGrantType:    "device_code",
	tokenExchangeGrantType: "token_exchange",
	"implicit":             "implicit",
}

var grantDetails = func() map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for gt, label := range grantLabels {
		b, _ := json.Marshal(map[string]string{"grantType": gt})
		out[label] = b
	}
	return out
}()

// recordTokens records the access token issued to app by grant type gt,
// for u (nil for an application's own token; subject names it when only
// its id is at hand).
func (s *Service) recordTokens(ctx context.Context, envID string, app *config.Application, gt string, u *store.User, subject string) {
	label := grantLabels[gt]
	telemetry.TokensIssued.WithLabelValues(label).Inc()
	if s.Audit == nil {
		return
	}
	a := audit.NewActivity(envID, audit.AccessTokenCreated)
	a.Client = audit.ClientActor(envID, app.ID, app.Name)
	a.Details = grantDetails[label]
	switch {
	case u != nil:
		a.User = audit.UserActor(u)
		a.Resources = []store.ActivityResource{audit.UserResource(u)}
	case subject != "" && subject != app.ID:
		a.User = &store.ActivityActor{ID: subject, Type: audit.ActorUser, EnvironmentID: envID}
		a.Resources = []store.ActivityResource{{ID: subject, Type: audit.ResUser, EnvironmentID: envID}}
	default:
		a.Resources = []store.ActivityResource{{ID: app.ID, Name: app.Name, Type: audit.ResApplication, EnvironmentID: envID}}
	}
	s.Audit.Record(ctx, a)
}

// recordRevoked records the revocation of app's token (of its grant, for
// a refresh token) issued to userID ("" for an application's own).
func (s *Service) recordRevoked(ctx context.Context, envID string, app *config.Application, userID, kind string) {
	if s.Audit == nil {
		return
	}
	a := audit.NewActivity(envID, audit.TokenRevoked)
	a.Client = audit.ClientActor(envID, app.ID, app.Name)
	a.Details, _ = json.Marshal(map[string]string{"tokenType": kind})
	if userID != "" && userID != app.ID {
		a.User = &store.ActivityActor{ID: userID, Type: audit.ActorUser, EnvironmentID: envID}
		a.Resources = []store.ActivityResource{{ID: userID, Type: audit.ResUser, EnvironmentID: envID}}
	} else {
		a.Resources = []store.ActivityResource{{ID: app.ID, Name: app.Name, Type: audit.ResApplication, EnvironmentID: envID}}
	}
	s.Audit.Record(ctx, a)
}

// recordSignedOff records the end of sess at sign-off; app is the
// application that asked, when named.
func (s *Service) recordSignedOff(ctx context.Context, envID string, sess *store.Session, app *config.Application) {
	if s.Audit == nil {
		return
	}
	a := audit.NewActivity(envID, audit.SessionDeleted)
	if app != nil {
		a.Client = audit.ClientActor(envID, app.ID, app.Name)
	}
	a.User = &store.ActivityActor{ID: sess.UserID, Type: audit.ActorUser, EnvironmentID: envID}
	a.Resources = []store.ActivityResource{{ID: sess.UserID, Type: audit.ResUser, EnvironmentID: envID}}
	s.Audit.Record(ctx, a)
}
