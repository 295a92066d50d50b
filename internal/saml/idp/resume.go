package idp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/identity"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/mapping"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// SubjectMapping is the CORE attribute mapping of a SAML application: the
// NameID of its assertions.
const SubjectMapping = "saml_subject"

// The NameID format and attribute NameFormat used when the application
// names none, and the format of entity ids.
const (
	unspecifiedNameID     = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	unspecifiedNameFormat = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"
	entityFormat          = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
)

// resume is PingOne's saml20/resume: the flow's answer to the service
// provider once it ends — a signed Response auto-posted to the ACS the
// request was checked for. A flow still in progress goes back to the
// sign-on page; another protocol's flow is refused.
func (s *Service) resume(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	env, err := s.Config.Environment(ctx, r.PathValue("envID"))
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	id := r.URL.Query().Get("flowId")
	if id == "" {
		s.errorPage(w, r, wire.InvalidRequest(wire.Required("flowId")))
		return
	}
	f, err := s.Flows.Load(ctx, env.ID, id, s.Cookies.Token(r))
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	s.answer(w, r, &env.Environment, f)
}

// answer ends a SAML flow: COMPLETED gets the assertion, FAILED a SAML
// error status; any other goes back to the sign-on page.
func (s *Service) answer(w http.ResponseWriter, r *http.Request, env *store.Environment, f *store.Flow) {
	ctx := r.Context()
	freq, _, authTime, _, err := flow.RequestOf(f)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	if freq.ResumePath() != ResumePath {
		s.errorPage(w, r, invalid("flowId", "The flow resumes at %s, not %s.", freq.ResumePath(), ResumePath))
		return
	}
	var st request
	if err := json.Unmarshal(freq.Protocol, &st); err != nil {
		s.errorPage(w, r, fmt.Errorf("flow %s: saml request: %w", f.ID, err))
		return
	}
	if f.Status != flow.StatusCompleted && f.Status != flow.StatusFailed {
		http.Redirect(w, r, s.Flows.SignOnPageURL(env.ID, f.ID), http.StatusFound)
		return
	}
	// The application is read again: disabled, deleted, or its ACS URL
	// gone since the request, nothing goes to the service provider.
	app, err := s.samlApp(ctx, env.ID, f.ApplicationID)
	switch {
	case err == nil && (!app.Enabled || app.SAML.SpEntityID != st.SP || !acsAllowed(app, &st)):
		err = invalid("flowId", "The application was disabled or changed during sign-on.")
	case errors.Is(err, store.ErrNotFound):
		err = invalid("flowId", "The application was deleted during sign-on.")
	}
	if err != nil {
		s.Flows.Finish(ctx, f)
		s.errorPage(w, r, err)
		return
	}
	// Deleting the flow makes the answer single: of two resumes racing,
	// only one deletes it.
	if err := s.Flows.Finish(ctx, f); err != nil {
		s.errorPage(w, r, err)
		return
	}
	if f.Status == flow.StatusFailed {
		code, desc, err := flow.FailureOf(f)
		if err != nil {
			s.errorPage(w, r, err)
			return
		}
		second := saml.StatusAuthnFailed
		if code == "access_denied" {
			second = saml.StatusRequestDenied
		}
		s.sendStatus(w, r, env.ID, app, &st, second, desc)
		return
	}
	u, err := s.Store.GetUser(ctx, env.ID, f.UserID)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	req, err := s.authnRequest(ctx, r, env.ID, app, &st)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	sess, err := s.session(ctx, app, u, f, authTime)
	var ae *attributeError
	if errors.As(err, &ae) {
		s.sendStatus(w, r, env.ID, app, &st, saml.StatusRequestDenied, ae.Error())
		return
	}
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	if err := s.makeResponse(req, app, sess); err != nil {
		s.errorPage(w, r, err)
		return
	}
	s.post(w, r, req)
}

// acsAllowed reports whether st's ACS may still get the answer.
func acsAllowed(app *config.Application, st *request) bool {
	if st.SignedACS {
		return app.SAML.EnableAlwaysAcceptAcsURLInSignedAuthnRequest
	}
	return registeredACS(app, st.ACS)
}

