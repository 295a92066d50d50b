package wire

import "encoding/json"

// Group is one of PingOne's groups as the API answers it. population is
// absent for an environment-wide group; the member counts are there when
// the endpoint serves them (directMemberCounts on reads, totalMemberCounts
// on a read of one group with include=totalMemberCounts).
type Group struct {
	Links              Links            `json:"_links"`
	ID                 string           `json:"id"`
	Environment        Ref              `json:"environment"`
	Population         *Ref             `json:"population,omitempty"`
	Name               string           `json:"name"`
	Description        string           `json:"description,omitempty"`
	ExternalID         string           `json:"externalId,omitempty"`
	UserFilter         string           `json:"userFilter,omitempty"`
	CustomData         json.RawMessage  `json:"customData,omitempty"`
	DirectMemberCounts *GroupUserCounts `json:"directMemberCounts,omitempty"`
	TotalMemberCounts  *GroupUserCounts `json:"totalMemberCounts,omitempty"`
}

// GroupUserCounts counts a group's users.
type GroupUserCounts struct {
	Users int `json:"users"`
}

// GroupRequest is the body of POST and PUT …/groups. Read-only members
// (id, environment, counts, _links) are ignored.
type GroupRequest struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Population  *RefRequest     `json:"population"`
	ExternalID  *string         `json:"externalId"`
	UserFilter  *string         `json:"userFilter"`
	CustomData  json.RawMessage `json:"customData"`
}

// GroupData is the long tail of a group kept in its JSON column.
type GroupData struct {
	Description string          `json:"description,omitempty"`
	UserFilter  string          `json:"userFilter,omitempty"`
	CustomData  json.RawMessage `json:"customData,omitempty"`
}

// GroupMembership is one group a user belongs to (…/users/{id}/memberOfGroups):
// type DIRECT or INDIRECT (through a nested group); _embedded.group with
// expand=group.
type GroupMembership struct {
	Links       Links                    `json:"_links"`
	Embedded    *GroupMembershipEmbedded `json:"_embedded,omitempty"`
	ID          string                   `json:"id"`
	Environment Ref                      `json:"environment"`
	Name        string                   `json:"name"`
	Type        string                   `json:"type"`
}

type GroupMembershipEmbedded struct {
	Group Group `json:"group"`
}

// GroupNesting is one group a group is a member of
// (…/groups/{id}/memberOfGroups).
type GroupNesting struct {
	Links    Links                    `json:"_links"`
	Embedded *GroupMembershipEmbedded `json:"_embedded,omitempty"`
	ID       string                   `json:"id"`
	Type     string                   `json:"type"`
}
