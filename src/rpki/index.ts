/**
 * RPKI origin validation: the RTR client (RFC 8210 / RFC 6810), the VRP table and RFC 6811
 * validation. What other modules import; nothing else in src/rpki is part of the interface.
 */
export { AffectedSet } from './affected.js';
export {
  type ConnectionState,
  type DataState,
  RtrClient,
  type RtrClientOptions,
  type RtrServer,
  type RtrState,
  type RtrUpdate,
} from './rtr.js';
export { formatPrefix, parsePrefix, vrp, vrpJson, vrpText } from './text.js';
export type { RovState, Vrp, VrpDeltaSummary } from './types.js';
export { type VrpReader, VrpTable } from './vrp-table.js';
