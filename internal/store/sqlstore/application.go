package sqlstore

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

const appCols = `id, environment_id, name, protocol, type, enabled, token_endpoint_auth_method, secret_sealed, data, created_at, updated_at`

func scanApp(r scanner) (store.Application, error) {
	var a store.Application
	var data string
	var c, u int64
	err := r.Scan(&a.ID, &a.EnvironmentID, &a.Name, &a.Protocol, &a.Type, &a.Enabled, &a.TokenEndpointAuthMethod, &a.SecretSealed, &data, &c, &u)
	a.Data, a.CreatedAt, a.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return a, err
}

func (s *SQLStore) CreateApplication(ctx context.Context, a *store.Application) error {
	return s.configWrite(ctx, a.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO applications (`+appCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.EnvironmentID, a.Name, a.Protocol, a.Type, a.Enabled, a.TokenEndpointAuthMethod, a.SecretSealed, jsonText(a.Data), ms(a.CreatedAt), ms(a.UpdatedAt))
		return appUnique(err, "id")
	})
}

// appUnique names the field of whichever unique constraint failed: the
// devicePathId index (migration 15), the spEntityId index (migration 29)
// or, else, field. Both databases name
// the index in their message (PostgreSQL its constraint, SQLite an
// expression index by its name).
func appUnique(err error, field string) error {
	mapped := mapErr(err, "application", field)
	var ue *store.UniqueError
	if errors.As(mapped, &ue) && strings.Contains(err.Error(), "applications_device_path") {
		ue.Field = "devicePathId"
	}
	if errors.As(mapped, &ue) && strings.Contains(err.Error(), "applications_sp_entity_id") {
		ue.Field = "spEntityId"
	}
	return mapped
}

func (s *SQLStore) GetApplication(ctx context.Context, envID, id string) (*store.Application, error) {
	return one(ctx, s, scanApp, `SELECT `+appCols+` FROM applications WHERE environment_id = ? AND id = ?`, envID, id)
}

func (s *SQLStore) ListApplications(ctx context.Context, envID string) ([]store.Application, error) {
	return many(ctx, s, scanApp, `SELECT `+appCols+` FROM applications WHERE environment_id = ? ORDER BY id`, envID)
}

func (s *SQLStore) UpdateApplication(ctx context.Context, a *store.Application) error {
	return s.configWrite(ctx, a.EnvironmentID, func(t *SQLStore) error {
		err := t.execOne(ctx, `UPDATE applications SET name = ?, protocol = ?, type = ?, enabled = ?, token_endpoint_auth_method = ?, secret_sealed = ?, data = ?, updated_at = ?
 WHERE environment_id = ? AND id = ?`,
			a.Name, a.Protocol, a.Type, a.Enabled, a.TokenEndpointAuthMethod, a.SecretSealed, jsonText(a.Data), ms(a.UpdatedAt), a.EnvironmentID, a.ID)
		return appUnique(err, "name")
	})
}

// DeleteApplication removes the application and the roles it held.
func (s *SQLStore) DeleteApplication(ctx context.Context, envID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		if err := t.execOne(ctx, `DELETE FROM applications WHERE environment_id = ? AND id = ?`, envID, id); err != nil {
			return err
		}
		_, err := t.exec(ctx, `DELETE FROM role_assignments WHERE environment_id = ? AND actor_id = ?`, envID, id)
		return err
	})
}

// ---- role assignments

const raCols = `id, environment_id, actor_type, actor_id, role_id, scope_type, scope_id, read_only, created_at`

func scanRA(r scanner) (store.RoleAssignment, error) {
	var ra store.RoleAssignment
	var c int64
	err := r.Scan(&ra.ID, &ra.EnvironmentID, &ra.ActorType, &ra.ActorID, &ra.RoleID, &ra.ScopeType, &ra.ScopeID, &ra.ReadOnly, &c)
	ra.CreatedAt = fromMS(c)
	return ra, err
}

// Role assignments are configuration: the management API serves an
// application's from the cache, so each write of one bumps the version of
// the actor's environment.
func (s *SQLStore) CreateRoleAssignment(ctx context.Context, ra *store.RoleAssignment) error {
	return s.configWrite(ctx, ra.EnvironmentID, func(t *SQLStore) error {
		_, err := t.exec(ctx, `INSERT INTO role_assignments (`+raCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			ra.ID, ra.EnvironmentID, ra.ActorType, ra.ActorID, ra.RoleID, ra.ScopeType, ra.ScopeID, ra.ReadOnly, ms(ra.CreatedAt))
		return mapErr(err, "roleAssignment", "role")
	})
}

func (s *SQLStore) GetRoleAssignment(ctx context.Context, envID, actorID, id string) (*store.RoleAssignment, error) {
	return one(ctx, s, scanRA, `SELECT `+raCols+` FROM role_assignments WHERE environment_id = ? AND actor_id = ? AND id = ?`, envID, actorID, id)
}

func (s *SQLStore) ListRoleAssignments(ctx context.Context, envID, actorID string) ([]store.RoleAssignment, error) {
	return many(ctx, s, scanRA, `SELECT `+raCols+` FROM role_assignments WHERE environment_id = ? AND actor_id = ? ORDER BY id`, envID, actorID)
}

func (s *SQLStore) DeleteRoleAssignment(ctx context.Context, envID, actorID, id string) error {
	return s.configWrite(ctx, envID, func(t *SQLStore) error {
		return t.execOne(ctx, `DELETE FROM role_assignments WHERE environment_id = ? AND actor_id = ? AND id = ?`, envID, actorID, id)
	})
}
