/**
 * `muster log rewrite`: a log written before personal data was sealed holds it in clear, and erasing
 * a person then only hides it from readers. The rewrite copies the log, event by event in position
 * order (same streams, revisions, event ids, types and metadata), into a new log whose personal data
 * is sealed, with the values of erased people removed (`[erased]`, no ciphertext), and a new hash
 * chain. A signed statement ties the old log's head digest to the new one and names every position
 * whose content changed and why, so an auditor holding the old digest can follow the chain of
 * custody. Ed25519, with a signing key derived from the master key (HKDF); the statement carries the
 * public key.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { ERASED, SEALED, SEALED_KEY, personalData } from '@muster/contracts';
import type { EventStore, NewEvent, RecordedEvent } from '@muster/event-store/port';
import { mapSections, mapSlot, subjectsToOpen, subjectsToSeal, type PersonalDataVault } from './vault.ts';

export interface RewriteStatement {
  kind: 'muster-log-rewrite';
  version: 1;
  createdAt: string;
  /** the log as it was, and as it is now: the last position and the digest over every event's hash up to it */
  before: { position: number; digest: string; events: number };
  after: { position: number; digest: string; events: number };
  /** events whose content changed: sealed (personal data now encrypted) or erased (an erased person's values removed) */
  counts: { sealed: number; erased: number; unchanged: number };
  /** every changed position with its reason (positions are the same in both logs) */
  changed: Array<[position: number, reason: 'sealed' | 'erased']>;
  signature?: { alg: 'Ed25519'; publicKey: string; value: string };
}

/** digest over stored hashes, in position order, the same fold as logDigest (`hash-chain.ts`) */
function fold(digest: string, hash: unknown): string {
  return createHash('sha256').update(digest).update(String(hash)).digest('hex');
}
const GENESIS = '0'.repeat(64);

type Json = Record<string, unknown>;

/** the event's data as the new log stores it, and why it differs from the old (null: it does not) */
function rewriteData(vault: PersonalDataVault, e: RecordedEvent): { data: Json; reason: 'sealed' | 'erased' | null } {
  const sections = personalData[e.type];
  if (!sections) return { data: e.data, reason: null };
  let reason: 'sealed' | 'erased' | null = null;
  // erased subjects first: sealed parts dropped, clear values replaced by the marker
  let data = e.data;
  for (const section of sections) {
    const walk = (node: Json): Json => {
      const part = node[SEALED_KEY] as { s?: unknown } | undefined;
      const subject = part && typeof part.s === 'string' ? part.s : section.subject(node, e.data);
      if (!subject || !vault.erasedNow(subject)) return node;
      const { [SEALED_KEY]: _gone, ...rest } = node;
      let out: Json = rest;
      let touched = !!part;
      for (const slot of section.slots) out = mapSlot(out, slot, 0, (v) => { if (v === undefined || v === null || v === ERASED) return v; if (v !== SEALED) touched = true; return ERASED; }) as Json;
      if (touched) reason = 'erased';
      return out;
    };
    data = mapSections(data, section, walk);
  }
  // then whatever is still in clear is sealed
  const resealed = vault.seal(e.type, data, e.eventId);
  if (resealed !== data) reason ??= 'sealed';
  return { data: resealed, reason };
}


/**
 * Copies `source` (the old log as stored) into `target` (an empty, hash-chained log), sealing and
 * erasing on the way; `vault` holds the install's data keys (new ones are made for people of the old
 * log). Returns the statement, unsigned.
 */
