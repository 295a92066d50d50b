package flow_test

import (
	"context"
	"encoding/json"
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
	// as, when set, is the user the method signs on instead of the flow's.
	as string
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
	id := s.Flow.UserID
	if m.as != "" {
		id = m.as
	}
	u, err := s.Engine().Store.GetUser(ctx, s.Flow.EnvironmentID, id)
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
			m := &secondFactor{}
			x := newSeamFixture(t, be.DSN(t), m)
			links := func() []string {
				out, err := x.e.Render(ctx, x.f, nil)
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
			if x.f.Status != wire.StatusUsernamePasswordRequired {
				t.Fatalf("started in %s", x.f.Status)
			}
			// The password completes the LOGIN action; its session does not
			// satisfy the next one, which begins in the new method's status.
			if err := x.step(t, wire.ActionUsernamePasswordCheck, `{"username":"`+x.fx.Username+`","password":"`+x.fx.Password+`"}`); err != nil {
				t.Fatal(err)
			}
			if x.f.Status != statusSecondFactor || !slices.Equal(links(), []string{flow.ActionSessionReset, actionSecondFactor}) {
				t.Fatalf("after the password: %s %v", x.f.Status, links())
			}
			out, _ := x.e.Render(ctx, x.f, nil)
			if out.Embedded.User == nil || out.Embedded.User.Username != "embedded-by-test" {
				t.Errorf("Embed not applied: %+v", out.Embedded.User)
			}
			// Its action is chosen by its media type and dispatched to it;
			// its state survives between steps.
			var we *wire.Error
			if err := x.step(t, actionSecondFactor, `{"code":"right"}`); !errors.As(err, &we) || we.Status != 400 {
				t.Fatalf("first try: %v", err)
			}
			before := x.cookie
			if err := x.step(t, actionSecondFactor, `{"code":"right"}`); err != nil {
				t.Fatal(err)
			}
			// The sign-on completed (with Completer) in a session that the
			// new cookie names and that holds both methods.
			if m.completed != 2 || x.cookie == before || x.f.Status != flow.StatusCompleted || len(links()) != 0 {
				t.Fatalf("completed %d, cookie rotated %v, status %s %v", m.completed, x.cookie != before, x.f.Status, links())
			}
			sess, err := session.ByToken(ctx, x.s.Store, x.fx.EnvID, x.cookie, store.Now())
			if err != nil || sess == nil || !slices.Equal(sess.AMR, []string{"pwd", "otp"}) {
				t.Fatalf("session %+v %v", sess, err)
			}
			if _, _, _, amr, err := flow.RequestOf(x.f); err != nil || !slices.Equal(amr, []string{"pwd", "otp"}) {
				t.Errorf("the flow's amr: %v %v", amr, err)
			}
			// A new flow in the same browser rides the session: both actions
			// are satisfied.
			again, err := x.e.Start(ctx, flow.Start{Env: x.env, App: x.app, Token: x.cookie, Request: flow.Request{ResponseType: "code", ResponseMode: "pi.flow", Scope: "openid"}})
			if err != nil || again.Flow.Status != flow.StatusCompleted {
				t.Fatalf("second flow: %v %+v", err, again)
			}
		})
	}
}

// seamFixture is an engine with the username and password method and m,
// over a real store, for an application assigned the Multi_Factor policy
// (LOGIN, then MULTI_FACTOR_AUTHENTICATION).
type seamFixture struct {
	s      *apptest.Server
	fx     *apptest.SignOn
	e      *flow.Engine
	env    *store.Environment
	app    *store.Application
	cookie string
	f      *store.Flow
}

func newSeamFixture(t *testing.T, dsn string, m flow.Method) *seamFixture {
	t.Helper()
	ctx := context.Background()
	s := apptest.Start(t, apptest.Options{DSN: dsn})
	x := &seamFixture{s: s, fx: s.NewSignOn(t, apptest.SignOnOptions{})}
	admin := s.AdminToken(t)
	pols := s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + x.fx.EnvID + "/signOnPolicies", Token: admin})
	for _, p := range pols.JSON(t)["_embedded"].(map[string]any)["signOnPolicies"].([]any) {
		if p := p.(map[string]any); p["name"] == "Multi_Factor" {
			r := s.Do(t, apptest.Request{Method: "POST", URL: "/environments/" + x.fx.EnvID + "/applications/" + x.fx.AppID + "/signOnPolicyAssignments",
				Token: admin, Body: map[string]any{"priority": 1, "signOnPolicy": map[string]string{"id": p["id"].(string)}}})
			if r.Status != http.StatusCreated {
				t.Fatalf("assign: %d %s", r.Status, r.Body)
			}
		}
	}
	x.e = &flow.Engine{Store: s.Store, Config: config.New(s.Store, config.Options{}), Credentials: &credential.Service{Store: s.Store}, AuthPath: s.URL}
	x.e.Register(&usernamepassword.Method{}, m)
	var err error
	if x.env, err = s.Store.GetEnvironment(ctx, x.fx.EnvID); err != nil {
		t.Fatal(err)
	}
	if x.app, err = s.Store.GetApplication(ctx, x.fx.EnvID, x.fx.AppID); err != nil {
		t.Fatal(err)
	}
	started, err := x.e.Start(ctx, flow.Start{Env: x.env, App: x.app, Request: flow.Request{ResponseType: "code", ResponseMode: "pi.flow", Scope: "openid"}})
	if err != nil {
		t.Fatal(err)
	}
	x.f, x.cookie = started.Flow, started.Token
	return x
}

