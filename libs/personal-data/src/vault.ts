/**
 * Seals and opens the personal data of events (the table in `@muster/contracts` personal.ts says
 * where it is and whose it is), each subject's values with that subject's data key:
 *
 * - sealing: the values of a section's slots, in walk order, become one JSON array encrypted with
 *   AES-256-GCM (random 96-bit nonce; the event id and the subject as additional authenticated data,
 *   so a ciphertext moved to another event or person does not open); the slots hold `[sealed]` and
 *   the section node gets `sealed: { s: subject, c: base64url(nonce | ciphertext | tag) }`.
 * - opening: the slots get their values back and `sealed` goes; when the subject's key is gone
 *   (erased) the slots read `[erased]` instead. Opening never throws for a missing key or a damaged
 *   ciphertext: the reader gets the marker.
 *
 * Data keys are made on first use (32 random bytes), wrapped by the key wrapper (the master key:
 * MUSTER_SECRET_KEY or the generated key file; a KMS would be another KeyWrapper) and kept in the
 * DataKeyStore; unwrapped keys are cached in memory.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';
import { ERASED, SEALED, SEALED_KEY, personalData, type PersonalSection, type Slot } from '@muster/contracts';
import type { SecretBox } from '@muster/secret-box';
import type { DataKeyStore } from './key-store.ts';

/** wraps data keys under a master key (the seam for a KMS) */
export interface KeyWrapper {
  wrap(key: Buffer, subject: string): string;
  unwrap(wrapped: string, subject: string): Buffer;
}

export const secretBoxWrapper = (box: SecretBox): KeyWrapper => ({
  wrap: (key, subject) => box.seal(key.toString('base64'), `data-key:${subject}`, randomBytesPooled(12)),
  unwrap: (wrapped, subject) => Buffer.from(box.open(wrapped, `data-key:${subject}`), 'base64'),
});

interface SealedPart { s: string; c: string }
type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** maps every value at `path` (from segment i) through fn, copying only what changes */
export function mapSlot(node: unknown, slot: Slot, i: number, fn: (v: unknown) => unknown): unknown {
  const { path } = slot;
  if (i === path.length) return fn(node);
  const seg = path[i];
  if (seg === '[]') {
    if (!Array.isArray(node)) return node;
    let out: unknown[] | null = null;
    for (let j = 0; j < node.length; j++) {
      const v = mapSlot(node[j], slot, i + 1, fn);
      if (v !== node[j]) (out ??= node.slice())[j] = v;
    }
    return out ?? node;
  }
  if (!isObject(node)) return node;
  if (seg === '*') {
    let out: Json | null = null;
    for (const k of Object.keys(node)) {
      if (i === path.length - 1 && slot.except?.includes(k)) continue;
      const v = mapSlot(node[k], slot, i + 1, fn);
      if (v !== node[k]) (out ??= { ...node })[k] = v;
    }
    return out ?? node;
  }
  if (!Object.hasOwn(node, seg)) return node;
  const v = mapSlot(node[seg], slot, i + 1, fn);
  return v === node[seg] ? node : { ...node, [seg]: v };
}

/** maps each section node of `data` (the data itself, or each element of the array at `at`) */
export function mapSections(data: Json, section: PersonalSection, fn: (node: Json) => Json): Json {
  if (!section.at.length) return fn(data);
  return mapSlot(data, { path: section.at.concat('[]') }, 0, (n) => (isObject(n) ? fn(n) : n)) as Json;
}

/** maps every section node of an event of `type` (the data unchanged when the type holds nothing personal) */
function eachSectionNode(type: string, data: Json, fn: (section: PersonalSection, node: Json) => Json): Json {
  const sections = personalData[type];
  if (!sections) return data;
  let out = data;
  for (const section of sections) out = mapSections(out, section, (node) => fn(section, node));
  return out;
}

function forEachSection(data: Json, section: PersonalSection, fn: (node: Json) => void): void {
  mapSections(data, section, (n) => { fn(n); return n; });
}

/** The subjects whose keys sealing this event's data needs. */
export function subjectsToSeal(type: string, data: Json, out: Set<string>): void {
  const sections = personalData[type];
  if (!sections) return;
  for (const section of sections) forEachSection(data, section, (n) => { const s = section.subject(n, data); if (s) out.add(s); });
}

