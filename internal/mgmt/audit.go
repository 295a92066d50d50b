package mgmt

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/audit"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// A management write records one activity: the worker application that
// made it (actors.client), what it did (the action type of its route),
// to which resource, and whether it succeeded. A write refused as invalid
// (400) is recorded FAILED with the error's code and message; one refused
// before it was judged (401, 403, 404, 429) is not an action on anything
// and records nothing. PingOne shows no before/after of a resource in its
// activities, and neither does Gatehouse.

// writeAction is what a write route records.
type writeAction struct {
	typ string // action type of the write
	// failed is the action type of a write refused as invalid, when not
	// typ (a password check that fails is PASSWORD.CHECK_FAILED).
	failed string
	// id is the path parameter naming the resource written; "" takes the
	// response body's id (a resource created).
	id string
	// res is the resource's type when not the action type's.
	res string
	// admin tags the activity adminIdentityEvent: the write changes what a
	// user may administer (a role assignment).
	admin bool
}

const (
	envPath  = "/v1/environments/{envID}"
	userPath = envPath + "/users/{userID}"
	appPath  = envPath + "/applications/{appID}"
)

// writeActions are the write routes' actions, by the route's pattern (as
// registered with the mux); a route served for several vendor media types
// adds ";" and the type's name (password.set). Every write route has one:
// TestWriteActionsCoverRoutes holds the table to the routes.
var writeActions = map[string]writeAction{
	"POST /v1/environments":                                              {typ: audit.EnvironmentCreated},
	"PUT " + envPath:                                                     {typ: audit.EnvironmentUpdated, id: "envID"},
	"DELETE " + envPath:                                                  {typ: audit.EnvironmentDeleted, id: "envID"},
	"PUT " + envPath + "/type":                                           {typ: audit.EnvironmentUpdated, id: "envID"},
	"PUT " + envPath + "/billOfMaterials":                                {typ: audit.EnvironmentUpdated, id: "envID"},
	"POST " + envPath + "/populations":                                   {typ: audit.PopulationCreated},
	"PUT " + envPath + "/populations/{popID}":                            {typ: audit.PopulationUpdated, id: "popID"},
	"DELETE " + envPath + "/populations/{popID}":                         {typ: audit.PopulationDeleted, id: "popID"},
	"POST " + envPath + "/users":                                         {typ: audit.UserCreated},
	"PUT " + userPath:                                                    {typ: audit.UserUpdated, id: "userID"},
	"PATCH " + userPath:                                                  {typ: audit.UserUpdated, id: "userID"},
	"DELETE " + userPath:                                                 {typ: audit.UserDeleted, id: "userID"},
	"POST " + userPath + ";account.lock":                                 {typ: audit.UserLocked, id: "userID"},
	"POST " + userPath + ";account.unlock":                               {typ: audit.UserUnlocked, id: "userID"},
	"PUT " + userPath + "/enabled":                                       {typ: audit.UserUpdated, id: "userID"},
	"PUT " + userPath + "/mfaEnabled":                                    {typ: audit.UserUpdated, id: "userID"},
	"PUT " + userPath + "/population":                                    {typ: audit.UserMoved, id: "userID"},
	"PUT " + userPath + "/password;password.set":                         {typ: audit.PasswordSet, id: "userID"},
	"PUT " + userPath + "/password;password.reset":                       {typ: audit.PasswordReset, id: "userID"},
	"POST " + userPath + "/password;password.check":                      {typ: audit.PasswordCheckSucceeded, failed: audit.PasswordCheckFailed, id: "userID"},
	"POST " + userPath + "/password;password.forcechange":                {typ: audit.PasswordForceChange, id: "userID"},
	"POST " + userPath + "/roleAssignments":                              {typ: audit.RoleAssignmentCreated, id: "userID", admin: true},
	"DELETE " + userPath + "/roleAssignments/{raID}":                     {typ: audit.RoleAssignmentDeleted, id: "userID", admin: true},
	"POST " + userPath + "/linkedAccounts":                               {typ: audit.AccountLinked, id: "userID"},
	"DELETE " + userPath + "/linkedAccounts/{linkID}":                    {typ: audit.AccountUnlinked, id: "userID"},
	"POST " + userPath + "/memberOfGroups":                               {typ: audit.MemberOfGroupCreated, id: "userID"},
	"DELETE " + userPath + "/memberOfGroups/{groupID}":                   {typ: audit.MemberOfGroupDeleted, id: "userID"},
	"POST " + userPath + "/agreementConsents/{agreementID}":              {typ: audit.AgreementConsentRevoked, id: "userID"},
	"DELETE " + userPath + "/sessions/{sessionID}":                       {typ: audit.SessionDeleted, id: "userID"},
	"POST " + userPath + "/devices":                                      {typ: audit.DeviceCreated},
	"POST " + userPath + "/devices;devices.reorder":                      {typ: audit.DevicesOrderUpdated, id: "userID", res: audit.ResUser},
	"POST " + userPath + "/devices;devices.order.remove":                 {typ: audit.DevicesOrderDeleted, id: "userID", res: audit.ResUser},
	"DELETE " + userPath + "/devices":                                    {typ: audit.DevicesOrderDeleted, id: "userID", res: audit.ResUser},
	"POST " + userPath + "/devices/{deviceID};device.activate":           {typ: audit.DeviceActivated, id: "deviceID"},
	"POST " + userPath + "/devices/{deviceID};device.sendactivationcode": {typ: audit.DeviceUpdated, id: "deviceID"},
	"DELETE " + userPath + "/devices/{deviceID}":                         {typ: audit.DeviceDeleted, id: "deviceID"},
	"PUT " + userPath + "/devices/{deviceID}/nickname":                   {typ: audit.DeviceNicknameUpdated, id: "deviceID"},

	"POST " + envPath + "/applications":                                                             {typ: audit.ApplicationCreated},
	"PUT " + appPath:                                                                                {typ: audit.ApplicationUpdated, id: "appID"},
	"DELETE " + appPath:                                                                             {typ: audit.ApplicationDeleted, id: "appID"},
	"POST " + appPath + "/secret":                                                                   {typ: audit.SecretUpdated, id: "appID"},
	"DELETE " + appPath + "/secret":                                                                 {typ: audit.SecretUpdated, id: "appID"},
	"POST " + appPath + "/attributes":                                                               {typ: audit.SAMLAttributeCreated, id: "appID"},
	"PUT " + appPath + "/attributes/{attrID}":                                                       {typ: audit.SAMLAttributeUpdated, id: "appID"},
	"DELETE " + appPath + "/attributes/{attrID}":                                                    {typ: audit.SAMLAttributeDeleted, id: "appID"},
	"POST " + appPath + "/grants":                                                                   {typ: audit.GrantCreated, id: "appID"},
	"PUT " + appPath + "/grants/{grantID}":                                                          {typ: audit.GrantUpdated, id: "appID"},
	"DELETE " + appPath + "/grants/{grantID}":                                                       {typ: audit.GrantDeleted, id: "appID"},
	"POST " + appPath + "/signOnPolicyAssignments":                                                  {typ: audit.SOPAssignmentCreated, id: "appID"},
	"PUT " + appPath + "/signOnPolicyAssignments/{assignmentID}":                                    {typ: audit.SOPAssignmentUpdated, id: "appID"},
	"DELETE " + appPath + "/signOnPolicyAssignments/{assignmentID}":                                 {typ: audit.SOPAssignmentDeleted, id: "appID"},
	"POST " + appPath + "/roleAssignments":                                                          {typ: audit.RoleAssignmentCreated, id: "appID", res: audit.ResApplication},
	"DELETE " + appPath + "/roleAssignments/{raID}":                                                 {typ: audit.RoleAssignmentDeleted, id: "appID", res: audit.ResApplication},
	"POST " + envPath + "/groups/{groupID}/roleAssignments":                                         {typ: audit.RoleAssignmentCreated, id: "groupID", res: audit.ResGroup},
	"DELETE " + envPath + "/groups/{groupID}/roleAssignments/{raID}":                                {typ: audit.RoleAssignmentDeleted, id: "groupID", res: audit.ResGroup},
	"POST " + envPath + "/groups":                                                                   {typ: audit.GroupCreated},
	"PUT " + envPath + "/groups/{groupID}":                                                          {typ: audit.GroupUpdated, id: "groupID"},
	"DELETE " + envPath + "/groups/{groupID}":                                                       {typ: audit.GroupDeleted, id: "groupID"},
	"POST " + envPath + "/groups/{groupID}/memberOfGroups":                                          {typ: audit.MemberOfGroupCreated, id: "groupID", res: audit.ResGroup},
	"DELETE " + envPath + "/groups/{groupID}/memberOfGroups/{parentID}":                             {typ: audit.MemberOfGroupDeleted, id: "groupID", res: audit.ResGroup},
	"POST " + envPath + "/identityProviders":                                                        {typ: audit.IdentityProviderCreated},
	"PUT " + envPath + "/identityProviders/{idpID}":                                                 {typ: audit.IdentityProviderUpdated, id: "idpID"},
	"DELETE " + envPath + "/identityProviders/{idpID}":                                              {typ: audit.IdentityProviderDeleted, id: "idpID"},
	"POST " + envPath + "/identityProviders/{idpID}/attributes":                                     {typ: audit.IDPAttributeCreated, id: "idpID"},
	"PUT " + envPath + "/identityProviders/{idpID}/attributes/{attrID}":                             {typ: audit.IDPAttributeUpdated, id: "idpID"},
	"DELETE " + envPath + "/identityProviders/{idpID}/attributes/{attrID}":                          {typ: audit.IDPAttributeDeleted, id: "idpID"},
	"POST " + envPath + "/resources":                                                                {typ: audit.ResourceCreated},
	"PUT " + envPath + "/resources/{resourceID}":                                                    {typ: audit.ResourceUpdated, id: "resourceID"},
	"DELETE " + envPath + "/resources/{resourceID}":                                                 {typ: audit.ResourceDeleted, id: "resourceID"},
	"POST " + envPath + "/resources/{resourceID}/scopes":                                            {typ: audit.ScopeCreated, id: "resourceID"},
	"PUT " + envPath + "/resources/{resourceID}/scopes/{scopeID}":                                   {typ: audit.ScopeUpdated, id: "resourceID"},
	"DELETE " + envPath + "/resources/{resourceID}/scopes/{scopeID}":                                {typ: audit.ScopeDeleted, id: "resourceID"},
	"POST " + envPath + "/resources/{resourceID}/attributes":                                        {typ: audit.ResourceAttrCreated, id: "resourceID"},
	"PUT " + envPath + "/resources/{resourceID}/attributes/{attrID}":                                {typ: audit.ResourceAttrUpdated, id: "resourceID"},
	"DELETE " + envPath + "/resources/{resourceID}/attributes/{attrID}":                             {typ: audit.ResourceAttrDeleted, id: "resourceID"},
	"POST " + envPath + "/passwordPolicies":                                                         {typ: audit.PolicyCreated},
	"PUT " + envPath + "/passwordPolicies/{policyID}":                                               {typ: audit.PolicyUpdated, id: "policyID"},
	"DELETE " + envPath + "/passwordPolicies/{policyID}":                                            {typ: audit.PolicyDeleted, id: "policyID"},
	"POST " + envPath + "/signOnPolicies":                                                           {typ: audit.PolicyCreated},
	"PUT " + envPath + "/signOnPolicies/{policyID}":                                                 {typ: audit.PolicyUpdated, id: "policyID"},
	"DELETE " + envPath + "/signOnPolicies/{policyID}":                                              {typ: audit.PolicyDeleted, id: "policyID"},
	"POST " + envPath + "/signOnPolicies/{policyID}/actions":                                        {typ: audit.ActionCreated, id: "policyID"},
	"PUT " + envPath + "/signOnPolicies/{policyID}/actions/{actionID}":                              {typ: audit.ActionUpdated, id: "policyID"},
	"DELETE " + envPath + "/signOnPolicies/{policyID}/actions/{actionID}":                           {typ: audit.ActionDeleted, id: "policyID"},
	"POST " + envPath + "/keys":                                                                     {typ: audit.KeyCreated},
	"PUT " + envPath + "/keys/{keyID}":                                                              {typ: audit.KeyUpdated, id: "keyID"},
	"DELETE " + envPath + "/keys/{keyID}":                                                           {typ: audit.KeyDeleted, id: "keyID"},
	"POST " + envPath + "/certificates":                                                             {typ: audit.KeyCreated},
	"DELETE " + envPath + "/certificates/{certID}":                                                  {typ: audit.KeyDeleted, id: "certID"},
	"PUT " + envPath + "/brandingSettings":                                                          {typ: audit.BrandingUpdated, id: "envID"},
	"POST " + envPath + "/themes":                                                                   {typ: audit.ThemeCreated},
	"PUT " + envPath + "/themes/{themeID}":                                                          {typ: audit.ThemeUpdated, id: "themeID"},
	"PUT " + envPath + "/themes/{themeID}/default":                                                  {typ: audit.ThemeUpdated, id: "themeID"},
	"DELETE " + envPath + "/themes/{themeID}":                                                       {typ: audit.ThemeDeleted, id: "themeID"},
	"PUT " + envPath + "/mfaSettings":                                                               {typ: audit.MFASettingsUpdated, id: "envID"},
	"DELETE " + envPath + "/mfaSettings":                                                            {typ: audit.MFASettingsUpdated, id: "envID"},
	"POST " + envPath + "/deviceAuthenticationPolicies":                                             {typ: audit.DeviceAuthPolicyCreated},
	"PUT " + envPath + "/deviceAuthenticationPolicies/{policyID}":                                   {typ: audit.DeviceAuthPolicyUpdated, id: "policyID"},
	"DELETE " + envPath + "/deviceAuthenticationPolicies/{policyID}":                                {typ: audit.DeviceAuthPolicyDeleted, id: "policyID"},
	"POST " + envPath + "/fido2Policies":                                                            {typ: audit.FIDOPolicyCreated},
	"PUT " + envPath + "/fido2Policies/{policyID}":                                                  {typ: audit.FIDOPolicyUpdated, id: "policyID"},
	"DELETE " + envPath + "/fido2Policies/{policyID}":                                               {typ: audit.FIDOPolicyDeleted, id: "policyID"},
	"POST " + envPath + "/notificationsSettings/phoneDeliverySettings":                              {typ: audit.PhoneDeliveryCreated},
	"PUT " + envPath + "/notificationsSettings/phoneDeliverySettings/{id}":                          {typ: audit.PhoneDeliveryUpdated, id: "id"},
	"DELETE " + envPath + "/notificationsSettings/phoneDeliverySettings/{id}":                       {typ: audit.PhoneDeliveryDeleted, id: "id"},
	"POST " + envPath + "/templates/{templateName}/contents":                                        {typ: audit.ContentCreated},
	"PUT " + envPath + "/templates/{templateName}/contents/{contentID}":                             {typ: audit.ContentUpdated, id: "contentID"},
	"DELETE " + envPath + "/templates/{templateName}/contents/{contentID}":                          {typ: audit.ContentDeleted, id: "contentID"},
	"POST " + envPath + "/agreements":                                                               {typ: audit.AgreementCreated},
	"PUT " + envPath + "/agreements/{agreementID}":                                                  {typ: audit.AgreementUpdated, id: "agreementID"},
	"DELETE " + envPath + "/agreements/{agreementID}":                                               {typ: audit.AgreementDeleted, id: "agreementID"},
	"POST " + envPath + "/agreements/{agreementID}/languages":                                       {typ: audit.AgreementLangCreated, id: "agreementID"},
	"PUT " + envPath + "/agreements/{agreementID}/languages/{languageID}":                           {typ: audit.AgreementLangUpdated, id: "agreementID"},
	"DELETE " + envPath + "/agreements/{agreementID}/languages/{languageID}":                        {typ: audit.AgreementLangDeleted, id: "agreementID"},
	"POST " + envPath + "/agreements/{agreementID}/languages/{languageID}/revisions":                {typ: audit.AgreementRevCreated, id: "agreementID"},
	"DELETE " + envPath + "/agreements/{agreementID}/languages/{languageID}/revisions/{revisionID}": {typ: audit.AgreementRevDeleted, id: "agreementID"},
	"POST " + envPath + "/schemas/{schemaID}/attributes":                                            {typ: audit.SchemaAttributeCreated},
	"PUT " + envPath + "/schemas/{schemaID}/attributes/{attributeID}":                               {typ: audit.SchemaAttributeUpdated, id: "attributeID"},
	"PATCH " + envPath + "/schemas/{schemaID}/attributes/{attributeID}":                             {typ: audit.SchemaAttributeUpdated, id: "attributeID"},
	"DELETE " + envPath + "/schemas/{schemaID}/attributes/{attributeID}":                            {typ: audit.SchemaAttributeDeleted, id: "attributeID"},
	"PUT " + envPath + "/sessionSettings":                                                           {typ: audit.SettingsUpdated, id: "envID"},
	"POST " + envPath + "/subscriptions":                                                            {typ: audit.SubscriptionCreated},
	"PUT " + envPath + "/subscriptions/{subID}":                                                     {typ: audit.SubscriptionUpdated, id: "subID"},
	"DELETE " + envPath + "/subscriptions/{subID}":                                                  {typ: audit.SubscriptionDeleted, id: "subID"},
}

