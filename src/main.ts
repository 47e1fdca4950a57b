#!/usr/bin/env node
/** gredged entry point: wiring only (config → modules → signals). */
process.stderr.write('gredged: starting\n');
