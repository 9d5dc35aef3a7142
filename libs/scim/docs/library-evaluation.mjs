// Evaluation of npm SCIM filter / PATCH libraries against RFC 7644 cases and IdP quirks.
// Not part of the build or the tests. To re-run (outside the monorepo):
//   mkdir /tmp/scimeval && cp libs/scim/docs/library-evaluation.mjs /tmp/scimeval/eval.mjs
//   cd /tmp/scimeval && npm init -y && npm install scim2-parse-filter@0.2.10 scim2-filter@0.2.0 \
//     scim-query-filter-parser@2.0.4 scim-patch@0.8.3 scimmy@1.3.5 && node eval.mjs
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const s2pf = require('scim2-parse-filter');
const s2f = require('scim2-filter');
const sqfp = require('scim-query-filter-parser');
const scimPatchLib = require('scim-patch');
const SCIMMY = (await import('scimmy')).default;

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const user = () => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENT],
  id: '2819c223-7f76-453a-919d-413861904646',
  externalId: 'jyoung',
  userName: 'bjensen',
  name: { familyName: "O'Malley", givenName: 'Barbara' },
  displayName: 'Babs Jensen',
  title: 'Tour Guide',
  userType: 'Employee',
  active: true,
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  ims: [{ value: 'babs@foo.com', type: 'xmpp' }],
  addresses: [{ type: 'home', streetAddress: '456 Hollywood Blvd', locality: 'Hollywood' }],
  [ENT]: { employeeNumber: '701984', manager: { value: 'mgr-1', displayName: 'John Smith' } },
  meta: { resourceType: 'User', created: '2010-01-23T04:56:22Z', lastModified: '2011-05-13T06:42:34+02:00' },
});

// [name, filter, expectedMatch (true/false) | 'error']
const filterCases = [
  ['RFC1 eq', 'userName eq "bjensen"', true],
  ['RFC2 co with quote', `name.familyName co "O'Malley"`, true],
  ['RFC3 sw', 'userName sw "J"', false],
  ['RFC3b sw caseExact=false', 'userName sw "BJ"', true],
  ['RFC4 URN core attr', 'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"', false],
  ['RFC4b URN core attr matching', 'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj"', true],
  ['RFC5 pr', 'title pr', true],
  ['RFC6 dateTime gt (tz offset)', 'meta.lastModified gt "2011-05-13T04:42:34Z"', false], // 06:42+02 == 04:42Z
  ['RFC7 dateTime ge (tz offset)', 'meta.lastModified ge "2011-05-13T04:42:34Z"', true],
  ['RFC8 dateTime lt', 'meta.lastModified lt "2011-05-13T04:42:34Z"', false],
  ['RFC9 dateTime le', 'meta.lastModified le "2011-05-13T04:42:34Z"', true],
  ['RFC10 and', 'title pr and userType eq "Employee"', true],
  ['RFC11 or', 'title pr or userType eq "Intern"', true],
  ['RFC12 schemas eq', `schemas eq "${ENT}"`, true],
  ['RFC13 grouping', 'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")', true],
  ['RFC14 not', 'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")', false],
  ['RFC15 paren', 'userType eq "Employee" and (emails.type eq "work")', true],
  ['RFC16 valuePath', 'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]', true],
  ['RFC17 two valuePaths', 'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]', true],
  ['ext URN attr', `${ENT}:employeeNumber eq "701984"`, true],
  ['ext URN sub-attr', `${ENT}:manager.value eq "mgr-1"`, true],
  ['attr name case-insensitive', 'UserName eq "bjensen"', true],
  ['operator case-insensitive', 'userName EQ "bjensen"', true],
  ['caseExact=false value (Okta)', 'userName eq "BJENSEN"', true],
  ['precedence and>or', 'userName eq "nobody" and title pr or active eq true', true],
  ['precedence 2', 'active eq true or userName eq "x" and title eq "y"', true],
  ['not precedence', 'not (userName eq "bjensen") or active eq false', false],
  ['boolean literal', 'active eq true', true],
  ['null literal', 'nickName eq null', 'any'],
  ['escaped quote', 'displayName eq "Babs \\"B\\" Jensen"', false],
  ['Entra unquoted value', 'externalId eq jyoung', true],
  ['Entra valuePath+subattr', 'emails[type eq "work"].value eq "bjensen@example.com"', true],
  ['bad: missing value', 'userName eq', 'error'],
  ['bad: unknown op', 'userName xx "a"', 'error'],
  ['bad: unbalanced paren', '(userName eq "a"', 'error'],
  ['bad: trailing garbage', 'userName eq "a" foo', 'error'],
  ['bad: unterminated string', 'userName eq "a', 'error'],
];