// readsByPost are the POST routes that only read, and so record nothing:
// PingOne's activity search takes its filter in a POST body.
// TestWriteActionsCoverRoutes holds every other write route to an entry
// in writeActions.
var readsByPost = map[string]bool{
	"POST " + envPath + "/activities": true,
}

// writeActionOf is the action r records, if it is a write with one.
func writeActionOf(r *http.Request) (writeAction, bool) {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return writeAction{}, false
	}
	if readsByPost[r.Pattern] {
		return writeAction{}, false
	}
	if v := vendorType(r.Header.Values("Content-Type")); v != "" {
		if wa, ok := writeActions[r.Pattern+";"+v]; ok {
			return wa, true
		}
	}
	wa, ok := writeActions[r.Pattern]
	return wa, ok
}

// vendorType is the name of the request's PingOne vendor media type
// (application/vnd.pingidentity.password.set+json is password.set), lower
// case, or "".
func vendorType(cts []string) string {
	for _, ct := range cts {
		for _, part := range strings.Split(ct, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			if v, ok := strings.CutPrefix(strings.ToLower(mt), "application/vnd.pingidentity."); ok {
				return strings.TrimSuffix(v, "+json")
			}
		}
	}
	return ""
}

// maxAuditedBody bounds what a write's answer is read for (its id, name
// and population): the resources the API writes answer in less.
const maxAuditedBody = 64 << 10

