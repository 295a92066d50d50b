// The console's screens. A screen module's default export is
//   { nav: [{group, label, path, order, show?(envId)}],
//     routes: [{path, render: async (ctx) => void}] }
// path is a hash route such as '/env/:envId/users/:userId'; ctx holds
// params, envId, env (the environment record), orgId, me, go(hash) and
// refreshEnvironments(). render draws with ui.page(...). Nav groups, in
// this order: Directory, Applications, Authentication, Integrations,
// Experience, Monitoring. One import per screen file: the only line two
// people add to at once.
import environments from './environments.js';
import users from './users.js';
import groups from './groups.js';
import populations from './populations.js';
import applications from './applications.js';
import resources from './resources.js';
import identityproviders from './identityproviders.js';
import signonpolicies from './signonpolicies.js';
import passwordpolicies from './passwordpolicies.js';
import mfapolicies from './mfapolicies.js';
import keys from './keys.js';
import certificates from './certificates.js';
import branding from './branding.js';
import activities from './activities.js';

export default [
  environments,
  users,
  groups,
  populations,
  applications,
  resources,
  identityproviders,
  signonpolicies,
  passwordpolicies,
  mfapolicies,
  keys,
  certificates,
  branding,
  activities,
];