const adapters = {
  'scim2-parse-filter': (f) => { const ast = s2pf.parse(f); return s2pf.filter(ast)(user()); },
  'scim2-filter': (f) => { const ast = s2f.parse(f); return s2f.filter(ast)(user()); },
  'scim-query-filter-parser': (f) => sqfp.compileFilter(f)(user()),
  scimmy: (f) => new SCIMMY.Types.Filter(f).match([user()]).length === 1,
};

const results = {};
for (const [lib, run] of Object.entries(adapters)) {
  const fails = [];
  for (const [name, f, exp] of filterCases) {
    let got;
    try { got = run(f); } catch (e) { got = 'error:' + String(e.message).slice(0, 60).replace(/\n/g, ' '); }
    const ok = exp === 'error' ? String(got).startsWith('error') : exp === 'any' ? !String(got).startsWith('error') : got === exp;
    if (!ok) fails.push(`${name}: expected ${exp}, got ${got}`);
  }
  results[lib] = fails;
  console.log(`\n## filter: ${lib}: ${filterCases.length - fails.length}/${filterCases.length} pass`);
  for (const x of fails) console.log('  FAIL ' + x);
}

// ---------------- PATCH ---------------------
const group = () => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: 'g1', displayName: 'Tour Guides',
  members: [{ value: 'u1', display: 'A' }, { value: 'u2', display: 'B' }, { value: 'u3', display: 'C' }],
  meta: { resourceType: 'Group' },
});
const get = (o, p) => p.split('.').reduce((a, k) => (a == null ? a : a[k]), o);
// [name, resourceFactory, ops, check(result) -> boolean | 'error']
const patchCases = [
  ['RFC add members', group, [{ op: 'add', path: 'members', value: [{ value: 'u4', display: 'D' }] }], (r) => r.members.length === 4],
  ['RFC add no path (merge emails, nickName)', user, [{ op: 'add', value: { emails: [{ value: 'babs@jensen.net', type: 'other' }], nickName: 'Babs' } }], (r) => r.emails.length === 3 && r.nickName === 'Babs'],
  ['RFC remove all members', group, [{ op: 'remove', path: 'members' }], (r) => r.members === undefined || r.members.length === 0],
  ['RFC remove one member by filter', group, [{ op: 'remove', path: 'members[value eq "u2"]' }], (r) => r.members.length === 2 && !r.members.some((m) => m.value === 'u2')],
  ['RFC remove email by complex filter', user, [{ op: 'remove', path: 'emails[type eq "work" and value ew "example.com"]' }], (r) => r.emails.length === 1 && r.emails[0].type === 'home'],
  ['RFC replace members', group, [{ op: 'replace', path: 'members', value: [{ value: 'u9' }] }], (r) => r.members.length === 1 && r.members[0].value === 'u9'],
  ['RFC replace addresses[type eq "home"] whole', user, [{ op: 'replace', path: 'addresses[type eq "home"]', value: { type: 'home', streetAddress: '1 Main', locality: 'X' } }], (r) => r.addresses.length === 1 && r.addresses[0].streetAddress === '1 Main'],
  ['RFC replace sub-attr via filter', user, [{ op: 'replace', path: 'addresses[type eq "home"].streetAddress', value: '1010 Broadway Ave' }], (r) => r.addresses[0].streetAddress === '1010 Broadway Ave' && r.addresses[0].locality === 'Hollywood'],
  ['RFC replace no path', user, [{ op: 'replace', value: { nickName: 'Babs', active: false } }], (r) => r.nickName === 'Babs' && r.active === false],
  ['Okta deactivate no path', user, [{ op: 'replace', value: { active: false } }], (r) => r.active === false],
  ['Okta group rename with id in value', group, [{ op: 'replace', value: { id: 'g1', displayName: 'New' } }], (r) => r.displayName === 'New' && r.id === 'g1'],
  ['Entra PascalCase Replace', user, [{ op: 'Replace', path: 'displayName', value: 'X' }], (r) => r.displayName === 'X'],
  ['Entra string boolean "False"', user, [{ op: 'Replace', path: 'active', value: 'False' }], (r) => r.active === false],
  ['Entra dotted key in value', user, [{ op: 'replace', value: { 'name.givenName': 'Barb' } }], (r) => r.name.givenName === 'Barb' && r['name.givenName'] === undefined],
  ['Entra URN key in value', user, [{ op: 'replace', value: { [`${ENT}:employeeNumber`]: '42' } }], (r) => r[ENT].employeeNumber === '42' && r[`${ENT}:employeeNumber`] === undefined],
  ['Entra URN path', user, [{ op: 'Replace', path: `${ENT}:department`, value: 'Sales' }], (r) => r[ENT]?.department === 'Sales'],
  ['Entra create missing filtered item', user, [{ op: 'Add', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555' }], (r) => r.phoneNumbers?.[0]?.type === 'mobile' && r.phoneNumbers[0].value === '+1 555'],
  ['Entra replace missing filtered item', user, [{ op: 'Replace', path: 'addresses[type eq "work"].postalCode', value: '98052' }], (r) => r.addresses.some((a) => a.type === 'work' && a.postalCode === '98052')],
  ['Entra manager bare id', user, [{ op: 'Replace', path: `${ENT}:manager`, value: 'mgr-2' }], (r) => r[ENT].manager?.value === 'mgr-2'],
  ['Entra remove members value array', group, [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: 'u2' }] }], (r) => r.members.length === 2 && !r.members.some((m) => m.value === 'u2')],
  ['Entra Add members with $ref null', group, [{ op: 'Add', path: 'members', value: [{ $ref: null, value: 'u5' }] }], (r) => r.members.some((m) => m.value === 'u5') && r.members.length === 4],
  ['primary uniqueness', user, [{ op: 'add', path: 'emails', value: [{ value: 'n@x.org', type: 'other', primary: true }] }], (r) => r.emails.filter((e) => e.primary === true).length === 1],
  ['bad op', user, [{ op: 'frobnicate', path: 'displayName', value: 'x' }], 'error'],
  ['remove with no path', user, [{ op: 'remove' }], 'error'],
  ['atomic: 2nd op fails', user, [{ op: 'replace', path: 'displayName', value: 'CHANGED' }, { op: 'remove' }], 'atomic'],
];