// step runs an action as the browser would: the flow loaded for its
// cookie, which rotates at each sign-on.
func (x *seamFixture) step(t *testing.T, act, body string) error {
	t.Helper()
	f, err := x.e.Load(context.Background(), x.fx.EnvID, x.f.ID, x.cookie)
	if err != nil {
		return err
	}
	x.f = f
	tok, err := x.e.Step(context.Background(), f, act, []byte(body))
	if tok != "" {
		x.cookie = tok
	}
	return err
}

// TestAMROfOneUser: when a later policy action signs on another user than
// the earlier ones did, the tokens' amr does not credit the new user with
// the earlier user's methods.
func TestAMROfOneUser(t *testing.T) {
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			m := &secondFactor{}
			x := newSeamFixture(t, be.DSN(t), m)
			m.as = x.s.CreateUser(t, x.fx.EnvID, x.fx.PopulationID, "other."+x.fx.Username, "other."+x.fx.Email, "O", "Ther", x.fx.Password)
			if err := x.step(t, wire.ActionUsernamePasswordCheck, `{"username":"`+x.fx.Username+`","password":"`+x.fx.Password+`"}`); err != nil {
				t.Fatal(err)
			}
			x.step(t, actionSecondFactor, `{"code":"right"}`) // the first try counts
			if err := x.step(t, actionSecondFactor, `{"code":"right"}`); err != nil {
				t.Fatal(err)
			}
			req, _, _, amr, err := flow.RequestOf(x.f)
			if err != nil || req == nil || x.f.Status != flow.StatusCompleted || x.f.UserID != m.as || !slices.Equal(amr, []string{"otp"}) {
				t.Errorf("status %s user %s amr %v (%v), want COMPLETED, the other user, [otp]", x.f.Status, x.f.UserID, amr, err)
			}
		})
	}
}

// TestOldFlowShape: a flow stored in another shape (before an upgrade, or
// by an older node) answers as an expired flow: the user starts over.
func TestOldFlowShape(t *testing.T) {
	x := newSeamFixture(t, "", &secondFactor{})
	ctx := context.Background()
	var data map[string]any
	if err := json.Unmarshal(x.f.Data, &data); err != nil {
		t.Fatal(err)
	}
	delete(data, "v")
	x.f.Data, _ = json.Marshal(data)
	if err := x.s.Store.UpdateFlow(ctx, x.f); err != nil {
		t.Fatal(err)
	}
	if _, err := x.e.Render(ctx, x.f, nil); !errors.Is(err, flow.ErrFlowNotFound) {
		t.Errorf("render: %v, want ErrFlowNotFound", err)
	}
	if err := x.step(t, wire.ActionUsernamePasswordCheck, `{"username":"a","password":"b"}`); !errors.Is(err, flow.ErrFlowNotFound) {
		t.Errorf("step: %v, want ErrFlowNotFound", err)
	}
}

// entrant is secondFactor as a method whose first status depends on the
// user (Entrant) and that adds to the flow JSON outside _embedded
// (Decorator), as MFA does.
type entrant struct {
	secondFactor
	entered []string // the users Enter was given ("" for none)
	pass    bool     // Enter passes the action
}

// Enter counts as the first try, so that one right code completes: the
// state it saved must survive.
func (m *entrant) Enter(ctx context.Context, s *flow.Step, u *store.User) error {
	id := ""
	if u != nil {
		id = u.ID
	}
	m.entered = append(m.entered, id)
	if m.pass {
		return s.Complete(ctx, u, nil, nil)
	}
	st, err := flow.MethodState[secondFactorState](s.View, "secondFactor")
	if err != nil {
		return err
	}
	st.Tries = 1
	return s.Save(ctx)
}

func (*entrant) Decorate(_ context.Context, v *flow.View, out *wire.Flow) error {
	if v.Status() == statusSecondFactor {
		out.SelectedDevice = &wire.Ref{ID: "device-of-the-test"}
	}
	return nil
}

