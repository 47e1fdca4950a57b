/**
 * The propagation bench's own parts, without daemons: the feeder's pre-encoded UPDATEs are
 * well-formed packed messages (RFC 4271 §4.1/§4.3) of about 10 prefixes each with distinct
 * prefixes outside the skipped ranges, and the monitor's counter holds exactly what it was sent,
 * honours withdrawals, and reads AS_PATH/NEXT_HOP back.
 */
import t from 'tap';
import { buildFeed, prefixAt } from '../../bench/bgp-propagation/feed.js';
import { describeAttrs, PrefixCounter } from '../../bench/bgp-propagation/monitor.js';
import { encodeOpen } from '../../bench/bgp-propagation/speaker.js';

t.test('feed: packed, well-formed, N distinct prefixes', async (t) => {
  const seed = 7;
  t.comment(`seed ${seed}`);
  const n = 25_000;
  const feed = buildFeed(n, 65001, '127.0.0.2', seed);
  const counter = new PrefixCounter();
  let off = 0;
  let msgs = 0;
  let maxLen = 0;
  let bad = 0;
  while (off < feed.bytes.length) {
    for (let i = 0; i < 16; i++) if (feed.bytes[off + i] !== 0xff) bad++;
    const len = feed.bytes.readUInt16BE(off + 16);
    if (feed.bytes[off + 18] !== 2) bad++;
    maxLen = Math.max(maxLen, len);
    counter.update(feed.bytes, off + 19, len - 19);
    off += len;
    msgs++;
  }
  t.equal(off, feed.bytes.length, 'messages tile the buffer exactly');
  t.equal(bad, 0, 'every header has the marker and type UPDATE');
  t.equal(msgs, feed.updates + 1, 'one UPDATE per attribute set plus End-of-RIB');
  t.ok(maxLen <= 4096, `no message over 4096 octets (max ${maxLen})`);
  const per = n / feed.updates;
  t.ok(per >= 9 && per <= 11, `about 10 prefixes per UPDATE (${per.toFixed(2)})`);
  t.equal(counter.count, n, 'the counter holds all N distinct prefixes');
  const a = describeAttrs(counter.firstAttrs!);
  t.equal(a.asPath[0], 65001, 'AS_PATH starts with the feeder AS');
  t.ok(a.asPath.length >= 2 && a.asPath.length <= 6, `2–6 hops (${a.asPath.length})`);
  t.equal(a.nextHop, '127.0.0.2', 'NEXT_HOP is the feeder');
});

t.test('prefixAt: distinct, aligned, never bogon/lab /8s', async (t) => {
  const seen = new Set<number>();
  let bad = 0;
  for (let i = 0; i < 1_000_000; i += 7) {
    const [addr, len] = prefixAt(i);
    const first = addr >>> 24;
    if ([0, 10, 127, 192, 198, 203].includes(first) || first >= 224) bad++;
    if ((addr & ((1 << (32 - len)) - 1)) !== 0) bad++;
    seen.add(addr * 64 + len);
  }
  t.equal(bad, 0, 'no prefix in a skipped /8 and no host bits set');
  t.equal(seen.size, Math.ceil(1_000_000 / 7), 'all distinct');
});

t.test('counter: duplicates and withdrawals', async (t) => {
  const c = new PrefixCounter();
  // withdrawn len 0, attrs len 0, NLRI 10.1.2.0/24, 10.1.2.0/24 again, 10.0.0.0/8, 10.1.2.128/25
  const body = Buffer.from([0, 0, 0, 0, 24, 10, 1, 2, 24, 10, 1, 2, 8, 10, 25, 10, 1, 2, 128]);
  c.update(body, 0, body.length);
  t.equal(c.count, 3, 'a duplicate is counted once; /8 and /25 use the fallback set');
  const wd = Buffer.from([0, 6, 24, 10, 1, 2, 8, 10, 0, 0]);
  c.update(wd, 0, wd.length);
  t.equal(c.count, 1, 'withdrawals remove what they name');
  t.equal(c.withdrawn, 2);
});

t.test('OPEN: 4-octet AS capability and AS_TRANS', async (t) => {
  const o = encodeOpen(4200000001, 240, '127.0.0.2');
  t.equal(o.readUInt16BE(16), o.length, 'length field');
  t.equal(o.readUInt16BE(20), 23456, 'AS_TRANS in My AS for a 4-octet AS (RFC 6793 §4.1)');
  t.equal(o.readUInt32BE(o.length - 4), 4200000001, '4-octet AS capability carries the real AS');
});
