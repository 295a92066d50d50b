package sqlstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/scim"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Audit activities (migration 0027). The writer is the audit log's one
// goroutine (and, when its queue is full, the callers themselves), so a
// batch is one transaction; a list is a time range of one environment read
// newest first through an index that ends in (recorded_at, seq).

// activityLock is the PostgreSQL advisory lock InsertActivities holds to
// its commit: sequence values are drawn in one order but transactions may
// commit in another, and a reader following Seq (ActivitiesAfter) would
// then pass over a row that commits later with a lower Seq. Under the lock
// inserts commit in Seq order. (SQLite has one writer anyway.)
const activityLock = 7415298027

// activityData is the JSON of an activity's data column: what no filter
// reads. Its field names are the stored format, independent of Go's.
type activityData struct {
	ActionDescription string          `json:"actionDescription,omitempty"`
	Client            *activityActor  `json:"client,omitempty"`
	User              *activityActor  `json:"user,omitempty"`
	Resources         []activityActor `json:"resources,omitempty"`
	ResultDescription string          `json:"resultDescription,omitempty"`
	Tags              []string        `json:"tags,omitempty"`
	Details           json.RawMessage `json:"details,omitempty"`
}

type activityActor struct {
	ID            string `json:"id,omitempty"`
	Name          string `json:"name,omitempty"`
	Type          string `json:"type,omitempty"`
	EnvironmentID string `json:"environmentId,omitempty"`
	PopulationID  string `json:"populationId,omitempty"`
}

func actorData(a *store.ActivityActor) *activityActor {
	if a == nil {
		return nil
	}
	return &activityActor{ID: a.ID, Name: a.Name, Type: a.Type, EnvironmentID: a.EnvironmentID, PopulationID: a.PopulationID}
}

func actorRecord(a *activityActor) *store.ActivityActor {
	if a == nil {
		return nil
	}
	return &store.ActivityActor{ID: a.ID, Name: a.Name, Type: a.Type, EnvironmentID: a.EnvironmentID, PopulationID: a.PopulationID}
}

const activityCols = `a.seq, a.id, a.environment_id, a.recorded_at, a.action_type, a.result_status, a.correlation_id, a.data`

func scanActivity(r scanner) (store.Activity, error) {
	var x store.Activity
	var at int64
	var data string
	if err := r.Scan(&x.Seq, &x.ID, &x.EnvironmentID, &at, &x.ActionType, &x.ResultStatus, &x.CorrelationID, &data); err != nil {
		return x, err
	}
	x.RecordedAt = fromMS(at)
	var d activityData
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		return x, fmt.Errorf("sqlstore: activity %s: %w", x.ID, err)
	}
	x.ActionDescription, x.ResultDescription, x.Tags, x.Details = d.ActionDescription, d.ResultDescription, d.Tags, d.Details
	x.Client, x.User = actorRecord(d.Client), actorRecord(d.User)
	for _, r := range d.Resources {
		x.Resources = append(x.Resources, store.ActivityResource(*actorRecord(&r)))
	}
	return x, nil
}

// maxActivityKey bounds the value of an activity's filter column (the
// name a sign-on was tried with may be as long as the caller likes), below
// what a PostgreSQL index entry holds (about 2.7 kB).
const maxActivityKey = 1024

// validText is s as PostgreSQL's text takes it: UTF-8, without NUL.
func validText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}

