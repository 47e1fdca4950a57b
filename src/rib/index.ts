/**
 * The RIB's public face: what the daemon, the FIB and the control socket import. Internals
 * (tables, intern store, Adj-RIB-Out) stay behind `Rib`.
 */
export type { OutboundSink, PeerChannel, SessionInfo } from './channel.js';
export { type RibCodec, wireCodec } from './codec.js';
export { Step, STEP_NAMES } from './decide.js';
export type { ExplainedPath, Explanation } from './explain.js';
export {
  type BestChange,
  type NeighborStats,
  Rib,
  type RibOptions,
  type RibStats,
  type RouteInfo,
  type RoutesOptions,
  type RouteView,
} from './rib.js';
