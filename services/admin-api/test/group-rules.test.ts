import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../../../tests/helpers.ts';
import { GROUP_SCHEMA, createUser, eventually, expectStatus, patchOps, person, provisioningLog, scimList, type ScimList } from './support.ts';

let s: Stack;
beforeAll(async () => { s = await startStack(); });
afterAll(async () => { await s?.stop(); });

async function group(l: ScimList, displayName: string, members: string[], headers?: Record<string, string>) {
  const res = await s.scim(l.token, 'POST', `${l.base}/Groups`, { schemas: [GROUP_SCHEMA], displayName, members: members.map((value) => ({ value })) }, headers);
  expectStatus(res, 201);
  return res.body.id as string;
}

/** wait until a person's field has the value a group rule should give it */
function fieldBecomes(listId: string, personId: string, field: string, value: unknown) {
  return eventually(async () => {
    const p = await person(s, listId, personId);
    expect(p.fields[field] ?? null).toEqual(value);
    return p;
  });
}

async function rosterWithRules(name: string) {
  const l = await scimList(s, { name });
  expectStatus(await s.admin('POST', `/lists/${l.id}/fields`, { key: 'cohort', label: 'Cohort', type: 'text' }), 201);
  expectStatus(await s.admin('POST', `/lists/${l.id}/fields`, { key: 'houses', label: 'Houses', type: 'text', multiValued: true }), 201);
  const { body } = await s.admin('GET', `/lists/${l.id}/mappings`);
  const saved = await s.admin('PUT', `/lists/${l.id}/mappings`, {
    mappings: body.mappings,
    groupRules: [
      { group: 'Year 7', field: 'cohort' },
      { group: 'Year 8', field: 'cohort' },
      { group: 'Red House', field: 'houses', value: 'Red' },
      { group: 'Blue House', field: 'houses', value: 'Blue' },
    ],
  });
  expectStatus(saved, 200);
  return l;
}

