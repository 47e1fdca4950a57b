/**
 * What `customer add / remove / list` answer over the control socket (the objects `gredgectl
 * --json` prints; the human form is src/control/cli/customer.ts).
 */
import type { InnerPair } from './allocate.js';

/** The validated request (src/control/protocol.ts checks types and ranges). */
export interface CustomerAddArgs {
  name: string;
  asn: number;
  /** The customer's underlay address (their end of the GRE tunnel). */
  remote: string;
  /** Prefix rules they may announce: `P`, `P le N`, `P ge N [le M]`. */
  prefixes: string[];
  /** false with --no-resale: they get no-resale routes too, and may not resell them. */
  resale: boolean;
}

/** The customer's side of the circuit, as data (`snippet` is the same as text). */
export interface CustomerCircuit {
  name: string;
  /** Their AS and ours. */
  asn: number;
  localAs: number;
  /** Their underlay address (their `local`) and ours (their `remote`). */
  remote: string;
  local: string;
  key: number;
  /** Inner MTU (1500-byte underlay: 1472 over IPv4, 1452 over IPv6; RFC 2890 key included). */
  mtu: number;
  inner: { v4: InnerPair; v6?: InnerPair };
  prefixes: string[];
  resale: boolean;
  /** The RFC 9234 role they take (we take provider). */
  role: 'customer';
  /** The name the snippet gives their tunnel interface. */
  interface: string;
}

export interface Snippet {
  /** iproute2 commands, one per line, to run as root on their router. */
  iproute2: string[];
  /** A BIRD 2 `protocol bgp` block (bird.conf). */
  bird: string;
  /** Both, with comments: what `gredgectl customer add` prints. */
  text: string;
}

export interface CustomerAddResult extends CustomerCircuit {
  /** The file written (DIRECTORY/NAME.yaml). */
  file: string;
  /** What the reload changed (config/diff.ts formatDiff). */
  diff: string[];
  /** Things that are allowed but probably not meant (a rule reaching into the bogon list). */
  warnings: string[];
  snippet: Snippet;
}

export interface CustomerRemoveResult {
  name: string;
  file: string;
  diff: string[];
}

export interface CustomerRow {
  name: string;
  file: string;
  /** Whether the running config has it (false: the file is there but not loaded yet). */
  loaded: boolean;
  asn?: number;
  remote?: string;
  key?: number;
  inner4?: string;
  inner6?: string;
  prefixes?: string[];
  resale?: boolean;
  state?: string;
}

export interface CustomerListResult {
  directory: string;
  keyRange: string;
  pools: { v4: { pool: string; free: string }; v6?: { pool: string; free: string } };
  customers: CustomerRow[];
}
