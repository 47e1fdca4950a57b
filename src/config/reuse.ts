/**
 * The daemon's side of an incremental load (incremental.ts): the entries the loader child left
 * out are put back from the config the load started from. Its own module so that the daemon,
 * which never loads the schema library (isolated.ts), can import it.
 */
import type { Config } from './types.js';

export const LISTS = ['neighbors', 'tunnels'] as const;
export type ListKey = (typeof LISTS)[number];

/**
 * Puts the unchanged entries of an incremental load back from the config it was based on (the
 * daemon side of step 2). Throws when the reuse does not fit that config (then the caller loads
 * in full).
 */
export function resolveReuse(config: Config, reuse: Record<ListKey, Int32Array>, previous: Config): Config {
  for (const key of LISTS) {
    const list = config[key] as unknown[];
    const from = previous[key] as unknown[];
    const r = reuse[key];
    if (r.length !== list.length) throw new Error(`reuse of ${key} does not fit the list`);
    for (let i = 0; i < r.length; i++) {
      const at = r[i]!;
      if (at < 0) continue;
      if (at >= from.length || list[i] !== null) throw new Error(`reuse of ${key}[${i}] does not fit`);
      list[i] = from[at];
    }
  }
  return config;
}