async function runPatchScimPatch(res, ops) { return scimPatchLib.scimPatch(res, ops, { mutateDocument: false, treatMissingAsAdd: true }); }
async function runPatchScimmy(res, ops) {
  const isGroup = res.schemas[0].endsWith('Group');
  const S = isGroup ? SCIMMY.Schemas.Group : SCIMMY.Schemas.User;
  if (!isGroup && !globalThis.__ext) { SCIMMY.Schemas.User.extend(SCIMMY.Schemas.EnterpriseUser, false); globalThis.__ext = 1; }
  const inst = new S(res);
  const out = await new SCIMMY.Messages.PatchOp({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: ops }).apply(inst);
  return JSON.parse(JSON.stringify(out));
}
for (const [lib, run] of Object.entries({ 'scim-patch': runPatchScimPatch, scimmy: runPatchScimmy })) {
  const fails = [];
  for (const [name, mk, ops, check] of patchCases) {
    const input = mk();
    const snapshot = JSON.stringify(input);
    let out, err;
    try { out = await run(input, ops); } catch (e) { err = e; }
    let ok;
    if (check === 'error') ok = !!err;
    else if (check === 'atomic') ok = !!err && JSON.stringify(input) === snapshot;
    else { try { ok = !err && check(out); } catch { ok = false; } }
    if (!ok) fails.push(`${name}: ${err ? 'threw ' + String(err.message).slice(0, 70).replace(/\n/g, ' ') : 'result ' + JSON.stringify(out).slice(0, 160)}`);
  }
  console.log(`\n## patch: ${lib}: ${patchCases.length - fails.length}/${patchCases.length} pass`);
  for (const x of fails) console.log('  FAIL ' + x);
}
