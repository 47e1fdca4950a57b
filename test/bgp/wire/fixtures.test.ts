/**
 * Messages captured from BIRD 2 and GoBGP (test/fixtures/bgp): decode, check fields, re-encode.
 * `exact` marks files where our encoder's canonical form equals the daemon's bytes; elsewhere
 * the daemon chose another valid form (capability order, Extended Length on a short MP_REACH,
 * MP_REACH after other attributes) and we check that our encoding decodes to the same values.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t, { type Test as TapTest } from 'tap';
import {
  type CodecContext,
  decodeNotification,
  decodeOpen,
  decodeUpdate,
  describeNotification,
  encodeAttributes,
  encodeEndOfRib,
  encodeKeepalive,
  encodeNotification,
  encodeOpen,
  HEADER_LENGTH,
  type OpenMessage,
  packUpdates4,
  packUpdates6,
  packWithdrawals4,
  packWithdrawals6,
  parseHeader,
  parseIpv4,
  parseIpv6,
  parsePrefix4,
  parsePrefix6,
  type UpdateMessage,
} from '../../../src/bgp/wire/index.js';
import { hex, unhex } from './helpers.js';

const dir = fileURLToPath(new URL('../../../../test/fixtures/bgp/', import.meta.url));
const load = (name: string): Uint8Array => unhex(readFileSync(`${dir}${name}`, 'utf8'));
const CTX: CodecContext = { as4: true, extendedMessage: false, ebgp: true, localAs: 65061, peerAs: 0 };

function whole(name: string): Uint8Array {
  const m = load(name);
  const h = parseHeader(m, 0, 4096);
  if (!h.ok || h.value.length !== m.length) throw new Error(`${name}: bad header`);
  return m;
}

function update(name: string): UpdateMessage {
  const r = decodeUpdate(whole(name).subarray(HEADER_LENGTH), CTX);
  if (!r.ok) throw r.error;
  if (r.value.treatAsWithdraw !== undefined || r.value.discarded !== undefined) {
    throw new Error(`${name}: ${r.value.treatAsWithdraw ?? r.value.discarded?.join('; ')}`);
  }
  return r.value;
}

/** Our encoding of a decoded UPDATE, the way the RIB would send it. */
function reencode(u: UpdateMessage): Uint8Array {
  if (u.endOfRib !== undefined) return encodeEndOfRib(u.endOfRib);
  if (u.withdrawn4.length > 0) return packWithdrawals4(u.withdrawn4, 0, u.withdrawn4.length, 4096)[0]!;
  if (u.withdrawn6.length > 0) return packWithdrawals6(u.withdrawn6, 0, u.withdrawn6.length, 4096)[0]!;
  const a = u.attrs!;
  if (u.nlri6.length > 0) {
    return packUpdates6(
      encodeAttributes({ ...a, nextHop6: undefined }, CTX),
      a.nextHop6!,
      u.nlri6,
      0,
      u.nlri6.length,
      4096,
    )[0]!;
  }
  return packUpdates4(encodeAttributes(a, CTX), u.nlri4, 0, u.nlri4.length, 4096)[0]!;
}

function checkReencode(t: TapTest, name: string, exact: boolean): void {
  const u = update(name);
  const ours = reencode(u);
  if (exact) t.equal(hex(ours), hex(load(name)), `${name}: byte-exact`);
  else {
    const back = decodeUpdate(ours.subarray(HEADER_LENGTH), CTX);
    t.same(back.ok && back.value, u, `${name}: our encoding decodes to the same values`);
  }
}

const comm = (a: number, b: number): number => ((a << 16) | b) >>> 0;
const NO_EXPORT = 0xffffff01;