/**
 * The subjects whose keys opening this stored event's data needs (`out`), and those of its sections
 * written in clear before sealing existed (`legacy`: only whether they were erased matters).
 */
export function subjectsToOpen(type: string, data: Json, out: Set<string>, legacy?: Set<string>): void {
  const sections = personalData[type];
  if (!sections) return;
  for (const section of sections) {
    forEachSection(data, section, (n) => {
      const p = n[SEALED_KEY] as SealedPart | undefined;
      if (p && typeof p.s === 'string') out.add(p.s);
      else if (legacy) { const s = section.subject(n, data); if (s) legacy.add(s); }
    });
  }
}

export interface VaultStats { keysCreated: number; keysLoaded: number; sealed: number; opened: number; erasedReads: number }

export class PersonalDataVault {
  /**
   * unwrapped keys, erased subjects, and subjects with no key (`none`: a person of a log written
   * before sealing; looked up again when a sealed event names them); bounded (cleared when full)
   */
  private readonly cache = new Map<string, Buffer | 'erased' | 'none'>();
  private readonly loading = new Map<string, Promise<unknown>>();
  readonly stats: VaultStats = { keysCreated: 0, keysLoaded: 0, sealed: 0, opened: 0, erasedReads: 0 };

  constructor(private readonly keys: DataKeyStore, private readonly wrapper: KeyWrapper, private readonly opts: { cacheSize?: number; readOnly?: boolean } = {}) {}

  private remember(subject: string, key: Buffer | 'erased' | 'none') {
    if (this.cache.size >= (this.opts.cacheSize ?? 500_000)) this.cache.clear();
    this.cache.set(subject, key);
  }

  /** whether opening needs no key lookup: every sealed subject's key, and every legacy subject's state, is cached */
  preparedFor(sealed: Iterable<string>, legacy: Iterable<string>): boolean {
    for (const s of sealed) { const k = this.cache.get(s); if (k === undefined || k === 'none') return false; }
    for (const s of legacy) if (!this.cache.has(s)) return false;
    return true;
  }

  /** loads (or, with `create`, makes) the keys of these subjects into the cache */
  async prepare(subjects: Iterable<string>, create: boolean, opts: { legacy?: boolean } = {}): Promise<void> {
    const waits: Array<Promise<unknown>> = [];
    for (const s of subjects) {
      const known = this.cache.get(s);
      // `none` answers a legacy (clear) event's question, is this subject erased; not a sealed one's
      if (known !== undefined && (known !== 'none' || (opts.legacy && !create))) continue;
      let p = this.loading.get(s);
      if (!p) {
        p = this.load(s, create && !this.opts.readOnly).finally(() => this.loading.delete(s));
        this.loading.set(s, p);
      }
      waits.push(p);
    }
    if (waits.length) await Promise.all(waits);
  }

  private async load(subject: string, create: boolean): Promise<Buffer | 'erased' | 'none'> {
    let stored = await this.keys.get(subject);
    if (stored === null && create) {
      const fresh = randomBytesPooled(32);
      const wrapped = this.wrapper.wrap(fresh, subject);
      stored = await this.keys.create(subject, wrapped);
      this.stats.keysCreated++;
      if (stored === wrapped) { this.remember(subject, fresh); return fresh; } // ours: no need to unwrap it
    }
    if (stored === null) { this.remember(subject, 'none'); return 'none'; }
    const key = stored === 'erased' ? 'erased' : this.wrapper.unwrap(stored, subject);
    this.stats.keysLoaded++;
    this.remember(subject, key);
    return key;
  }

  /** forget a cached key (another process erased it, or is about to) */
  forget(subject: string): void {
    this.cache.delete(subject);
  }

  /** the subject's data key is deleted for good; from now on its values read `[erased]` */
  async erase(subjects: string[]): Promise<void> {
    await this.keys.erase(subjects);
    for (const s of subjects) this.remember(s, 'erased');
  }

  /** whether the subject's key is gone (loads it if needed) */
  async isErased(subject: string): Promise<boolean> {
    await this.prepare([subject], false, { legacy: true });
    return this.cache.get(subject) === 'erased';
  }

