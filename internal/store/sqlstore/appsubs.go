package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// applicationList is GET /applications.
var applicationList = &listing[store.Application]{cols: appCols, from: `FROM applications WHERE environment_id = ?`, id: "id", byID: "applications_env",
	scan: scanApp, filter: &filterSchema{attrs: map[string]filterAttr{
		"id":        {column: "id", ops: []string{"eq", "ne"}},
		"type":      {column: "type", ops: []string{"eq", "ne"}},
		"protocol":  {column: "protocol", ops: []string{"eq", "ne"}},
		"enabled":   {column: "enabled", kind: boolAttr},
		"createdAt": {column: "created_at", kind: timeAttr},
		"updatedAt": {column: "updated_at", kind: timeAttr},
	}}}

// ListApplicationsPage lists one page of envID's applications by id.
func (s *SQLStore) ListApplicationsPage(ctx context.Context, envID string, p store.Page) ([]store.Application, int, error) {
	return page(ctx, s, applicationList, p, envID)
}

// ---- the previous client secret

// RotateApplicationSecret installs sealed as the application's secret in
// one statement, so that two rotations racing cannot lose a secret: the
// current secret becomes the previous one until keepUntil, or is dropped
// when keepUntil is zero.
func (s *SQLStore) RotateApplicationSecret(ctx context.Context, envID, appID string, sealed []byte, keepUntil time.Time) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		if keepUntil.IsZero() {
			return t.execOne(ctx, `UPDATE applications SET previous_secret_sealed = NULL, previous_secret_expires_at = NULL, previous_secret_last_used = NULL, secret_sealed = ?
 WHERE environment_id = ? AND id = ?`, sealed, envID, appID)
		}
		return t.execOne(ctx, `UPDATE applications SET previous_secret_sealed = secret_sealed, previous_secret_expires_at = ?, previous_secret_last_used = NULL, secret_sealed = ?
 WHERE environment_id = ? AND id = ?`, ms(keepUntil), sealed, envID, appID)
	})
}

// GetApplicationPreviousSecret returns nil when the application has no
// previous secret (expired ones included: the caller judges expiry).
func (s *SQLStore) GetApplicationPreviousSecret(ctx context.Context, envID, appID string) (*store.PreviousSecret, error) {
	type row struct {
		sealed          []byte
		expires, lastAt sql.NullInt64
	}
	r, err := one(ctx, s, func(sc scanner) (row, error) {
		var x row
		err := sc.Scan(&x.sealed, &x.expires, &x.lastAt)
		return x, err
	}, `SELECT previous_secret_sealed, previous_secret_expires_at, previous_secret_last_used FROM applications WHERE environment_id = ? AND id = ?`, envID, appID)
	if err != nil {
		return nil, err
	}
	if len(r.sealed) == 0 || !r.expires.Valid {
		return nil, nil
	}
	p := &store.PreviousSecret{Sealed: r.sealed, ExpiresAt: fromMS(r.expires.Int64)}
	if r.lastAt.Valid {
		p.LastUsed = fromMS(r.lastAt.Int64)
	}
	return p, nil
}

// ClearApplicationPreviousSecret forgets the previous secret.
func (s *SQLStore) ClearApplicationPreviousSecret(ctx context.Context, envID, appID string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `UPDATE applications SET previous_secret_sealed = NULL, previous_secret_expires_at = NULL, previous_secret_last_used = NULL
 WHERE environment_id = ? AND id = ?`, envID, appID)
	})
}

// TouchApplicationPreviousSecret records a use of the previous secret, at
// most once a minute: a client still on the old secret then costs the
// token endpoint one write a minute, not one per token. It leaves the
// configuration version alone: when a secret was last used is not what
// nodes cache, and a bump would empty every node's cache of the
// environment once a minute.
func (s *SQLStore) TouchApplicationPreviousSecret(ctx context.Context, envID, appID string, at time.Time) error {
	_, err := s.exec(ctx, `UPDATE applications SET previous_secret_last_used = ?
 WHERE environment_id = ? AND id = ? AND previous_secret_sealed IS NOT NULL AND (previous_secret_last_used IS NULL OR previous_secret_last_used < ?)`,
		ms(at), envID, appID, ms(at.Add(-time.Minute)))
	return err
}

// ---- role assignment scopes