// authnRequest is crewjam's request being answered, rebuilt from what the
// flow kept, with app's signing key.
func (s *Service) authnRequest(ctx context.Context, r *http.Request, envID string, app *config.Application, st *request) (*saml.IdpAuthnRequest, error) {
	keyID, alg := "", ""
	if sg := app.SAML.IdpSigning; sg != nil {
		keyID, alg = sg.Key.ID, sg.Algorithm
	}
	kp, err := s.Keys.KeyPair(ctx, envID, keyID)
	if errors.Is(err, keys.ErrNoKey) {
		return nil, wire.RequestFailed("The application's signing key is missing or expired: no SAML response can be signed.")
	}
	if err != nil {
		return nil, err
	}
	if alg == "" {
		alg = kp.SignatureAlgorithm
	}
	method, ok := signatureMethods[alg]
	if !ok {
		return nil, wire.RequestFailed("The signing algorithm " + alg + " is not one SAML responses are signed with.")
	}
	idp := s.provider(envID, nil)
	idp.Signer, idp.Certificate, idp.SignatureMethod = kp.Signer, kp.Certificate, method
	now := s.now().UTC()
	return &saml.IdpAuthnRequest{
		IDP:                     idp,
		HTTPRequest:             r,
		RelayState:              st.RelayState,
		Request:                 saml.AuthnRequest{ID: st.ID},
		ServiceProviderMetadata: &saml.EntityDescriptor{EntityID: st.SP},
		SPSSODescriptor:         &saml.SPSSODescriptor{},
		ACSEndpoint:             &saml.IndexedEndpoint{Binding: saml.HTTPPostBinding, Location: st.ACS},
		Now:                     now,
	}, nil
}

// signatureMethods maps PingOne's algorithm names to XML signature ones.
var signatureMethods = map[string]string{
	"SHA256withRSA":   dsig.RSASHA256SignatureMethod,
	"SHA384withRSA":   dsig.RSASHA384SignatureMethod,
	"SHA512withRSA":   dsig.RSASHA512SignatureMethod,
	"SHA256withECDSA": dsig.ECDSASHA256SignatureMethod,
	"SHA384withECDSA": dsig.ECDSASHA384SignatureMethod,
	"SHA512withECDSA": dsig.ECDSASHA512SignatureMethod,
}

// attributeError: a required attribute mapping yields nothing for the
// user, so the assertion cannot be made.
type attributeError struct{ name string }

func (e *attributeError) Error() string {
	return "The attribute " + e.name + " is required and has no value for the user."
}

// session is the user's sign-on as crewjam asserts it: the NameID from
// the CORE saml_subject mapping in the application's nameIdFormat, and
// the application's custom mappings as attributes with their NameFormat.
func (s *Service) session(ctx context.Context, app *config.Application, u *store.User, f *store.Flow, authTime time.Time) (*saml.Session, error) {
	attrs, err := s.Config.ApplicationAttributes(ctx, app.EnvironmentID, app.ID)
	if err != nil {
		return nil, err
	}
	doc, err := identity.Document(u)
	if err != nil {
		return nil, err
	}
	data := &mapping.Data{User: doc, Client: map[string]any{"id": app.ID, "name": app.Name}}
	groups := false
	eval := func(e *mapping.Expr) (any, bool, error) {
		if e == nil {
			return nil, false, nil
		}
		if e.Roots()&mapping.RootGroups != 0 && !groups {
			gs, err := s.Store.UserGroups(ctx, app.EnvironmentID, u.ID)
			if err != nil {
				return nil, false, err
			}
			if len(gs) > 0 {
				names, ids := make([]any, len(gs)), make([]any, len(gs))
				for i, g := range gs {
					names[i], ids[i] = g.Name, g.ID
				}
				data.User[mapping.GroupNames], data.User[mapping.GroupIDs] = names, ids
			}
			groups = true
		}
		v, ok := e.Eval(data)
		return v, ok, nil
	}
	format := app.SAML.NameIDFormat
	if format == "" {
		format = unspecifiedNameID
	}
	sess := &saml.Session{ID: f.SessionID, Index: f.SessionID, CreateTime: authTime, NameIDFormat: format, NameID: u.ID}
	for _, a := range attrs {
		v, ok, err := eval(a.Expr)
		if err != nil {
			return nil, err
		}
		if a.MappingType == "CORE" || a.Name == SubjectMapping {
			if !ok {
				return nil, &attributeError{name: a.Name}
			}
			sess.NameID = text(v)
			continue
		}
		if !ok {
			if a.Required {
				return nil, &attributeError{name: a.Name}
			}
			continue
		}
		nf := a.NameFormat
		if nf == "" {
			nf = unspecifiedNameFormat
		}
		attr := saml.Attribute{Name: a.Name, NameFormat: nf}
		vals, many := v.([]any)
		if !many {
			vals = []any{v}
		}
		for _, x := range vals {
			attr.Values = append(attr.Values, saml.AttributeValue{Type: "xs:string", Value: text(x)})
		}
		sess.CustomAttributes = append(sess.CustomAttributes, attr)
	}
	return sess, nil
}