  /** whether the subject is known erased (keys prepared) */
  erasedNow(subject: string): boolean {
    return this.cache.get(subject) === 'erased';
  }

  /**
   * The event's data with its personal values sealed (keys must be prepared). A subject already
   * erased gets `[erased]` written in place of its values: nothing of theirs is stored again.
   */
  seal(type: string, data: Json, eventId: string): Json {
    return eachSectionNode(type, data, (section, node) => {
      const subject = section.subject(node, data);
      if (!subject || Object.hasOwn(node, SEALED_KEY)) return node; // nothing personal, or sealed already
      const values: unknown[] = [];
      let sealedNode = node;
      for (const slot of section.slots) {
        sealedNode = mapSlot(sealedNode, slot, 0, (v) => {
          if (v === undefined || v === null) return v; // no value, nothing personal
          values.push(v);
          return SEALED;
        }) as Json;
      }
      if (!values.length) return node;
      const key = this.cache.get(subject);
      if (key === undefined || key === 'none') throw new Error(`the data key of ${subject} was not prepared`);
      if (key === 'erased') return this.fill(section, sealedNode, () => ERASED);
      this.stats.sealed++;
      return { ...sealedNode, [SEALED_KEY]: { s: subject, c: encrypt(key, JSON.stringify(values), `${eventId}|${subject}`) } satisfies SealedPart };
    });
  }

  private fill(section: PersonalSection, node: Json, next: () => unknown): Json {
    let out = node;
    for (const slot of section.slots) out = mapSlot(out, slot, 0, (v) => (v === SEALED ? next() : v)) as Json;
    return out;
  }

  /** The stored data with its personal values opened (keys must be prepared), `[erased]` where a key is gone. */
  open(type: string, data: Json, eventId: string): Json {
    return eachSectionNode(type, data, (section, node) => {
      const part = node[SEALED_KEY] as SealedPart | undefined;
      if (!isObject(part)) {
        // written in clear (before sealing): an erased subject's values read [erased] all the same
        const subject = section.subject(node, data);
        if (!subject || this.cache.get(subject) !== 'erased') return node;
        let masked = node;
        for (const slot of section.slots) masked = mapSlot(masked, slot, 0, (v) => (v === undefined || v === null ? v : ERASED)) as Json;
        return masked;
      }
      const { [SEALED_KEY]: _sealed, ...rest } = node;
      const key = typeof part.s === 'string' ? this.cache.get(part.s) : undefined;
      let values: unknown[] | null = null;
      if (key instanceof Buffer && typeof part.c === 'string') {
        try {
          const v = JSON.parse(decrypt(key, part.c, `${eventId}|${part.s}`)) as unknown;
          if (Array.isArray(v)) values = v;
        } catch { /* damaged or moved: read as erased */ }
      }
      if (!values) { this.stats.erasedReads++; return this.fill(section, rest, () => ERASED); }
      this.stats.opened++;
      let i = 0;
      return this.fill(section, rest, () => (i < values.length ? values[i++] : ERASED));
    });
  }
}

/**
 * Random bytes taken from a pool refilled 64 KiB at a time: one call into the system's generator per
 * few thousand nonces instead of one each (a call costs about 10 µs here, a large share of a create).
 */
const pool = Buffer.alloc(64 * 1024);
let poolAt = pool.length;
export function randomBytesPooled(n: number): Buffer {
  if (poolAt + n > pool.length) { randomFillSync(pool); poolAt = 0; }
  const out = Buffer.from(pool.subarray(poolAt, poolAt + n));
  pool.fill(0, poolAt, poolAt + n); // taken bytes are not left behind in the pool
  poolAt += n;
  return out;
}

function encrypt(key: Buffer, text: string, aad: string): string {
  const nonce = randomBytesPooled(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = cipher.update(text, 'utf8');
  const final = cipher.final();
  return Buffer.concat([nonce, body, final, cipher.getAuthTag()]).toString('base64url');
}

function decrypt(key: Buffer, sealed: string, aad: string): string {
  const raw = Buffer.from(sealed, 'base64url');
  if (raw.length < 28) throw new Error('too short');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  return Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
}
