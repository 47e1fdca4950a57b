/**
 * The validated, typed daemon config every module is handed. YAML keys are kebab-case
 * (`remote-as`); here they are camelCase. Every type is derived from the one declaration in
 * schema.ts (keys, limits, defaults, and what each field means, in its descriptions).
 */
import type { z } from 'zod';
import type { configSchema, neighborSchema, tunnelSchema } from './schema.js';

export type { Role } from './schema.js';

export type NeighborConfig = z.output<typeof neighborSchema>;
/** Prefixes the neighbor may send (counted before filtering) and what happens beyond. */
export type MaxPrefixConfig = NonNullable<NeighborConfig['maxPrefix']>;
export type TunnelConfig = z.output<typeof tunnelSchema>;

export type Config = {
  /** Path of the file this came from (for messages). */
  source: string;
} & z.output<typeof configSchema>;

export type DataplaneConfig = NonNullable<Config['dataplane']>;
/** Where best paths are programmed (src/fib): two kernel tables and the policy rules. */
export type FibConfig = NonNullable<Config['fib']>;
/** The control socket gredgectl talks to (src/control). */
export type ControlConfig = NonNullable<Config['control']>;
/** RPKI origin validation: the RTR caches and what an Invalid route gets (src/rpki). */
export type RpkiConfig = NonNullable<Config['rpki']>;