// text is a mapped value as an attribute's text.
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	default:
		return fmt.Sprint(x)
	}
}

// makeResponse sets req.ResponseEl: the assertion crewjam makes for sess,
// valid for the application's assertionDuration, signed as the
// application says (assertionSigned, PingOne's default, and/or
// responseSigned). A Response with nothing signed is never sent: with both
// off, the assertion is signed.
func (s *Service) makeResponse(req *saml.IdpAuthnRequest, app *config.Application, sess *saml.Session) error {
	if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, sess); err != nil {
		return err
	}
	a := req.Assertion
	dur := time.Duration(app.SAML.AssertionDuration) * time.Second
	if dur <= 0 {
		dur = DefaultAssertionDuration * time.Second
	}
	a.IssueInstant = req.Now
	a.Conditions.NotOnOrAfter = req.Now.Add(dur)
	for i := range a.Subject.SubjectConfirmations {
		if d := a.Subject.SubjectConfirmations[i].SubjectConfirmationData; d != nil {
			d.NotOnOrAfter = req.Now.Add(dur)
		}
	}
	if len(a.AttributeStatements) == 1 && len(a.AttributeStatements[0].Attributes) == 0 {
		// An empty AttributeStatement is not valid SAML (saml-core §2.7.3).
		a.AttributeStatements = nil
	}
	assertionSigned := app.SAML.AssertionSigned == nil || *app.SAML.AssertionSigned
	responseSigned := app.SAML.ResponseSigned != nil && *app.SAML.ResponseSigned
	if !assertionSigned && !responseSigned {
		assertionSigned = true
	}
	if assertionSigned {
		if err := req.MakeAssertionEl(); err != nil {
			return err
		}
	} else {
		req.AssertionEl = a.Element()
	}
	resp := &saml.Response{
		Destination:  req.ACSEndpoint.Location,
		ID:           newID(),
		InResponseTo: req.Request.ID,
		IssueInstant: req.Now,
		Version:      "2.0",
		Issuer:       &saml.Issuer{Format: entityFormat, Value: req.IDP.MetadataURL.String()},
		Status:       saml.Status{StatusCode: saml.StatusCode{Value: saml.StatusSuccess}},
	}
	el := resp.Element()
	el.AddChild(req.AssertionEl)
	if responseSigned {
		sig, err := signEnveloped(req.IDP, el)
		if err != nil {
			return err
		}
		resp.Signature = sig
		el = resp.Element()
		el.AddChild(req.AssertionEl)
	}
	req.ResponseEl = el
	return nil
}

// signEnveloped signs el with the IdP's key as crewjam signs its own
// elements (exclusive C14N, the key's signature method) and returns the
// Signature element, for the caller to place.
func signEnveloped(idp *saml.IdentityProvider, el *etree.Element) (*etree.Element, error) {
	ctx, err := dsig.NewSigningContext(idp.Signer, [][]byte{idp.Certificate.Raw})
	if err != nil {
		return nil, err
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(idp.SignatureMethod); err != nil {
		return nil, err
	}
	signed, err := ctx.SignEnveloped(el)
	if err != nil {
		return nil, err
	}
	kids := signed.ChildElements()
	return kids[len(kids)-1], nil
}

// newID is a Response's ID (an NCName: it starts with a letter).
func newID() string {
	b := make([]byte, 20)
	rand.Read(b)
	return "id-" + hex.EncodeToString(b)
}

// sendStatus answers st with a SAML error status (Responder and second)
// and no assertion, signed, posted to st's ACS (checked before).
func (s *Service) sendStatus(w http.ResponseWriter, r *http.Request, envID string, app *config.Application, st *request, second, message string) {
	req, err := s.authnRequest(r.Context(), r, envID, app, st)
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	if err := req.MakeErrorResponse(saml.StatusResponder, second, message); err != nil {
		s.errorPage(w, r, err)
		return
	}
	s.post(w, r, req)
}

// post auto-posts req's Response to its ACS (HTTP-POST binding).
func (s *Service) post(w http.ResponseWriter, r *http.Request, req *saml.IdpAuthnRequest) {
	doc := etree.NewDocument()
	doc.SetRoot(req.ResponseEl)
	b, err := doc.WriteToBytes()
	if err != nil {
		s.errorPage(w, r, err)
		return
	}
	params := url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(b)}}
	if req.RelayState != "" {
		params.Set("RelayState", req.RelayState)
	}
	httpx.FormPost(w, req.ACSEndpoint.Location, params)
}
