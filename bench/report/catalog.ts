/**
 * Every benchmark the suite knows, in the order `npm run bench` runs them and the report shows
 * them: what each measures, against what, the JSON format it writes, and the flags for full and
 * quick sizes. One list, so that the runner and the report cannot disagree on what a complete
 * suite is: a bench absent from the results is shown as missing, never silently dropped.
 */

/** How a bench's JSON file is read: the four first benches keep their own formats. */
export type Format = 'envelope' | 'bgp-propagation' | 'fib' | 'dataplane' | 'rpki';

export interface BenchInfo {
  name: string;
  title: string;
  /** The npm script that runs it alone. */
  script: string;
  /** One sentence for the report and bench/README.md. */
  measures: string;
  /** What gredged is compared with ('' when nothing). */
  reference: string;
  format: Format;
  /** Node flags the bench needs (rpki measures heap deltas with explicit GC). */
  nodeFlags: string[];
  /**
   * How the runner gets the JSON: `--json FILE` on the command line, or the bench prints it on
   * stdout (rpki) and the runner writes it.
   */
  output: 'json-flag' | 'stdout';
  /** Size flags for a full run (the sizes) and for `--quick`. */
  full: string[];
  quick: string[];
  /** Wall-clock time of a full run on the 2-core VM, for the README and the runner's output. */
  fullTime: string;
}

export const BENCHES: readonly BenchInfo[] = [
  {
    name: 'bgp-propagation',
    title: 'BGP propagation',
    script: 'bench:bgp-propagation',
    measures:
      'Seconds until a monitor holds all N IPv4 prefixes a feeder sent through the daemon, the daemon’s peak RSS and CPU seconds, as the table grows.',
    reference: 'BIRD 2',
    format: 'bgp-propagation',
    nodeFlags: [],
    output: 'json-flag',
    full: ['--prefixes', '100000,250000,500000,1000000', '--runs', '3', '--port', '1179'],
    quick: ['--prefixes', '10000,30000,100000', '--runs', '1', '--port', '1179'],
    fullTime: '~3 min',
  },
  {
    name: 'fib',
    title: 'FIB programming',
    script: 'bench:fib',
    measures:
      'Programming 1,000,000 prefixes into two kernel tables and removing them, and how much writing the FIB slows propagation.',
    reference: 'BIRD 2',
    format: 'fib',
    nodeFlags: [],
    output: 'json-flag',
    full: [],
    quick: ['--prefixes', '20000', '--runs', '1'],
    fullTime: '~20 min',
  },
  {
    name: 'dataplane',
    title: 'Data plane',
    script: 'bench:dataplane',
    measures:
      'Single-stream TCP throughput and 64-byte UDP packet rate through gredge’s GRE data plane, with offloads on and off.',
    reference: 'kernel routing',
    format: 'dataplane',
    nodeFlags: [],
    output: 'json-flag',
    full: [],
    quick: ['--runs', '1', '--seconds', '2'],
    fullTime: '~3 min',
  },
  {
    name: 'rpki',
    title: 'RPKI VRP table',
    script: 'bench:rpki',
    measures:
      'Memory per VRP of a full RPKI table, its load time, validation rate over 1M routes and the cost of a 100-VRP delta.',
    reference: '',
    format: 'rpki',
    nodeFlags: ['--expose-gc'],
    output: 'stdout',
    full: [],
    quick: ['--vrps', '70000', '--routes', '100000'],
    fullTime: '~15 s',
  },
  {
    name: 'sessions',
    title: 'Sessions',
    script: 'bench:sessions',
    measures:
      '1,000 customer BGP sessions plus a transit feeding a full table: time until all Established and converged, peak RSS, CPU, idle CPU.',
    reference: 'BIRD 2',
    format: 'envelope',
    nodeFlags: [],
    output: 'json-flag',
    full: [],
    quick: ['--customers', '50', '--prefixes', '20000', '--prefixes6', '5000', '--idle', '2'],
    fullTime: '~10 min',
  },
  {
    name: 'memory',
    title: 'Memory per route',
    script: 'bench:memory',
    measures: 'RSS at 100k, 1M and 1.2M routes (IPv4 + IPv6) and with one, two and three full-table feeders.',
    reference: 'BIRD 2',
    format: 'envelope',
    nodeFlags: [],
    output: 'json-flag',
    full: [],
    quick: ['--prefixes', '20000', '--prefixes6', '5000', '--feeders', '2'],
    fullTime: '~10 min',
  },
  {
    name: 'tunnels',
    title: 'Tunnels',
    script: 'bench:tunnels',
    measures:
      '10,000 tunnels with their customers’ routes: start-up time, memory per tunnel, a one-customer reload, CLI latency, metrics scrape.',
    reference: 'BIRD 2',
    format: 'envelope',
    nodeFlags: [],
    output: 'json-flag',
    full: [],
    quick: ['--tunnels', '200', '--sessions', '20', '--queries', '5'],
    fullTime: '~10 min',
  },
  {
    name: 'churn',
    title: 'Churn',
    script: 'bench:churn',
    measures:
      'A transit flapping 10,000 prefixes per second for 60 s: CPU, event-loop lag, updates out, FIB writes, keepalives kept.',
    reference: 'BIRD 2',
    format: 'envelope',
    nodeFlags: [],
    output: 'json-flag',
    full: [],
    quick: ['--rate', '1000', '--seconds', '10', '--customers', '10', '--base', '10000'],
    fullTime: '~5 min',
  },
];

export const benchNamed = (name: string): BenchInfo | undefined => BENCHES.find((b) => b.name === name);

/** The runner's record of one `npm run bench`, read by the report (results dir, manifest.json). */
export const MANIFEST = 'manifest.json';

export interface BenchRunRecord {
  status: 'ok' | 'failed' | 'skipped' | 'timeout';
  /** Why it failed or was skipped, in a sentence. */
  message?: string;
  exitCode?: number | null;
  signal?: string | null;
  argv?: string[];
  started?: string;
  seconds?: number;
  loadBefore?: number[];
  loadAfter?: number[];
  /** Log file, relative to the results directory. */
  log?: string;
  /** Last lines of the bench's output, for a failure. */
  tail?: string[];
}

export interface Manifest {
  started: string;
  finished?: string;
  quick: boolean;
  host: { cpus: number; loadavg: number[]; kernel: string; node: string };
  benches: Record<string, BenchRunRecord>;
}