// activityKey is s as an activity's filter column holds it: what callers
// put in an activity (a correlation id, a user name) must never make the
// store refuse it, and with it the audit log's whole batch. Too long, it
// is cut (on a character) to maxActivityKey bytes, and a filter's value
// is cut alike, so it still finds it. The record's JSON keeps s whole.
func activityKey(s string) string {
	s = validText(s)
	if len(s) <= maxActivityKey {
		return s
	}
	cut := maxActivityKey
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// tagsColumn keeps tags as ",a,b," so that one LIKE finds a whole tag.
func tagsColumn(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	return "," + strings.Join(tags, ",") + ","
}

func (s *SQLStore) InsertActivities(ctx context.Context, as []*store.Activity) error {
	if len(as) == 0 {
		return nil
	}
	return s.Tx(ctx, func(tx store.Store) error {
		t := tx.(*SQLStore)
		if t.db.dialect == dialectPostgres {
			if _, err := t.tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(`+fmt.Sprint(activityLock)+`)`); err != nil {
				return err
			}
		}
		// Multi-row inserts, a chunk at a time (11 arguments a row, far
		// below either database's limit on arguments): rows take their
		// seq in VALUES order, which is the slice's (checked below).
		const chunk = 200
		for done := 0; done < len(as); done += chunk {
			part := as[done:min(done+chunk, len(as))]
			args := make([]any, 0, 11*len(part))
			for _, a := range part {
				d := activityData{ActionDescription: a.ActionDescription, Client: actorData(a.Client), User: actorData(a.User),
					ResultDescription: a.ResultDescription, Tags: a.Tags, Details: a.Details}
				for i := range a.Resources {
					r := store.ActivityActor(a.Resources[i])
					d.Resources = append(d.Resources, *actorData(&r))
				}
				data, err := json.Marshal(d)
				if err != nil {
					return fmt.Errorf("sqlstore: activity %s: %w", a.ID, err)
				}
				// Details is the emitter's JSON, passed through as it is.
				data = bytes.ToValidUTF8(data, []byte("\uFFFD"))
				var clientID, userID, userName string
				if a.Client != nil {
					clientID = a.Client.ID
				}
				if a.User != nil {
					userID, userName = a.User.ID, a.User.Name
				}
				args = append(args, a.ID, a.EnvironmentID, ms(a.RecordedAt), activityKey(a.ActionType), activityKey(a.ResultStatus),
					activityKey(clientID), activityKey(userID), activityKey(userName), activityKey(a.CorrelationID), validText(tagsColumn(a.Tags)),
					string(data))
			}
			q := `INSERT INTO activities (id, environment_id, recorded_at, action_type, result_status, client_id, user_id, user_name, correlation_id, tags, data) VALUES ` +
				strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), `, len(part)), ", ") + ` RETURNING id, seq`
			rows, err := t.queryDynamic(ctx, q, args...)
			seqs, err := collect(rows, err, func(r scanner) ([2]any, error) {
				var id string
				var seq int64
				err := r.Scan(&id, &seq)
				return [2]any{id, seq}, err
			})
			if err != nil {
				return mapErr(err, "activity", "id")
			}
			byID := make(map[string]int64, len(seqs))
			for _, x := range seqs {
				byID[x[0].(string)] = x[1].(int64)
			}
			for _, a := range part {
				seq, ok := byID[a.ID]
				if !ok {
					// Two activities of the batch share an id.
					return &store.UniqueError{Resource: "activity", Field: "id"}
				}
				a.Seq = seq
			}
		}
		var res []any
		for i, a := range as {
			if i > 0 && a.Seq <= as[i-1].Seq {
				return fmt.Errorf("sqlstore: activity seqs out of insert order (%d after %d)", a.Seq, as[i-1].Seq)
			}
			for j, r := range a.Resources {
				res = append(res, a.Seq, j, a.EnvironmentID, ms(a.RecordedAt), activityKey(r.ID), activityKey(r.Type), activityKey(r.PopulationID))
			}
		}
		t.countRows("activities", int64(len(as)))
		// The resources of the whole batch go in a few multi-row
		// statements too (7 arguments a row).
		for len(res) > 0 {
			n := min(len(res)/7, chunk)
			q := `INSERT INTO activity_resources (activity_seq, position, environment_id, recorded_at, resource_id, type, population_id) VALUES ` +
				strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?, ?, ?, ?), `, n), ", ")
			if _, err := t.exec(ctx, q, res[:n*7]...); err != nil {
				return err
			}
			res = res[n*7:]
		}
		return nil
	})
}

func (s *SQLStore) ActivitiesAfter(ctx context.Context, after int64, limit int) ([]store.Activity, error) {
	if limit <= 0 {
		limit = 100
	}
	return many(ctx, s, scanActivity, `SELECT `+activityCols+` FROM activities a WHERE a.seq > ? ORDER BY a.seq LIMIT ?`, after, limit)
}

func (s *SQLStore) LastActivitySeq(ctx context.Context) (int64, error) {
	n, err := one(ctx, s, func(r scanner) (int64, error) {
		var n int64
		return n, r.Scan(&n)
	}, `SELECT COALESCE(MAX(seq), 0) FROM activities`)
	if err != nil {
		return 0, err
	}
	return *n, nil
}

func (s *SQLStore) GetActivity(ctx context.Context, envID, id string) (*store.Activity, error) {
	return one(ctx, s, scanActivity, `SELECT `+activityCols+` FROM activities a WHERE a.environment_id = ? AND a.id = ?`, envID, id)
}

func (s *SQLStore) PurgeActivities(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	// A bounded batch keeps each delete short (SQLite's one writer);
	// resources go by their foreign key's cascade.
	res, err := s.exec(ctx, `DELETE FROM activities WHERE seq IN (SELECT seq FROM activities WHERE recorded_at < ? ORDER BY recorded_at LIMIT ?)`,
		ms(before), limit)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (s *SQLStore) ListActivities(ctx context.Context, envID string, p store.Page) ([]store.Activity, error) {
	q, a, err := activityListQuery(envID, p, s.db.dialect == dialectSQLite)
	if err != nil {
		return nil, err
	}
	rows, err := s.queryDynamic(ctx, q, a...)
	return collect(rows, err, scanActivity)
}

// activityListQuery is ListActivities' query. Each comparison reads its
// own index (activities_action, activities_user, …; a resource's through
// activity_resources over the same time range), every one of which ends
// in the time, so that a page reads its rows in order and stops.
// SQLite, without statistics, takes the time range's index over a
// comparison's whenever the page is sorted and not covered by the index:
// sqlite names the comparison's index for it (INDEXED BY).
func activityListQuery(envID string, p store.Page, sqlite bool) (string, []any, error) {
	if p.IDs != nil || p.PopulationIDs != nil {
		return "", nil, fmt.Errorf("sqlstore: activities take no id or population restriction")
	}
	f, err := compileActivityFilter(p.Filter)
	if err != nil {
		return "", nil, err
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	from := `activities a`
	if sqlite {
		for _, c := range f.eqs {
			if c.attr.index != "" {
				from += ` INDEXED BY ` + c.attr.index
				break
			}
		}
	}
	q := `SELECT ` + activityCols + ` FROM ` + from + ` WHERE a.environment_id = ?`
	a := []any{envID}
	for _, t := range f.times {
		q += ` AND a.recorded_at ` + sqlOps[t.op] + ` ?`
		a = append(a, ms(t.at))
	}
	for _, c := range f.eqs {
		if c.attr.resource {
			q += ` AND a.seq IN (SELECT r.activity_seq FROM activity_resources r WHERE r.environment_id = ? AND r.` + c.attr.column + ` = ?`
			a = append(a, envID, c.value)
			for _, t := range f.times {
				q += ` AND r.recorded_at ` + sqlOps[t.op] + ` ?`
				a = append(a, ms(t.at))
			}
			q += `)`
			continue
		}
		if c.attr.column == "tags" {
			q += ` AND a.tags LIKE ? ESCAPE '\'`
			a = append(a, "%,"+escapeLike(c.value)+",%")
			continue
		}
		q += ` AND a.` + c.attr.column + ` = ?`
		a = append(a, c.value)
	}
	if p.After != "" {
		at, seq, ok := store.ParseActivityCursor(p.After)
		if !ok {
			// The API checks its cursors before it asks.
			return "", nil, fmt.Errorf("sqlstore: invalid activity cursor %q", p.After)
		}
		q += ` AND (a.recorded_at < ? OR (a.recorded_at = ? AND a.seq < ?))`
		a = append(a, at, at, seq)
	}
	q += ` ORDER BY a.recorded_at DESC, a.seq DESC LIMIT ?`
	a = append(a, limit)
	return q, a, nil
}

