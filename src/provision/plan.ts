/**
 * One `customer add` planned against the running config, before anything is written: the
 * request checked where the control protocol cannot (it knows no config: our AS, the bogons,
 * our space, other customers' prefixes, the underlay), a GRE key and inner subnets allocated
 * (allocate.ts), and the customer's file as YAML. Pure: the provisioner then writes the file and
 * reloads, and the reload's own validation of the whole merged config (config/checks.ts) has
 * the last word, so nothing here needs to be the only guard.
 */
import { ruleCidr, rulesOverlap } from '../policy/prefix-set.js';
import { parseKeyRange, UNIT } from '../config/provisioning.js';
import { IFNAME_RE } from '../config/limits.js';
import type { Config } from '../config/types.js';
import { ControlError } from '../control/protocol.js';
import { contains, formatCidr, formatIp, maskBytes, overlaps, parseCidr, parseIp } from '../net/ip.js';
import { DEFAULT_BOGONS } from '../policy/bogons.js';
import { type PrefixRule, parsePrefixRule } from '../policy/prefix-set.js';
import { allocateKey, allocateSubnet, innerPair, innerSubnets } from './allocate.js';
import { interfaceName } from './snippet.js';
import type { CustomerAddArgs, CustomerCircuit } from './types.js';

/** AS numbers no customer can have: AS_TRANS (RFC 6793) and the last ones of each range (RFC 7300). */
const RESERVED_AS: Record<number, string> = {
  23456: 'AS_TRANS (RFC 6793)',
  65535: 'reserved (RFC 7300)',
  4294967295: 'reserved (RFC 7300)',
};

export interface CustomerPlan {
  circuit: CustomerCircuit;
  /** DIRECTORY/NAME.yaml's text. */
  yaml: string;
  warnings: string[];
}

const bad = (msg: string) => new ControlError('bad-args', msg);

/** A rule's text with its address in RFC 5952 form and `ge`/`le` only where they say something. */
export function canonicalRule(r: PrefixRule): string {
  const max = r.family === 4 ? 32 : 128;
  const base = formatCidr(ruleCidr(r).bytes, r.len);
  if (r.ge === r.len && r.le === r.len) return base;
  if (r.ge === r.len) return `${base} le ${r.le}`;
  return r.le === max ? `${base} ge ${r.ge}` : `${base} ge ${r.ge} le ${r.le}`;
}

function rule(text: string): PrefixRule {
  const r = parsePrefixRule(text);
  if (typeof r === 'string') throw bad(`prefix ${r}`);
  return r;
}

/** Where the customer's addresses and key come from; throws ControlError('unsupported') without it. */
export function provisioningOf(cfg: Config): NonNullable<Config['provisioning']> {
  const p = cfg.provisioning;
  if (!p)
    throw new ControlError(
      'unsupported',
      'provisioning is not configured: add a `provisioning:` section (key-range, inner-pool4, inner-pool6, directory) to the config and reload (docs/provisioning.md)',
    );
  return p;
}