// ResolveRoleScopes finds, among orgID's environments, populations and
// applications, those whose id is in ids, in one query.
func (s *SQLStore) ResolveRoleScopes(ctx context.Context, orgID string, ids []string) (map[string]store.RoleScope, error) {
	out := map[string]store.RoleScope{}
	if len(ids) == 0 {
		return out, nil
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")"
	var a []any
	add := func() {
		a = append(a, orgID)
		for _, id := range ids {
			a = append(a, id)
		}
	}
	add()
	add()
	add()
	rows, err := s.queryDynamic(ctx, `SELECT e.id, 'ENVIRONMENT', e.id FROM environments e WHERE e.organization_id = ? AND e.id IN `+in+`
 UNION ALL SELECT p.id, 'POPULATION', p.environment_id FROM populations p JOIN environments e ON e.id = p.environment_id WHERE e.organization_id = ? AND p.id IN `+in+`
 UNION ALL SELECT x.id, 'APPLICATION', x.environment_id FROM applications x JOIN environments e ON e.id = x.environment_id WHERE e.organization_id = ? AND x.id IN `+in, a...)
	type hit struct {
		id string
		rs store.RoleScope
	}
	hits, err := collect(rows, err, func(sc scanner) (hit, error) {
		var h hit
		err := sc.Scan(&h.id, &h.rs.Type, &h.rs.EnvironmentID)
		return h, err
	})
	if err != nil {
		return nil, err
	}
	for _, h := range hits {
		out[h.id] = h.rs
	}
	return out, nil
}

// ---- resource grants

const grantCols = `g.id, g.environment_id, g.application_id, g.resource_id, g.created_at, g.updated_at`

// grantsOf runs a grant query joined with its scopes (one row per scope,
// ordered by grant then position) and folds the rows into grants.
func (s *SQLStore) grantsOf(ctx context.Context, where string, a ...any) ([]store.ApplicationGrant, error) {
	type row struct {
		g     store.ApplicationGrant
		scope sql.NullString
	}
	rows, err := many(ctx, s, func(sc scanner) (row, error) {
		var x row
		var c, u int64
		err := sc.Scan(&x.g.ID, &x.g.EnvironmentID, &x.g.ApplicationID, &x.g.ResourceID, &c, &u, &x.scope)
		x.g.CreatedAt, x.g.UpdatedAt = fromMS(c), fromMS(u)
		return x, err
	}, `SELECT `+grantCols+`, gs.scope_id FROM application_grants g LEFT JOIN application_grant_scopes gs ON gs.grant_id = g.id
 WHERE `+where+` ORDER BY g.id, gs.position`, a...)
	if err != nil {
		return nil, err
	}
	out := []store.ApplicationGrant{}
	for _, r := range rows {
		if len(out) == 0 || out[len(out)-1].ID != r.g.ID {
			r.g.ScopeIDs = []string{}
			out = append(out, r.g)
		}
		if r.scope.Valid {
			last := &out[len(out)-1]
			last.ScopeIDs = append(last.ScopeIDs, r.scope.String)
		}
	}
	return out, nil
}

func (s *SQLStore) insertGrantScopes(ctx context.Context, g *store.ApplicationGrant) error {
	for i, id := range g.ScopeIDs {
		if _, err := s.exec(ctx, `INSERT INTO application_grant_scopes (grant_id, scope_id, position) VALUES (?, ?, ?)`, g.ID, id, i); err != nil {
			return mapErr(err, "applicationGrant", "scopes")
		}
	}
	return nil
}

func (s *SQLStore) CreateApplicationGrant(ctx context.Context, g *store.ApplicationGrant) error {
	return s.configWrite(ctx, g.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO application_grants (id, environment_id, application_id, resource_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			g.ID, g.EnvironmentID, g.ApplicationID, g.ResourceID, ms(g.CreatedAt), ms(g.UpdatedAt))
		if err != nil {
			return mapErr(err, "grant", "resource.id")
		}
		return t.insertGrantScopes(ctx, g)
	})
}

func (s *SQLStore) GetApplicationGrant(ctx context.Context, envID, appID, id string) (*store.ApplicationGrant, error) {
	gs, err := s.grantsOf(ctx, `g.environment_id = ? AND g.application_id = ? AND g.id = ?`, envID, appID, id)
	if err != nil {
		return nil, err
	}
	if len(gs) == 0 {
		return nil, store.ErrNotFound
	}
	return &gs[0], nil
}