t.test('BIRD 2', async (t) => {
  const open = decodeOpen(whole('bird/open.hex').subarray(HEADER_LENGTH));
  t.ok(open.ok);
  const o = (open.ok ? open.value : undefined) as OpenMessage;
  t.same(o, {
    version: 4,
    myAs: 65062,
    holdTime: 240,
    bgpId: parseIpv4('127.0.0.62'),
    capabilities: {
      multiprotocol: [
        { afi: 1, safi: 1 },
        { afi: 2, safi: 1 },
      ],
      routeRefresh: true,
      extendedMessage: false,
      enhancedRouteRefresh: true,
      gracefulRestart: { restarting: false, notification: false, restartTime: 120, families: [] },
      as4: 65062,
      unknown: [{ code: 71, value: new Uint8Array(0) }], // long-lived graceful restart, empty
    },
  });
  t.equal(hex(encodeOpen(o)), hex(load('bird/open.hex')), 'OPEN byte-exact');
  t.equal(hex(encodeKeepalive()), hex(load('bird/keepalive.hex')));

  const u1 = update('bird/update-198.51.100.0_24.hex');
  t.same(u1.nlri4, [parsePrefix4('198.51.100.0/24')]);
  t.same(u1.attrs, {
    origin: 0,
    asPath: [{ type: 2, asns: [65062] }],
    nextHop: parseIpv4('127.0.0.62'),
    med: 50,
    atomicAggregate: false,
    communities: [comm(65062, 100)],
    largeCommunities: [65062, 1, 2],
  });
  t.same(update('bird/update-203.0.113.0_25.hex').attrs?.communities, [comm(65062, 200), NO_EXPORT]);
  t.same(update('bird/update-192.0.2.0_26.hex').nlri4, [parsePrefix4('192.0.2.0/26')]);
  const u6 = update('bird/update-2001.db8.62.._48.hex');
  t.same(u6.nlri6, [parsePrefix6('2001:db8:62::/48')]);
  t.same(u6.attrs, {
    origin: 0,
    asPath: [{ type: 2, asns: [65062] }],
    nextHop6: { global: parseIpv6('2001:db8::62') },
    med: 60,
    atomicAggregate: false,
    communities: [comm(65062, 300)],
    largeCommunities: [65062, 3, 4],
  });
  t.same(
    update('bird/withdraw-192.0.2.0_26.hex').withdrawn4,
    ['192.0.2.0/26', '198.51.100.0/24', '203.0.113.0/25'].map(parsePrefix4),
  );
  t.same(update('bird/withdraw-2001.db8.62.._48.hex').withdrawn6, [parsePrefix6('2001:db8:62::/48')]);
  t.equal(update('bird/eor-ipv4.hex').endOfRib, 'ipv4-unicast');
  t.equal(update('bird/eor-ipv6.hex').endOfRib, 'ipv6-unicast');

  for (const [name, exact] of [
    ['update-198.51.100.0_24', true],
    ['update-203.0.113.0_25', true],
    ['update-192.0.2.0_26', true],
    ['update-2001.db8.62.._48', false], // BIRD sets Extended Length on every MP_REACH_NLRI
    ['withdraw-192.0.2.0_26', true],
    ['withdraw-2001.db8.62.._48', false], // ditto MP_UNREACH_NLRI
    ['eor-ipv4', true],
    ['eor-ipv6', true],
  ] as const) {
    checkReencode(t, `bird/${name}.hex`, exact);
  }

  const n = decodeNotification(whole('bird/notification.hex').subarray(HEADER_LENGTH));
  t.ok(n.ok);
  if (n.ok) {
    t.equal(describeNotification(n.value), 'cease: administrative shutdown: "maintenance"');
    t.equal(hex(encodeNotification(n.value)), hex(load('bird/notification.hex')));
  }
});

t.test('GoBGP', async (t) => {
  const open = decodeOpen(whole('gobgp/open.hex').subarray(HEADER_LENGTH));
  t.ok(open.ok);
  const o = (open.ok ? open.value : undefined) as OpenMessage;
  t.equal(o.myAs, 65063);
  t.equal(o.holdTime, 90);
  t.equal(o.bgpId, parseIpv4('127.0.0.63'));
  t.same(o.capabilities.multiprotocol, [
    { afi: 1, safi: 1 },
    { afi: 2, safi: 1 },
  ]);
  t.equal(o.capabilities.routeRefresh, true);
  t.equal(o.capabilities.as4, 65063);
  t.same(
    o.capabilities.unknown.map((u) => u.code),
    [73, 5],
    'FQDN and extended next hop kept as unknown',
  );
  // GoBGP orders capabilities its own way; ours (by code) must carry the same values.
  const again = decodeOpen(encodeOpen(o).subarray(HEADER_LENGTH));
  t.same(again.ok && again.value, {
    ...o,
    capabilities: { ...o.capabilities, unknown: [o.capabilities.unknown[1], o.capabilities.unknown[0]] },
  });
  t.equal(hex(encodeKeepalive()), hex(load('gobgp/keepalive.hex')));

  const u1 = update('gobgp/update-198.51.100.0_24.hex');
  t.same(u1.attrs, {
    origin: 2,
    asPath: [{ type: 2, asns: [65063] }],
    nextHop: parseIpv4('192.0.2.2'),
    med: 50,
    atomicAggregate: false,
    communities: [comm(65063, 100)],
    largeCommunities: [65063, 1, 2],
  });
  t.same(update('gobgp/update-203.0.113.0_25.hex').attrs?.communities, [comm(65063, 200), NO_EXPORT]);
  const u6 = update('gobgp/update-2001.db8.63.._48.hex');
  t.same(u6.nlri6, [parsePrefix6('2001:db8:63::/48')]);
  t.same(u6.attrs?.nextHop6, { global: parseIpv6('2001:db8::63') });
  t.equal(u6.attrs?.med, 60);
  t.same(u6.attrs?.largeCommunities, [65063, 3, 4]);
  t.same(update('gobgp/withdraw-203.0.113.0_25.hex').withdrawn4, [parsePrefix4('203.0.113.0/25')]);
  t.same(update('gobgp/withdraw-2001.db8.63.._48.hex').withdrawn6, [parsePrefix6('2001:db8:63::/48')]);
  for (const [name, exact] of [
    ['update-198.51.100.0_24', true],
    ['update-203.0.113.0_25', true],
    ['update-2001.db8.63.._48', false], // GoBGP puts MP_REACH_NLRI in code order, we put it first
    ['withdraw-203.0.113.0_25', true],
    ['withdraw-2001.db8.63.._48', true],
  ] as const) {
    checkReencode(t, `gobgp/${name}.hex`, exact);
  }
  const n = decodeNotification(whole('gobgp/notification.hex').subarray(HEADER_LENGTH));
  t.ok(n.ok);
  if (n.ok) {
    t.equal(describeNotification(n.value), 'cease: administrative shutdown: "maintenance"');
    t.equal(hex(encodeNotification(n.value)), hex(load('gobgp/notification.hex')));
  }
});
