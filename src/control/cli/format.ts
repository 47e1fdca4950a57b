/**
 * gredgectl's human output: aligned tables and key/value blocks from the daemon's answers
 * (the same objects `--json` prints unchanged).
 */
import type {
  GracefulRestartResult,
  NeighborAction,
  NeighborDetail,
  NeighborSummary,
  ReloadResult,
  ReloadStatus,
  RouteRow,
  RoutesResult,
  StatusResult,
  TunnelDetail,
  TunnelSummary,
} from '../target.js';

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const right = head.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const line = (r: string[]) =>
    r
      .map((c, i) => (right[i] ? c.padStart(w[i]!) : i === r.length - 1 ? c : c.padEnd(w[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...cells.map(line)].join('\n');
}

function kv(pairs: [string, string | number | undefined | null][]): string {
  const shown = pairs.filter(([, v]) => v !== undefined && v !== null && v !== '') as [
    string,
    string | number,
  ][];
  const w = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

export function duration(s: number | null): string {
  if (s === null) return '-';
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d${String(h).padStart(2, '0')}h`;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

export function status(r: StatusResult): string {
  const t = r.tunnels;
  const f = r.fib;
  return kv([
    ['gredged', `${r.version}, pid ${r.pid}, up ${duration(r.uptimeSeconds)} (since ${r.startedAt})`],
    ['router-id', `${r.routerId}, local-as ${r.localAs}`],
    ['config', r.config],
    ['log level', r.logLevel],
    [
      'neighbors',
      `${r.neighbors.configured} configured, ${r.neighbors.established} established, ${r.neighbors.disabled} disabled`,
    ],
    [
      'routes',
      `ipv4 ${r.routes['ipv4-unicast']}, ipv6 ${r.routes['ipv6-unicast']} (paths ${r.paths['ipv4-unicast']} + ${r.paths['ipv6-unicast']}, attribute sets ${r.attributeSets})`,
    ],
    ['tunnels', t ? `${t.configured} configured, ${t.up} up, ${t.down} down` : 'none (no data plane)'],
    [
      'fib',
      f
        ? `${f.tunnelRoutes} tunnel routes, ${f.routeWrites} kernel writes, ${f.pending} pending, ${f.unresolved} unresolved, ${f.failed} failed`
        : 'off',
    ],
    ['reload', r.reload ? reloadStatus(r.reload) : undefined],
    ['rpki', r.rpki === undefined ? undefined : rpkiStatus(r.rpki)],
    [
      'graceful restart',
      r.restart
        ? `restarting since ${r.restart.since}: export waits for End-of-RIB from ${r.restart.waitingFor.join(', ') || '-'} until ${r.restart.until}`
        : r.staleRoutes && r.staleRoutes['ipv4-unicast'] + r.staleRoutes['ipv6-unicast'] > 0
          ? `stale routes ipv4 ${r.staleRoutes['ipv4-unicast']}, ipv6 ${r.staleRoutes['ipv6-unicast']}`
          : undefined,
    ],
  ]);
}

function rpkiStatus(r: StatusResult['rpki']): string {
  if (!r) return 'off';
  const parts = [
    `${r.connection}${r.cache ? ` to ${r.cache}` : ''}`,
    `data ${r.data}, ${r.vrps} VRPs`,
    r.sessionId !== null ? `session ${r.sessionId} serial ${r.serial}` : '',
    r.lastUpdate ? `last update ${r.lastUpdate}` : '',
    `Invalid routes: ${r.invalid === 'reject' ? 'refused' : 'kept (measured only)'}`,
  ];
  if (r.lastError) parts.push(`last error: ${r.lastError}`);
  if (r.pending)
    parts.push(`new caches: ${r.pending.connection}${r.pending.cache ? ` to ${r.pending.cache}` : ''}`);
  return parts.filter(Boolean).join('; ');
}

function reloadStatus(r: ReloadStatus): string {
  const parts = [`${r.ok} ok, ${r.failed} failed`];
  if (r.lastAt) parts.push(`last ${r.lastAt}`);
  if (r.rollbackPendingUntil)
    parts.push(`ROLLBACK PENDING until ${r.rollbackPendingUntil} (gredgectl reload --confirm)`);
  if (r.rollbacks > 0) parts.push(`${r.rollbacks} rolled back, last ${r.lastRollbackAt}`);
  if (r.lastError) parts.push(`last error: ${r.lastError.split('\n')[0]}`);
  return parts.join('; ');
}

export function neighbors(r: { neighbors: NeighborSummary[] }): string {
  if (r.neighbors.length === 0) return 'no neighbors configured';
  return table(
    ['NAME', 'ADDRESS', 'AS', 'ROLE', 'STATE', 'UPTIME', 'RECEIVED', 'ACCEPTED', 'REFUSED', 'ADVERTISED'],
    r.neighbors.map((n) => [
      n.name,
      n.address,
      n.remoteAs,
      n.role,
      n.enabled ? n.state : `${n.state} (disabled)`,
      duration(n.uptimeSeconds),
      n.prefixes.received,
      n.prefixes.accepted,
      n.prefixes.refused,
      n.prefixes.advertised,
    ]),
  );
}

export function neighbor(n: NeighborDetail): string {
  const s = n.session;
  const note = (x: NeighborDetail['lastNotification']['sent']) => (x ? `${x.text} (${x.at})` : '-');
  const caps = s
    ? [
        s.capabilities.routeRefresh ? 'route-refresh' : '',
        s.capabilities.enhancedRouteRefresh ? 'enhanced-route-refresh' : '',
        s.capabilities.extendedMessage ? 'extended-message' : '',
        s.capabilities.as4 ? 'as4' : '',
        s.capabilities.gracefulRestart ? 'graceful-restart' : '',
        s.capabilities.role ? `role ${s.capabilities.role}` : '',
      ]
        .filter(Boolean)
        .join(', ')
    : undefined;
  const fam = (f: 'ipv4-unicast' | 'ipv6-unicast') => {
    const c = n.prefixesByFamily[f];
    return `received ${c.received}, accepted ${c.accepted}, refused ${c.refused}, advertised ${c.advertised}`;
  };
  const refused = Object.entries(n.refusedByReason)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const msgs = (m: Record<string, number>) =>
    Object.entries(m)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  return kv([
    ['neighbor', `${n.name} (${n.address}, AS ${n.remoteAs}, ${n.role})`],
    ['description', n.description],
    ['state', n.enabled ? n.state : `${n.state} (disabled)`],
    ['uptime', n.establishedSince ? `${duration(n.uptimeSeconds)} (since ${n.establishedSince})` : '-'],
    ['established', `${n.establishedCount} times`],
    [
      'hold time',
      `${n.holdTime.configured} configured${n.holdTime.negotiated !== null ? `, ${n.holdTime.negotiated} negotiated` : ''}`,
    ],
    [
      'connection',
      `${n.passive ? 'passive' : 'active'}, port ${n.port}${n.localAddress ? `, from ${n.localAddress}` : ''}`,
    ],
    ['tunnel', n.tunnel],
    [
      'session',
      s
        ? `${s.localAddress} → ${s.peerAddress}, peer AS ${s.peerAs}, id ${s.peerRouterId}, ${s.ebgp ? 'eBGP' : 'iBGP'}`
        : '-',
    ],
    ['families', s ? s.families.join(', ') : undefined],
    ['capabilities', caps],
    ['last error', n.lastError ?? '-'],
    ['notification sent', note(n.lastNotification.sent)],
    ['notification received', note(n.lastNotification.received)],
    ['prefixes ipv4', fam('ipv4-unicast')],
    ['prefixes ipv6', fam('ipv6-unicast')],
    ['refused by reason', refused || '-'],
    [
      'rpki',
      n.rpki === undefined
        ? undefined
        : n.rpki === null
          ? 'off'
          : `valid ${n.rpki.valid}, invalid ${n.rpki.invalid} (refused ${n.rpki.refused}), not-found ${n.rpki.notFound}${n.rpki.unverified > 0 ? `, unverified ${n.rpki.unverified}` : ''}`,
    ],
    [
      'max-prefix',
      n.maxPrefix
        ? `${n.maxPrefix.limit} (${n.maxPrefix.action}), exceeded ${n.maxPrefix.exceeded} times`
        : undefined,
    ],
    [
      'end-of-rib',
      `received ${n.endOfRib.received.join(', ') || '-'}; sent ${n.endOfRib.sent.join(', ') || '-'}`,
    ],
    [
      'graceful restart',
      n.gracefulRestart
        ? `${n.gracefulRestart.state === 'restarting' ? 'restarting, routes kept' : 'back, waiting for End-of-RIB'} until ${n.gracefulRestart.until}; stale ipv4 ${n.gracefulRestart.stale['ipv4-unicast']}, ipv6 ${n.gracefulRestart.stale['ipv6-unicast']}`
        : undefined,
    ],
    ['messages in', msgs(n.messages.in)],
    ['messages out', msgs(n.messages.out)],
  ]);
}

export function routes(r: RoutesResult): string {
  const out: string[] = [];
  if (r.view === 'prefix' && r.query !== undefined && !r.query.includes('/'))
    out.push(
      r.match ? `longest match for ${r.query}: ${r.match}` : `no route covers ${r.query} in table ${r.table}`,
    );
  const refusedView = r.view === 'refused' || r.routes.some((x) => x.refused !== undefined);
  const head = ['', 'PREFIX', 'NEXT HOP', 'NEIGHBOR', 'LOCPRF', 'MED', 'AS PATH'];
  if (refusedView) head.push('REFUSED');
  if (r.view === 'prefix') head.push('NOTE');
  const rows = r.routes.map((x: RouteRow) => {
    const row: (string | number)[] = [
      (x.refused !== undefined ? '!' : x.best ? '*' : '') + (x.stale ? 's' : ''),
      x.prefix,
      x.nextHop ?? '-',
      x.neighbor,
      x.localPref ?? '-',
      x.med ?? '-',
      x.asPath || '(empty)',
    ];
    if (refusedView)
      row.push(x.refused ? `${x.refused}${x.vrps?.length ? ` (${x.vrps.join(', ')})` : ''}` : '');
    if (r.view === 'prefix') {
      const note = [
        x.class ?? '',
        x.rpki ? `rpki ${x.rpki}` : '',
        x.eliminatedBy ? `lost on ${x.eliminatedBy}` : '',
        x.bestResale ? 'best in resale' : '',
        x.stale ? 'stale (graceful restart)' : '',
      ]
        .filter(Boolean)
        .join('; ');
      row.push(note);
    }
    return row;
  });
  const what =
    r.view === 'refused'
      ? 'refused routes'
      : r.view === 'adj-rib-in'
        ? `routes accepted from ${r.neighbor}`
        : r.view === 'prefix'
          ? 'paths'
          : `best paths in table ${r.table}`;
  if (rows.length > 0) out.push(table(head, rows));
  if (r.total === 0 && out.length === 0) out.push(`no ${what}`);
  else if (r.more > 0)
    out.push(`${r.routes.length} of ${r.total} ${what} shown, ${r.more} more (--limit N to see more)`);
  else
    out.push(
      `${r.total} ${what}${r.view !== 'refused' && r.view !== 'adj-rib-in' ? ' (* best, ! refused)' : ''}${r.routes.some((x) => x.stale) ? ' (s stale: kept across the neighbor’s restart)' : ''}`,
    );
  return out.join('\n');
}

export function tunnels(r: { tunnels: TunnelSummary[] }): string {
  if (r.tunnels.length === 0) return 'no tunnels configured';
  return table(
    ['NAME', 'REMOTE', 'KEY', 'MTU', 'STATE', 'RX PACKETS', 'TX PACKETS', 'DROPS'],
    r.tunnels.map((t) => [t.name, t.remote, t.key, t.mtu, t.state, t.rxPackets, t.txPackets, t.drops]),
  );
}

export function tunnel(t: TunnelDetail): string {
  const drops = Object.entries(t.dropsByReason);
  const counters = Object.entries(t.counters);
  return [
    kv([
      [
        'tunnel',
        `${t.name} (remote ${t.remote}${t.local ? `, local ${t.local}` : ''}, key ${t.key}, mtu ${t.mtu})`,
      ],
      [
        'state',
        t.keepalive
          ? `${t.state} (keepalive every ${t.keepalive.interval} s, ${t.keepalive.retries} retries)`
          : `${t.state} (no keepalive)`,
      ],
      ['inner', [t.inner.local, t.inner.local6].filter(Boolean).join(', ') || '-'],
      ['allowed sources', t.allowedSources.join(', ') || '(inner subnets)'],
      ['static routes', t.routes.join(', ') || '-'],
      ['options', `mss-clamp ${t.mssClamp}, sequence ${t.sequence}, checksum ${t.checksum}`],
      ['neighbors', t.neighbors.join(', ') || '-'],
    ]),
    '',
    counters.length > 0 ? table(['COUNTER', 'VALUE'], counters) : 'counters: none (no data plane)',
    '',
    drops.length > 0 ? table(['DROP REASON', 'PACKETS'], drops) : 'drops: none',
  ].join('\n');
}

export function action(r: NeighborAction): string {
  const what =
    r.action === 'unchanged'
      ? 'unchanged'
      : r.action === 'soft-reset'
        ? `soft reset: route refresh sent and our routes re-sent for ${r.families?.join(', ') || 'no family'}`
        : r.action;
  return `neighbor ${r.neighbor}: ${what} (state ${r.state})`;
}

export function logLevel(r: { level: string; previous: string }): string {
  return `log level ${r.level} (was ${r.previous})`;
}

export function reload(r: ReloadResult): string {
  if (r.confirmed) return 'reload confirmed: the rollback is cancelled';
  const head = r.applied
    ? 'reload applied:'
    : r.diff.length > 0 && r.diff[0] !== 'no change'
      ? 'would change:'
      : '';
  const lines = head ? [head, ...r.diff.map((l) => `  ${l}`)] : [...r.diff];
  if (r.rollbackAt)
    lines.push(`rollback at ${r.rollbackAt} unless \`gredgectl reload --confirm\` runs before`);
  return lines.join('\n');
}

export function gracefulRestart(r: GracefulRestartResult): string {
  const keep = r.neighbors.filter((n) => n.helper);
  const drop = r.neighbors.filter((n) => !n.helper);
  const routes = Object.entries(r.routes)
    .map(([f, n]) => `${n} ${f}`)
    .join(', ');
  const lines = [
    `graceful restart: gredged exits ${r.exitCode} now (the systemd unit starts it again at once)`,
    r.fibTables
      ? `kernel: routes (${routes}) and rules stay in tables ${r.fibTables.join(' and ')}`
      : 'kernel: no FIB configured',
    r.tun ? `tunnels: ${r.tun} stays, with its addresses and routes` : 'tunnels: no data plane',
  ];
  if (r.neighbors.length > 0) {
    lines.push(
      '',
      table(
        ['NEIGHBOR', 'STATE', 'KEEPS OUR ROUTES'],
        r.neighbors.map((n) => [n.name, n.state, n.helper ? `yes, up to ${n.restartTime} s` : 'no']),
      ),
    );
    if (drop.length > 0)
      lines.push(
        '',
        `${drop.length} of ${r.neighbors.length} neighbors withdraw our routes at once (no graceful restart negotiated, or not Established)`,
      );
  }
  if (keep.length === 0 && r.neighbors.length > 0)
    lines.push('no neighbor keeps our routes while gredged is away');
  return lines.join('\n');
}