func (s *SQLStore) ListApplicationGrants(ctx context.Context, envID, appID string) ([]store.ApplicationGrant, error) {
	return s.grantsOf(ctx, `g.environment_id = ? AND g.application_id = ?`, envID, appID)
}

func (s *SQLStore) UpdateApplicationGrant(ctx context.Context, g *store.ApplicationGrant) error {
	return s.configWrite(ctx, g.EnvironmentID, func(t *SQLStore) error {
		err := t.execOne(ctx, `UPDATE application_grants SET resource_id = ?, updated_at = ? WHERE environment_id = ? AND application_id = ? AND id = ?`,
			g.ResourceID, ms(g.UpdatedAt), g.EnvironmentID, g.ApplicationID, g.ID)
		if err != nil {
			return mapErr(err, "grant", "resource.id")
		}
		if _, err := t.exec(ctx, `DELETE FROM application_grant_scopes WHERE grant_id = ?`, g.ID); err != nil {
			return err
		}
		return t.insertGrantScopes(ctx, g)
	})
}

func (s *SQLStore) DeleteApplicationGrant(ctx context.Context, envID, appID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `DELETE FROM application_grants WHERE environment_id = ? AND application_id = ? AND id = ?`, envID, appID, id)
	})
}

// ---- sign-on policy assignments

const sopaCols = `id, environment_id, application_id, sign_on_policy_id, priority, created_at, updated_at`

func scanSOPA(r scanner) (store.SignOnPolicyAssignment, error) {
	var x store.SignOnPolicyAssignment
	var c, u int64
	err := r.Scan(&x.ID, &x.EnvironmentID, &x.ApplicationID, &x.SignOnPolicyID, &x.Priority, &c, &u)
	x.CreatedAt, x.UpdatedAt = fromMS(c), fromMS(u)
	return x, err
}

// sopaUnique names the field of whichever of the two unique constraints
// failed: PostgreSQL reports the constraint's name, SQLite its columns.
func sopaUnique(err error) error {
	mapped := mapErr(err, "signOnPolicyAssignment", "priority")
	var ue *store.UniqueError
	if errors.As(mapped, &ue) {
		msg := err.Error()
		if strings.Contains(msg, "sop_assignments_policy") || strings.Contains(msg, "sign_on_policy_assignments.sign_on_policy_id") {
			ue.Field = "signOnPolicy.id"
		}
	}
	return mapped
}

func (s *SQLStore) CreateSignOnPolicyAssignment(ctx context.Context, x *store.SignOnPolicyAssignment) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO sign_on_policy_assignments (`+sopaCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			x.ID, x.EnvironmentID, x.ApplicationID, x.SignOnPolicyID, x.Priority, ms(x.CreatedAt), ms(x.UpdatedAt))
		return sopaUnique(err)
	})
}

func (s *SQLStore) GetSignOnPolicyAssignment(ctx context.Context, envID, appID, id string) (*store.SignOnPolicyAssignment, error) {
	return one(ctx, s, scanSOPA, `SELECT `+sopaCols+` FROM sign_on_policy_assignments WHERE environment_id = ? AND application_id = ? AND id = ?`, envID, appID, id)
}

func (s *SQLStore) ListSignOnPolicyAssignments(ctx context.Context, envID, appID string) ([]store.SignOnPolicyAssignment, error) {
	return many(ctx, s, scanSOPA, `SELECT `+sopaCols+` FROM sign_on_policy_assignments WHERE environment_id = ? AND application_id = ? ORDER BY priority, id`, envID, appID)
}

func (s *SQLStore) UpdateSignOnPolicyAssignment(ctx context.Context, x *store.SignOnPolicyAssignment) error {
	return s.configWrite(ctx, x.EnvironmentID, func(t *SQLStore) error {
		err := t.execOne(ctx, `UPDATE sign_on_policy_assignments SET sign_on_policy_id = ?, priority = ?, updated_at = ? WHERE environment_id = ? AND application_id = ? AND id = ?`,
			x.SignOnPolicyID, x.Priority, ms(x.UpdatedAt), x.EnvironmentID, x.ApplicationID, x.ID)
		return sopaUnique(err)
	})
}

func (s *SQLStore) DeleteSignOnPolicyAssignment(ctx context.Context, envID, appID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `DELETE FROM sign_on_policy_assignments WHERE environment_id = ? AND application_id = ? AND id = ?`, envID, appID, id)
	})
}
