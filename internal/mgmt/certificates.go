package mgmt

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/certs"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Certificates (PingOne's /certificates): public certificates an
// administrator uploads so that Gatehouse trusts what a partner signs
// with the matching key — a SAML service provider's AuthnRequests
// (spVerification.certificates of a SAML application), a SAML identity
// provider's responses (idpVerification.certificates of a SAML provider).
// A certificate is uploaded as PingOne's SDK sends it (multipart
// form-data: a file and its usageType) in PEM, DER or PKCS#7, read, and
// never changed after; it can be read back as JSON, PEM or PKCS#7, and
// deleted while nothing uses it.

const (
	// Usage types an uploaded certificate may have: it verifies
	// signatures, or (a later issue) encrypts assertions to a service
	// provider. PingOne's SSL/TLS, ISSUANCE and OUTBOUND_MTLS certificates
	// come with private keys Gatehouse does not take.
	maxCertificateParts = 8
	maxCertificateName  = 256

	mediaPEM   = "application/x-x509-ca-cert"
	mediaPKCS7 = "application/x-pkcs7-certificates"
)

var certificateUsages = []string{"SIGNING", "ENCRYPTION"}

func (a *API) certificateRoutes(mux router) {
	base := "/v1/environments/{envID}/certificates"
	mux.Handle("GET "+base, a.handle(a.listCertificates))
	mux.Handle("POST "+base, a.handle(a.createCertificate))
	mux.Handle("GET "+base+"/{certID}", a.handle(a.getCertificate))
	mux.Handle("DELETE "+base+"/{certID}", a.handle(a.deleteCertificate))
	mux.Handle("GET "+base+"/{certID}/applications", a.handle(a.certificateApplications))
}

func (a *API) renderCertificate(env *store.Environment, c *store.Certificate) wire.Certificate {
	envHref := a.APIPath + "/environments/" + env.ID
	return wire.Certificate{
		Links: wire.Links{"self": {Href: envHref + "/certificates/" + c.ID}, "environment": {Href: envHref}},
		ID:    c.ID, Environment: wire.Ref{ID: env.ID}, Organization: wire.Ref{ID: env.OrganizationID}, Name: c.Name,
		Algorithm: c.Algorithm, KeyLength: c.KeyLength, SignatureAlgorithm: c.SignatureAlgorithm, SubjectDN: c.SubjectDN, IssuerDN: c.IssuerDN,
		UsageType: c.UsageType, SerialNumber: jsonNumber(c.SerialNumber),
		ValidityPeriod: validityDays(c.StartsAt, c.ExpiresAt), Status: certs.Status(c.StartsAt, c.ExpiresAt, time.Now()),
		StartsAt: wire.Time(c.StartsAt), ExpiresAt: wire.Time(c.ExpiresAt), CreatedAt: wire.Time(c.CreatedAt),
	}
}

// jsonNumber is a stored decimal serial as a JSON number; anything else
// (never written by createCertificate) reads as 0 rather than breaking
// the body.
func jsonNumber(s string) json.Number {
	if n, ok := new(big.Int).SetString(s, 10); ok {
		return json.Number(n.String())
	}
	return "0"
}

// validityDays is a validity period in whole days, as PingOne counts it.
func validityDays(starts, expires time.Time) int {
	return int(expires.Sub(starts).Round(24*time.Hour) / (24 * time.Hour))
}

func (a *API) listCertificates(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	cs, err := a.Store.ListCertificates(r.Context(), env.ID)
	if err != nil {
		return err
	}
	items := make([]any, len(cs))
	for i := range cs {
		items[i] = a.renderCertificate(env, &cs[i])
	}
	wire.Write(w, http.StatusOK, wholeList(a.APIPath+"/environments/"+env.ID+"/certificates", "certificates", items))
	return nil
}

func (a *API) getCertificate(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	c, err := a.Store.GetCertificate(r.Context(), env.ID, r.PathValue("certID"))
	if err != nil {
		return err
	}
	if writeCertificateFile(w, r, c.Certificate) {
		return nil
	}
	wire.Write(w, http.StatusOK, a.renderCertificate(env, c))
	return nil
}

