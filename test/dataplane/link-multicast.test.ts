/**
 * Which packets read from the TUN encapsulation keeps on the link (counted as
 * `linkLocalMulticast`, never looked up, never tunnelled), through the debug binding over the
 * very function the workers call (native/src/gre.h link_scope_multicast): IPv6 multicast of
 * scope 0 (reserved), 1 (interface-local) or 2 (link-local) with any flags (RFC 4291 §2.7), and
 * IPv4 224.0.0.0/24 (RFC 5771 §4). Every other scope and the rest of 224/4 are routed like any
 * packet. test/lab/link-multicast.test.ts checks the same through a live data plane.
 */
import t from 'tap';
import { loadNative } from '../../src/dataplane/native.js';
import { ipv4, ipv6, udp } from './packets.js';

const dbg = loadNative().debug;

const v6dst = (b0: number, b1: number, last = 1) => {
  const d = new Uint8Array(16);
  d[0] = b0;
  d[1] = b1;
  d[15] = last;
  return ipv6(17, Uint8Array.from([0xfe, 0x80, ...new Array(13).fill(0), 1]), d, udp(5000, 5001));
};
const v4dst = (dst: number[]) => ipv4(17, [192, 0, 2, 1], dst, udp(5000, 5001));

t.test('IPv6: every flags value with scopes 0-2 stays on the link, scope 3 and wider do not', async (t) => {
  const wrong: string[] = [];
  for (let b1 = 0; b1 < 256; b1++) {
    const want = (b1 & 0x0f) <= 2;
    if (dbg.linkScopeMulticast(v6dst(0xff, b1)) !== want)
      wrong.push(`ff${b1.toString(16).padStart(2, '0')}::1`);
  }
  t.same(wrong, [], 'ffXY:: is link scope exactly when Y ≤ 2, for all 256 XY');
  t.equal(dbg.linkScopeMulticast(v6dst(0xff, 0x02, 0x16)), true, 'ff02::16 (MLDv2 reports)');
  t.equal(dbg.linkScopeMulticast(v6dst(0xff, 0x02, 0x02)), true, 'ff02::2 (router solicitations)');
  t.equal(dbg.linkScopeMulticast(v6dst(0xff, 0x12)), true, 'ff12::1 (transient, link scope)');
  t.equal(dbg.linkScopeMulticast(v6dst(0xff, 0x01)), true, 'ff01::1 (interface-local)');
  t.equal(dbg.linkScopeMulticast(v6dst(0xff, 0x00)), true, 'ff00::1 (reserved scope 0)');
  t.equal(dbg.linkScopeMulticast(v6dst(0xff, 0x03)), false, 'ff03::1 (realm-local, RFC 7346)');
  t.equal(dbg.linkScopeMulticast(v6dst(0xff, 0x05)), false, 'ff05::1 (site-local)');
  t.equal(dbg.linkScopeMulticast(v6dst(0xff, 0x0e)), false, 'ff0e::1 (global)');
  t.equal(dbg.linkScopeMulticast(v6dst(0xfe, 0x80)), false, 'fe80::1 is unicast (the LPM decides)');
  t.equal(dbg.linkScopeMulticast(v6dst(0x20, 0x01)), false, '2001::1');
  t.equal(dbg.linkScopeMulticast(v6dst(0x7f, 0x02)), false, 'only the first byte 0xff marks multicast');
});

t.test('IPv4: 224.0.0.0/24 stays on the link, the rest of 224.0.0.0/4 does not', async (t) => {
  t.equal(dbg.linkScopeMulticast(v4dst([224, 0, 0, 0])), true, '224.0.0.0');
  t.equal(dbg.linkScopeMulticast(v4dst([224, 0, 0, 1])), true, '224.0.0.1 (all systems)');
  t.equal(dbg.linkScopeMulticast(v4dst([224, 0, 0, 22])), true, '224.0.0.22 (IGMPv3 reports)');
  t.equal(dbg.linkScopeMulticast(v4dst([224, 0, 0, 251])), true, '224.0.0.251 (mDNS)');
  t.equal(dbg.linkScopeMulticast(v4dst([224, 0, 0, 255])), true, '224.0.0.255');
  t.equal(dbg.linkScopeMulticast(v4dst([224, 0, 1, 0])), false, '224.0.1.0 (internetwork control)');
  t.equal(dbg.linkScopeMulticast(v4dst([224, 1, 0, 0])), false, '224.1.0.0');
  t.equal(dbg.linkScopeMulticast(v4dst([239, 255, 255, 250])), false, '239.255.255.250 (admin scope)');
  t.equal(dbg.linkScopeMulticast(v4dst([225, 0, 0, 1])), false, '225.0.0.1');
  t.equal(dbg.linkScopeMulticast(v4dst([203, 0, 113, 1])), false, 'unicast');
  t.equal(dbg.linkScopeMulticast(v4dst([255, 255, 255, 255])), false, 'limited broadcast is not multicast');
});

t.test('not an IP header: null (encapsulation counts it as notIp first)', async (t) => {
  t.equal(dbg.linkScopeMulticast(new Uint8Array(0)), null, 'empty');
  t.equal(dbg.linkScopeMulticast(v4dst([224, 0, 0, 1]).subarray(0, 19)), null, 'IPv4 shorter than 20 bytes');
  t.equal(dbg.linkScopeMulticast(v6dst(0xff, 0x02).subarray(0, 39)), null, 'IPv6 shorter than 40 bytes');
  t.equal(dbg.linkScopeMulticast(Uint8Array.from({ length: 40 }, () => 0x50)), null, 'version 5');
  t.throws(() => dbg.linkScopeMulticast('ff02::1' as unknown as Uint8Array), { code: 'ERR_DATAPLANE_ARG' });
});
