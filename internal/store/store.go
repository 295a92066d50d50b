// Package store defines Gatehouse's persistence contract: plain records, the
// Store interface and the sentinel errors every backend must return. The one
// implementation lives in sqlstore (SQLite and PostgreSQL); storetest holds the
// conformance suite that proves a backend keeps this contract.
package store

import (
	"context"
	"errors"
	"fmt"
)

var (
	// ErrNotFound means no row matched, including a row that exists in
	// another environment: callers cannot tell the two apart on purpose.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a uniqueness constraint rejected the write.
	ErrConflict = errors.New("store: conflict")
	// ErrReferenced means a foreign key refused the write: the parent row is
	// missing, or a row being deleted is still referenced.
	ErrReferenced = errors.New("store: referenced")
)

// UniqueError names the field whose uniqueness constraint failed, so the
// wire layer can answer UNIQUENESS_VIOLATION with the right target.
type UniqueError struct {
	Resource string // e.g. "population"
	Field    string // the JSON attribute, e.g. "name"
}

func (e *UniqueError) Error() string {
	return fmt.Sprintf("store: %s %s must be unique", e.Resource, e.Field)
}

func (e *UniqueError) Is(target error) bool { return target == ErrConflict }

// Page asks for one page of a list. Where and Args come from a compiled
// filter (scim) whose column names belong to the list's own schema.
type Page struct {
	Where string
	Args  []any
	After string // opaque cursor: the last id of the previous page
	Limit int
	// IDs, when non-nil, restricts the list to these ids (an actor that may
	// see only some environments). An empty non-nil slice matches nothing.
	IDs []string
}

// Store is the whole persistence contract. Every method that reads or writes
// an environment's data takes the environment id and filters by it.
type Store interface {
	// Tx runs fn in one transaction; the Store passed to fn is bound to it.
	// fn's error rolls back and is returned unchanged.
	Tx(ctx context.Context, fn func(tx Store) error) error
	Ping(ctx context.Context) error
	Close() error

	GetMeta(ctx context.Context, key string) (string, error)
	PutMeta(ctx context.Context, key, value string) error
	// InsertMeta writes key only if absent; it returns ErrConflict otherwise.
	InsertMeta(ctx context.Context, key, value string) error

	CreateOrganization(ctx context.Context, o *Organization) error
	GetOrganization(ctx context.Context, id string) (*Organization, error)
	ListOrganizations(ctx context.Context) ([]Organization, error)
	CreateLicense(ctx context.Context, l *License) error
	GetLicense(ctx context.Context, orgID, id string) (*License, error)
	ListLicenses(ctx context.Context, orgID string) ([]License, error)

	CreateEnvironment(ctx context.Context, e *Environment) error
	GetEnvironment(ctx context.Context, id string) (*Environment, error)
	ListEnvironments(ctx context.Context, orgID string, p Page) ([]Environment, int, error)
	UpdateEnvironment(ctx context.Context, e *Environment) error
	DeleteEnvironment(ctx context.Context, id string) error

	CreatePopulation(ctx context.Context, p *Population) error
	GetPopulation(ctx context.Context, envID, id string) (*Population, error)
	ListPopulations(ctx context.Context, envID string, p Page) ([]Population, int, error)
	UpdatePopulation(ctx context.Context, p *Population) error
	DeletePopulation(ctx context.Context, envID, id string) error
	// ClearDefaultPopulation unsets the default flag on every population of
	// envID except keepID, so that setting a new default stays one write.
	ClearDefaultPopulation(ctx context.Context, envID, keepID string) error

	CreateApplication(ctx context.Context, a *Application) error
	GetApplication(ctx context.Context, envID, id string) (*Application, error)
	ListApplications(ctx context.Context, envID string) ([]Application, error)
	UpdateApplication(ctx context.Context, a *Application) error
	DeleteApplication(ctx context.Context, envID, id string) error

	CreateRoleAssignment(ctx context.Context, ra *RoleAssignment) error
	GetRoleAssignment(ctx context.Context, envID, actorID, id string) (*RoleAssignment, error)
	ListRoleAssignments(ctx context.Context, envID, actorID string) ([]RoleAssignment, error)
	DeleteRoleAssignment(ctx context.Context, envID, actorID, id string) error

	CreateResource(ctx context.Context, r *Resource) error
	GetResource(ctx context.Context, envID, id string) (*Resource, error)
	ListResources(ctx context.Context, envID string) ([]Resource, error)
	UpdateResource(ctx context.Context, r *Resource) error
	DeleteResource(ctx context.Context, envID, id string) error

	CreateScope(ctx context.Context, s *Scope) error
	GetScope(ctx context.Context, envID, resourceID, id string) (*Scope, error)
	ListScopes(ctx context.Context, envID, resourceID string) ([]Scope, error)
	UpdateScope(ctx context.Context, s *Scope) error
	DeleteScope(ctx context.Context, envID, resourceID, id string) error

	CreatePasswordPolicy(ctx context.Context, p *PasswordPolicy) error
	GetPasswordPolicy(ctx context.Context, envID, id string) (*PasswordPolicy, error)
	ListPasswordPolicies(ctx context.Context, envID string) ([]PasswordPolicy, error)
	UpdatePasswordPolicy(ctx context.Context, p *PasswordPolicy) error
	DeletePasswordPolicy(ctx context.Context, envID, id string) error

	CreateSignOnPolicy(ctx context.Context, p *SignOnPolicy) error
	GetSignOnPolicy(ctx context.Context, envID, id string) (*SignOnPolicy, error)
	ListSignOnPolicies(ctx context.Context, envID string) ([]SignOnPolicy, error)
	UpdateSignOnPolicy(ctx context.Context, p *SignOnPolicy) error
	DeleteSignOnPolicy(ctx context.Context, envID, id string) error

	CreateSignOnPolicyAction(ctx context.Context, a *SignOnPolicyAction) error
	GetSignOnPolicyAction(ctx context.Context, envID, policyID, id string) (*SignOnPolicyAction, error)
	// ListSignOnPolicyActions returns the policy's actions by ascending priority.
	ListSignOnPolicyActions(ctx context.Context, envID, policyID string) ([]SignOnPolicyAction, error)
	UpdateSignOnPolicyAction(ctx context.Context, a *SignOnPolicyAction) error
	DeleteSignOnPolicyAction(ctx context.Context, envID, policyID, id string) error

	CreateKey(ctx context.Context, k *Key) error
	GetKey(ctx context.Context, envID, id string) (*Key, error)
	ListKeys(ctx context.Context, envID string) ([]Key, error)
	UpdateKey(ctx context.Context, k *Key) error
	DeleteKey(ctx context.Context, envID, id string) error

	// CountUsers counts the users of a population (for userCount and for
	// refusing to delete a population that still has users).
	CountUsers(ctx context.Context, envID, populationID string) (int, error)
}