// exportType is the certificate file format the client asked for in
// Accept — PEM (application/x-x509-ca-cert) or PKCS#7 DER
// (application/x-pkcs7-certificates) — or "" for the JSON description.
// PingOne recommends adding application/json beside a file type (so that
// an error can still be read), so JSON anywhere in Accept does not win
// over a file type named there; the first file type named wins.
func exportType(r *http.Request) string {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err == nil && (mt == mediaPEM || mt == mediaPKCS7) && params["q"] != "0" {
				return mt
			}
		}
	}
	return ""
}

// writeCertificateFile answers with the certificate (DER) as the file the
// client's Accept names, and reports whether it did.
func writeCertificateFile(w http.ResponseWriter, r *http.Request, der []byte) bool {
	var body []byte
	switch mt := exportType(r); mt {
	case mediaPEM:
		body = certs.PEM(der)
	case mediaPKCS7:
		p7, err := certs.PKCS7(der)
		if err != nil {
			// Only a DER that does not parse fails, and none is stored.
			wire.WriteErrorCtx(r.Context(), w, err)
			return true
		}
		body = p7
	default:
		return false
	}
	w.Header().Set("Content-Type", exportType(r))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return true
}

// certificateUpload is what a POST carries.
type certificateUpload struct {
	file      []byte
	usageType string
}

// readCertificateUpload reads the multipart form PingOne's SDK sends
// (CreateCertificateFromFile): a part "file" with the certificate and a
// field "usageType". The body is bounded as every management body is, the
// file by certs.MaxFileBytes, and the parts counted; other parts are
// ignored, as unknown JSON members are.
func readCertificateUpload(r *http.Request) (*certificateUpload, error) {
	if contentType(r, []string{"multipart/form-data"}) == "" {
		return nil, wire.UnsupportedMediaType(r.Header.Get("Content-Type"))
	}
	var boundary string
	for _, v := range r.Header.Values("Content-Type") {
		for _, part := range strings.Split(v, ",") {
			if mt, params, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "multipart/form-data" && boundary == "" {
				boundary = params["boundary"]
			}
		}
	}
	if boundary == "" {
		return nil, wire.InvalidRequest(wire.InvalidValue("Content-Type", "A multipart/form-data body needs its boundary parameter."))
	}
	mr := multipart.NewReader(http.MaxBytesReader(nil, r.Body, MaxBodyBytes), boundary)
	var (
		up                  certificateUpload
		sawFile, sawUsage   bool
		details             []wire.Detail
		unreadable, tooMany bool
	)
	n := 0
	for ; ; n++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, uploadError(err)
		}
		if n >= maxCertificateParts {
			tooMany = true
			break
		}
		name := part.FormName()
		if name != "file" && name != "usageType" {
			continue
		}
		limit := int64(certs.MaxFileBytes)
		if name == "usageType" {
			limit = 64
		}
		b, err := io.ReadAll(io.LimitReader(part, limit+1))
		if err != nil {
			return nil, uploadError(err)
		}
		switch {
		case name == "file" && sawFile, name == "usageType" && sawUsage:
			details = append(details, wire.InvalidValue(name, "Only one "+name+" can be sent."))
		case int64(len(b)) > limit && name == "file":
			details = append(details, wire.Detail{Code: wire.DetailSizeLimit, Target: "file", Message: certs.ErrTooLarge.Error(),
				InnerError: &wire.InnerError{MaximumValue: &limit}})
		case int64(len(b)) > limit:
			unreadable = true
		case name == "file":
			up.file = b
		default:
			up.usageType = string(b)
		}
		sawFile = sawFile || name == "file"
		sawUsage = sawUsage || name == "usageType"
	}
	switch {
	case tooMany:
		return nil, wire.InvalidRequest(wire.InvalidValue("", "The form has too many parts: send a file and a usageType."))
	case n == 0:
		// An empty body, or one whose parts are not separated by the
		// boundary its Content-Type names.
		return nil, wire.InvalidRequest(wire.InvalidValue("", "A multipart/form-data body with a file and a usageType is required."))
	}
	switch {
	case !sawUsage:
		details = append(details, wire.Required("usageType"))
	case unreadable || !slices.Contains(certificateUsages, up.usageType):
		details = append(details, wire.OneOf("usageType", certificateUsages))
	}
	if !sawFile {
		details = append(details, wire.Required("file"))
	}
	if len(details) > 0 {
		return nil, wire.InvalidData(details...)
	}
	return &up, nil
}

