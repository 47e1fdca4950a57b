/**
 * Path attribute encoding (RFC 4271 §4.3) in type-code order from the attribute table, with
 * unknown optional transitive attributes merged in by code. MP_REACH/MP_UNREACH are not here:
 * the packers build them per message. Toward a 2-octet speaker the table rows write AS_TRANS
 * and add AS4_PATH/AS4_AGGREGATOR (RFC 6793 §4.2.2).
 */
import { ENCODE_ROWS, writeAttrHeader } from './attrs/table.js';
import { ByteWriter } from './reader.js';
import { copyOut } from './slab.js';
import type { CodecContext, PathAttributes, UnknownAttribute } from './types.js';

function writeUnknown(w: ByteWriter, u: UnknownAttribute): void {
  writeAttrHeader(w, u.flags, u.code, u.value.length);
  w.bytes(u.value);
}

// One writer reused by every call (encoding is synchronous and never nests): a fresh writer and
// its exact-size copy per attribute set were two ArrayBuffers per set on the export hot path.
const scratch = new ByteWriter(4096);

/** The encoded attributes, in a slab-backed buffer (see slab.ts) the caller may keep. */
export function encodeAttributes(attrs: PathAttributes, ctx: CodecContext): Uint8Array {
  const w = scratch;
  w.pos = 0;
  const unknown = attrs.unknown;
  if (unknown === undefined || unknown.length === 0) {
    for (const row of ENCODE_ROWS) row.encode!(attrs, ctx, w);
    return copyOut(w.buf, w.pos);
  }
  const known = new Set(ENCODE_ROWS.map((r) => r.code));
  const extra = unknown.filter((u) => !known.has(u.code) && u.code !== 14 && u.code !== 15);
  extra.sort((a, b) => a.code - b.code);
  let k = 0;
  for (const row of ENCODE_ROWS) {
    while (k < extra.length && extra[k]!.code < row.code) writeUnknown(w, extra[k++]!);
    row.encode!(attrs, ctx, w);
  }
  while (k < extra.length) writeUnknown(w, extra[k++]!);
  return copyOut(w.buf, w.pos);
}
