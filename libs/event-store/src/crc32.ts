import * as zlib from 'node:zlib';

type Crc32Fn = (data: Uint8Array, initial?: number) => number;

let table: Uint32Array | undefined;

function buildTable(): Uint32Array {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
}

/** Table-driven CRC-32 (IEEE 802.3, the same polynomial zlib uses). Fallback for Node < 20.15. */
export function crc32Portable(data: Uint8Array, initial = 0): number {
  table ??= buildTable();
  let crc = (initial ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const native = (zlib as { crc32?: Crc32Fn }).crc32;

/** CRC-32 of `data`; uses zlib.crc32 when the runtime has it (Node >= 20.15 / 22.2). */
export const crc32: Crc32Fn = typeof native === 'function' ? (d, i = 0) => native(d, i) >>> 0 : crc32Portable;
