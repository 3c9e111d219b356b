/**
 * CRC-32 (IEEE 802.3, the zlib and PNG checksum) of a byte range: what the segment log stores
 * beside each record, so that a record torn by a crash or damaged on disk is never served.
 * Node's `zlib.crc32` (Node 20.15 and later) does it in C; older Node 20 releases get the
 * table-driven version below, which gives the same values.
 * @module
 */
import * as zlib from "node:zlib";

/** The checksum function of this Node: zlib's when it has one. */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

let table: Uint32Array | undefined;

function crcTable(): Uint32Array {
  if (table !== undefined) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** The CRC-32 of `data`, computed in JavaScript (the fallback, exported for its test). */
export function crc32InJs(data: Uint8Array): number {
  const t = crcTable();
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The CRC-32 of `data`, an unsigned 32-bit integer. */
export const crc32: (data: Uint8Array) => number =
  nativeCrc32 === undefined ? crc32InJs : (data) => nativeCrc32(data) >>> 0;
