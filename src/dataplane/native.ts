/**
 * The only `require` of the native addon (build/Release/gredge_native.node) and the TypeScript
 * shape of what it exports. Everything else in gredge goes through src/dataplane.
 */
import { createRequire } from 'node:module';
import { GredgeError } from '../errors.js';

/** A tunnel as the addon takes it: addresses already parsed to bytes (see tunnels.ts). */
export interface TunnelSpecNative {
  name: string;
  family: 4 | 6; // underlay family
  remote: Uint8Array;
  local?: Uint8Array;
  key: number;
  mtu: number;
  sequence: boolean;
  checksum: boolean;
  mssClamp: boolean;
  allowed: Uint8Array; // packed 18-byte records: family, len, address[16]
  inner4?: Uint8Array;
  inner6?: Uint8Array;
  keepaliveMs: number;
  keepaliveRetries: number;
}

export interface CounterLayout {
  buffer: ArrayBuffer;
  slices: number;
  sliceSlots: number;
  globalSlots: number;
  tunnelSlots: number;
  maxTunnels: number;
}

export interface NativeDataplaneHandle {
  addTunnel(spec: TunnelSpecNative): number;
  replaceTunnel(index: number, spec: TunnelSpecNative): void;
  removeTunnel(index: number): void;
  /** packed 24-byte records: family, len, 0, 0, tunnel index (u32 LE), address[16] */
  addRoutes(records: Uint8Array): number;
  removeRoutes(records: Uint8Array): number;
  lookup(address: Uint8Array): number;
  routeCount(): { v4: number; v6: number };
  /** offload: IFF_VNET_HDR with TSO/CSUM is in use (false when asked off or refused by the kernel) */
  info(): { offload: boolean; workers: number; directTx: boolean };
  counters(): CounterLayout;
  /** noPrefixRoute: the kernel adds no subnet route (we add one carrying the tunnel MTU). */
  address(add: boolean, family: 4 | 6, address: Uint8Array, plen: number, noPrefixRoute?: boolean): void;
  /** mtu > 0: the route carries RTAX_MTU; prefsrc: the source address the kernel picks for it. */
  route(
    add: boolean,
    family: 4 | 6,
    dst: Uint8Array,
    plen: number,
    table?: number,
    mtu?: number,
    prefsrc?: Uint8Array,
  ): void;
  /** The TUN's persist flag now (a planned graceful restart leaves the TUN to the next start). */
  setPersistent(persist: boolean): void;
  close(): void;
}

export interface NativeOpenOptions {
  tun: string;
  workers: number;
  mtu: number;
  persistent: boolean;
  /** TUN offloads (IFF_VNET_HDR, TSO/CSUM in, GRO out); the addon's default is true */
  offload?: boolean;
  /** direct transmit: GRE frames through an AF_PACKET socket on the underlay device when the
   * kernel's route and neighbour tables give a link-layer path; the addon's default is true */
  directTx?: boolean;
  local4?: Uint8Array;
  local6?: Uint8Array;
}