export async function rewriteLog(source: EventStore, target: EventStore, vault: PersonalDataVault, opts: { now: Date; batchSize?: number; onProgress?: (events: number) => void }): Promise<RewriteStatement> {
  const batchSize = opts.batchSize ?? 1_000;
  const stmt: RewriteStatement = {
    kind: 'muster-log-rewrite', version: 1, createdAt: opts.now.toISOString(),
    before: { position: -1, digest: GENESIS, events: 0 }, after: { position: -1, digest: GENESIS, events: 0 },
    counts: { sealed: 0, erased: 0, unchanged: 0 }, changed: [],
  };
  if ((await target.headPosition()) >= 0) throw new Error('the target log is not empty');
  // who is erased: every PersonErased (their keys are deleted too, but a log from before sealing has no keys to look at)
  const erased = new Set<string>();
  for (let from = -1; ;) {
    const page = await source.readAll({ fromPosition: from, maxCount: batchSize, filter: { eventTypes: ['PersonErased'] } });
    for (const e of page) if (typeof e.data.personId === 'string') erased.add(e.data.personId);
    if (page.length < batchSize) break;
    from = page[page.length - 1].position;
  }
  if (erased.size) await vault.erase([...erased]);
  for (let from = -1; ;) {
    const page = await source.readAll({ fromPosition: from, maxCount: batchSize });
    const subjects = new Set<string>();
    const known = new Set<string>();
    for (const e of page) { subjectsToSeal(e.type, e.data, subjects); subjectsToOpen(e.type, e.data, known); }
    await vault.prepare(known, false);
    await vault.prepare([...subjects].filter((s) => !erased.has(s)), true);
    await vault.prepare([...subjects].filter((s) => erased.has(s)), false, { legacy: true });
    for (const e of page) {
      stmt.before = { position: e.position, digest: fold(stmt.before.digest, e.metadata.hash), events: stmt.before.events + 1 };
      const { data, reason } = rewriteData(vault, e);
      const { hash: _h, prevHash: _p, hashVersion: _v, ...metadata } = e.metadata;
      const event: NewEvent = { eventId: e.eventId, type: e.type, data, metadata };
      const res = await target.appendToStream(e.streamId, [event], { expectedRevision: e.revision === 0 ? 'no_stream' : e.revision - 1 });
      if (res.position !== e.position) throw new Error(`the new log placed ${e.streamId}@${e.revision} at position ${res.position}, not ${e.position}`);
      const [written] = await target.readStream(e.streamId, { fromRevision: e.revision, maxCount: 1 });
      stmt.after = { position: res.position, digest: fold(stmt.after.digest, written.metadata.hash), events: stmt.after.events + 1 };
      if (reason) { stmt.counts[reason]++; stmt.changed.push([e.position, reason]); } else stmt.counts.unchanged++;
    }
    opts.onProgress?.(stmt.before.events);
    if (page.length < batchSize) break;
    from = page[page.length - 1].position;
  }
  return stmt;
}

/** the statement's signing key, from 32 bytes only the master key's holder can derive (SecretBox.derive) */
export function statementKey(seed: Buffer): KeyObject {
  if (seed.length !== 32) throw new TypeError('a signing seed is 32 bytes');
  // PKCS#8 for an Ed25519 private key: a fixed 16-byte prefix, then the 32-byte seed
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
}

const signedBytes = (s: RewriteStatement) => Buffer.from(JSON.stringify({ ...s, signature: undefined }), 'utf8');

export function signStatement(s: RewriteStatement, key: KeyObject): RewriteStatement {
  const publicKey = createPublicKey(key).export({ format: 'der', type: 'spki' }).toString('base64');
  return { ...s, signature: { alg: 'Ed25519', publicKey, value: sign(null, signedBytes(s), key).toString('base64') } };
}

/** whether the statement is signed by the key it names (and, given, by this install's key) */
export function verifyStatement(s: RewriteStatement, expected?: KeyObject): boolean {
  if (!s.signature || s.signature.alg !== 'Ed25519') return false;
  const pub = createPublicKey({ key: Buffer.from(s.signature.publicKey, 'base64'), format: 'der', type: 'spki' });
  if (expected && createPublicKey(expected).export({ format: 'der', type: 'spki' }).toString('base64') !== s.signature.publicKey) return false;
  return verify(null, signedBytes(s), pub, Buffer.from(s.signature.value, 'base64'));
}
