/**
 * Contract suite for ReadStore adapters. Every adapter's test file calls readStoreContract();
 * the in-memory and MongoDB adapters must behave identically on everything registered here.
 * Collection names are unique per test, so the suite can run against a shared server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuplicateKeyError, type Collection, type Doc, type ReadStore } from './port.ts';
import { containsIgnoreCase, escapeRegex, foldCase, foldedPrefix } from './text.ts';

export interface ReadStoreFixture {
  store: ReadStore;
  cleanup: () => Promise<void>;
}

interface Person extends Doc {
  listId: string;
  status: 'active' | 'inactive';
  fields: { firstName: string; lastName: string; email?: string; employeeNumber?: string };
  userNameLower?: string;
  roles?: Array<{ name: string; active: boolean }>;
  tags?: string[];
  score?: number;
  lastPosition?: number;
}

function person(id: string, over: Partial<Person> & { first?: string; last?: string; email?: string } = {}): Person {
  const { first, last, email, ...rest } = over;
  return {
    _id: id,
    listId: 'L1',
    status: 'active',
    fields: {
      firstName: first ?? `First${id}`,
      lastName: last ?? `Last${id}`,
      email: email ?? `${id}@example.com`,
    },
    ...rest,
  };
}

async function expectDuplicate(p: Promise<unknown>, index: string): Promise<DuplicateKeyError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DuplicateKeyError);
  const dup = err as DuplicateKeyError;
  expect(dup.code).toBe(11000);
  expect(dup.index).toBe(index);
  return dup;
}

/**
 * Tuning hints an in-memory adapter may be created with for the indexes this suite declares (see
 * @muster/read-store-memory's indexHints): results must be the same with or without them.
 */
export const CONTRACT_INDEX_HINTS = {
  list_status_lastName: { searchFields: ['fields.firstName', 'fields.lastName', 'fields.email'] },
  list_status_n: { searchFields: ['search'] },
} as const;

