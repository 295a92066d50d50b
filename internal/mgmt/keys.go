package mgmt

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/roles"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// Keys (PingOne's certificate management): key pairs with self-signed
// certificates. The default SIGNING key signs the environment's tokens;
// every unexpired SIGNING key is published in the JWKS, so a rotation
// (another key made the default) never breaks a token already issued.
// After any change the key cache is invalidated so signing and the JWKS
// follow at once on this node (other nodes within the cache's TTL, or at
// once when they meet an unknown kid).
//
// SIGNING and ENCRYPTION keys can be made; ENCRYPTION keys are kept and
// listed but nothing uses them yet. PingOne's other usage types (SSL/TLS,
// ISSUANCE, OUTBOUND_MTLS) need certificate chains Gatehouse does not
// issue. Import (multipart PKCS#12) is not supported.
//
// Every write of keys takes the environment's key lock (store.LockKeys)
// before it reads: two deletes at once cannot each see the other's key as
// the one that stays, nor hand the default to a key being deleted.

const (
	maxValidityDays = 36500 // keeps expiry within X.509's 9999
	keyUsageSigning = "SIGNING"
)

var (
	keyAlgorithms = []string{"RSA", "EC"}
	keyUsages     = []string{"SIGNING", "ENCRYPTION"}
	// Key lengths per algorithm; RSA 7680 is left out: generating one
	// takes long enough to hold a request for many seconds.
	keyLengths = map[string][]int64{"RSA": {2048, 3072, 4096}, "EC": {256, 384, 521}}
	// Signature algorithms per algorithm; an EC curve signs with its own hash.
	rsaSigAlgs = []string{"SHA256withRSA", "SHA384withRSA", "SHA512withRSA"}
	ecSigAlg   = map[int64]string{256: "SHA256withECDSA", 384: "SHA384withECDSA", 521: "SHA512withECDSA"}
)

func (a *API) keyRoutes(mux router) {
	base := "/v1/environments/{envID}/keys"
	mux.Handle("GET "+base, a.handle(a.listKeys))
	mux.Handle("POST "+base, a.handle(a.createKey))
	mux.Handle("GET "+base+"/{keyID}", a.handle(a.getKey))
	mux.Handle("PUT "+base+"/{keyID}", a.handle(a.updateKey))
	mux.Handle("DELETE "+base+"/{keyID}", a.handle(a.deleteKey))
	mux.Handle("GET "+base+"/{keyID}/applications", a.handle(a.keyApplications))
	a.certificateRoutes(mux)
}

func (a *API) renderKey(env *store.Environment, k *store.Key) wire.Key {
	envHref := a.APIPath + "/environments/" + env.ID
	return wire.Key{
		Links: wire.Links{"self": {Href: envHref + "/keys/" + k.ID}, "environment": {Href: envHref}},
		ID:    k.ID, Environment: wire.Ref{ID: env.ID}, Organization: wire.Ref{ID: env.OrganizationID}, Name: k.Name,
		Algorithm: k.Algorithm, KeyLength: k.KeyLength, SignatureAlgorithm: k.SignatureAlgorithm, SubjectDN: k.SubjectDN, IssuerDN: k.IssuerDN,
		UsageType: k.UsageType, Default: k.Default, SerialNumber: keys.SerialInt64(k),
		ValidityPeriod: validityDays(k.StartsAt, k.ExpiresAt), Status: keys.Status(k, time.Now()),
		StartsAt: wire.Time(k.StartsAt), ExpiresAt: wire.Time(k.ExpiresAt), CreatedAt: wire.Time(k.CreatedAt),
	}
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	ks, err := a.Store.ListKeys(r.Context(), env.ID)
	if err != nil {
		return err
	}
	items := make([]any, len(ks))
	for i := range ks {
		items[i] = a.renderKey(env, &ks[i])
	}
	wire.Write(w, http.StatusOK, wholeList(a.APIPath+"/environments/"+env.ID+"/keys", "keys", items))
	return nil
}

func (a *API) getKey(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.ReadConfig)
	if err != nil {
		return err
	}
	k, err := a.Store.GetKey(r.Context(), env.ID, r.PathValue("keyID"))
	if err != nil {
		return err
	}
	// The key's certificate itself, as PEM or PKCS#7, for an Accept that
	// names one (PingOne's export of a key's certificate).
	if writeCertificateFile(w, r, k.Certificate) {
		return nil
	}
	wire.Write(w, http.StatusOK, a.renderKey(env, k))
	return nil
}

