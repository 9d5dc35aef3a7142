/**
 * Property-based fuzzing (fast-check) of every parser a SCIM request reaches: the filter parser
 * (then validation against the User schema, evaluation on a resource, translation to a store
 * query), the PATCH request parser and engine, and the attributes / excludedAttributes / sortBy
 * parameters. Inputs are generated from the grammar, then mutated (characters inserted, dropped,
 * replaced, spliced) and mixed with arbitrary text. The property: each input either succeeds or is
 * refused with a ScimError whose status is 400 (the documented answer); anything else (a TypeError,
 * a RangeError, a hang, another status) is a crash.
 *
 * `npm test` runs MUSTER_FUZZ_RUNS (default 2,000) inputs per parser; `npm run fuzz` runs 100,000
 * each and prints the figures (docs/performance.md records them).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ScimError } from './errors.ts';
import { evaluateFilter, validateFilter } from './evaluate.ts';
import { parseAttributePath, parseFilter, parsePatchPath } from './filter.ts';
import { applyPatch, parsePatchRequest } from './patch.ts';
import { filterToQuery } from './query.ts';
import { normalizeUserInput, projectAttributes, sortResources } from './resource.ts';
import { USER_RESOURCE_SCHEMA } from './schemas.ts';

const RUNS = Number(process.env.MUSTER_FUZZ_RUNS ?? 2_000);
const SEED = process.env.MUSTER_FUZZ_SEED ? Number(process.env.MUSTER_FUZZ_SEED) : undefined;
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const RESOURCE = normalizeUserInput({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE], userName: 'ada@example.org', externalId: 'x-1', active: true,
  name: { givenName: 'Ada', familyName: 'Lovelace', formatted: 'Ada Lovelace' }, displayName: 'Ada', title: 'Analyst',
  emails: [{ value: 'ada@example.org', type: 'work', primary: true }, { value: 'ada@home.example', type: 'home' }],
  phoneNumbers: [{ value: '+44 20 7946 0000', type: 'mobile' }], addresses: [{ type: 'work', locality: 'London', country: 'GB' }],
  [ENTERPRISE]: { employeeNumber: 'E-1', department: 'Maths', manager: { value: 'm-1' } },
});
const META = { ...RESOURCE, id: 'p-1', meta: { resourceType: 'User', created: '2026-01-01T00:00:00Z', lastModified: '2026-02-01T00:00:00Z' } };

// ---- the grammar ------------------------------------------------------------------------------
const ATTRS = [
  'userName', 'externalId', 'id', 'active', 'title', 'displayName', 'nickName', 'name.givenName', 'name.familyName', 'name',
  'emails', 'emails.value', 'emails.type', 'emails.primary', 'phoneNumbers.value', 'addresses.locality', 'meta.created',
  'meta.lastModified', 'meta.resourceType', 'groups.value', 'x509Certificates.value', `${ENTERPRISE}:employeeNumber`,
  `${ENTERPRISE}:manager.value`, `${ENTERPRISE}:manager`, 'urn:ietf:params:scim:schemas:core:2.0:User:userName', 'unknown', 'urn:x:y:1.0:User:badge',
];
const attr = fc.oneof(fc.constantFrom(...ATTRS), fc.stringMatching(/^[A-Za-z][\w$-]{0,12}(\.[A-Za-z]\w{0,8})?$/));
const op = fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'EQ', 'Sw', 'pr', 'xx');
const literal = fc.oneof(
  fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
  fc.constantFrom('true', 'false', 'null', '"2026-01-01T00:00:00Z"', '"not-a-date"', '""', '"\\u0000"', '"\\"'),
  fc.integer().map(String), fc.double({ noNaN: true }).map(String),
);
const filterText: fc.Arbitrary<string> = fc.letrec<{ f: string }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(attr, op, literal).map(([a, o, v]) => (o === 'pr' ? `${a} pr` : `${a} ${o} ${v}`)),
    attr.map((a) => `${a} pr`),
    fc.tuple(tie('f'), fc.constantFrom('and', 'or', 'AND', 'Or'), tie('f')).map(([l, o, r]) => `${l} ${o} ${r}`),
    tie('f').map((f) => `not (${f})`),
    tie('f').map((f) => `(${f})`),
    fc.tuple(fc.constantFrom('emails', 'addresses', 'phoneNumbers', 'members', 'name', 'userName'), tie('f')).map(([a, f]) => `${a}[${f}]`),
  ),
})).f;

/** a text with one to three edits: insert, drop, replace a character, or splice in another text */
const mutated = (base: fc.Arbitrary<string>) => fc.tuple(base, fc.array(fc.tuple(fc.nat(), fc.nat(2), fc.string({ maxLength: 3, unit: 'binary' })), { minLength: 1, maxLength: 3 }))
  .map(([s, edits]) => edits.reduce((t, [at, kind, ins]) => {
    const i = t.length ? at % (t.length + 1) : 0;
    return kind === 0 ? t.slice(0, i) + ins + t.slice(i) : kind === 1 ? t.slice(0, i) + t.slice(i + 1) : t.slice(0, i) + (ins[0] ?? '') + t.slice(i + 1);
  }, s));