export function readStoreContract(name: string, factory: () => Promise<ReadStoreFixture>): void {
  describe(`ReadStore contract: ${name}`, () => {
    let fixture: ReadStoreFixture;
    let store: ReadStore;
    const run = Math.random().toString(36).slice(2, 8);
    let seq = 0;
    const uniqueName = (label: string): string => `rs_${run}_${label}_${++seq}`;
    const people = (label: string): Collection<Person> => store.collection<Person>(uniqueName(label));
    const ids = (docs: Doc[]): string[] => docs.map((d) => d._id);

    beforeAll(async () => {
      fixture = await factory();
      store = fixture.store;
    });

    afterAll(async () => {
      await fixture?.cleanup();
    });

    describe('documents', () => {
      it('inserts and reads back deep copies that callers cannot use to mutate the store', async () => {
        const c = people('copies');
        const input = person('p1', { tags: ['a'] });
        await c.insertOne(input);
        input.fields.firstName = 'mutated-input';
        const read = await c.findOne({ _id: 'p1' });
        expect(read?.fields.firstName).toBe('Firstp1');
        read!.fields.firstName = 'mutated-output';
        read!.tags!.push('b');
        const again = await c.findOne({ _id: 'p1' });
        expect(again?.fields.firstName).toBe('Firstp1');
        expect(again?.tags).toEqual(['a']);
        expect(await c.findOne({ _id: 'nope' })).toBeNull();
      });

      it('rejects a second document with the same _id and keeps the first', async () => {
        const c = people('dupid');
        await c.insertOne(person('p1'));
        const err = await expectDuplicate(c.insertOne(person('p1', { first: 'Other' })), '_id_');
        expect(err.collection).toBe(c.name);
        expect((await c.findOne({ _id: 'p1' }))?.fields.firstName).toBe('Firstp1');
        expect(await c.countDocuments({})).toBe(1);
      });

      it('replaceOne swaps the whole document and can upsert by _id', async () => {
        const c = people('replace');
        await c.insertOne(person('p1', { tags: ['x'], score: 3 }));
        const r = await c.replaceOne({ _id: 'p1' }, { _id: 'p1', listId: 'L2', status: 'inactive', fields: { firstName: 'A', lastName: 'B' } });
        expect(r).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
        expect(await c.findOne({ _id: 'p1' })).toEqual({ _id: 'p1', listId: 'L2', status: 'inactive', fields: { firstName: 'A', lastName: 'B' } });
        const none = await c.replaceOne({ _id: 'p2' }, person('p2'));
        expect(none).toMatchObject({ matchedCount: 0, modifiedCount: 0 });
        expect(await c.findOne({ _id: 'p2' })).toBeNull();
        const up = await c.replaceOne({ _id: 'p2' }, person('p2'), { upsert: true });
        expect(up).toMatchObject({ matchedCount: 0, modifiedCount: 0, upsertedId: 'p2' });
        expect(await c.findOne({ _id: 'p2' })).toEqual(person('p2'));
      });

      it('deleteOne removes one match, deleteMany all matches', async () => {
        const c = people('delete');
        for (const id of ['a', 'b', 'c', 'd']) await c.insertOne(person(id, { status: id < 'c' ? 'active' : 'inactive' }));
        expect(await c.deleteOne({ status: 'active' })).toEqual({ deletedCount: 1 });
        expect(await c.countDocuments({ status: 'active' })).toBe(1);
        expect(await c.deleteMany({ status: 'inactive' })).toEqual({ deletedCount: 2 });
        expect(await c.deleteOne({ status: 'inactive' })).toEqual({ deletedCount: 0 });
        expect(await c.countDocuments({})).toBe(1);
      });
    });

    describe('update operators', () => {
      it('$set, $unset and $inc, on top-level and dotted paths', async () => {
        const c = people('setinc');
        await c.insertOne(person('p1', { score: 1 }));
        const r = await c.updateOne(
          { _id: 'p1' },
          { $set: { 'fields.email': 'new@example.com', 'meta.source': 'scim' }, $unset: { 'fields.firstName': '' }, $inc: { score: 2, visits: 1 } },
        );
        expect(r).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
        const doc = (await c.findOne({ _id: 'p1' })) as Record<string, unknown> & Person;
        expect(doc.fields).toEqual({ lastName: 'Lastp1', email: 'new@example.com' });
        expect(doc.meta).toEqual({ source: 'scim' });
        expect(doc.score).toBe(3);
        expect(doc.visits).toBe(1);
      });

      it('reports modifiedCount 0 when nothing changes', async () => {
        const c = people('noop');
        await c.insertOne(person('p1', { score: 5, tags: ['a'] }));
        expect(await c.updateOne({ _id: 'p1' }, { $set: { score: 5 } })).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
        expect(await c.updateOne({ _id: 'p1' }, { $addToSet: { tags: 'a' } })).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
        expect(await c.updateOne({ _id: 'p1' }, { $max: { score: 4 } })).toMatchObject({ matchedCount: 1, modifiedCount: 0 });
        expect(await c.updateOne({ _id: 'zz' }, { $set: { score: 1 } })).toMatchObject({ matchedCount: 0, modifiedCount: 0 });
      });

      it('$push, $addToSet, $pull (by value and by condition) and $max', async () => {
        const c = people('arrays');
        await c.insertOne(person('p1', { tags: ['a'], roles: [{ name: 'admin', active: true }, { name: 'viewer', active: false }], score: 2 }));
        await c.updateOne({ _id: 'p1' }, { $push: { tags: 'b' } });
        await c.updateOne({ _id: 'p1' }, { $addToSet: { tags: { $each: ['b', 'c'] } } });
        await c.updateOne({ _id: 'p1' }, { $push: { roles: { name: 'editor', active: true } } });
        await c.updateOne({ _id: 'p1' }, { $pull: { tags: 'a', roles: { active: false } } });
        await c.updateOne({ _id: 'p1' }, { $max: { score: 7 } });
        const doc = await c.findOne({ _id: 'p1' });
        expect(doc?.tags).toEqual(['b', 'c']);
        expect(doc?.roles).toEqual([
          { name: 'admin', active: true },
          { name: 'editor', active: true },
        ]);
        expect(doc?.score).toBe(7);
      });

      it('upsert seeds the new document from equality conditions and applies $setOnInsert only on insert', async () => {
        const c = people('upsert');
        const r1 = await c.updateOne(
          { _id: 'p1', listId: 'L9', 'fields.employeeNumber': { $eq: 'E1' }, score: { $gt: 0 } },
          { $set: { status: 'active' }, $setOnInsert: { createdBy: 'import' } },
          { upsert: true },
        );
        expect(r1).toMatchObject({ matchedCount: 0, modifiedCount: 0, upsertedId: 'p1' });
        expect(await c.findOne({ _id: 'p1' })).toEqual({
          _id: 'p1',
          listId: 'L9',
          fields: { employeeNumber: 'E1' },
          status: 'active',
          createdBy: 'import',
        });
        const r2 = await c.updateOne(
          { _id: 'p1' },
          { $set: { status: 'inactive' }, $setOnInsert: { createdBy: 'other' } },
          { upsert: true },
        );
        expect(r2.matchedCount).toBe(1);
        expect(r2.modifiedCount).toBe(1);
        expect(r2.upsertedId ?? undefined).toBeUndefined();
        const doc = (await c.findOne({ _id: 'p1' })) as Record<string, unknown> | null;
        expect(doc?.status).toBe('inactive');
        expect(doc?.createdBy).toBe('import');
      });

      it('updateMany updates every match', async () => {
        const c = people('many');
        for (const id of ['a', 'b', 'c']) await c.insertOne(person(id, { status: id === 'c' ? 'inactive' : 'active', score: 1 }));
        expect(await c.updateMany({ status: 'active' }, { $inc: { score: 10 } })).toMatchObject({ matchedCount: 2, modifiedCount: 2 });
        expect(ids(await c.find({ score: 11 }, { sort: { _id: 1 } }))).toEqual(['a', 'b']);
        expect(await c.updateMany({ status: 'gone' }, { $inc: { score: 1 } })).toMatchObject({ matchedCount: 0, modifiedCount: 0 });
      });

      it('rejects updates without operators and updates that change _id', async () => {
        const c = people('badupdate');
        await c.insertOne(person('p1'));
        await expect(c.updateOne({ _id: 'p1' }, { status: 'inactive' })).rejects.toThrow();
        await expect(c.updateOne({ _id: 'p1' }, { $set: { _id: 'p2' } })).rejects.toThrow();
        expect((await c.findOne({ _id: 'p1' }))?.status).toBe('active');
      });

      it('guarded update: applies only events newer than lastPosition (idempotent projection)', async () => {
        const c = people('guard');
        const apply = (position: number, status: Person['status']) =>
          c.updateOne({ _id: 'p1', lastPosition: { $lt: position } }, { $set: { status, lastPosition: position } });
        await c.insertOne(person('p1', { lastPosition: 10 }));
        expect(await apply(12, 'inactive')).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
        expect(await apply(12, 'active')).toMatchObject({ matchedCount: 0, modifiedCount: 0 });
        expect(await apply(11, 'active')).toMatchObject({ matchedCount: 0, modifiedCount: 0 });
        const doc = await c.findOne({ _id: 'p1' });
        expect(doc).toMatchObject({ status: 'inactive', lastPosition: 12 });
      });

      it('guarded upsert: creates on first sight, and a replayed old event hits the _id index', async () => {
        const c = people('guardups');
        const apply = (position: number) =>
          c.updateOne({ _id: 'p1', lastPosition: { $lt: position } }, { $set: { lastPosition: position } }, { upsert: true });
        expect(await apply(5)).toMatchObject({ upsertedId: 'p1' });
        expect(await apply(7)).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
        // the guard fails, so the upsert tries to insert _id p1 again: E11000 on _id_, as on the server
        await expectDuplicate(apply(6), '_id_');
        expect((await c.findOne({ _id: 'p1' }))?.lastPosition).toBe(7);
        expect(await c.countDocuments({})).toBe(1);
      });
    });

    describe('queries', () => {
      let c: Collection<Person>;
      beforeAll(async () => {
        c = people('query');
        const docs: Person[] = [
          person('a', { first: 'Ada', last: 'Lovelace', email: 'ada@math.org', score: 90, tags: ['math', 'poet'], roles: [{ name: 'admin', active: true }] }),
          person('b', { first: 'Alan', last: 'Turing', email: 'alan@bletchley.uk', score: 85, tags: ['math'], roles: [{ name: 'admin', active: false }, { name: 'viewer', active: true }] }),
          person('c', { first: 'Grace', last: 'Hopper', email: 'grace@navy.mil', score: 95, status: 'inactive', tags: [] }),
          person('d', { first: 'Edsger', last: 'Dijkstra', email: 'ewd@utexas.edu', score: 70, listId: 'L2' }),
          person('e', { first: 'Barbara', last: 'Liskov', email: 'liskov@mit.edu', listId: 'L2' }),
        ];
        for (const d of docs) await c.insertOne(d);
      });

      it('equality on top-level and dotted fields, $in, $ne, $gt/$lt', async () => {
        expect(ids(await c.find({ listId: 'L2' }, { sort: { _id: 1 } }))).toEqual(['d', 'e']);
        expect(ids(await c.find({ 'fields.lastName': 'Turing' }))).toEqual(['b']);
        expect(ids(await c.find({ _id: { $in: ['e', 'a', 'zz'] } }, { sort: { _id: 1 } }))).toEqual(['a', 'e']);
        expect(ids(await c.find({ status: { $ne: 'active' } }))).toEqual(['c']);
        expect(ids(await c.find({ score: { $gt: 80, $lt: 95 } }, { sort: { score: -1 } }))).toEqual(['a', 'b']);
        expect(ids(await c.find({ score: { $gte: 95 } }))).toEqual(['c']);
      });

      it('$or, $and, $exists', async () => {
        expect(ids(await c.find({ $or: [{ listId: 'L2' }, { status: 'inactive' }] }, { sort: { _id: 1 } }))).toEqual(['c', 'd', 'e']);
        expect(ids(await c.find({ $and: [{ listId: 'L1' }, { score: { $lt: 90 } }] }))).toEqual(['b']);
        expect(ids(await c.find({ score: { $exists: false } }))).toEqual(['e']);
        expect(ids(await c.find({ tags: { $exists: true }, listId: 'L1' }, { sort: { _id: 1 } }))).toEqual(['a', 'b', 'c']);
      });

      it('$regex: string with options, RegExp literal, anchored prefix', async () => {
        expect(ids(await c.find({ 'fields.email': { $regex: '\\.edu$' } }, { sort: { _id: 1 } }))).toEqual(['d', 'e']);
        expect(ids(await c.find({ 'fields.firstName': { $regex: '^a', $options: 'i' } }, { sort: { _id: 1 } }))).toEqual(['a', 'b']);
        expect(ids(await c.find({ 'fields.lastName': /^L/ }, { sort: { _id: 1 } }))).toEqual(['a', 'e']);
        expect(ids(await c.find({ 'fields.lastName': containsIgnoreCase('OPP') }))).toEqual(['c']);
        expect(await c.countDocuments({ 'fields.lastName': containsIgnoreCase('a.b') })).toBe(0);
      });

      it('arrays: element equality, dotted paths into arrays of objects, $elemMatch', async () => {
        expect(ids(await c.find({ tags: 'math' }, { sort: { _id: 1 } }))).toEqual(['a', 'b']);
        expect(ids(await c.find({ tags: { $in: ['poet', 'x'] } }))).toEqual(['a']);
        expect(ids(await c.find({ 'roles.name': 'viewer' }))).toEqual(['b']);
        // without $elemMatch the conditions may hold on different elements
        expect(ids(await c.find({ 'roles.name': 'admin', 'roles.active': true }, { sort: { _id: 1 } }))).toEqual(['a', 'b']);
        expect(ids(await c.find({ roles: { $elemMatch: { name: 'admin', active: true } } }))).toEqual(['a']);
        expect(ids(await c.find({ tags: { $size: 0 } }))).toEqual(['c']);
      });

      it('sort (ascending, descending, compound, dotted), skip and limit', async () => {
        expect(ids(await c.find({}, { sort: { 'fields.lastName': 1 } }))).toEqual(['d', 'c', 'e', 'a', 'b']);
        expect(ids(await c.find({}, { sort: { listId: -1, 'fields.lastName': 1 } }))).toEqual(['d', 'e', 'c', 'a', 'b']);
        expect(ids(await c.find({}, { sort: { 'fields.lastName': 1 }, skip: 1, limit: 2 }))).toEqual(['c', 'e']);
        expect(ids(await c.find({ listId: 'L1' }, { sort: { score: -1 }, limit: 2 }))).toEqual(['c', 'a']);
        // a missing field sorts as null, before numbers
        expect(ids(await c.find({}, { sort: { score: 1, _id: 1 } }))).toEqual(['e', 'd', 'b', 'a', 'c']);
        expect(ids(await c.find({}, { sort: { _id: -1 }, skip: 3 }))).toEqual(['b', 'a']);
      });

      it('projection: inclusion (with dotted paths), exclusion, _id suppression', async () => {
        expect(await c.findOne({ _id: 'a' }, { projection: { 'fields.lastName': 1, status: 1 } })).toEqual({
          _id: 'a',
          status: 'active',
          fields: { lastName: 'Lovelace' },
        });
        const excluded = await c.findOne({ _id: 'a' }, { projection: { fields: 0, roles: 0, tags: 0 } });
        expect(excluded).toEqual({ _id: 'a', listId: 'L1', status: 'active', score: 90 });
        expect(await c.find({ listId: 'L2' }, { projection: { _id: 0, 'fields.firstName': 1 }, sort: { _id: 1 } })).toEqual([
          { fields: { firstName: 'Edsger' } },
          { fields: { firstName: 'Barbara' } },
        ]);
      });

      it('countDocuments', async () => {
        expect(await c.countDocuments({})).toBe(5);
        expect(await c.countDocuments({ listId: 'L1', status: 'active' })).toBe(2);
        expect(await c.countDocuments({ tags: 'nothing' })).toBe(0);
      });

      it('reads on a collection that does not exist are empty', async () => {
        const missing = people('missing');
        expect(await missing.find({})).toEqual([]);
        expect(await missing.countDocuments({})).toBe(0);
        expect(await missing.findOne({ _id: 'x' })).toBeNull();
      });
    });

    describe('indexes', () => {
      it('ensureIndexes is idempotent', async () => {
        const name = uniqueName('idem');
        const spec = [{ key: { 'fields.email': 1 as const }, name: 'email_1', unique: true }];
        await store.ensureIndexes(name, spec);
        await store.ensureIndexes(name, spec);
        const c = store.collection<Person>(name);
        await c.insertOne(person('p1'));
        await expectDuplicate(c.insertOne(person('p2', { email: 'p1@example.com' })), 'email_1');
      });

      it('unique index is enforced on insert, update, upsert and replace, with nothing written', async () => {
        const name = uniqueName('unique');
        await store.ensureIndexes(name, [{ key: { 'fields.email': 1 }, name: 'email_1', unique: true }]);
        const c = store.collection<Person>(name);
        await c.insertOne(person('p1', { email: 'one@x.org' }));
        await c.insertOne(person('p2', { email: 'two@x.org' }));

        const insertErr = await expectDuplicate(c.insertOne(person('p3', { email: 'one@x.org' })), 'email_1');
        expect(insertErr.collection).toBe(name);
        expect(await c.findOne({ _id: 'p3' })).toBeNull();

        await expectDuplicate(c.updateOne({ _id: 'p2' }, { $set: { 'fields.email': 'one@x.org', status: 'inactive' } }), 'email_1');
        expect(await c.findOne({ _id: 'p2' })).toEqual(person('p2', { email: 'two@x.org' }));

        await expectDuplicate(c.updateOne({ _id: 'p4' }, { $set: { 'fields.email': 'one@x.org' } }, { upsert: true }), 'email_1');
        expect(await c.findOne({ _id: 'p4' })).toBeNull();

        await expectDuplicate(c.replaceOne({ _id: 'p2' }, person('p2', { email: 'one@x.org', first: 'Changed' })), 'email_1');
        expect((await c.findOne({ _id: 'p2' }))?.fields.firstName).toBe('Firstp2');

        await expectDuplicate(c.updateMany({ _id: 'p2' }, { $set: { 'fields.email': 'one@x.org' } }), 'email_1');
        expect(await c.countDocuments({})).toBe(2);
        expect(await c.countDocuments({ 'fields.email': 'one@x.org' })).toBe(1);

        // moving a value away frees it for another document
        await c.updateOne({ _id: 'p1' }, { $set: { 'fields.email': 'uno@x.org' } });
        await c.updateOne({ _id: 'p2' }, { $set: { 'fields.email': 'one@x.org' } });
        expect((await c.findOne({ 'fields.email': 'one@x.org' }))?._id).toBe('p2');
        // and deleting a document frees its value
        await c.deleteOne({ _id: 'p2' });
        await c.insertOne(person('p5', { email: 'one@x.org' }));
      });

      it('documents missing a unique field count as null, unless a partial filter leaves them out', async () => {
        const plain = uniqueName('nullkey');
        await store.ensureIndexes(plain, [{ key: { employeeNumber: 1 }, name: 'employeeNumber_1', unique: true }]);
        const c1 = store.collection<Person>(plain);
        await c1.insertOne(person('p1'));
        await expectDuplicate(c1.insertOne(person('p2')), 'employeeNumber_1');

        const partial = uniqueName('partial');
        await store.ensureIndexes(partial, [
          { key: { employeeNumber: 1 }, name: 'employeeNumber_1', unique: true, partialFilterExpression: { employeeNumber: { $exists: true } } },
        ]);
        const c2 = store.collection<Person & { employeeNumber?: string }>(partial);
        await c2.insertOne(person('p1'));
        await c2.insertOne(person('p2'));
        await c2.insertOne({ ...person('p3'), employeeNumber: 'E1' });
        await expectDuplicate(c2.insertOne({ ...person('p4'), employeeNumber: 'E1' }), 'employeeNumber_1');
        await expectDuplicate(c2.updateOne({ _id: 'p1' }, { $set: { employeeNumber: 'E1' } }), 'employeeNumber_1');
        expect(await c2.countDocuments({})).toBe(3);
        expect(await c2.findOne({ employeeNumber: 'E1' }, { projection: { _id: 1 } })).toEqual({ _id: 'p3' });
      });

      it('compound unique index: unique per combination', async () => {
        const name = uniqueName('compound');
        await store.ensureIndexes(name, [
          { key: { listId: 1, 'fields.employeeNumber': 1 }, name: 'list_employee', unique: true },
        ]);
        const c = store.collection<Person>(name);
        const withEmp = (id: string, listId: string, employeeNumber: string): Person => {
          const p = person(id, { listId });
          p.fields.employeeNumber = employeeNumber;
          return p;
        };
        await c.insertOne(withEmp('p1', 'L1', 'E1'));
        await c.insertOne(withEmp('p2', 'L2', 'E1'));
        await c.insertOne(withEmp('p3', 'L1', 'E2'));
        await expectDuplicate(c.insertOne(withEmp('p4', 'L2', 'E1')), 'list_employee');
        await expectDuplicate(c.updateOne({ _id: 'p3' }, { $set: { 'fields.employeeNumber': 'E1' } }), 'list_employee');
        await c.updateOne({ _id: 'p3' }, { $set: { listId: 'L3', 'fields.employeeNumber': 'E1' } });
        expect(ids(await c.find({ 'fields.employeeNumber': 'E1' }, { sort: { _id: 1 } }))).toEqual(['p1', 'p2', 'p3']);
      });

      it('case-insensitive uniqueness and lookup through a folded shadow field', async () => {
        const name = uniqueName('folded');
        await store.ensureIndexes(name, [{ key: { userNameLower: 1 }, name: 'userNameLower_1', unique: true }]);
        const c = store.collection<Person>(name);
        await c.insertOne(person('p1', { userNameLower: foldCase('Zoë.Smith@Example.com') }));
        await c.insertOne(person('p2', { userNameLower: foldCase('zoe.smith@example.com') }));
        await expectDuplicate(c.insertOne(person('p3', { userNameLower: foldCase('ZOË.SMITH@EXAMPLE.COM') })), 'userNameLower_1');
        expect((await c.findOne({ userNameLower: foldCase('zOë.sMiTh@example.COM') }))?._id).toBe('p1');
        expect(ids(await c.find({ userNameLower: foldedPrefix('ZOE.') }))).toEqual(['p2']);
        expect(ids(await c.find({ userNameLower: foldedPrefix('Zo') }, { sort: { userNameLower: 1 } }))).toEqual(['p2', 'p1']);
      });

      it('contains-search page over an index an in-memory store is hinted to summarise (CONTRACT_INDEX_HINTS)', async () => {
        const name = uniqueName('search');
        await store.ensureIndexes(name, [
          {
            key: { listId: 1, status: 1, 'fields.lastName': 1 },
            name: 'list_status_lastName',
          },
        ]);
        const c = store.collection<Person>(name);
        const firsts = ['Ada', 'Alan', 'Grace', 'Ken'];
        const lasts = ['Lovelace', 'Turing', 'Hopper', 'Thompson', 'Adams'];
        const all: Person[] = [];
        for (let i = 0; i < 60; i++) {
          const p = person(`p${String(i).padStart(2, '0')}`, {
            listId: i % 3 === 0 ? 'L2' : 'L1',
            status: i % 5 === 0 ? 'inactive' : 'active',
            first: firsts[i % firsts.length],
            last: lasts[i % lasts.length],
            email: `${firsts[i % firsts.length].toLowerCase()}${i}@example.org`,
          });
          all.push(p);
          await c.insertOne(p);
        }
        const expected = (text: string): string[] =>
          all
            .filter(
              (p) =>
                p.listId === 'L1' &&
                p.status === 'active' &&
                [p.fields.firstName, p.fields.lastName, p.fields.email!].some((v) => v.toLowerCase().includes(text.toLowerCase())),
            )
            .sort((a, b) => (a.fields.lastName + a._id < b.fields.lastName + b._id ? -1 : 1))
            .slice(0, 5)
            .map((p) => p._id);
        const page = (text: string) =>
          c.find(
            {
              listId: 'L1',
              status: 'active',
              $or: [
                { 'fields.firstName': containsIgnoreCase(text) },
                { 'fields.lastName': containsIgnoreCase(text) },
                { 'fields.email': containsIgnoreCase(text) },
              ],
            },
            { sort: { 'fields.lastName': 1, _id: 1 }, limit: 5, projection: { _id: 1 } },
          );
        // "ada" hits Ada (first name), Adams (last name) and ada… emails
        expect(ids(await page('ADA'))).toEqual(expected('ADA'));
        expect(ids(await page('ADA'))).toEqual(['p04', 'p14', 'p19', 'p29', 'p34']);
        expect(ids(await page('ing'))).toEqual(expected('ing'));
        expect(ids(await page('ken43@'))).toEqual(['p43']);
        expect(await page('nobody')).toEqual([]);
        await c.updateOne({ _id: 'p43' }, { $set: { 'fields.email': 'renamed@example.org' } });
        expect(await page('ken43@')).toEqual([]);
        expect(ids(await page('RENAMED'))).toEqual(['p43']);
      });

      it('exact count and page of a roster search: status + contains on a lower-cased search text, before and after writes', async () => {
        const name = uniqueName('roster');
        await store.ensureIndexes(name, [{ key: { listId: 1, status: 1, n: 1 }, name: 'list_status_n' }]);
        const c = store.collection<Person & { search: string; n: number }>(name);
        const words = ['ada', 'lovelace', 'grace', 'hopper', 'ken', 'thompson', 'barbara', 'liskov'];
        const all: Array<Person & { search: string; n: number }> = [];
        for (let i = 0; i < 90; i++) {
          const first = words[i % words.length];
          const last = words[(i * 5 + 3) % words.length];
          const p = { ...person(`p${String(i).padStart(2, '0')}`, { listId: i % 4 === 0 ? 'L2' : 'L1', status: i % 3 === 0 ? 'inactive' : 'active', first, last }), search: `${first} ${last} ${first}.${last}${i}@example.org`, n: i };
          all.push(p);
          await c.insertOne(p);
        }
        const filter = (text: string) => ({ listId: 'L1', status: 'active', search: { $regex: escapeRegex(text.toLowerCase()) } });
        const expected = (text: string) => all.filter((p) => p.listId === 'L1' && p.status === 'active' && p.search.includes(text.toLowerCase()));
        for (const text of ['ada', 'on', 'Hopper', 'e', 'lace1', 'y.z', 'nobody', 'kEN.thompson']) {
          expect(await c.countDocuments(filter(text)), text).toBe(expected(text).length);
          const page = await c.find(filter(text), { sort: { n: -1 }, limit: 5 });
          expect(page.map((p) => p._id), text).toEqual(expected(text).sort((a, b) => b.n - a.n).slice(0, 5).map((p) => p._id));
        }
        // a person renamed, one deactivated, one removed: the next count follows
        const renamed = all.find((p) => p.listId === 'L1' && p.status === 'active')!;
        renamed.search = 'zed zebra zed.zebra@example.org';
        await c.updateOne({ _id: renamed._id }, { $set: { search: renamed.search } });
        const deactivated = all.find((p) => p.listId === 'L1' && p.status === 'active' && p.search.includes('ada'))!;
        deactivated.status = 'inactive';
        await c.updateOne({ _id: deactivated._id }, { $set: { status: 'inactive' } });
        const removed = all.find((p) => p.listId === 'L1' && p.status === 'active' && p.search.includes('ada'))!;
        all.splice(all.indexOf(removed), 1);
        await c.deleteOne({ _id: removed._id });
        for (const text of ['ada', 'zebra', 'on', 'e']) expect(await c.countDocuments(filter(text)), text).toBe(expected(text).length);
      });

      it('building a unique index over duplicate data fails', async () => {
        const name = uniqueName('builddup');
        const c = store.collection<Person>(name);
        await c.insertOne(person('p1', { status: 'active' }));
        await c.insertOne(person('p2', { status: 'active' }));
        await expect(store.ensureIndexes(name, [{ key: { status: 1 }, name: 'status_1', unique: true }])).rejects.toBeInstanceOf(
          DuplicateKeyError,
        );
        await c.insertOne(person('p3', { status: 'active' }));
        expect(await c.countDocuments({ status: 'active' })).toBe(3);
      });
    });

    describe('collections and checkpoints', () => {
      it('dropCollection removes documents and indexes; dropping a missing collection is fine', async () => {
        const name = uniqueName('drop');
        await store.ensureIndexes(name, [{ key: { status: 1 }, name: 'status_1', unique: true }]);
        const c = store.collection<Person>(name);
        await c.insertOne(person('p1'));
        await store.dropCollection(name);
        expect(await c.countDocuments({})).toBe(0);
        await c.insertOne(person('p1'));
        await c.insertOne(person('p2')); // the unique index went with the collection
        expect(await c.countDocuments({})).toBe(2);
        await store.dropCollection(uniqueName('never-created'));
      });

      it('renameCollection replaces the target, carrying documents and indexes', async () => {
        const live = uniqueName('live');
        const rebuild = uniqueName('rebuild');
        await store.collection<Person>(live).insertOne(person('old1'));
        await store.collection<Person>(live).insertOne(person('old2'));
        await store.ensureIndexes(rebuild, [{ key: { 'fields.email': 1 }, name: 'email_1', unique: true }]);
        await store.collection<Person>(rebuild).insertOne(person('new1', { email: 'n@x.org' }));

        await store.renameCollection(rebuild, live);

        const c = store.collection<Person>(live);
        expect(ids(await c.find({}, { sort: { _id: 1 } }))).toEqual(['new1']);
        expect(await store.collection<Person>(rebuild).countDocuments({})).toBe(0);
        await expectDuplicate(c.insertOne(person('new2', { email: 'n@x.org' })), 'email_1');

        // renaming onto a name that does not exist yet works too
        const fresh = uniqueName('fresh');
        await store.renameCollection(live, fresh);
        expect(ids(await store.collection<Person>(fresh).find({}))).toEqual(['new1']);
        await expect(store.renameCollection(uniqueName('absent'), uniqueName('target'))).rejects.toThrow();
      });

      it('checkpoints are stored per projection', async () => {
        const a = uniqueName('projA');
        const b = uniqueName('projB');
        expect(await store.getCheckpoint(a)).toBeNull();
        await store.setCheckpoint(a, 10);
        await store.setCheckpoint(b, 3);
        await store.setCheckpoint(a, 42);
        expect(await store.getCheckpoint(a)).toBe(42);
        expect(await store.getCheckpoint(b)).toBe(3);
        await store.setCheckpoint(b, 0);
        expect(await store.getCheckpoint(b)).toBe(0);
      });
    });
  });
}
