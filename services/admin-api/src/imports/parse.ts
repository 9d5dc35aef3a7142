/**
 * Reading an uploaded CSV file as a stream of rows, whatever spreadsheet wrote it.
 *
 * The parser is csv-parse (the node-csv project): streaming (a 100 MB file is read a chunk at a
 * time), RFC 4180 quoting with delimiters and newlines inside quotes, CRLF or LF, rows of any
 * length when told (ragged rows are reported by validation, not thrown), maintained for a decade.
 * Around it, what it leaves to the caller: the encoding (UTF-8 with or without a byte-order mark,
 * UTF-16 as Excel's "Unicode text" writes it, little or big endian) and the delimiter (`,`, `;` or
 * tab, whichever splits the header line most).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { parse } from 'csv-parse';

export type Encoding = 'utf-8' | 'utf-16le' | 'utf-16be';
export type Delimiter = ',' | ';' | '\t';

export interface FileShape {
  encoding: Encoding;
  delimiter: Delimiter;
  /** bytes of the byte-order mark to skip */
  bom: number;
}

export class CsvFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsvFormatError';
  }
}

/** the encoding from the byte-order mark, or (none) from where the zero bytes of ASCII text fall */
function encodingOf(head: Buffer): { encoding: Encoding; bom: number } {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', bom: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bom: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bom: 2 };
  let even = 0;
  let odd = 0;
  const n = Math.min(head.length, 4096);
  for (let i = 0; i < n; i++) if (head[i] === 0) (i % 2 ? odd++ : even++);
  if (n >= 4 && odd > n / 4 && even === 0) return { encoding: 'utf-16le', bom: 0 };
  if (n >= 4 && even > n / 4 && odd === 0) return { encoding: 'utf-16be', bom: 0 };
  return { encoding: 'utf-8', bom: 0 };
}

/** the delimiter that splits the first line (outside quotes) into the most columns; `,` when none does */
export function detectDelimiter(text: string): Delimiter {
  const counts: Record<Delimiter, number> = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && (ch === ',' || ch === ';' || ch === '\t')) counts[ch]++;
  }
  const best = (Object.entries(counts) as Array<[Delimiter, number]>).sort((a, b) => b[1] - a[1])[0];
  return best[1] > 0 ? best[0] : ',';
}

/** Look at the start of the file: its encoding, byte-order mark and delimiter. */
export async function sniff(path: string): Promise<FileShape> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(65_536);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const sample = head.subarray(0, bytesRead);
    const { encoding, bom } = encodingOf(sample);
    const text = new TextDecoder(encoding).decode(sample.subarray(bom));
    return { encoding, delimiter: detectDelimiter(text), bom };
  } finally {
    await fh.close();
  }
}

/** UTF-16 bytes to text, a chunk at a time (a character split across chunks is kept for the next) */
function utf16(encoding: 'utf-16le' | 'utf-16be') {
  const decoder = new TextDecoder(encoding);
  return new Transform({
    readableObjectMode: false,
    transform(chunk: Buffer, _enc, done) { done(null, decoder.decode(chunk, { stream: true })); },
    flush(done) { done(null, decoder.decode()); },
  });
}

/** The file's records (header first) as arrays of cells; blank lines are skipped. */
export async function* readRecords(path: string, shape: FileShape): AsyncGenerator<string[]> {
  const source = createReadStream(path, { start: shape.bom });
  const text = shape.encoding === 'utf-8' ? source : source.pipe(utf16(shape.encoding));
  const parser = parse({ delimiter: shape.delimiter, relax_column_count: true, relax_quotes: true, skip_empty_lines: true, encoding: 'utf8' });
  source.on('error', (err) => parser.destroy(err));
  try {
    for await (const record of text.pipe(parser)) yield record as string[];
  } catch (err) {
    const e = err as { code?: string; message?: string; lines?: number };
    if (e.code?.startsWith('CSV_')) throw new CsvFormatError(`the file is not valid CSV${e.lines ? ` (near line ${e.lines})` : ''}: ${e.message}`);
    throw err;
  } finally {
    source.destroy();
  }
}

/** Header names as columns: trimmed; a blank one is `Column <n>`; a repeated one gets ` (2)`, ` (3)`… */
export function columnsOf(header: string[]): { columns: string[]; renamed: string[] } {
  const seen = new Map<string, number>();
  const renamed: string[] = [];
  const columns = header.map((h, i) => {
    const base = h.trim() || `Column ${i + 1}`;
    const n = (seen.get(base.toLowerCase()) ?? 0) + 1;
    seen.set(base.toLowerCase(), n);
    if (n === 1) return base;
    const name = `${base} (${n})`;
    renamed.push(name);
    return name;
  });
  return { columns, renamed };
}
