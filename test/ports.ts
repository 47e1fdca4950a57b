/**
 * A TCP port nothing listens on at `address` just now, for tests that start a daemon. A port
 * derived from the pid could be one that a test running in parallel (CI runs two files at once)
 * had bound, failing the start at random.
 */
import { createServer } from 'node:net';

export function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ host: address, port: 0, exclusive: true }, () => {
      const a = srv.address();
      const port = a !== null && typeof a === 'object' ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
