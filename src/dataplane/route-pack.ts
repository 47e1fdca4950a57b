/**
 * Route batches → the addon's packed 24-byte records [family, len, 0, 0, tunnel u32 LE,
 * address 16]. A full table is a million IPv4 prefixes, so IPv4 text is parsed here by
 * character codes straight into the output buffer: no split, no per-route arrays or objects.
 * Anything the fast path does not accept (IPv6, odd spellings, errors) goes through the strict
 * parser in addr.ts, which also words the error.
 */
import { parsePrefix } from './addr.js';
import { argError } from './errors.js';

export const ROUTE_RECORD = 24;

/** Parses `a.b.c.d/len` (no leading zeros, host bits zero) into out[o..o+24). */
function fast4(s: string, out: Uint8Array, o: number): boolean {
  const n = s.length;
  let i = 0;
  let addr = 0;
  for (let octet = 0; octet < 4; octet++) {
    let v = 0;
    const start = i;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      v = v * 10 + (c - 48);
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || v > 255 || (digits > 1 && s.charCodeAt(start) === 48)) return false;
    if (i >= n || s.charCodeAt(i) !== (octet === 3 ? 47 : 46)) return false; // '/' or '.'
    i++;
    addr = addr * 256 + v;
  }
  let len = 0;
  const ls = i;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    len = len * 10 + (c - 48);
    i++;
  }
  if (i === ls || i - ls > 3 || len > 32) return false;
  // Host bits must be zero (a route); 2^(32-len) divides the address exactly then.
  if (len < 32 && addr % 2 ** (32 - len) !== 0) return false;
  out[o] = 4;
  out[o + 1] = len;
  out[o + 8] = addr >>> 24;
  out[o + 9] = (addr >>> 16) & 0xff;
  out[o + 10] = (addr >>> 8) & 0xff;
  out[o + 11] = addr & 0xff;
  return true;
}

function slow(s: unknown, out: Uint8Array, o: number, what: string): void {
  if (typeof s !== 'string') throw argError(`${what}: prefix must be a string`);
  const p = parsePrefix(s, true);
  if (typeof p === 'string') throw argError(`${what}: ${p}`);
  out[o] = p.family;
  out[o + 1] = p.len;
  out.set(p.bytes, o + 8);
}

/** Packs { prefix, tunnel } entries; `index` maps a tunnel name to its native index. */
export function packRouteEntries(
  routes: ReadonlyArray<{ prefix: string; tunnel: string }>,
  index: (tunnel: string) => number | undefined,
  what: string,
): Uint8Array {
  const out = new Uint8Array(routes.length * ROUTE_RECORD);
  const dv = new DataView(out.buffer);
  // Batches usually go to a handful of tunnels: remember the last name looked up.
  let lastName: string | undefined;
  let lastIdx = 0;
  for (let i = 0; i < routes.length; i++) {
    const r = routes[i];
    const o = i * ROUTE_RECORD;
    const name = r?.tunnel;
    if (name !== lastName || lastName === undefined) {
      const idx = typeof name === 'string' ? index(name) : undefined;
      if (idx === undefined)
        throw argError(`${what}: no tunnel named ${String(name)} (route ${String(r?.prefix)})`);
      lastName = name;
      lastIdx = idx;
    }
    dv.setUint32(o + 4, lastIdx, true);
    const s = r!.prefix;
    if (typeof s !== 'string' || !fast4(s, out, o)) slow(s, out, o, what);
  }
  return out;
}

/** Packs bare prefixes (removals: the tunnel field is unused). */
export function packPrefixList(prefixes: ReadonlyArray<string>, what: string): Uint8Array {
  const out = new Uint8Array(prefixes.length * ROUTE_RECORD);
  for (let i = 0; i < prefixes.length; i++) {
    const s = prefixes[i];
    const o = i * ROUTE_RECORD;
    if (typeof s !== 'string' || !fast4(s, out, o)) slow(s, out, o, what);
  }
  return out;
}