export function planCustomer(cfg: Config, a: CustomerAddArgs, now = new Date()): CustomerPlan {
  const p = provisioningOf(cfg);
  const warnings: string[] = [];
  const name = a.name;
  if (!IFNAME_RE.test(interfaceName(name)))
    throw bad(`name '${name}' does not make an interface name (gre-${name})`);
  const n = cfg.neighbors.find((x) => x.name === name);
  const t = cfg.tunnels.find((x) => x.name === name);
  if (n || t)
    throw new ControlError(
      'exists',
      `a ${n ? 'neighbor' : 'tunnel'} named '${name}' is configured already: choose another name`,
    );

  // ---- their AS
  if (a.asn === cfg.localAs) throw bad(`AS ${a.asn} is our own (local-as): a customer has an AS of its own`);
  if (RESERVED_AS[a.asn]) throw bad(`AS ${a.asn} is ${RESERVED_AS[a.asn]}: no network has it`);

  // ---- their underlay address
  const remote = parseIp(a.remote);
  if (!remote) throw bad(`remote '${a.remote}' is not an IPv4 or IPv6 address`);
  const remoteText = formatIp(remote.bytes);
  const special =
    remote.family === 4
      ? (['0.0.0.0/8', '127.0.0.0/8', '224.0.0.0/4', '240.0.0.0/4'] as const)
      : (['::/127', 'ff00::/8', 'fe80::/10'] as const);
  for (const s of special)
    if (contains(parseCidr(s)!, remote))
      throw bad(`remote ${remoteText} is not a unicast address a router can have (${s})`);
  const local = remote.family === 4 ? cfg.underlay?.local : cfg.underlay?.local6;
  if (local === undefined)
    throw bad(
      `remote ${remoteText} is IPv${remote.family}: underlay.${remote.family === 4 ? 'local' : 'local6'} is not configured`,
    );
  if (local === remoteText) throw bad(`remote ${remoteText} is our own underlay address`);
  const pool4 = parseCidr(p.innerPool4)!;
  const pool6 = p.innerPool6 === undefined ? undefined : parseCidr(p.innerPool6)!;
  for (const pool of [pool4, pool6])
    if (pool && contains(pool, remote))
      throw bad(`remote ${remoteText} is inside the inner pool ${formatCidr(pool.bytes, pool.length)}`);

  // ---- their prefixes
  const rules: PrefixRule[] = [];
  const seen = new Set<string>();
  for (const text of a.prefixes) {
    const r = rule(text);
    const c = canonicalRule(r);
    if (seen.has(c)) continue;
    seen.add(c);
    rules.push({ ...r, text: c });
  }
  const bogons = (cfg.bogons ?? DEFAULT_BOGONS.map((b) => b.rule)).map(rule);
  const why = new Map(DEFAULT_BOGONS.map((b) => [b.rule, b.why]));
  const own = cfg.ownPrefixes.map((x) => parseCidr(x)!);
  for (const r of rules) {
    if (r.family === 6 && !pool6)
      throw bad(
        `prefix ${r.text} is IPv6, but provisioning has no inner-pool6: the session could not carry it with a next hop`,
      );
    if (r.len === 0 && r.ge === 0)
      throw bad(`prefix ${r.text} is a default route: a customer announces its own space`);
    // The first prefix the rule lets them announce: refused by the bogon list, the rule is useless.
    const first = { ...r, len: r.ge, ge: r.ge, le: r.ge };
    const hit = bogons.find((b) => rulesOverlap(b, first));
    if (hit) {
      const reason = why.get(hit.text);
      throw bad(
        `prefix ${r.text} is a bogon ('${hit.text}'${reason ? `, ${reason}` : ''}): import would refuse it`,
      );
    }
    const partial = bogons.find((b) => rulesOverlap(b, r));
    if (partial)
      warnings.push(
        `prefix ${r.text}: the more specifics that bogon rule '${partial.text}' matches will be refused`,
      );
    const cidr = ruleCidr(r);
    const mine = own.find((o) => overlaps(o, cidr));
    if (mine)
      throw bad(
        `prefix ${r.text} overlaps our own space ${formatCidr(maskBytes(mine.bytes, mine.length), mine.length)} (own-prefixes)`,
      );
    for (const pool of [pool4, pool6])
      if (pool && overlaps(pool, cidr))
        throw bad(`prefix ${r.text} overlaps the inner pool ${formatCidr(pool.bytes, pool.length)}`);
    for (const other of cfg.neighbors) {
      if (other.role !== 'customer' || other.remoteAs === a.asn) continue;
      for (const ot of other.prefixes ?? []) {
        const o = parsePrefixRule(ot);
        if (typeof o !== 'string' && rulesOverlap(o, r))
          throw bad(
            `prefix ${r.text} overlaps '${ot}' of customer ${other.name} (AS ${other.remoteAs}): each prefix has one owner`,
          );
      }
    }
  }

  // ---- allocation
  const range = parseKeyRange(p.keyRange);
  if (typeof range === 'string') throw new ControlError('internal', `provisioning.key-range: ${range}`);
  const key = allocateKey(range, remoteText, cfg.tunnels);
  if (key === undefined)
    throw new ControlError(
      'exhausted',
      `every GRE key of key-range ${p.keyRange} is in use by a tunnel to ${remoteText}: widen key-range or remove a customer`,
    );
  const used = innerSubnets(cfg.tunnels);
  const s4 = allocateSubnet(pool4, UNIT[4], used);
  if (!s4)
    throw new ControlError(
      'exhausted',
      `inner-pool4 ${p.innerPool4} has no free /${UNIT[4]}: widen the pool or remove a customer`,
    );
  const s6 = pool6 ? allocateSubnet(pool6, UNIT[6], used) : undefined;
  if (pool6 && !s6)
    throw new ControlError(
      'exhausted',
      `inner-pool6 ${p.innerPool6} has no free /${UNIT[6]}: widen the pool or remove a customer`,
    );
  const v4 = innerPair(s4);
  const v6 = s6 ? innerPair(s6) : undefined;
  const circuit: CustomerCircuit = {
    name,
    asn: a.asn,
    localAs: cfg.localAs,
    remote: remoteText,
    local,
    key,
    // The tunnel's own default (schema.ts): a 1500-byte underlay less the outer IP and GRE+key.
    mtu: remote.family === 4 ? 1472 : 1452,
    inner: v6 ? { v4, v6 } : { v4 },
    prefixes: rules.map((r) => r.text),
    resale: a.resale,
    role: 'customer',
    interface: interfaceName(name),
  };
  return { circuit, yaml: customerYaml(circuit, now), warnings };
}

const q = (s: string) => JSON.stringify(s);
const list = (xs: readonly string[]) => `[${xs.map(q).join(', ')}]`;

/** DIRECTORY/NAME.yaml: the customer's tunnel and neighbor, every value quoted (a name may read as a number). */
export function customerYaml(c: CustomerCircuit, now: Date): string {
  const sources = [...new Set(c.prefixes.map((p) => p.split(' ')[0]!))];
  const inner = c.inner.v6
    ? `{ local: ${q(`${c.inner.v4.provider}/${c.inner.v4.length}`)}, local6: ${q(`${c.inner.v6.provider}/${c.inner.v6.length}`)} }`
    : `{ local: ${q(`${c.inner.v4.provider}/${c.inner.v4.length}`)} }`;
  return [
    `# Customer ${c.name}, AS ${c.asn}: written by gredged (gredgectl customer add) at ${now.toISOString()}.`,
    `# \`gredgectl customer remove ${c.name}\` takes it away again (session, tunnel, routes and this file).`,
    'tunnels:',
    `  - name: ${q(c.name)}`,
    `    remote: ${q(c.remote)}`,
    `    key: ${c.key}`,
    `    mtu: ${c.mtu}`,
    `    inner: ${inner}`,
    `    allowed-sources: ${list(sources)}`,
    'neighbors:',
    `  - name: ${q(c.name)}`,
    `    address: ${q(c.inner.v4.customer)}`,
    `    remote-as: ${c.asn}`,
    '    role: customer',
    `    tunnel: ${q(c.name)}`,
    ...(c.inner.v6 ? [`    next-hop6: ${q(c.inner.v6.provider)}`] : ['    families: [ipv4-unicast]']),
    `    resale: ${c.resale}`,
    `    prefixes: ${list(c.prefixes)}`,
    '',
  ].join('\n');
}
