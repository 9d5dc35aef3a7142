/**
 * Names that are also properties of every JavaScript object (constructor, toString, valueOf,
 * __proto__, ...) used as field keys, group-rule targets and mapping sources. They are ordinary
 * names to an admin; looked up with `in` or plain indexing they once matched Object.prototype:
 * a field that could never be edited, a mapping save that answered 500 after remapping some people,
 * a mapping that wrote "{}" (found by a random-request run over the admin API).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR, startStack, type Stack } from '../../../tests/helpers.ts';
import { ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, createUser, eventually, expectStatus, person, provisioningLog, scimList } from './support.ts';

let s: Stack;
beforeAll(async () => { s = await startStack(); });
afterAll(async () => { await s?.stop(); });

const BADGE = 'urn:acme:params:scim:schemas:extension:badges:2.0:User';

describe('field keys and attribute names that objects inherit', () => {
  it('a local field named "constructor" or "toString" is created, edited and cleared like any other', async () => {
    const list = await s.admin('POST', '/lists', { name: 'Built-in keys' });
    expectStatus(list, 201);
    for (const key of ['constructor', 'toString']) expectStatus(await s.admin('POST', `/lists/${list.body.id}/fields`, { key, label: key, type: 'text' }), 201);
    const created = await s.admin('POST', `/lists/${list.body.id}/people`, { fields: { constructor: 'a', toString: 'b' } });
    expectStatus(created, 201);
    const edited = await s.admin('PATCH', `/lists/${list.body.id}/people/${created.body.id}`, { fields: { constructor: 'c', toString: null } });
    expectStatus(edited, 200);
    expect((await person(s, list.body.id, created.body.id)).fields).toEqual({ constructor: 'c' });
  });

  it('a required field named "valueOf" must be given', async () => {
    const list = await s.admin('POST', '/lists', { name: 'Required built-in' });
    expectStatus(await s.admin('POST', `/lists/${list.body.id}/fields`, { key: 'valueOf', label: 'V', type: 'text', required: true }), 201);
    const missing = await s.admin('POST', `/lists/${list.body.id}/people`, { fields: {} });
    expectStatus(missing, 400);
    expect(missing.body.error.message).toContain('"valueOf" is required');
    expectStatus(await s.admin('POST', `/lists/${list.body.id}/people`, { fields: { valueOf: 'x' } }), 201);
  });

  it('group rules into a multi-valued field named "valueOf" save (200) and remap every member', async () => {
    const l = await scimList(s, { name: 'Rule into valueOf' });
    expectStatus(await s.admin('POST', `/lists/${l.id}/fields`, { key: 'valueOf', label: 'V', type: 'text', multiValued: true }), 201);
    expectStatus(await s.admin('POST', `/lists/${l.id}/fields`, { key: 'toString', label: 'T', type: 'text' }), 201);
    const ada = await createUser(s, l, 'ada');
    const bob = await createUser(s, l, 'bob');
    expectStatus(await s.scim(l.token, 'POST', `${l.base}/Groups`, { schemas: [GROUP_SCHEMA], displayName: 'G', members: [{ value: bob }] }), 201);
    const { body } = await s.admin('GET', `/lists/${l.id}/mappings`);
    const saved = await s.admin('PUT', `/lists/${l.id}/mappings`, {
      mappings: body.mappings, groupRules: [{ group: 'G', field: 'valueOf' }, { group: 'G', field: 'toString', value: 'in G' }],
    });
    expectStatus(saved, 200);
    await eventually(async () => expect((await person(s, l.id, bob)).fields).toMatchObject({ valueOf: ['G'], toString: 'in G' }));
    const a = (await person(s, l.id, ada)).fields;
    expect(Object.hasOwn(a, 'valueOf') || Object.hasOwn(a, 'toString')).toBe(false);
    const health = await fetch(`${s.url}/healthz`, OPERATOR).then((r) => r.json()) as { services: { mapping: { groupRuleFailures: number } } };
    expect(health.services.mapping.groupRuleFailures).toBe(0);
  });

  it('a mapping from an extension attribute named "__proto__" or "constructor" maps nothing the user did not send', async () => {
    const l = await scimList(s, { name: 'Proto source' });
    expectStatus(await s.admin('POST', `/lists/${l.id}/fields`, { key: 'badge', label: 'Badge', type: 'text' }), 201);
    expectStatus(await s.admin('POST', `/lists/${l.id}/fields`, { key: 'level', label: 'Level', type: 'text' }), 201);
    const ada = await createUser(s, l, 'ada', { schemas: [USER_SCHEMA, ENTERPRISE, BADGE], [BADGE]: { colour: 'Teal' } });
    const { body } = await s.admin('GET', `/lists/${l.id}/mappings`);
    const saved = await s.admin('PUT', `/lists/${l.id}/mappings`, { mappings: [
      ...body.mappings, { source: `${BADGE}:__proto__`, field: 'badge' }, { source: `${BADGE}:constructor`, field: 'level' },
    ] });
    expectStatus(saved, 200);
    const fields = (await person(s, l.id, ada)).fields;
    expect(fields.badge ?? null).toBeNull();
    expect(fields.level ?? null).toBeNull();
  });

  it('an unset field named "toString" or "constructor" is unset: no change recorded, and saving the same mappings again writes nothing', async () => {
    const l = await scimList(s, { name: 'Unset built-ins' });
    expectStatus(await s.admin('POST', `/lists/${l.id}/fields`, { key: 'toString', label: 'T', type: 'text' }), 201);
    expectStatus(await s.admin('POST', `/lists/${l.id}/fields`, { key: 'constructor', label: 'C', type: 'text' }), 201);
    const { body } = await s.admin('GET', `/lists/${l.id}/mappings`);
    const config = { mappings: [...body.mappings, { source: `${BADGE}:badge`, field: 'constructor' }], groupRules: [{ group: 'G', field: 'toString' }] };
    expectStatus(await s.admin('PUT', `/lists/${l.id}/mappings`, config), 200);
    const ada = await createUser(s, l, 'ada');
    const created = await provisioningLog(s, l.id);
    const fieldsChanged = created.flatMap((e: { changes?: Array<{ field: string }> }) => (e.changes ?? []).map((c) => c.field));
    expect(fieldsChanged).not.toContain('toString');
    expect(fieldsChanged).not.toContain('constructor');
    const version = (await s.scim(l.token, 'GET', `${l.base}/Users/${ada}`)).body.meta.version;
    for (let i = 0; i < 2; i++) {
      const again = await s.admin('PUT', `/lists/${l.id}/mappings`, config);
      expectStatus(again, 200);
      expect(again.body).toMatchObject({ changed: false, remapped: 0 });
    }
    expect((await s.scim(l.token, 'GET', `${l.base}/Users/${ada}`)).body.meta.version).toBe(version);
    expect(Object.hasOwn((await person(s, l.id, ada)).fields, 'toString')).toBe(false);
  });
});
