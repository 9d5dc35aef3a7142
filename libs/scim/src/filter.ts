/**
 * SCIM filter and PATCH-path parser (RFC 7644 §3.4.2.2 filter ABNF, §3.5.2 PATH).
 *
 * Precedence: grouping, attribute operators, then `not` > `and` > `or`. Attribute names and
 * operators are case-insensitive; values are JSON literals (strings with JSON escapes, numbers,
 * true/false/null). Lenient extras, each used by a real client:
 *  - an unquoted word after a comparison operator is a string (`externalId eq jyoung`, Entra legacy);
 *  - `attr[filter].sub op value` (Entra: `emails[type eq "work"].value eq "x"`) is read as
 *    `attr[filter and sub op value]`, i.e. the same element must satisfy both.
 */
import { InvalidFilterError, ScimError } from './errors.ts';
import type { AttributePath } from './resolve.ts';

export type { AttributePath } from './resolve.ts';

export type CompareOperator = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterValue = string | number | boolean | null;

export type FilterNode =
  | { kind: 'compare'; path: AttributePath; op: CompareOperator; value: FilterValue }
  | { kind: 'present'; path: AttributePath }
  | { kind: 'and'; filters: FilterNode[] }
  | { kind: 'or'; filters: FilterNode[] }
  | { kind: 'not'; filter: FilterNode }
  /** `attribute[filter]`: paths inside `filter` are sub-attribute names of `path`. */
  | { kind: 'valuePath'; path: AttributePath; filter: FilterNode };

export interface FilterParseOptions {
  /** Longest accepted filter text, in characters. Default 4096. */
  maxLength?: number;
  /** Deepest nesting of ( ), not( ) and [ ]. Default 32. */
  maxDepth?: number;
  /** Accept unquoted string values (Entra legacy). Default true. */
  allowUnquotedValues?: boolean;
}

/** A PATCH `path` (RFC 7644 §3.5.2): attrPath, or valuePath with an optional trailing sub-attribute. */
export interface PatchPath extends AttributePath {
  filter?: FilterNode;
}

const COMPARE_OPS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);
const ATTRNAME = '\\$?[A-Za-z][A-Za-z0-9_-]*';
const PATH_RE = new RegExp(`^(?:(urn:.+):)?(${ATTRNAME})(?:\\.(${ATTRNAME}))?$`, 'i');
const SUBATTR_RE = new RegExp(`^\\.(${ATTRNAME})$`);
const NUMBER_RE = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

type Token =
  | { t: '(' | ')' | '[' | ']'; pos: number; spaceBefore: boolean }
  | { t: 'string'; value: string; pos: number; spaceBefore: boolean }
  | { t: 'word'; value: string; pos: number; spaceBefore: boolean };