// uploadError is a body that could not be read: too large, or not the
// multipart form its Content-Type said.
func uploadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return wire.TooLarge(MaxBodyBytes)
	}
	return wire.InvalidRequest(wire.InvalidValue("", "The multipart/form-data body could not be read."))
}

// createCertificate uploads a certificate. PingOne answers 202 Accepted
// with the certificate as it read it.
func (a *API) createCertificate(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	up, err := readCertificateUpload(r)
	if err != nil {
		return err
	}
	now := store.Now()
	cert, err := certs.Read(up.file)
	var info certs.Info
	if err == nil {
		info, err = certs.Describe(cert)
	}
	if err == nil {
		err = certs.CheckValidity(cert, now)
	}
	var refused certs.Error
	if errors.As(err, &refused) {
		return wire.InvalidData(wire.InvalidValue("file", refused.Error()))
	}
	if err != nil {
		return err
	}
	c := &store.Certificate{
		ID: uuid.NewString(), EnvironmentID: env.ID, Name: truncateRunes(info.Name, maxCertificateName),
		Algorithm: info.Algorithm, KeyLength: info.KeyLength, SignatureAlgorithm: info.SignatureAlgorithm,
		SubjectDN: info.SubjectDN, IssuerDN: info.IssuerDN, UsageType: up.usageType, SerialNumber: info.SerialNumber,
		StartsAt: cert.NotBefore.UTC(), ExpiresAt: cert.NotAfter.UTC(), Certificate: cert.Raw, CreatedAt: now, UpdatedAt: now,
	}
	// PostgreSQL cannot keep NUL in text: a name or DN holding one (a
	// certificate may say anything) is refused on both databases.
	for _, s := range []string{c.Name, c.SubjectDN, c.IssuerDN} {
		if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			return wire.InvalidData(wire.InvalidValue("file", "The certificate's subject or issuer holds characters that cannot be kept."))
		}
	}
	if err := a.Store.CreateCertificate(r.Context(), c); err != nil {
		return err
	}
	wire.Write(w, http.StatusAccepted, a.renderCertificate(env, c))
	return nil
}

func truncateRunes(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return string([]rune(s)[:max])
}

// deleteCertificate removes a certificate nothing uses. PingOne: "If the
// certificate is used by an application, it cannot be deleted"; a SAML
// application or identity provider that trusts it would otherwise trust
// nothing, or fail at its next sign-on. The refusal names each user.
func (a *API) deleteCertificate(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		// The environment's key lock orders this delete with other writes
		// of keys and certificates in the environment.
		if err := tx.LockKeys(r.Context(), env.ID); err != nil {
			return err
		}
		c, err := tx.GetCertificate(r.Context(), env.ID, r.PathValue("certID"))
		if err != nil {
			return err
		}
		users, err := samlUsers(r.Context(), tx, env.ID, c.ID, refCertificate)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return inUse("certificate", users)
		}
		return tx.DeleteCertificate(r.Context(), env.ID, c.ID)
	})
	if err != nil {
		return err
	}
	wire.NoContent(w)
	return nil
}

// certificateApplications lists the applications that use the certificate
// (PingOne's GET …/certificates/{id}/applications).
func (a *API) certificateApplications(w http.ResponseWriter, r *http.Request) error {
	return a.usingApplications(w, r, "certificates", "certID", refCertificate)
}