describe('group rules', () => {
  it('groups the IdP pushes appear on the list; members of "Year 7" get Cohort = "Year 7"', async () => {
    const l = await rosterWithRules('Groups appear');
    const ada = await createUser(s, l, 'ada');
    const bob = await createUser(s, l, 'bob');
    const y7 = await group(l, 'Year 7', [ada], { 'user-agent': 'Microsoft Azure AD SCIM Client' });
    await group(l, 'Chess Club', [ada, bob]);

    const groups = await s.admin('GET', `/lists/${l.id}/groups`);
    expectStatus(groups, 200);
    expect(groups.body.items.map((g: { displayName: string; memberCount: number }) => [g.displayName, g.memberCount])).toEqual([['Chess Club', 2], ['Year 7', 1]]);

    const p = await fieldBecomes(l.id, ada, 'cohort', 'Year 7');
    expect(p.groups.map((g: { displayName: string }) => g.displayName).sort()).toEqual(['Chess Club', 'Year 7']);
    const change = p.timeline[p.timeline.length - 1];
    expect(change).toMatchObject({ type: 'AttributesChanged', cause: 'group-rule', fieldChanges: [{ field: 'cohort', old: null, new: 'Year 7' }], source: { kind: 'scim', method: 'POST', path: `/scim/v2/lists/${l.id}/Groups` } });
    expect((await person(s, l.id, bob)).fields.cohort).toBeUndefined();

    // the same provisioning-log entry as any other change of the person
    const log = await eventually(async () => {
      const entries = await provisioningLog(s, l.id, `personId=${ada}`);
      expect(entries.length).toBeGreaterThanOrEqual(2);
      return entries;
    });
    expect(log[0]).toMatchObject({
      operation: 'UPDATE', status: 'SUCCESS', resourceType: 'User', resourceId: ada, cause: 'group-rule', idp: 'Microsoft Entra ID',
      method: 'POST', changes: [{ field: 'cohort', old: null, new: 'Year 7' }],
    });
    const groupEntry = (await provisioningLog(s, l.id, `personId=${y7}`))[0];
    expect(groupEntry).toMatchObject({ operation: 'GROUP_CREATE', resourceType: 'Group', status: 'SUCCESS', requestId: log[0].requestId });
    // a rule-driven field is the sync's: admins cannot edit it
    const refused = await s.admin('PATCH', `/lists/${l.id}/people/${ada}`, { fields: { cohort: 'Year 9' } });
    expectStatus(refused, 409);
    expect(refused.body.error).toMatchObject({ code: 'locked', details: { fields: ['cohort'], groupRule: true } });
    expect(refused.body.error.message).toMatch(/"cohort" is set by a group rule from the person's SCIM groups/);
    expect(refused.body.error.message).not.toMatch(/change it in the identity provider/);
  });

  it('several matching groups resolve by rule order; a multi-valued field collects every match', async () => {
    const l = await rosterWithRules('Rule order');
    const ada = await createUser(s, l, 'ada');
    await group(l, 'Year 8', [ada]);
    await fieldBecomes(l.id, ada, 'cohort', 'Year 8');
    await group(l, 'Year 7', [ada]); // an earlier rule now matches too: it wins
    await fieldBecomes(l.id, ada, 'cohort', 'Year 7');
    await group(l, 'Blue House', [ada]);
    await fieldBecomes(l.id, ada, 'houses', ['Blue']);
    await group(l, 'Red House', [ada]);
    await fieldBecomes(l.id, ada, 'houses', ['Red', 'Blue']); // rule order, not join order
  });

  it('membership changes, renames and deletes update the field', async () => {
    const l = await rosterWithRules('Membership changes');
    const ada = await createUser(s, l, 'ada');
    const bob = await createUser(s, l, 'bob');
    const y7 = await group(l, 'Year 7', [ada]);
    await fieldBecomes(l.id, ada, 'cohort', 'Year 7');

    // PATCH add / remove members (as Entra and Okta send them)
    expectStatus(await s.scim(l.token, 'PATCH', `${l.base}/Groups/${y7}`, patchOps({ op: 'add', path: 'members', value: [{ value: bob }] })), 204);
    await fieldBecomes(l.id, bob, 'cohort', 'Year 7');
    expectStatus(await s.scim(l.token, 'PATCH', `${l.base}/Groups/${y7}`, patchOps({ op: 'remove', path: `members[value eq "${ada}"]` })), 204);
    const p = await fieldBecomes(l.id, ada, 'cohort', null);
    expect(p.timeline[p.timeline.length - 1]).toMatchObject({ cause: 'group-rule', fieldChanges: [{ field: 'cohort', old: 'Year 7', new: null }], source: { method: 'PATCH' } });
    const removal = (await provisioningLog(s, l.id, `personId=${ada}&operation=UPDATE`))[0];
    expect(removal).toMatchObject({ method: 'PATCH', path: `/scim/v2/lists/${l.id}/Groups/${y7}`, changes: [{ field: 'cohort', old: 'Year 7', new: null }] });

    // renamed: rules match by name, so "Year 8" now applies
    expectStatus(await s.scim(l.token, 'PATCH', `${l.base}/Groups/${y7}`, patchOps({ op: 'replace', path: 'displayName', value: 'Year 8' })), 204);
    await fieldBecomes(l.id, bob, 'cohort', 'Year 8');
    // deleted: members lose the value
    expectStatus(await s.scim(l.token, 'DELETE', `${l.base}/Groups/${y7}`), 204);
    await fieldBecomes(l.id, bob, 'cohort', null);
    const groups = await s.admin('GET', `/lists/${l.id}/groups`);
    expect(groups.body.items).toEqual([]);
  });

  it('changing the rules re-applies them to everyone (remap run), including group-rule fields', async () => {
    const l = await rosterWithRules('Rules change');
    const ada = await createUser(s, l, 'ada');
    await group(l, 'Year 9', [ada]);
    const before = await person(s, l.id, ada);
    expect(before.fields.cohort).toBeUndefined(); // no rule for Year 9 yet

    const { body } = await s.admin('GET', `/lists/${l.id}/mappings`);
    const saved = await s.admin('PUT', `/lists/${l.id}/mappings`, { mappings: body.mappings, groupRules: [...body.groupRules, { group: 'year 9', field: 'cohort', value: 'Y9' }] });
    expectStatus(saved, 200);
    expect(saved.body.remapped).toBe(1);
    const p = await person(s, l.id, ada);
    expect(p.fields.cohort).toBe('Y9');
    expect(p.timeline[p.timeline.length - 1]).toMatchObject({ cause: 'remap', fieldChanges: [{ field: 'cohort', old: null, new: 'Y9' }] });
  });

  it('after a restart the membership is rebuilt from the log without re-writing anyone, and rules keep applying', async () => {
    const l = await rosterWithRules('Restart');
    const ada = await createUser(s, l, 'ada');
    const y7 = await group(l, 'Year 7', [ada]);
    await group(l, 'Year 8', [ada]);
    expectStatus(await s.scim(l.token, 'PATCH', `${l.base}/Groups/${y7}`, patchOps({ op: 'remove', path: 'members' })), 204);
    await fieldBecomes(l.id, ada, 'cohort', 'Year 8');
    const eventsBefore = (await s.running.adapters.store.readStream(`person-${ada}`)).length;

    await s.stop({ keepData: true });
    s = await startStack({}, s.dataDir);
    // the history (joined Year 7, then Year 8, then left Year 7) is folded, not replayed step by step
    expect((await s.running.adapters.store.readStream(`person-${ada}`)).length).toBe(eventsBefore);
    expect((await person(s, l.id, ada)).fields.cohort).toBe('Year 8');
    const token = (await s.admin('POST', `/lists/${l.id}/sync/scim/tokens`, {})).body.token;
    expectStatus(await s.scim(token, 'PATCH', `${l.base.replace(/^http:\/\/[^/]+/, s.url)}/Groups/${y7}`, patchOps({ op: 'add', path: 'members', value: [{ value: ada }] })), 204);
    await fieldBecomes(l.id, ada, 'cohort', 'Year 7');
  });

  it('refuses rules that cannot be applied', async () => {
    const l = await rosterWithRules('Bad rules');
    expectStatus(await s.admin('POST', `/lists/${l.id}/fields`, { key: 'stage', label: 'Stage', type: 'enum', enumValues: ['KS3', 'KS4'] }), 201);
    expectStatus(await s.admin('POST', `/lists/${l.id}/fields`, { key: 'age', label: 'Age', type: 'number' }), 201);
    const { body } = await s.admin('GET', `/lists/${l.id}/mappings`);
    const bad = await s.admin('PUT', `/lists/${l.id}/mappings`, { mappings: body.mappings, groupRules: [{ group: 'Year 7', field: 'stage', value: 'KS2' }, { group: 'Year 7', field: 'age', value: '11' }] });
    expectStatus(bad, 400);
    expect(bad.body.error.message).toMatch(/"KS2" is not one of the values of enum field "stage".*field "age" is number/);
    expectStatus(await s.admin('PUT', `/lists/${l.id}/mappings`, { mappings: body.mappings, groupRules: [{ group: 'Year 10', field: 'stage', value: 'KS4' }] }), 200);
  });
});