const SPECIALS = fc.constantFrom('(', ')', '[', ']', '"', '\\', ' ', '.', ':', 'not', 'and', 'or', '\u0000', '\uD800', '💥');
const noise = fc.oneof(fc.string({ maxLength: 60, unit: 'binary' }), fc.array(SPECIALS, { maxLength: 30 }).map((a) => a.join('')));
const anyText = (base: fc.Arbitrary<string>) => fc.oneof({ weight: 3, arbitrary: base }, { weight: 4, arbitrary: mutated(base) }, { weight: 2, arbitrary: noise });

/** refused the documented way: a ScimError with status 400 */
function documented(err: unknown): boolean {
  return err instanceof ScimError && err.status === 400 && typeof err.detail === 'string' && err.detail.length > 0;
}
/** inputs accepted and refused (400) by the property running now */
let tally = { accepted: 0, refused: 0 };
/** runs `f`; a result or a documented refusal passes, anything else fails the property */
const holds = (f: () => unknown) => {
  try { f(); tally.accepted++; return true; } catch (err) {
    if (documented(err)) { tally.refused++; return true; }
    throw err;
  }
};
const check = <T>(arb: fc.Arbitrary<T>, predicate: (t: T) => boolean) => {
  tally = { accepted: 0, refused: 0 };
  fc.assert(fc.property(arb, predicate), { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) });
  if (process.env.MUSTER_FUZZ_REPORT) console.log(`${expect.getState().currentTestName}: ${RUNS} inputs, ${tally.accepted} accepted, ${tally.refused} refused with a 400, 0 crashes`);
};

