package sqlstore

import (
	"context"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The user count and the effective theme ride along as correlated
// subqueries so a page of populations is one query, not one per row. A
// theme id that names no theme of the environment (one deleted while a
// write naming it ran) falls back to the default theme, as "" does.
const popCols = `p.id, p.environment_id, p.name, p.description, p.is_default, p.password_policy_id, p.theme_id, p.data, p.created_at, p.updated_at,
 (SELECT COUNT(*) FROM users u WHERE u.population_id = p.id),
 COALESCE((SELECT t.id FROM themes t WHERE t.environment_id = p.environment_id AND t.id = p.theme_id),
  (SELECT t.id FROM themes t WHERE t.environment_id = p.environment_id AND t.is_default), '')`

func scanPop(r scanner) (store.Population, error) {
	var p store.Population
	var data string
	var c, u int64
	err := r.Scan(&p.ID, &p.EnvironmentID, &p.Name, &p.Description, &p.Default, &p.PasswordPolicyID, &p.ThemeID, &data, &c, &u,
		&p.UserCount, &p.EffectiveThemeID)
	p.Data, p.CreatedAt, p.UpdatedAt = []byte(data), fromMS(c), fromMS(u)
	return p, err
}

func (s *SQLStore) CreatePopulation(ctx context.Context, p *store.Population) error {
	_, err := s.exec(ctx, `INSERT INTO populations (id, environment_id, name, name_lc, description, is_default, password_policy_id, theme_id, data, created_at, updated_at)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.EnvironmentID, p.Name, strings.ToLower(p.Name), p.Description, p.Default, p.PasswordPolicyID, p.ThemeID, jsonText(p.Data), ms(p.CreatedAt), ms(p.UpdatedAt))
	return mapErr(err, "population", "name")
}

func (s *SQLStore) GetPopulation(ctx context.Context, envID, id string) (*store.Population, error) {
	return one(ctx, s, scanPop, `SELECT `+popCols+` FROM populations p WHERE p.environment_id = ? AND p.id = ?`, envID, id)
}

// populationList is GET /populations.
var populationList = &listing[store.Population]{cols: popCols, from: `FROM populations p WHERE p.environment_id = ?`, id: "p.id", byID: "populations_env",
	scan: scanPop, filter: &filterSchema{attrs: map[string]filterAttr{
		"id":                {column: "p.id"},
		"name":              {column: "p.name_lc", fold: true},
		"default":           {column: "p.is_default", kind: boolAttr},
		"passwordPolicy.id": {column: "p.password_policy_id", ops: []string{"eq", "ne"}},
		"createdAt":         {column: "p.created_at", kind: timeAttr},
		"updatedAt":         {column: "p.updated_at", kind: timeAttr},
	}}}

func (s *SQLStore) ListPopulations(ctx context.Context, envID string, pg store.Page) ([]store.Population, int, error) {
	return page(ctx, s, populationList, pg, envID)
}

func (s *SQLStore) UpdatePopulation(ctx context.Context, p *store.Population) error {
	err := s.execOne(ctx, `UPDATE populations SET name = ?, name_lc = ?, description = ?, is_default = ?, password_policy_id = ?, theme_id = ?, data = ?, updated_at = ?
 WHERE environment_id = ? AND id = ?`,
		p.Name, strings.ToLower(p.Name), p.Description, p.Default, p.PasswordPolicyID, p.ThemeID, jsonText(p.Data), ms(p.UpdatedAt), p.EnvironmentID, p.ID)
	return mapErr(err, "population", "name")
}

// DeletePopulation deletes the population's groups with it (migration
// 0023): a population group cannot outlive its population.
func (s *SQLStore) DeletePopulation(ctx context.Context, envID, id string) error {
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		if err := mapErr(t.execOne(ctx, `DELETE FROM populations WHERE environment_id = ? AND id = ?`, envID, id), "population", "id"); err != nil {
			return err
		}
		return t.deleteGroupsOf(ctx, envID, id)
	})
}

func (s *SQLStore) ClearDefaultPopulation(ctx context.Context, envID, keepID string) error {
	_, err := s.exec(ctx, `UPDATE populations SET is_default = ? WHERE environment_id = ? AND id <> ? AND is_default`, false, envID, keepID)
	return err
}

func (s *SQLStore) CountUsers(ctx context.Context, envID, populationID string) (int, error) {
	n, err := one(ctx, s, func(r scanner) (int, error) {
		var n int
		return n, r.Scan(&n)
	}, `SELECT COUNT(*) FROM users WHERE environment_id = ? AND population_id = ?`, envID, populationID)
	if err != nil {
		return 0, err
	}
	return *n, nil
}

func (s *SQLStore) LockPopulations(ctx context.Context, envID string) error {
	return s.lockEnvironment(ctx, "populations", envID)
}
