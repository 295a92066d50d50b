package wire

// Built-in roles and role assignments.

type Permission struct {
	ID          string `json:"id"`
	Classifier  string `json:"classifier"`
	Description string `json:"description"`
}

// Role is a built-in role. permissions is always an array: PingOne's SDK
// tells a Role from a role assignment in the roles list by it.
type Role struct {
	Links        Links        `json:"_links"`
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	Description  string       `json:"description"`
	ApplicableTo []string     `json:"applicableTo"`
	Permissions  []Permission `json:"permissions"`
}

type RoleAssignmentScope struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// RoleAssignment carries the actor it belongs to under its own member
// ("application" or "user"), as PingOne does.
type RoleAssignment struct {
	Links       Links               `json:"_links"`
	ID          string              `json:"id"`
	Role        Ref                 `json:"role"`
	Scope       RoleAssignmentScope `json:"scope"`
	Environment Ref                 `json:"environment"`
	Application *Ref                `json:"application,omitempty"`
	User        *Ref                `json:"user,omitempty"`
	Group       *Ref                `json:"group,omitempty"`
	ReadOnly    bool                `json:"readOnly"`
}

type RoleAssignmentScopeRequest struct {
	ID   *string `json:"id"`
	Type *string `json:"type"`
}

type RoleAssignmentRequest struct {
	Role  *Ref                        `json:"role"`
	Scope *RoleAssignmentScopeRequest `json:"scope"`
}
