#!/usr/bin/env node
/**
 * gredgectl: the operator CLI over gredged's Unix control socket. The control socket itself
 * lands with the operations issue; until then this says so instead of pretending.
 */
process.stderr.write(
  'gredgectl: this gredged build has no control socket yet; use the logs (JSON on stdout)\n',
);
process.exitCode = 2;
