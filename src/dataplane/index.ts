/**
 * Public API of the data plane (issue 4). Keep it stable: the daemon, the FIB and the lab tests
 * drive exactly this.
 *
 *   const dp = Dataplane.open({ tun: 'gredge0', workers: 2, underlay: { local: '198.51.100.1' } });
 *   dp.addTunnel({ name: 'cust-a', remote: '198.51.100.2', key: 42,
 *                  inner: { local: '192.0.2.129/30' }, allowedSources: ['192.0.2.0/24'],
 *                  routes: ['203.0.113.0/24'] });          // TUN address, LPM, kernel route
 *   dp.addRoutes([{ prefix: '198.51.100.128/25', tunnel: 'cust-a' }]);   // LPM only, batched
 *   dp.removeRoutes(['198.51.100.128/25']);
 *   dp.on('tunnel-state', ({ name, up }) => …);            // keepalive transitions
 *   dp.counters();            // { global: { rxPackets, …, drops: { short, badFlags, … } },
 *                             //   tunnels: { 'cust-a': { rxPackets, txPackets, …, drops } } }
 *   dp.tunnelCounters('cust-a');
 *   dp.replaceTunnel({...}); dp.removeTunnel('cust-a'); dp.close();
 *   setTcpMaxSeg(socketFd, tunnelMtu - 40);                 // BGP session inside a tunnel
 *
 * Errors are GredgeError with codes ERR_NATIVE_LOAD, ERR_TUN_PERMISSION, ERR_TUN_OPEN,
 * ERR_DATAPLANE_ARG, ERR_DATAPLANE_CLOSED, ERR_DATAPLANE, ERR_SOCKET.
 * Routes added with addRoutes go into the data plane's LPM only; the kernel routes that bring
 * that traffic to the TUN are the FIB's (a tunnel's static `routes` get a kernel route here).
 */
export {
  DROP_REASONS,
  type DropReason,
  type Drops,
  type GlobalCounters,
  type TunnelCounters,
} from './counters.js';
export {
  Dataplane,
  type DataplaneCounters,
  type DataplaneOptions,
  type RouteEntry,
  setTcpMaxSeg,
  type TunnelStateEvent,
} from './dataplane.js';
export {
  applyTunnelDiff,
  startDataplane,
  type TunnelDiffResult,
  tunnelSpecFromConfig,
} from './from-config.js';
export type { TunnelSpec } from './tunnels.js';