// TestEntrantSeam: a method whose action depends on the user is entered
// with the user the password signed on, and again with the session's user
// when a new flow rides a session that satisfies the password action only;
// a condition that the session meets does not waive a second factor the
// session lacks; and an Entrant may pass its action.
func TestEntrantSeam(t *testing.T) {
	ctx := context.Background()
	for _, be := range apptest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			m := &entrant{}
			x := newSeamFixture(t, be.DSN(t), m)
			// A condition the fresh session meets (signed on less than an
			// hour ago) must not skip the second factor.
			admin := x.s.AdminToken(t)
			pol := x.policyID(t, "Multi_Factor")
			acts := x.s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + x.fx.EnvID + "/signOnPolicies/" + pol + "/actions", Token: admin})
			for _, a := range acts.JSON(t)["_embedded"].(map[string]any)["actions"].([]any) {
				if a := a.(map[string]any); a["type"] == "MULTI_FACTOR_AUTHENTICATION" {
					r := x.s.Do(t, apptest.Request{Method: "PUT", URL: "/environments/" + x.fx.EnvID + "/signOnPolicies/" + pol + "/actions/" + a["id"].(string),
						Token: admin, Body: map[string]any{"type": "MULTI_FACTOR_AUTHENTICATION", "priority": 2, "noDevicesMode": "BLOCK",
							"condition": map[string]any{"secondsSince": "${session.lastSignOn.at}", "greater": 3600}}})
					if r.Status != http.StatusOK {
						t.Fatalf("condition: %d %s", r.Status, r.Body)
					}
				}
			}
			x.restart(t)
			if err := x.step(t, wire.ActionUsernamePasswordCheck, `{"username":"`+x.fx.Username+`","password":"`+x.fx.Password+`"}`); err != nil {
				t.Fatal(err)
			}
			if x.f.Status != statusSecondFactor || !slices.Equal(m.entered, []string{x.fx.UserID}) {
				t.Fatalf("after the password: %s, entered %v", x.f.Status, m.entered)
			}
			out, err := x.e.Render(ctx, x.f, nil)
			if err != nil || out.SelectedDevice == nil || out.SelectedDevice.ID != "device-of-the-test" {
				t.Fatalf("Decorate not applied: %+v %v", out, err)
			}
			pwdOnly := x.cookie

			// A new flow riding the password-only session begins at the
			// second factor, for the session's user.
			again, err := x.e.Start(ctx, flow.Start{Env: x.env, App: x.app, Token: pwdOnly, Request: flow.Request{ResponseType: "code", ResponseMode: "pi.flow", Scope: "openid"}})
			if err != nil || again.Flow.Status != statusSecondFactor || again.Flow.UserID != x.fx.UserID || len(m.entered) != 2 || m.entered[1] != x.fx.UserID {
				t.Fatalf("second flow: %v %+v entered %v", err, again, m.entered)
			}
			x.f, x.cookie = again.Flow, again.Token
			if err := x.step(t, actionSecondFactor, `{"code":"right"}`); err != nil {
				t.Fatal(err)
			}
			if _, _, _, amr, err := flow.RequestOf(x.f); err != nil || x.f.Status != flow.StatusCompleted || !slices.Equal(amr, []string{"pwd", "otp"}) {
				t.Errorf("status %s amr %v (%v), want COMPLETED [pwd otp]", x.f.Status, amr, err)
			}

			// An Entrant that passes: the password completes the flow.
			m.pass = true
			x.restart(t)
			if err := x.step(t, wire.ActionUsernamePasswordCheck, `{"username":"`+x.fx.Username+`","password":"`+x.fx.Password+`"}`); err != nil {
				t.Fatal(err)
			}
			if _, _, _, amr, _ := flow.RequestOf(x.f); x.f.Status != flow.StatusCompleted || !slices.Equal(amr, []string{"pwd"}) {
				t.Errorf("passed: status %s amr %v", x.f.Status, amr)
			}
		})
	}
}

func (x *seamFixture) policyID(t *testing.T, name string) string {
	t.Helper()
	pols := x.s.Do(t, apptest.Request{Method: "GET", URL: "/environments/" + x.fx.EnvID + "/signOnPolicies", Token: x.s.AdminToken(t)})
	for _, p := range pols.JSON(t)["_embedded"].(map[string]any)["signOnPolicies"].([]any) {
		if p := p.(map[string]any); p["name"] == name {
			return p["id"].(string)
		}
	}
	t.Fatalf("no policy %s", name)
	return ""
}

// restart starts a new flow in a new browser, with a fresh configuration
// cache.
func (x *seamFixture) restart(t *testing.T) {
	t.Helper()
	x.e.Config = config.New(x.s.Store, config.Options{})
	started, err := x.e.Start(context.Background(), flow.Start{Env: x.env, App: x.app, Request: flow.Request{ResponseType: "code", ResponseMode: "pi.flow", Scope: "openid"}})
	if err != nil {
		t.Fatal(err)
	}
	x.f, x.cookie = started.Flow, started.Token
}
