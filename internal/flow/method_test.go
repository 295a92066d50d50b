package flow_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/apptest"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/flow/methods/usernamepassword"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// secondFactor is a sign-on method written the way MFA will be: it runs
// the policy's MULTI_FACTOR_AUTHENTICATION action, owns a status and an
// action, keeps its own state in the flow, decides when a session
// satisfies it, takes part in completing a sign-on and adds to the flow's
// JSON — and the engine runs it
// without a line of it knowing the method.
type secondFactor struct {
	completed int
}

const (
	statusSecondFactor = "TEST_SECOND_FACTOR_REQUIRED"
	actionSecondFactor = "test.secondFactor"
)

type secondFactorState struct {
	Tries int `json:"tries"`
}

func (*secondFactor) Name() string { return "secondFactor" }
func (*secondFactor) Statuses() []flow.Status {
	return []flow.Status{{Name: statusSecondFactor, Authenticated: true}}
}
func (*secondFactor) Actions() []string                     { return []string{actionSecondFactor} }
func (*secondFactor) Begins() []string                      { return []string{"MULTI_FACTOR_AUTHENTICATION"} }
func (*secondFactor) BeginStatus(*flow.PolicyAction) string { return statusSecondFactor }
func (*secondFactor) Offers(v *flow.View) []string {
	if v.Status() == statusSecondFactor {
		return []string{actionSecondFactor}
	}
	return nil
}

// Run accepts the code "right" on the second try at the earliest: the
// first try counts in the method's state, which must survive the save.
func (m *secondFactor) Run(ctx context.Context, s *flow.Step, _ string, body []byte) error {
	var req struct{ Code string }
	if err := flow.Decode(body, &req); err != nil {
		return err
	}
	st, err := flow.MethodState[secondFactorState](s.View, "secondFactor")
	if err != nil {
		return err
	}
	st.Tries++
	if req.Code != "right" || st.Tries < 2 {
		if err := s.Save(ctx); err != nil {
			return err
		}
		return wire.InvalidData(wire.InvalidValue("code", "wrong"))
	}
	u, err := s.Engine().Store.GetUser(ctx, s.Flow.EnvironmentID, s.Flow.UserID)
	if err != nil {
		return err
	}
	return s.Complete(ctx, u, []string{"otp"}, nil)
}

// SatisfiedBy: only a session that has seen this method.
func (*secondFactor) SatisfiedBy(_ *flow.PolicyAction, sess *store.Session) bool {
	return slices.Contains(sess.AMR, "otp")
}

func (m *secondFactor) Completing(context.Context, *flow.Step, store.Store, *store.User) ([]string, error) {
	m.completed++
	return nil, nil
}

func (*secondFactor) Embed(_ context.Context, v *flow.View, out *wire.FlowEmbedded) error {
	if v.Status() == statusSecondFactor {
		out.User = &wire.FlowUser{Username: "embedded-by-test"}
	}
	return nil
}