function lex(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let spaceBefore = false;
  while (i < input.length) {
    const ch = input[i]!;
    if (/\s/.test(ch)) {
      i++;
      spaceBefore = true;
      continue;
    }
    if (ch === '(' || ch === ')' || ch === '[' || ch === ']') {
      tokens.push({ t: ch, pos: i, spaceBefore });
      i++;
    } else if (ch === '"') {
      let j = i + 1;
      while (j < input.length && input[j] !== '"') j += input[j] === '\\' ? 2 : 1;
      if (j >= input.length) throw new InvalidFilterError(`Unterminated string starting at position ${i}`, i);
      let value: unknown;
      try {
        value = JSON.parse(input.slice(i, j + 1));
      } catch {
        throw new InvalidFilterError(`Invalid string literal at position ${i} (bad escape or control character)`, i);
      }
      tokens.push({ t: 'string', value: value as string, pos: i, spaceBefore });
      i = j + 1;
    } else {
      let j = i;
      while (j < input.length && !/[\s()[\]"]/.test(input[j]!)) j++;
      tokens.push({ t: 'word', value: input.slice(i, j), pos: i, spaceBefore });
      i = j;
    }
    spaceBefore = false;
  }
  return tokens;
}

function describe(tok: Token | undefined): string {
  if (!tok) return 'end of input';
  if (tok.t === 'string') return `string ${JSON.stringify(tok.value)} at position ${tok.pos}`;
  if (tok.t === 'word') return `"${tok.value}" at position ${tok.pos}`;
  return `"${tok.t}" at position ${tok.pos}`;
}

/** Parse `[urn:…:]attr[.sub]`; undefined when the text is not an attribute path. */
export function tryParseAttributePath(text: string): AttributePath | undefined {
  const m = PATH_RE.exec(text);
  if (!m) return undefined;
  const path: AttributePath = { attribute: m[2]! };
  if (m[1] !== undefined) path.uri = m[1];
  if (m[3] !== undefined) path.subAttribute = m[3];
  return path;
}

/** An attribute path as used by `attributes`, `excludedAttributes` and `sortBy`. Throws 400 invalidPath. */
export function parseAttributePath(text: string): AttributePath {
  const path = tryParseAttributePath(text.trim());
  if (!path) throw ScimError.badRequest('invalidPath', `"${text}" is not a valid attribute path`);
  return path;
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly maxDepth: number,
    private readonly allowUnquoted: boolean,
  ) {}

  peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }
  next(): Token | undefined {
    return this.tokens[this.i++];
  }
  atEnd(): boolean {
    return this.i >= this.tokens.length;
  }
  isWord(tok: Token | undefined, word: string): boolean {
    return tok?.t === 'word' && tok.value.toLowerCase() === word;
  }
  expect(t: ')' | ']'): void {
    const tok = this.next();
    if (tok?.t !== t) throw new InvalidFilterError(`Expected "${t}" but found ${describe(tok)}`, tok?.pos);
  }
  enter(tok: Token): void {
    if (++this.depth > this.maxDepth) throw new InvalidFilterError(`Filter is nested deeper than ${this.maxDepth} levels`, tok.pos);
  }
  leave(): void {
    this.depth--;
  }

  parseOr(inValuePath: boolean): FilterNode {
    const filters = [this.parseAnd(inValuePath)];
    while (this.isWord(this.peek(), 'or')) {
      this.next();
      filters.push(this.parseAnd(inValuePath));
    }
    return filters.length === 1 ? filters[0]! : { kind: 'or', filters: filters.flatMap((f) => (f.kind === 'or' ? f.filters : [f])) };
  }

  parseAnd(inValuePath: boolean): FilterNode {
    const filters = [this.parseUnary(inValuePath)];
    while (this.isWord(this.peek(), 'and')) {
      this.next();
      filters.push(this.parseUnary(inValuePath));
    }
    return filters.length === 1 ? filters[0]! : { kind: 'and', filters: filters.flatMap((f) => (f.kind === 'and' ? f.filters : [f])) };
  }

  parseUnary(inValuePath: boolean): FilterNode {
    const tok = this.peek();
    if (this.isWord(tok, 'not') && this.peek(1)?.t === '(') {
      this.next();
      const open = this.next()!;
      this.enter(open);
      const inner = this.parseOr(inValuePath);
      this.expect(')');
      this.leave();
      return { kind: 'not', filter: inner };
    }
    if (tok?.t === '(') {
      this.next();
      this.enter(tok);
      const inner = this.parseOr(inValuePath);
      this.expect(')');
      this.leave();
      return inner;
    }
    if (tok?.t === 'word') return this.parseAttrExp(inValuePath);
    throw new InvalidFilterError(`Expected an attribute path, "(" or "not (" but found ${describe(tok)}`, tok?.pos);
  }

  parsePathToken(inValuePath: boolean): AttributePath {
    const tok = this.next();
    if (tok?.t !== 'word') throw new InvalidFilterError(`Expected an attribute path but found ${describe(tok)}`, tok?.pos);
    const path = tryParseAttributePath(tok.value);
    if (!path) throw new InvalidFilterError(`"${tok.value}" at position ${tok.pos} is not a valid attribute path`, tok.pos);
    if (inValuePath && (path.uri !== undefined || path.subAttribute !== undefined)) {
      throw new InvalidFilterError(`Inside "[ ]" only sub-attribute names are allowed; found "${tok.value}" at position ${tok.pos}`, tok.pos);
    }
    return path;
  }

  /** The part after `attr[...]` in a PATCH path or Entra-style filter: `.sub`, adjacent to `]`. */
  parseTrailingSubAttr(): string | undefined {
    const tok = this.peek();
    if (tok?.t !== 'word' || tok.spaceBefore || !tok.value.startsWith('.')) return undefined;
    const m = SUBATTR_RE.exec(tok.value);
    if (!m) throw new InvalidFilterError(`"${tok.value}" at position ${tok.pos} is not a valid sub-attribute`, tok.pos);
    this.next();
    return m[1]!;
  }

  parseValueFilter(path: AttributePath, inValuePath: boolean): FilterNode {
    const open = this.next()!;
    if (inValuePath) throw new InvalidFilterError(`Value filters cannot be nested (position ${open.pos})`, open.pos);
    if (path.subAttribute !== undefined) {
      throw new InvalidFilterError(`A value filter must follow an attribute name, not a sub-attribute (position ${open.pos})`, open.pos);
    }
    this.enter(open);
    const inner = this.parseOr(true);
    this.expect(']');
    this.leave();
    return inner;
  }

  parseAttrExp(inValuePath: boolean): FilterNode {
    const path = this.parsePathToken(inValuePath);
    if (this.peek()?.t === '[') {
      const inner = this.parseValueFilter(path, inValuePath);
      const sub = this.parseTrailingSubAttr();
      if (sub === undefined) return { kind: 'valuePath', path, filter: inner };
      const cond = this.parseOperator({ attribute: sub });
      const filters = [...(inner.kind === 'and' ? inner.filters : [inner]), cond];
      return { kind: 'valuePath', path, filter: { kind: 'and', filters } };
    }
    return this.parseOperator(path);
  }

  parseOperator(path: AttributePath): FilterNode {
    const opTok = this.next();
    const op = opTok?.t === 'word' ? opTok.value.toLowerCase() : undefined;
    if (op === 'pr') return { kind: 'present', path };
    if (op === undefined || !COMPARE_OPS.has(op)) {
      throw new InvalidFilterError(`Expected an operator (eq ne co sw ew gt ge lt le pr) but found ${describe(opTok)}`, opTok?.pos);
    }
    return { kind: 'compare', path, op: op as CompareOperator, value: this.parseValue(op, opTok!) };
  }

  parseValue(op: string, opTok: Token): FilterValue {
    const tok = this.next();
    if (tok?.t === 'string') return tok.value;
    if (tok?.t === 'word') {
      const lower = tok.value.toLowerCase();
      if (lower === 'true') return true;
      if (lower === 'false') return false;
      if (lower === 'null') return null;
      if (NUMBER_RE.test(tok.value)) return Number(tok.value);
      if (this.allowUnquoted && lower !== 'and' && lower !== 'or' && lower !== 'not') return tok.value;
      throw new InvalidFilterError(`Expected a value (quoted string, number, true, false or null) after "${op}" but found ${describe(tok)}`, tok.pos);
    }
    throw new InvalidFilterError(`Expected a value after "${op}" at position ${opTok.pos} but found ${describe(tok)}`, tok?.pos ?? opTok.pos);
  }
}

