// What the signed-on administrator may do, so screens show only the
// controls that can work. The API decides in the end: a control shown in
// error gets the API's 403 like any other client.
import * as api from './api.js';

let grants = []; // [{perms: Set, type, id}]
let me = { userId: '', envId: '', orgId: '' };

export async function load(claims) {
  me = { userId: claims.sub, envId: claims.env, orgId: claims.org };
  const [ras, roles] = await Promise.all([
    api.all('/environments/' + me.envId + '/users/' + me.userId + '/roleAssignments').catch(() => []),
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

export const P = {
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
