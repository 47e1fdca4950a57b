/**
 * From each bench's JSON file to the report's view of it (model.ts). The four first benches keep
 * the formats they already had (bgp-propagation, fib, dataplane, rpki); the new ones write the
 * results envelope. Every adapter checks the shape it relies on and throws a sentence naming
 * what is wrong, which the report shows in place of the bench ("invalid"), so a format that
 * drifts is seen, not drawn as zeros.
 */
import { z } from 'zod';
import type { Format } from './catalog.js';
import {
  at,
  type BenchView,
  Envelope,
  type Figure,
  type HostInfo,
  none,
  type Plot,
  type Point,
  ratioOf,
  type Series,
} from './model.js';

/** What an adapter gives; the rest of BenchView (status, file, dates from elsewhere) is added by render.ts. */
export type Adapted = Pick<BenchView, 'figures' | 'plots' | 'params' | 'notes' | 'refName'> & {
  date?: string;
  host?: HostInfo;
};

function check<T>(schema: z.ZodType<T>, json: unknown, what: string): T {
  const r = schema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new Error(`${what}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  }
  return r.data;
}

/** JSON.stringify writes NaN as null: a median over no run. */
const maybe = z.number().nullable().optional();

// ---------------------------------------------------------------- bgp-propagation

const BgpJson = z.object({
  runs: z.number(),
  results: z
    .array(z.object({ prefixes: z.number(), floorSeconds: maybe }).catchall(z.unknown()))
    .min(1, 'no table size measured'),
});

const DAEMONS: [key: string, name: string][] = [
  ['gredged', 'gredged'],
  ['bird', 'BIRD 2'],
];

export function bgpPropagation(json: unknown): Adapted {
  const j = check(BgpJson, json, 'bgp-propagation JSON ({runs, results})');
  const has = (k: string) => j.results.some((r) => k in r);
  const rpki = has('gredgedVrpLoadSeconds') || has('birdVrpLoadSeconds');
  const metrics: [key: string, id: string, label: string, unit: string][] = [
    ['Seconds', 'seconds', 'monitor holds all prefixes', 's'],
    ['RssMB', 'rss', 'peak RSS of the daemon', 'MB'],
    ['Cpu', 'cpu', 'CPU seconds of the daemon', 's'],
  ];
  if (rpki) metrics.unshift(['VrpLoadSeconds', 'vrpload', 'VRPs loaded from the RTR cache', 's']);
  const figures: Figure[] = [];
  const last = j.results.length - 1;
  j.results.forEach((r, i) => {
    for (const [key, id, label, unit] of metrics) {
      const g = `results.${i}.gredged${key}`;
      const b = `results.${i}.bird${key}`;
      figures.push({
        id: `${id}@${r.prefixes}`,
        label: `${r.prefixes.toLocaleString('en-US')} prefixes: ${label}`,
        unit,
        gredged: at(json, g),
        ref: at(json, b),
        ratio: ratioOf(json, g, b),
        headline: i === last,
      });
    }
  });
  const line = (
    key: string,
    id: string,
    title: string,
    yLabel: string,
    unit: string,
    floor = false,
  ): Plot => {
    const series: Series[] = [];
    const daemons: [string, string][] = floor
      ? [...DAEMONS, ['floor', 'harness floor (no daemon)']]
      : DAEMONS;
    for (const [d, name] of daemons) {
      const k = d === 'floor' ? 'floorSeconds' : `${d}${key}`;
      if (!has(k)) continue;
      const points: Point[] = [];
      j.results.forEach((r, i) => {
        const y = r[k];
        if (typeof y === 'number' && Number.isFinite(y))
          points.push({ x: r.prefixes, y, xSource: `results.${i}.prefixes`, ySource: `results.${i}.${k}` });
      });
      series.push({ name, points });
    }
    return {
      id,
      title,
      kind: 'line',
      x: { label: 'IPv4 prefixes in the feed', unit: 'count' },
      y: { label: yLabel, unit },
      series,
    };
  };
  const plots = [
    line('Seconds', 'time', 'Propagation time as the table grows', 'until the monitor holds all', 's', true),
    line('RssMB', 'rss', 'Peak memory as the table grows', 'peak RSS', 'MB'),
    line('Cpu', 'cpu', 'CPU as the table grows', 'CPU seconds', 's'),
  ];
  if (rpki) plots.push(line('VrpLoadSeconds', 'vrpload', 'RPKI: VRP load time', 'VRPs loaded', 's'));
  return {
    refName: 'BIRD 2',
    params: { runs: j.runs, sizes: j.results.map((r) => r.prefixes).join(', '), rpki },
    figures,
    plots,
    notes: [
      `Feeder → daemon → monitor on loopback, medians over ${j.runs} run(s) per size. The harness floor is the feeder → monitor time with no daemon between: the harness is never the bottleneck while it stays well under both daemons.`,
    ],
  };
}

// ---------------------------------------------------------------- fib

/** A failure's message without the daemon's log tail it carries (that is in the bench's log). */
const firstLine = (m: string): string => {
  const l = m.split('\n')[0]!;
  return l.length > 240 ? `${l.slice(0, 240)}…` : l;
};

const FibMedians = z.object({ fillS: maybe }).catchall(z.unknown());
const FibJson = z.object({
  bench: z.literal('fib'),
  date: z.string(),
  prefixes: z.number(),
  runs: z.number(),
  removal: z.string().optional(),
  tables: z.array(z.number()).optional(),
  host: z.object({ cpus: z.number(), loadavg: z.array(z.number()), kernel: z.string(), node: z.string() }),
  medians: z.object({ bird: FibMedians.optional(), gredged: FibMedians.optional() }),
  ratios: z.record(z.string(), z.number().nullable()).optional(),
  targets: z.record(z.string(), z.boolean().nullable()).optional(),
  failures: z
    .array(z.object({ daemon: z.string(), pass: z.string(), run: z.number(), message: z.string() }))
    .optional(),
});

const FIB_ROWS: [key: string, label: string, unit: string, headline: boolean][] = [
  ['fillS', 'FIB on: both kernel tables full', 's', true],
  ['removeS', 'FIB on: both kernel tables empty after the feed is lost', 's', true],
  ['monitorFibS', 'FIB on: monitor holds all prefixes', 's', true],
  ['monitorRemoveS', 'FIB on: monitor holds none after the feed is lost', 's', false],
  ['monitorNoFibS', 'FIB off: monitor holds all prefixes', 's', false],
  ['slowdown', 'propagation slowdown, FIB on / FIB off', '×', true],
  ['rssFibMB', 'FIB on: peak RSS', 'MB', true],
  ['rssNoFibMB', 'FIB off: peak RSS', 'MB', false],
  ['cpuFillS', 'FIB on: CPU seconds while filling', 's', false],
  ['cpuRemoveS', 'FIB on: CPU seconds while removing', 's', false],
  ['cpuNoFibS', 'FIB off: CPU seconds', 's', false],
];

export function fib(json: unknown): Adapted {
  const j = check(FibJson, json, 'fib JSON');
  const figures: Figure[] = FIB_ROWS.map(([k, label, unit, headline]) => ({
    id: k,
    label,
    unit,
    gredged: at(json, `medians.gredged.${k}`),
    ref: at(json, `medians.bird.${k}`),
    ratio:
      typeof j.ratios?.[k] === 'number'
        ? at(json, `ratios.${k}`)
        : ratioOf(json, `medians.gredged.${k}`, `medians.bird.${k}`),
    headline,
  }));
  const bars = (id: string, title: string, keys: [string, string][], yLabel: string, unit: string): Plot => ({
    id,
    title,
    kind: 'bar',
    x: { label: '', unit: '', categories: keys.map(([, c]) => c) },
    y: { label: yLabel, unit },
    series: DAEMONS.filter(([d]) => j.medians[d as 'bird' | 'gredged']).map(([d, name]) => ({
      name,
      points: keys.flatMap(([k], i) => {
        const v = at(json, `medians.${d}.${k}`).value;
        return v === null ? [] : [{ x: i, y: v, ySource: `medians.${d}.${k}` }];
      }),
    })),
  });
  const plots = [
    bars(
      'times',
      `Programming and removing ${j.prefixes.toLocaleString('en-US')} prefixes`,
      [
        ['fillS', 'tables full'],
        ['removeS', 'tables empty'],
        ['monitorFibS', 'monitor full, FIB on'],
        ['monitorNoFibS', 'monitor full, FIB off'],
        ['monitorRemoveS', 'monitor empty, FIB on'],
      ],
      'time',
      's',
    ),
    bars(
      'memory',
      'Peak memory',
      [
        ['rssFibMB', 'FIB on'],
        ['rssNoFibMB', 'FIB off'],
      ],
      'peak RSS',
      'MB',
    ),
    bars(
      'cpu',
      'CPU seconds',
      [
        ['cpuFillS', 'filling, FIB on'],
        ['cpuRemoveS', 'removing, FIB on'],
        ['cpuNoFibS', 'FIB off'],
      ],
      'CPU',
      's',
    ),
  ];
  const notes = [
    `${j.prefixes.toLocaleString('en-US')} prefixes into kernel tables ${(j.tables ?? []).join(' and ')}, removal by ${j.removal ?? 'close'}; medians over ${j.runs} run(s), each daemon pass in a fresh network namespace.`,
  ];
  if (j.targets) {
    const say = (v: boolean | null | undefined) =>
      v === true ? 'met' : v === false ? 'missed' : 'not measured';
    notes.push(
      `Targets for gredged: fill no slower than BIRD ${say(j.targets.fillNoSlowerThanBird)}; removal no slower than BIRD ${say(j.targets.removeNoSlowerThanBird)}; propagation slowdown within ×1.20 ${say(j.targets.slowdownWithin)}.`,
    );
  }
  for (const f of j.failures ?? [])
    notes.push(`Failed pass: ${f.daemon}, ${f.pass}, run ${f.run + 1}: ${firstLine(f.message)}`);
  return {
    refName: 'BIRD 2',
    date: j.date,
    host: j.host,
    params: {
      prefixes: j.prefixes,
      runs: j.runs,
      removal: j.removal ?? '',
      tables: (j.tables ?? []).join(', '),
    },
    figures,
    plots,
    notes,
  };
}

// ---------------------------------------------------------------- dataplane

const DpSide = z.object({ tcpBps: maybe, udpPps: maybe }).catchall(z.unknown());
const DpOffload = z.object({ kernel: DpSide, gredge: DpSide, ratio: z.object({ tcp: maybe, udp: maybe }) });
const DpJson = z.object({
  args: z.object({ runs: z.number(), seconds: z.number(), underlay: z.string() }).catchall(z.unknown()),
  on: DpOffload.optional(),
  off: DpOffload.optional(),
});

export function dataplane(json: unknown): Adapted {
  const j = check(DpJson, json, 'dataplane JSON ({args, on, off})');
  const modes = (['on', 'off'] as const).filter((m) => j[m]);
  if (modes.length === 0) throw new Error('dataplane JSON: neither offloads "on" nor "off" measured');
  const figures: Figure[] = [];
  for (const m of modes) {
    figures.push(
      {
        id: `tcp_${m}`,
        label: `offloads ${m}: single-stream TCP throughput`,
        unit: 'Gbit/s',
        gredged: at(json, `${m}.gredge.tcpBps`, 1e-9),
        ref: at(json, `${m}.kernel.tcpBps`, 1e-9),
        ratio: at(json, `${m}.ratio.tcp`),
        headline: true,
      },
      {
        id: `udp_${m}`,
        label: `offloads ${m}: 64-byte UDP packets delivered`,
        unit: 'kpps',
        gredged: at(json, `${m}.gredge.udpPps`, 1e-3),
        ref: at(json, `${m}.kernel.udpPps`, 1e-3),
        ratio: at(json, `${m}.ratio.udp`),
        headline: true,
      },
      {
        id: `ppc_${m}`,
        label: `offloads ${m}: packets delivered per data-plane CPU second (cpe + edge)`,
        unit: 'kpkt/CPU s',
        gredged: at(json, `${m}.gredge.packetsPerCpuSecond`, 1e-3),
        ref: none,
        ratio: none,
        note: 'the kernel’s forwarding CPU is not attributable to a process',
        headline: false,
      },
    );
  }
  const bars = (
    id: string,
    title: string,
    key: string,
    yLabel: string,
    unit: string,
    scale: number,
  ): Plot => ({
    id,
    title,
    kind: 'bar',
    x: { label: 'offloads (TSO/GSO/GRO, checksum)', unit: '', categories: modes.map((m) => `offloads ${m}`) },
    y: { label: yLabel, unit },
    series: (
      [
        ['kernel', 'kernel routing'],
        ['gredge', 'gredge'],
      ] as const
    ).map(([side, name]) => ({
      name,
      scale,
      points: modes.flatMap((m, i) => {
        const v = at(json, `${m}.${side}.${key}`, scale).value;
        return v === null ? [] : [{ x: i, y: v, ySource: `${m}.${side}.${key}` }];
      }),
    })),
  });
  return {
    refName: 'kernel routing',
    params: { runs: j.args.runs, seconds: j.args.seconds, underlay: j.args.underlay },
    figures,
    plots: [
      bars('tcp', 'Single-stream TCP throughput, cust → net', 'tcpBps', 'throughput', 'Gbit/s', 1e-9),
      bars('udp', '64-byte UDP packet rate delivered at net', 'udpPps', 'packet rate', 'kpps', 1e-3),
    ],
    notes: [
      `cust — cpe — edge — net in network namespaces: gredge’s GRE data plane between cpe and edge against plain kernel routing over the same veths (the limit). Medians of ${j.args.runs} run(s) × ${j.args.seconds} s, ${j.args.underlay} underlay. Higher is better; the ratio is gredge / kernel.`,
    ],
  };
}

// ---------------------------------------------------------------- rpki

const RpkiJson = z.object({
  vrps: z.number(),
  routes: z.number(),
  loadMs: z.number(),
  bytesPerVrp: z.number(),
  typedArrayBytes: z.number(),
  validateMs: z.number(),
  routesPerSecond: z.number(),
  states: z.object({ valid: z.number(), invalid: z.number(), notFound: z.number() }),
  affectedDeltaVrps: z.number(),
  affectedRoutes: z.number(),
  affectedScanMs: z.number(),
});

export function rpki(json: unknown): Adapted {
  const j = check(RpkiJson, json, 'rpki JSON');
  const g = (
    id: string,
    label: string,
    unit: string,
    path: string,
    headline: boolean,
    scale = 1,
  ): Figure => ({
    id,
    label,
    unit,
    gredged: at(json, path, scale),
    ref: none,
    ratio: none,
    headline,
  });
  return {
    refName: '',
    params: { vrps: j.vrps, routes: j.routes, deltaVrps: j.affectedDeltaVrps },
    figures: [
      g('bytes_per_vrp', 'memory per VRP (typed arrays)', 'B', 'bytesPerVrp', true),
      g('table_mb', `memory of ${j.vrps.toLocaleString('en-US')} VRPs`, 'MB', 'typedArrayBytes', false, 1e-6),
      g('load_ms', `loading ${j.vrps.toLocaleString('en-US')} VRPs`, 'ms', 'loadMs', false),
      g('validate_ms', `validating ${j.routes.toLocaleString('en-US')} routes`, 'ms', 'validateMs', false),
      g('routes_per_s', 'validation rate', 'Mroutes/s', 'routesPerSecond', true, 1e-6),
      g(
        'affected_ms',
        `finding the routes a ${j.affectedDeltaVrps}-VRP delta affects`,
        'ms',
        'affectedScanMs',
        false,
      ),
    ],
    plots: [
      {
        id: 'states',
        title: `Validation states of ${j.routes.toLocaleString('en-US')} synthetic routes`,
        kind: 'bar',
        x: { label: 'RFC 6811 state', unit: '', categories: ['Valid', 'Invalid', 'NotFound'] },
        y: { label: 'routes', unit: 'count' },
        series: [
          {
            name: 'gredged',
            points: (['valid', 'invalid', 'notFound'] as const).map((k, i) => ({
              x: i,
              y: j.states[k],
              ySource: `states.${k}`,
            })),
          },
        ],
      },
    ],
    notes: [
      'The VRP table alone (no daemon, no BIRD column): BIRD’s counterpart is measured end to end by bench:bgp-propagation -- --rpki SHARE --vrps N (bench/rpki/README.md). The table and routes are synthetic and seeded: memory is exact whatever the load; times are the machine’s.',
    ],
  };
}

// ---------------------------------------------------------------- the envelope

export function envelope(json: unknown, name: string): Adapted {
  const j = check(Envelope, json, `${name} JSON (results envelope)`);
  if (j.bench !== name) throw new Error(`${name} JSON: "bench" is "${j.bench}", expected "${name}"`);
  // The headline table keeps the comparisons (BIRD beside gredged), at most six per bench, or
  // the first three figures when none compares: the bench's section lists all of them.
  const compared = j.figures.flatMap((f, i) => (f.gredged !== null && f.bird !== null ? [i] : []));
  const headline = new Set(compared.length > 0 ? compared.slice(0, 6) : [0, 1, 2]);
  const figures: Figure[] = j.figures.map((f, i) => {
    const fig: Figure = {
      id: f.id,
      label: f.label,
      unit: f.unit,
      gredged: at(json, `figures.${i}.gredged`),
      ref: at(json, `figures.${i}.bird`),
      ratio: at(json, `figures.${i}.ratio`),
      headline: headline.has(i),
    };
    if (f.note) fig.note = f.note;
    return fig;
  });
  const plots: Plot[] = j.plots.map((p, i) => ({
    id: p.id,
    title: p.title,
    kind: 'line',
    x: p.x,
    y: p.y,
    series: p.series.map((s, k) => ({
      name: s.name,
      points: s.points.map(([x, y], n) => ({
        x,
        y,
        xSource: `plots.${i}.series.${k}.points.${n}.0`,
        ySource: `plots.${i}.series.${k}.points.${n}.1`,
      })),
    })),
  }));
  const out: Adapted = {
    refName: 'BIRD 2',
    params: j.params,
    figures,
    plots,
    notes: [],
    date: j.date,
    host: j.host,
  };
  return out;
}

export function adapt(format: Format, json: unknown, name: string): Adapted {
  switch (format) {
    case 'bgp-propagation':
      return bgpPropagation(json);
    case 'fib':
      return fib(json);
    case 'dataplane':
      return dataplane(json);
    case 'rpki':
      return rpki(json);
    case 'envelope':
      return envelope(json, name);
  }
}