// keySpec validates a create body.
func keySpec(req *wire.KeyRequest) (keys.Spec, error) {
	var details []wire.Detail
	details = confName(details, "name", req.Name, 256)
	spec := keys.Spec{Default: req.Default != nil && *req.Default}
	if req.Name != nil {
		spec.Name = strings.TrimSpace(*req.Name)
	}
	switch {
	case req.Algorithm == nil:
		details = append(details, wire.Required("algorithm"))
	case !oneOf(*req.Algorithm, keyAlgorithms):
		details = append(details, wire.OneOf("algorithm", keyAlgorithms))
	default:
		spec.Algorithm = *req.Algorithm
	}
	lengths := keyLengths[spec.Algorithm]
	switch {
	case req.KeyLength == nil:
		details = append(details, wire.Required("keyLength"))
	case spec.Algorithm == "":
	case !containsInt(lengths, *req.KeyLength):
		allowed := make([]string, len(lengths))
		for i, n := range lengths {
			allowed[i] = itoa64(n)
		}
		details = append(details, wire.Detail{Code: wire.DetailInvalidValue, Target: "keyLength",
			Message: "The key length is not supported for " + spec.Algorithm + ".", InnerError: &wire.InnerError{AllowedValues: allowed}})
	default:
		spec.KeyLength = int(*req.KeyLength)
	}
	switch {
	case req.SignatureAlgorithm == nil:
		details = append(details, wire.Required("signatureAlgorithm"))
	case spec.Algorithm == "RSA" && !oneOf(*req.SignatureAlgorithm, rsaSigAlgs):
		details = append(details, wire.OneOf("signatureAlgorithm", rsaSigAlgs))
	case spec.Algorithm == "EC" && spec.KeyLength != 0 && *req.SignatureAlgorithm != ecSigAlg[int64(spec.KeyLength)]:
		details = append(details, wire.OneOf("signatureAlgorithm", []string{ecSigAlg[int64(spec.KeyLength)]}))
	default:
		spec.SignatureAlgorithm = *req.SignatureAlgorithm
	}
	switch {
	case req.SubjectDN == nil || strings.TrimSpace(*req.SubjectDN) == "":
		details = append(details, wire.Required("subjectDN"))
	case len(*req.SubjectDN) > 1024:
		details = append(details, sizeLimit("subjectDN", 1024))
	default:
		if _, err := keys.ParseDN(*req.SubjectDN); err != nil {
			details = append(details, wire.InvalidValue("subjectDN", "The subject DN must be KEY=value pairs separated by commas, with keys CN, OU, O, L, ST, C (two letters) and E."))
		}
		spec.SubjectDN = strings.TrimSpace(*req.SubjectDN)
	}
	switch {
	case req.UsageType == nil:
		details = append(details, wire.Required("usageType"))
	case !oneOf(*req.UsageType, keyUsages):
		details = append(details, wire.OneOf("usageType", keyUsages))
	default:
		spec.UsageType = *req.UsageType
	}
	switch {
	case req.ValidityPeriod == nil:
		details = append(details, wire.Required("validityPeriod"))
	case *req.ValidityPeriod < 1 || *req.ValidityPeriod > maxValidityDays:
		details = append(details, confRange("validityPeriod", 1, maxValidityDays))
	default:
		spec.ValidityDays = int(*req.ValidityPeriod)
	}
	if len(details) > 0 {
		return spec, wire.InvalidData(details...)
	}
	return spec, nil
}

func containsInt(list []int64, v int64) bool {
	for _, n := range list {
		if n == v {
			return true
		}
	}
	return false
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.KeyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	spec, err := keySpec(&req)
	if err != nil {
		return err
	}
	// Generated before the transaction: RSA key generation is slow enough
	// to matter while SQLite's one writer waits.
	k, err := keys.Generate(env.ID, spec, a.Sealer, store.Now())
	if err != nil {
		return err
	}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if err := tx.LockKeys(r.Context(), env.ID); err != nil {
			return err
		}
		if k.Default {
			if err := tx.ClearDefaultKey(r.Context(), env.ID, k.UsageType, k.ID); err != nil {
				return err
			}
		}
		return tx.CreateKey(r.Context(), k)
	})
	if err != nil {
		return err
	}
	a.Keys.Invalidate(env.ID)
	wire.Write(w, http.StatusCreated, a.renderKey(env, k))
	return nil
}

