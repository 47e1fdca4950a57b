/**
 * The lab's state file (/run/gredge-lab/state.json): which daemons it started (PID and start
 * time, so `down` stops exactly those and never a reused PID) and which namespaces it made.
 * Written after every change while the lab comes up, so that a run killed half-way still leaves
 * what `down` needs.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Daemon } from './sh.js';
import { STATE_FILE } from './plan.js';

export interface LabState {
  version: 1;
  /** When `npm run lab` started building this lab (ISO 8601). */
  created: string;
  /** The PID of the `npm run lab` that built it. */
  builder: number;
  namespaces: string[];
  daemons: Daemon[];
  /** Set once the whole tour ran: the lab is up. */
  up: boolean;
}

export function newState(): LabState {
  return {
    version: 1,
    created: new Date().toISOString(),
    builder: process.pid,
    namespaces: [],
    daemons: [],
    up: false,
  };
}

export function saveState(s: LabState): void {
  const tmp = `${STATE_FILE}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`);
  renameSync(tmp, STATE_FILE);
}

/** The state file, undefined when there is none; an unreadable one is an error that says so. */
export function loadState(): LabState | undefined {
  let text: string;
  try {
    text = readFileSync(STATE_FILE, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const s = JSON.parse(text) as LabState;
    if (s.version !== 1 || !Array.isArray(s.daemons) || !Array.isArray(s.namespaces))
      throw new Error('unknown shape');
    return s;
  } catch (e) {
    throw new Error(`${STATE_FILE} is not a lab state file (${(e as Error).message}); remove it by hand`);
  }
}