describe(`fuzzed SCIM parsers (${RUNS.toLocaleString('en')} inputs each)`, () => {
  it('filters: parse, validate, evaluate and translate to a query, or a 400 invalidFilter', () => {
    check(anyText(filterText), (text) => holds(() => {
      const node = parseFilter(text, { maxLength: 4_096, maxDepth: 16 });
      validateFilter(node, USER_RESOURCE_SCHEMA);
      evaluateFilter(node, META, USER_RESOURCE_SCHEMA);
      filterToQuery(node, USER_RESOURCE_SCHEMA);
    }));
  });

  it('attribute paths and PATCH paths: parsed or a 400', () => {
    const path = anyText(fc.oneof(attr, filterText.map((f) => `emails[${f}].value`), attr.map((a) => `${a}[type eq "work"]`)));
    check(path, (text) => holds(() => { parseAttributePath(text); parsePatchPath(text); }));
  });

  it('PATCH requests: parsed and applied to a user, or a 400 (invalidPath, invalidValue, noTarget, mutability, invalidSyntax)', () => {
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom('', 'x', 'x'.repeat(3_000), true, null, [], {}, [{ value: 'a@b.example', primary: true }], { givenName: 'A' }, { userName: '' }),
    );
    const path = anyText(fc.oneof(attr, attr.map((a) => `emails[type eq "work"].${a}`), filterText.map((f) => `emails[${f}]`)));
    const opName = fc.oneof(fc.constantFrom('add', 'remove', 'replace', 'Add', 'REPLACE', 'move', ''), fc.string({ maxLength: 6 }));
    const operation = fc.oneof(
      fc.record({ op: opName, path, value }, { requiredKeys: ['op'] }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    // well-formed requests (valid ops on known paths with values of the right kind) reach the engine's success paths
    const wellFormedOp = fc.oneof(
      fc.record({ op: fc.constantFrom('replace', 'add', 'Replace'), path: fc.constantFrom('title', 'displayName', 'nickName', 'name.givenName', 'externalId', `${ENTERPRISE}:department`, 'emails[type eq "work"].value'), value: fc.string({ minLength: 1, maxLength: 20 }) }),
      fc.record({ op: fc.constantFrom('replace', 'add'), path: fc.constant('active'), value: fc.oneof(fc.boolean(), fc.constantFrom('True', 'false')) }),
      fc.record({ op: fc.constant('remove'), path: fc.constantFrom('title', 'nickName', 'emails[type eq "home"]', 'phoneNumbers', 'addresses[type eq "work"].locality') }),
      fc.record({ op: fc.constantFrom('add', 'replace'), value: fc.record({ title: fc.string({ maxLength: 10 }), active: fc.boolean() }, { requiredKeys: [] }) }),
      fc.record({ op: fc.constant('add'), path: fc.constant('emails'), value: fc.array(fc.record({ value: fc.string({ minLength: 1, maxLength: 12 }), type: fc.constantFrom('work', 'home', 'other') }), { minLength: 1, maxLength: 2 }) }),
    );
    const body = fc.oneof(
      { weight: 3, arbitrary: fc.record({ schemas: fc.constant(['urn:ietf:params:scim:api:messages:2.0:PatchOp']), Operations: fc.array(wellFormedOp, { minLength: 1, maxLength: 3 }) }) },
      { weight: 3, arbitrary: fc.record({ schemas: fc.constantFrom(['urn:ietf:params:scim:api:messages:2.0:PatchOp'], [], 'x'), Operations: fc.oneof(fc.array(fc.oneof(operation, wellFormedOp), { maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })) }) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    );
    check(body, (b) => holds(() => {
      const ops = parsePatchRequest(b);
      applyPatch({ ...META }, ops, USER_RESOURCE_SCHEMA);
    }));
  });

  it('attributes, excludedAttributes, sortBy and sortOrder: answered, or a 400', () => {
    const names = anyText(fc.array(attr, { maxLength: 5 }).map((a) => a.join(',')));
    check(fc.tuple(names, names, anyText(attr), fc.oneof(fc.constantFrom('ascending', 'descending', 'ASCENDING', ''), fc.string({ maxLength: 10 }))), ([attributes, excludedAttributes, sortBy, sortOrder]) => holds(() => {
      projectAttributes(META, { attributes }, USER_RESOURCE_SCHEMA);
      projectAttributes(META, { excludedAttributes }, USER_RESOURCE_SCHEMA);
      projectAttributes(META, { attributes: attributes.split(','), excludedAttributes }, USER_RESOURCE_SCHEMA);
      sortResources([META, { ...META, userName: 'b' }, { userName: 'c' }], sortBy, sortOrder, USER_RESOURCE_SCHEMA);
    }));
  });

  it('the generators reach the parsers\' success paths too (a fuzz run that only ever fails to parse proves little)', () => {
    let parsed = 0;
    let refused = 0;
    fc.assert(fc.property(filterText, (t) => {
      try { validateFilter(parseFilter(t), USER_RESOURCE_SCHEMA); parsed++; } catch (err) { if (!documented(err)) throw err; refused++; }
    }), { numRuns: 500, seed: 7 });
    expect(parsed).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(50);
  });
});