// updateKey moves a key's default flag. default:true makes it the default
// of its usage type (the previous default loses the flag in the same
// transaction). default:false on the default hands the flag to another
// valid key of that usage (handDefaultOver): an environment always keeps
// a default signing key, so the only valid signing key cannot give it up.
// A key's usage cannot change; a body without default changes nothing.
func (a *API) updateKey(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	var req wire.KeyUpdateRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var k *store.Key
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if err := tx.LockKeys(r.Context(), env.ID); err != nil {
			return err
		}
		var err error
		if k, err = tx.GetKey(r.Context(), env.ID, r.PathValue("keyID")); err != nil {
			return err
		}
		switch {
		case req.UsageType == nil:
			return wire.InvalidData(wire.Required("usageType"))
		case !oneOf(*req.UsageType, keyUsages):
			return wire.InvalidData(wire.OneOf("usageType", keyUsages))
		case *req.UsageType != k.UsageType:
			return wire.InvalidData(wire.InvalidValue("usageType", "The usage type of a key cannot be changed; create a key for the other usage."))
		}
		now := store.Now()
		switch {
		case req.Default == nil || *req.Default == k.Default:
			return nil
		case !*req.Default:
			handed, err := handDefaultOver(r.Context(), tx, k, now)
			if err != nil {
				return err
			}
			if !handed && k.UsageType == keyUsageSigning {
				return wire.InvalidData(wire.InvalidValue("default",
					"The environment's only valid signing key stays the default: create or make another signing key the default instead."))
			}
		case keys.Status(k, now) != "VALID":
			return wire.InvalidData(wire.InvalidValue("default", "Only a currently valid key can be the default."))
		default:
			if err := tx.ClearDefaultKey(r.Context(), env.ID, k.UsageType, k.ID); err != nil {
				return err
			}
		}
		k.Default, k.UpdatedAt = *req.Default, now
		return tx.UpdateKey(r.Context(), k)
	})
	if err != nil {
		return err
	}
	a.Keys.Invalidate(env.ID)
	wire.Write(w, http.StatusOK, a.renderKey(env, k))
	return nil
}

// handDefaultOver gives k's default flag to another currently valid key of
// its usage, the one made first (an environment's original key, unless it
// expired), and reports whether there was one; k keeps the flag when there
// is none. PingOne's Terraform provider turns a key's default off and
// deletes keys it made the default, and expects both to succeed.
func handDefaultOver(ctx context.Context, tx store.Store, k *store.Key, now time.Time) (bool, error) {
	ks, err := tx.ListKeys(ctx, k.EnvironmentID) // oldest first
	if err != nil {
		return false, err
	}
	for i := range ks {
		next := &ks[i]
		if next.ID == k.ID || next.UsageType != k.UsageType || keys.Status(next, now) != "VALID" {
			continue
		}
		// One default per usage: k's flag goes before next takes it.
		if err := tx.ClearDefaultKey(ctx, k.EnvironmentID, k.UsageType, next.ID); err != nil {
			return false, err
		}
		next.Default, next.UpdatedAt = true, now
		return true, tx.UpdateKey(ctx, next)
	}
	return false, nil
}

// deleteKey removes a key. The default key hands its flag over first
// (handDefaultOver); the only valid signing key, which signs the
// environment's tokens, cannot go; nor can a key a SAML application
// (idpSigning.key) or SAML identity provider (spSigning.key) signs with.
func (a *API) deleteKey(w http.ResponseWriter, r *http.Request) error {
	env, err := a.environment(r, roles.WriteConfig)
	if err != nil {
		return err
	}
	err = a.Store.Tx(r.Context(), func(tx store.Store) error {
		if err := tx.LockKeys(r.Context(), env.ID); err != nil {
			return err
		}
		k, err := tx.GetKey(r.Context(), env.ID, r.PathValue("keyID"))
		if err != nil {
			return err
		}
		users, err := samlUsers(r.Context(), tx, env.ID, k.ID, refKey)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return inUse("key", users)
		}
		if k.Default {
			handed, err := handDefaultOver(r.Context(), tx, k, store.Now())
			if err != nil {
				return err
			}
			if !handed && k.UsageType == keyUsageSigning {
				return wire.RequestFailed("The environment's only valid signing key cannot be deleted. Create another signing key first.")
			}
		}
		return tx.DeleteKey(r.Context(), env.ID, k.ID)
	})
	if err != nil {
		return err
	}
	a.Keys.Invalidate(env.ID)
	wire.NoContent(w)
	return nil
}