// keyApplications lists the applications that sign with the key
// (PingOne's GET …/keys/{id}/applications).
func (a *API) keyApplications(w http.ResponseWriter, r *http.Request) error {
	return a.usingApplications(w, r, "keys", "keyID", refKey)
}

func (a *API) usingApplications(w http.ResponseWriter, r *http.Request, collection, param string, kind refKind) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	id := r.PathValue(param)
	if kind == refCertificate {
		_, err = a.Store.GetCertificate(r.Context(), env.ID, id)
	} else {
		_, err = a.Store.GetKey(r.Context(), env.ID, id)
	}
	if err != nil {
		return err
	}
	apps, err := a.Store.ListApplications(r.Context(), env.ID)
	if err != nil {
		return err
	}
	items := []any{}
	for i := range apps {
		app, err := config.DecodeApplication(&apps[i])
		if err != nil {
			return err
		}
		if slices.Contains(appRefs(app, kind), id) {
			items = append(items, a.renderApp(app))
		}
	}
	self := a.APIPath + "/environments/" + env.ID + "/" + collection + "/" + id + "/applications"
	wire.Write(w, http.StatusOK, wholeList(self, "applications", items))
	return nil
}

// refKind says whether a reference names a certificate or a key.
type refKind int

const (
	refCertificate refKind = iota
	refKey
)

// appRefs are the ids of the certificates (spVerification.certificates) or
// the key (idpSigning.key) a SAML application names.
func appRefs(app *config.Application, kind refKind) []string {
	if app.Protocol != wire.ProtocolSAML {
		return nil
	}
	s := app.SAML
	var ids []string
	switch {
	case kind == refCertificate && s.SpVerification != nil:
		for _, c := range s.SpVerification.Certificates {
			ids = append(ids, c.ID)
		}
	case kind == refKey && s.IdpSigning != nil:
		ids = append(ids, s.IdpSigning.Key.ID)
	}
	return ids
}

// idpRefs are the ids of the certificates (idpVerification.certificates) or
// the key (spSigning.key) a SAML identity provider names.
func idpRefs(p *config.IdentityProvider, kind refKind) []string {
	if p.Type != wire.IDPTypeSAML {
		return nil
	}
	s := p.SAML
	var ids []string
	switch {
	case kind == refCertificate:
		for _, c := range s.IdpVerification.Certificates {
			ids = append(ids, c.ID)
		}
	case kind == refKey && s.SpSigning != nil:
		ids = append(ids, s.SpSigning.Key.ID)
	}
	return ids
}

// samlUsers names the SAML applications and identity providers of the
// environment whose settings name id (a certificate or a key, as kind
// says), as `application "Name" (id)`, applications first.
func samlUsers(ctx context.Context, st store.Store, envID, id string, kind refKind) ([]string, error) {
	var users []string
	apps, err := st.ListApplications(ctx, envID)
	if err != nil {
		return nil, err
	}
	for i := range apps {
		if apps[i].Protocol != wire.ProtocolSAML {
			continue
		}
		app, err := config.DecodeApplication(&apps[i])
		if err != nil {
			return nil, err
		}
		if slices.Contains(appRefs(app, kind), id) {
			users = append(users, `application "`+app.Name+`" (`+app.ID+`)`)
		}
	}
	idps, err := st.ListIdentityProviders(ctx, envID)
	if err != nil {
		return nil, err
	}
	for i := range idps {
		if idps[i].Type != wire.IDPTypeSAML {
			continue
		}
		p, err := config.DecodeIdentityProvider(&idps[i])
		if err != nil {
			return nil, err
		}
		if slices.Contains(idpRefs(p, kind), id) {
			users = append(users, `identity provider "`+p.Name+`" (`+p.ID+`)`)
		}
	}
	return users, nil
}

// inUse refuses to delete a certificate or key that users still name.
func inUse(what string, users []string) error {
	return wire.RequestFailed("The " + what + " is used by " + strings.Join(users, ", ") +
		". Remove it from their settings before deleting it.")
}