export interface NativeDebug {
  greParse(b: Uint8Array): {
    status: 'ok' | 'short' | 'bad-flags' | 'bad-checksum';
    proto?: number;
    headerLength?: number;
    checksum?: boolean;
    key?: number;
    seq?: number;
  };
  greBuild(
    proto: number,
    payload: Uint8Array,
    opts: { key?: number; seq?: number; checksum?: boolean },
  ): Buffer;
  mssClamp(packet: Uint8Array, mss: number): boolean;
  buildPtb(packet: Uint8Array, mtu: number, src: Uint8Array): Buffer | null;
  keepalive(local: number, remote: number, key: number): Buffer;
  keepaliveReflect(innerIp: Uint8Array, local: number, remote: number): number;
  lpmCheck(
    routes: Uint8Array,
    removals: Uint8Array,
    queries: Uint8Array,
    stats?: {
      v6NodesAfterInsert?: number;
      v6NodesAfterRemove?: number;
      v4Routes?: number;
      v6Routes?: number;
    },
    reinserts?: Uint8Array,
  ): Int32Array;
  /** Cuts a TCP super-packet into wire segments (null when it cannot be segmented). */
  tsoSegment(packet: Uint8Array, hdr: { gsoType: number; gsoSize: number }): Buffer[] | null;
  /** Coalesces packets as one decap batch would; returns what would be written to the TUN. */
  groCoalesce(packets: Uint8Array[]): Array<{ packet: Buffer; hdr: VnetHdr }>;
  /** The worker-split socket filter as [code, jt, jf, k] rows (classic BPF). */
  splitFilter(family: 4 | 6, worker: number, nworkers: number): Uint32Array;
  /** The Ethernet frame direct transmit sends for a GRE packet (outer header from the path;
   * IPv6: flow label from the inner packet). */
  pushOuter(
    path: { family: 4 | 6; src: Uint8Array; dst: Uint8Array; hopLimit: number; eth: Uint8Array },
    gre: Uint8Array,
    inner: Uint8Array,
  ): Buffer;
  /** The 20-bit flow label direct transmit derives from an inner packet (0: not IP). */
  innerFlowLabel(packet: Uint8Array): number;
  /** Completes a partial checksum in place (VIRTIO_NET_HDR_F_NEEDS_CSUM). */
  csumComplete(packet: Uint8Array, csumStart: number, csumOffset: number): boolean;
  /** Whether encapsulation keeps a packet read from the TUN on the link (counted as
   * `linkLocalMulticast`): IPv6 multicast of scope 0-2, IPv4 224.0.0.0/24. null: not an IP
   * header (counted as notIp before this question). */
  linkScopeMulticast(packet: Uint8Array): boolean | null;
}

/** struct virtio_net_hdr as the addon reports it (flags 1 = NEEDS_CSUM; gsoType 1 TCPv4, 4 TCPv6). */
export interface VnetHdr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

export interface NativeAddon {
  abiVersion: number;
  NativeDataplane: new (
    opts: NativeOpenOptions,
    onEvent: (index: number, up: boolean) => void,
  ) => NativeDataplaneHandle;
  setTcpMaxSeg(fd: number, mss: number): void;
  /** The FIB writer (native/src/fib_writer.h): kernel routes and rules from a thread. */
  NativeFibWriter: new (
    protocol: number,
  ) => NativeFibWriterHandle;
  debug: NativeDebug;
  /**
   * One sd_notify datagram to $NOTIFY_SOCKET (a path, or `@name` in the abstract namespace);
   * throws ERR_SD_NOTIFY with `errno`. Optional: builds made before it lack it, and only
   * src/observe/sdnotify.ts needs it (it says so when missing), so ABI_VERSION did not change.
   */
  sdNotify?: (address: string, message: string) => void;
}

/** What src/fib/writer.ts drives; records are 48 bytes each (layout in native/src/fib_writer.h). */
export interface NativeFibWriterHandle {
  /**
   * results: 0 or an errno per record; messages: the kernel's words for the first of each errno.
   * The records are read in place by the writer's thread: unchanged until `done` runs.
   */
  write(records: Uint8Array, done: (results: Int32Array, messages: Array<[number, string]>) => void): void;
  /** The routes of our protocol in one table, as records (op 1). */
  dumpRoutes(family: 4 | 6, table: number, done: (records: Uint8Array, errno: number) => void): void;
  /** The rules of our protocol, as records (op 3). */
  dumpRules(family: 4 | 6, done: (records: Uint8Array, errno: number) => void): void;
  pending(): number;
  close(): void;
}

/** The addon this code was written against: an older build lacks what it calls. */
const ABI_VERSION = 4;

let cached: NativeAddon | undefined;

/** Loads the addon once; a failure is ERR_NATIVE_LOAD with what to do about it. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  // The compiled file, dist/src/dataplane/native.js, sits three levels below the package root.
  const path = new URL('../../../build/Release/gredge_native.node', import.meta.url).pathname;
  try {
    const addon = require(path) as NativeAddon;
    if (addon.abiVersion !== ABI_VERSION)
      throw new Error(`the build is ABI ${addon.abiVersion}, this code needs ${ABI_VERSION}`);
    cached = addon;
  } catch (err) {
    throw new GredgeError(
      'ERR_NATIVE_LOAD',
      `cannot load the native data plane (${path}): ${(err as Error).message}; run npm ci or npx node-gyp rebuild`,
      { cause: err },
    );
  }
  return cached;
}
