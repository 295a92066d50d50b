-- Migration 0017 gave every environment a default device authentication
-- policy, but the MULTI_FACTOR_AUTHENTICATION action of the Multi_Factor
-- sign-on policy of environments made before it names none. Every MFA
-- action that names no policy (or an empty id) now names its
-- environment's default, as a new environment's action does. Actions of
-- an environment without a default policy are left alone.

{{PG}}UPDATE sign_on_policy_actions AS a SET data = jsonb_set(a.data::jsonb, '{deviceAuthenticationPolicy}',
{{PG}}    (CASE WHEN jsonb_typeof(a.data::jsonb -> 'deviceAuthenticationPolicy') = 'object' THEN a.data::jsonb -> 'deviceAuthenticationPolicy' ELSE '{}'::jsonb END)
{{PG}}    || jsonb_build_object('id', p.id))::text
{{PG}}FROM device_authentication_policies AS p
{{PG}}WHERE p.environment_id = a.environment_id AND p.is_default AND a.type = 'MULTI_FACTOR_AUTHENTICATION'
{{PG}}  AND COALESCE(a.data::jsonb #>> '{deviceAuthenticationPolicy,id}', '') = '';

{{SQLITE}}UPDATE sign_on_policy_actions SET data = json_set(data, '$.deviceAuthenticationPolicy',
{{SQLITE}}    json_patch(CASE WHEN json_type(data, '$.deviceAuthenticationPolicy') = 'object' THEN json_extract(data, '$.deviceAuthenticationPolicy') ELSE '{}' END,
{{SQLITE}}        json_object('id', (SELECT p.id FROM device_authentication_policies AS p WHERE p.environment_id = sign_on_policy_actions.environment_id AND p.is_default))))
{{SQLITE}}WHERE type = 'MULTI_FACTOR_AUTHENTICATION'
{{SQLITE}}  AND COALESCE(json_extract(data, '$.deviceAuthenticationPolicy.id'), '') = ''
{{SQLITE}}  AND EXISTS (SELECT 1 FROM device_authentication_policies AS p WHERE p.environment_id = sign_on_policy_actions.environment_id AND p.is_default);
