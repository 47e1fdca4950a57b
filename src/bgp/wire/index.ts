/**
 * The BGP codec's public face: pure functions on bytes for every message, capability and
 * attribute gredge speaks. Sessions and the RIB import from here only.
 */
export { AS_TRANS } from './attrs/aspath.js';
export { AttrCode, AttrFlag, attrName } from './attrs/table.js';
export { CapabilityCode, emptyCapabilities, familyOf } from './capability.js';
export * from './errors.js';
export { encodeAttributes } from './encode.js';
export { encodeKeepalive, parseHeader, writeHeader } from './header.js';
export { decodeOpen, encodeOpen } from './open.js';
export {
  ceaseNotification,
  decodeNotification,
  decodeRouteRefresh,
  describeNotification,
  encodeNotification,
  encodeRouteRefresh,
  shutdownCommunication,
} from './notification.js';
export { encodeEndOfRib, packUpdates4, packUpdates6, packWithdrawals4, packWithdrawals6 } from './pack.js';
export * from './prefix.js';
export * from './types.js';
export { decodeUpdate } from './update.js';