function prepare(input: unknown, options: FilterParseOptions, what: string): Parser {
  if (typeof input !== 'string') throw new InvalidFilterError(`${what} must be a string`);
  const maxLength = options.maxLength ?? 4096;
  if (input.length > maxLength) throw new InvalidFilterError(`${what} is longer than ${maxLength} characters`);
  if (input.trim() === '') throw new InvalidFilterError(`${what} is empty`);
  return new Parser(lex(input), options.maxDepth ?? 32, options.allowUnquotedValues ?? true);
}

/** Parse a filter expression. Throws InvalidFilterError (400 invalidFilter) with a message naming the position. */
export function parseFilter(input: string, options: FilterParseOptions = {}): FilterNode {
  const parser = prepare(input, options, 'Filter');
  const node = parser.parseOr(false);
  if (!parser.atEnd()) {
    const tok = parser.peek();
    throw new InvalidFilterError(`Unexpected ${describe(tok)}; expected "and", "or" or end of filter`, tok?.pos);
  }
  return node;
}

/** Parse a PATCH operation path. Throws ScimError 400 invalidPath. */
export function parsePatchPath(input: string, options: FilterParseOptions = {}): PatchPath {
  try {
    const parser = prepare(input, options, 'Path');
    const path: PatchPath = parser.parsePathToken(false);
    if (parser.peek()?.t === '[') {
      path.filter = parser.parseValueFilter(path, false);
      const sub = parser.parseTrailingSubAttr();
      if (sub !== undefined) path.subAttribute = sub;
    }
    if (!parser.atEnd()) throw new InvalidFilterError(`Unexpected ${describe(parser.peek())} in path`);
    return path;
  } catch (err) {
    if (err instanceof InvalidFilterError) throw ScimError.badRequest('invalidPath', `Invalid path "${input}": ${err.detail}`);
    throw err;
  }
}
