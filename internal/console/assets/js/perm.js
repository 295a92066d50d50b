// What the signed-on administrator may do, so screens show only the
// controls that can work. The API decides in the end: a control shown in
// error gets the API's 403 like any other client.
import * as api from './api.js';

let grants = []; // [{perms: Set, type, id}]
// known is false when the role assignments could not be read: sections
// are then all shown (the API answers for itself) and no edit control.
let known = false;
let me = { userId: '', envId: '', orgId: '' };

export async function load(claims) {
  me = { userId: claims.sub, envId: claims.env, orgId: claims.org };
  // A worker's own token (sub is the client) acts with the application's
  // roles; a user's with the user's.
  const actor = claims.sub === claims.client_id ? '/applications/' : '/users/';
  known = true;
  const [ras, roles] = await Promise.all([
    api.all('/environments/' + me.envId + actor + me.userId + '/roleAssignments').catch(() => { known = false; return []; }),
    api.all('/roles').catch(() => []),
  ]);
  const byId = new Map(roles.map((r) => [r.id, new Set((r.permissions || []).map((p) => p.id))]));
  grants = ras.map((ra) => ({ perms: byId.get(ra.role.id) || new Set(), type: ra.scope.type, id: ra.scope.id, roleId: ra.role.id }));
}

export function who() { return me; }
export function roleIds() { return grants.map((g) => g.roleId); }

// can says whether perm is held over the target {orgId, envId, populationId}.
export function can(perm, target = {}) {
  const orgId = target.orgId || me.orgId;
  return grants.some((g) => g.perms.has(perm) && (
    (g.type === 'ORGANIZATION' && g.id === orgId)
    || (g.type === 'ENVIRONMENT' && target.envId && g.id === target.envId)
    || (g.type === 'POPULATION' && ((target.populationId && g.id === target.populationId) || (!target.populationId && target.anyPopulation)))));
}

// canEnv is can over an environment, counting population-scoped grants
// there as enough to show a control (the API then limits it to those
// populations).
export const canEnv = (perm, envId) => can(perm, { envId, anyPopulation: true });

// canRead says whether a section can be read in an environment, so the
// navigation offers only sections that will not answer 403.
export const canRead = (perm, envId) => !known || canEnv(perm, envId);

export const P = {
  readUser: 'identity:read:user',
  readPopulation: 'identity:read:population',
  readGroup: 'identity:read:group',
  readApplication: 'applications:read:application',
  readConfig: 'config:read:configuration',
  createEnvironment: 'orgmgt:create:environment',
  updateEnvironment: 'orgmgt:update:environment',
  deleteEnvironment: 'orgmgt:delete:environment',
  writePopulation: 'identity:write:population',
  writeUser: 'identity:write:user',
  writeGroup: 'identity:write:group',
  writeApplication: 'applications:write:application',
  writeConfig: 'config:write:configuration',
  writeRoleAssignment: 'rolemgt:write:roleAssignment',
  readActivity: 'audit_reporting:read:activity',
};