// activityAttr is an attribute an activities filter compares with eq.
type activityAttr struct {
	column   string
	resource bool   // a column of activity_resources
	index    string // the index of activities that serves it with the time range
}

// activityAttrs are PingOne's filterable attributes of activities, by
// their lower-cased names (PingOne's own examples spell them both ways).
var activityAttrs = map[string]activityAttr{
	"action.type":             {column: "action_type", index: "activities_action"},
	"result.status":           {column: "result_status"},
	"actors.user.id":          {column: "user_id", index: "activities_user"},
	"actors.user.name":        {column: "user_name", index: "activities_user_name"},
	"actors.client.id":        {column: "client_id", index: "activities_client"},
	"correlationid":           {column: "correlation_id", index: "activities_correlation"},
	"tags":                    {column: "tags"},
	"resources.id":            {column: "resource_id", resource: true},
	"resources.type":          {column: "type", resource: true},
	"resources.population.id": {column: "population_id", resource: true},
}

// activityAttrNames are the attributes as PingOne spells them, for errors.
var activityAttrNames = []string{"action.type", "actors.client.id", "actors.user.id", "actors.user.name", "correlationId", "createdAt",
	"recordedAt", "resources.id", "resources.population.id", "resources.type", "result.status", "tags"}

type activityTime struct {
	op string
	at time.Time
}