// TestMethodSeam registers a new method beside the username and password
// one on an engine over a real store and signs on through the Multi_Factor
// policy (LOGIN, then MULTI_FACTOR_AUTHENTICATION): the engine starts,
// offers, dispatches, holds, completes and renders through the method.
func TestMethodSeam(t *testing.T) {
	ctx := context.Background()
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			s := apptest.Start(t, apptest.Options{DSN: be.DSN(t)})
			fx := s.NewSignOn(t, apptest.SignOnOptions{})
			admin := s.AdminToken(t)
			pols := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + fx.EnvID + "/signOnPolicies", Token: admin})
			var mfa string
			for _, p := range pols.JSON(t)["_embedded"].(map[string]any)["signOnPolicies"].([]any) {
				if p := p.(map[string]any); p["name"] == "Multi_Factor" {
					mfa = p["id"].(string)
				}
			}
			if r := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + fx.EnvID + "/applications/" + fx.AppID + "/signOnPolicyAssignments",
				Token: admin, Body: map[string]any{"priority": 1, "signOnPolicy": map[string]string{"id": mfa}}}); r.Status != http.StatusCreated {
				t.Fatalf("assign: %d %s", r.Status, r.Body)
			}

			m := &secondFactor{}
			e := &flow.Engine{Store: s.Store, Config: config.New(s.Store, config.Options{}), Credentials: &credential.Service{Store: s.Store}, AuthPath: s.URL}
			e.Register(&usernamepassword.Method{}, m)
			env, err := s.Store.GetEnvironment(ctx, fx.EnvID)
			if err != nil {
				t.Fatal(err)
			}
			app, err := s.Store.GetApplication(ctx, fx.EnvID, fx.AppID)
			if err != nil {
				t.Fatal(err)
			}
			started, err := e.Start(ctx, flow.Start{Env: env, App: app, Request: flow.Request{ResponseType: "code", ResponseMode: "pi.flow", Scope: "openid"}})
			if err != nil {
				t.Fatal(err)
			}
			f := started.Flow
			links := func(f *store.Flow) []string {
				out, err := e.Render(ctx, f, nil)
				if err != nil {
					t.Fatal(err)
				}
				var ks []string
				for k := range out.Links {
					if k != "self" && k != "signOnPage" {
						ks = append(ks, k)
					}
				}
				slices.Sort(ks)
				return ks
			}
			cookie := started.Token
			step := func(act, body string) (string, error) {
				f, err = e.Load(ctx, fx.EnvID, f.ID, cookie)
				if err != nil {
					t.Fatal(err)
				}
				tok, err := e.Step(ctx, f, act, []byte(body))
				if tok != "" {
					cookie = tok // the browser's cookie rotates at each sign-on
				}
				return tok, err
			}
			if f.Status != wire.StatusUsernamePasswordRequired {
				t.Fatalf("started in %s", f.Status)
			}
			// The password completes the LOGIN action; its session does not
			// satisfy the next one, which begins in the new method's status.
			if _, err := step(wire.ActionUsernamePasswordCheck, `{"username":"`+fx.Username+`","password":"`+fx.Password+`"}`); err != nil {
				t.Fatal(err)
			}
			if f.Status != statusSecondFactor || !slices.Equal(links(f), []string{flow.ActionSessionReset, actionSecondFactor}) {
				t.Fatalf("after the password: %s %v", f.Status, links(f))
			}
			out, _ := e.Render(ctx, f, nil)
			if out.Embedded.User == nil || out.Embedded.User.Username != "embedded-by-test" {
				t.Errorf("Embed not applied: %+v", out.Embedded.User)
			}
			// Its action is chosen by its media type and dispatched to it;
			// its state survives between steps.
			var we *wire.Error
			if _, err := step(actionSecondFactor, `{"code":"right"}`); !errors.As(err, &we) || we.Status != 400 {
				t.Fatalf("first try: %v", err)
			}
			token, err := step(actionSecondFactor, `{"code":"right"}`)
			if err != nil {
				t.Fatal(err)
			}
			// The sign-on completed (with Completer) in a session that the
			// new cookie names and that holds both methods.
			if m.completed != 2 || token == "" || f.Status != flow.StatusCompleted || len(links(f)) != 0 {
				t.Fatalf("completed %d, token %q, status %s %v", m.completed, token, f.Status, links(f))
			}
			sess, err := session.ByToken(ctx, s.Store, fx.EnvID, token, store.Now())
			if err != nil || sess == nil || !slices.Equal(sess.AMR, []string{"pwd", "otp"}) {
				t.Fatalf("session %+v %v", sess, err)
			}
			if _, _, _, amr, err := flow.RequestOf(f); err != nil || !slices.Equal(amr, []string{"pwd", "otp"}) {
				t.Errorf("the flow's amr: %v %v", amr, err)
			}
			// A new flow in the same browser rides the session: both actions
			// are satisfied.
			again, err := e.Start(ctx, flow.Start{Env: env, App: app, Token: token, Request: flow.Request{ResponseType: "code", ResponseMode: "pi.flow", Scope: "openid"}})
			if err != nil || again.Flow.Status != flow.StatusCompleted {
				t.Fatalf("second flow: %v %+v", err, again)
			}
		})
	}
}