// auditWriter passes a write's answer on, keeping its status and the
// start of its body.
type auditWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *auditWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *auditWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if room := maxAuditedBody - w.body.Len(); room > 0 {
		w.body.Write(b[:min(len(b), room)])
	}
	return w.ResponseWriter.Write(b)
}

func (w *auditWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// audited records the activity of each write next serves.
func (a *API) audited(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wa, ok := writeActionOf(r)
		if !ok || a.Audit == nil {
			next.ServeHTTP(w, r)
			return
		}
		aw := &auditWriter{ResponseWriter: w}
		next.ServeHTTP(aw, r)
		if act := writeActivity(r, wa, aw.status, aw.body.Bytes()); act != nil {
			a.Audit.Record(r.Context(), act)
		}
	})
}

// answered is what a write's answer tells of its resource, or of its
// refusal.
type answered struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Username   string `json:"username"`
	Population *struct {
		ID string `json:"id"`
	} `json:"population"`
	Environment *struct {
		ID string `json:"id"`
	} `json:"environment"`
	// A refusal's.
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeActivity is the activity of a write answered status with body;
// nil when it records none.
func writeActivity(r *http.Request, wa writeAction, status int, body []byte) *store.Activity {
	ok := status >= 200 && status < 300
	if !ok && status != http.StatusBadRequest {
		return nil
	}
	var ans answered
	_ = json.Unmarshal(body, &ans) // an answer without a body (204) tells nothing
	actor := actorFrom(r.Context())
	envID := r.PathValue("envID")
	typ := wa.typ
	if !ok && wa.failed != "" {
		typ = wa.failed
	}
	res := store.ActivityResource{Type: wa.res, EnvironmentID: envID}
	if res.Type == "" {
		res.Type = audit.Actions[typ].ResourceType
	}
	if wa.id != "" {
		res.ID = r.PathValue(wa.id)
	} else if ok {
		res.ID = ans.ID
	}
	if envID == "" && res.Type == audit.ResEnvironment {
		// An environment created: it is where the activity belongs.
		envID, res.EnvironmentID = res.ID, res.ID
	}
	if envID == "" {
		return nil
	}
	// The answer names the resource when it is the resource written (not
	// a role assignment or a device of the user written, say).
	if ok && ans.ID == res.ID {
		res.Name = ans.Name
		if res.Type == audit.ResUser {
			res.Name = ans.Username
		}
		if ans.Population != nil && res.Type == audit.ResUser {
			res.PopulationID = ans.Population.ID
		}
	}
	act := audit.NewActivity(envID, typ)
	act.Client = audit.ClientActor(actor.Claims.Env, actor.Claims.ClientID, actor.Name)
	if actor.isUser() {
		// A user's token: the user acted, through the application.
		act.User = &store.ActivityActor{ID: actor.UserID, Name: actor.Username, Type: audit.ActorUser,
			EnvironmentID: actor.Claims.Env, PopulationID: actor.populationID}
	}
	if res.ID != "" {
		act.Resources = []store.ActivityResource{res}
	}
	if wa.admin {
		act.Tags = []string{"adminIdentityEvent"}
	}
	if !ok {
		why := ans.Code
		if ans.Message != "" {
			why += ": " + ans.Message
		}
		audit.Failure(act, why)
	}
	return act
}