type activityEq struct {
	attr  activityAttr
	value string
}

type activityFilter struct {
	times []activityTime
	eqs   []activityEq
}

// compileActivityFilter checks an activities filter against PingOne's
// rules (a time range, eq comparisons, and) and splits it into its terms.
func compileActivityFilter(e scim.Expr) (*activityFilter, error) {
	f := &activityFilter{}
	if err := f.add(e); err != nil {
		return nil, err
	}
	if len(f.times) == 0 {
		return nil, &scim.Error{Message: `The filter must include a time range: recordedAt (or createdAt) compared with gt, ge, lt or le`}
	}
	return f, nil
}

func (f *activityFilter) add(e scim.Expr) error {
	switch x := e.(type) {
	case *scim.Logical:
		if x != nil && strings.EqualFold(x.Op, "and") {
			if err := f.add(x.Left); err != nil {
				return err
			}
			return f.add(x.Right)
		}
		return &scim.Error{Message: `Activity filters combine their comparisons with "and" only`}
	case *scim.Compare:
		if x == nil {
			break
		}
		return f.compare(x)
	case *scim.Present:
		if x == nil {
			break
		}
		return f.unsupportedOp(x.Attr, "pr")
	case *scim.Not:
		return &scim.Error{Message: `Activity filters do not take "not"`}
	case *scim.ValuePath:
		if x == nil {
			break
		}
		return unknownActivityAttr(x.Attr)
	case nil:
		return &scim.Error{Message: `The filter must include a time range: recordedAt (or createdAt) compared with gt, ge, lt or le`}
	}
	return fmt.Errorf("sqlstore: invalid filter expression %T", e)
}

func (f *activityFilter) compare(x *scim.Compare) error {
	name := strings.ToLower(x.Attr)
	op := strings.ToLower(x.Op)
	if name == "recordedat" || name == "createdat" {
		if !slices.Contains([]string{"gt", "ge", "lt", "le"}, op) {
			return &scim.Error{Message: fmt.Sprintf("Unsupported operator %q for attribute %q", op, x.Attr), SupportedOperators: []string{"gt", "ge", "lt", "le"}}
		}
		if x.Value.Kind != scim.StringValue {
			return &scim.Error{Message: fmt.Sprintf("Attribute %q expects a date-time string value", x.Attr)}
		}
		t, err := time.Parse(time.RFC3339, x.Value.Str)
		if err != nil {
			return &scim.Error{Message: fmt.Sprintf("Attribute %q expects an RFC 3339 date-time such as \"2024-01-02T03:04:05.000Z\"", x.Attr)}
		}
		if len(f.times) >= 4 {
			return &scim.Error{Message: "The filter compares the time too many times"}
		}
		f.times = append(f.times, activityTime{op: op, at: t.UTC()})
		return nil
	}
	a, ok := activityAttrs[name]
	if !ok {
		return unknownActivityAttr(x.Attr)
	}
	if op != "eq" {
		return f.unsupportedOp(x.Attr, op)
	}
	if x.Value.Kind != scim.StringValue {
		return &scim.Error{Message: fmt.Sprintf("Attribute %q expects a string value", x.Attr)}
	}
	if err := checkText(x.Value.Str); err != nil {
		return err
	}
	v := x.Value.Str
	if a.column != "tags" {
		v = activityKey(v) // as stored
	}
	f.eqs = append(f.eqs, activityEq{attr: a, value: v})
	return nil
}

func (f *activityFilter) unsupportedOp(attr, op string) error {
	name := strings.ToLower(attr)
	if name == "recordedat" || name == "createdat" {
		return &scim.Error{Message: fmt.Sprintf("Unsupported operator %q for attribute %q", op, attr), SupportedOperators: []string{"gt", "ge", "lt", "le"}}
	}
	if _, ok := activityAttrs[name]; !ok {
		return unknownActivityAttr(attr)
	}
	return &scim.Error{Message: fmt.Sprintf("Unsupported operator %q for attribute %q", op, attr), SupportedOperators: []string{"eq"}}
}

func unknownActivityAttr(name string) *scim.Error {
	return &scim.Error{Message: fmt.Sprintf("Unsupported attribute %q in filter", name), SupportedAttributes: slices.Clone(activityAttrNames)}
}
