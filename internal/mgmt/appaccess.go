package mgmt

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/wire"
)

// checkAccessGroups refuses an application whose accessControl.group names
// a group the environment does not have (one query for them all), inside
// the write's transaction so that the groups cannot go in between.
func checkAccessGroups(ctx context.Context, tx store.Store, envID string, ac *wire.AccessControl) error {
	if ac == nil || ac.Group == nil || len(ac.Group.Groups) == 0 {
		return nil
	}
	ids := make([]string, len(ac.Group.Groups))
	for i, g := range ac.Group.Groups {
		ids[i] = g.ID
	}
	found, _, err := tx.ListGroups(ctx, envID, store.Page{IDs: ids, Limit: len(ids)})
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(found))
	for _, g := range found {
		have[g.ID] = true
	}
	var details []wire.Detail
	for i, id := range ids {
		if !have[id] {
			details = append(details, wire.InvalidValue(fmt.Sprintf("accessControl.group.groups[%d].id", i),
				"The group "+id+" does not exist in this environment."))
		}
	}
	if len(details) > 0 {
		return wire.InvalidData(details...)
	}
	return nil
}
