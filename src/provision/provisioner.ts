/**
 * The daemon's side of `gredgectl customer add / remove / list` (issue 10, "One-command
 * provisioning"). The CLI only talks to the socket (it may run as another user); everything
 * here runs in gredged:
 *
 * - add: in the reload queue (Reloader.exclusive: no reload and no other add or remove runs
 *   meanwhile, so two adds never get one key or subnet), plan against the running config
 *   (plan.ts), write DIRECTORY/NAME.yaml atomically (a temporary file, fsync, rename, fsync of
 *   the directory; mode 0640), then reload through the normal path, which validates the whole
 *   merged config and applies only the difference. Refused or failed: the file is removed and
 *   the running config is what it was (the reload changed nothing or rolled itself back).
 * - remove: only a customer with a file in DIRECTORY; the file goes, then a reload (Cease 6/3,
 *   the routes withdrawn, the tunnel and its kernel routes removed). Refused: the file is put back.
 *
 * A reload reads the whole config from disk, so other edits waiting there apply too: the
 * answer's `diff` lists everything that changed.
 */
import {
  closeSync,
  existsSync,
  fchmodSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseKeyRange, UNIT } from '../config/provisioning.js';
import type { Config } from '../config/types.js';
import { ControlError } from '../control/protocol.js';
import type { ReloadResult } from '../control/target.js';
import { parseCidr } from '../net/ip.js';
import type { Logger } from '../observe/log.js';
import { freeSubnets, innerSubnets } from './allocate.js';
import { planCustomer, provisioningOf } from './plan.js';
import { customerSnippet } from './snippet.js';
import type {
  CustomerAddArgs,
  CustomerAddResult,
  CustomerListResult,
  CustomerRemoveResult,
  CustomerRow,
} from './types.js';

export const FILE_MODE = 0o640;

export interface ProvisionerOptions {
  /** The running config (a reload replaces it). */
  config: () => Config;
  /** Runs a job in the reload queue with a reload of its own (daemon/reload.ts Reloader.exclusive). */
  exclusive: <T>(job: (reload: () => Promise<ReloadResult>) => Promise<T>) => Promise<T>;
  /** A neighbor's session state, for `customer list`. */
  state?: (name: string) => string | undefined;
  log: Logger;
}

let tmpSeq = 0;

/** Writes `dir/name` all at once: temp file, fsync, rename over nothing, fsync of the directory. */
export function writeFileAtomic(dir: string, name: string, text: string, mode = FILE_MODE): string {
  const path = join(dir, name);
  // A dot name: `include: DIR/*.yaml` never takes it in, even while it exists.
  const tmp = join(dir, `.${name}.tmp-${process.pid}-${++tmpSeq}`);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, text);
    fchmodSync(fd, mode); // the umask may have taken bits off
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    throw err;
  }
  syncDir(dir);
  return path;
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class Provisioner {
  readonly #o: ProvisionerOptions;

  constructor(o: ProvisionerOptions) {
    this.#o = o;
  }

  /** DIRECTORY as a path to open: relative to the main config file's directory. */
  directory(cfg: Config = this.#o.config()): string {
    const d = provisioningOf(cfg).directory;
    return isAbsolute(d) ? d : resolve(dirname(cfg.source), d);
  }

  add(args: CustomerAddArgs): Promise<CustomerAddResult> {
    return this.#o.exclusive(async (reload) => {
      const cfg = this.#o.config();
      const dir = this.directory(cfg);
      const plan = planCustomer(cfg, args);
      const fileName = `${args.name}.yaml`;
      const path = join(dir, fileName);
      if (existsSync(path))
        throw new ControlError(
          'exists',
          `${path} exists already (a customer '${args.name}' not loaded yet?): remove it or choose another name`,
        );
      if (!isDirectory(dir))
        throw new ControlError('internal', `provisioning.directory ${dir} is not a directory`);
      try {
        writeFileAtomic(dir, fileName, plan.yaml);
      } catch (err) {
        throw new ControlError('internal', `cannot write ${path}: ${(err as Error).message}`);
      }
      let result: ReloadResult;
      try {
        result = await reload();
      } catch (err) {
        this.#unlink(path);
        const e = err as ControlError;
        throw new ControlError(
          e.code ?? 'internal',
          `customer ${args.name} not added (file removed, nothing changed): ${e.message}`,
        );
      }
      const now = this.#o.config();
      if (
        !now.neighbors.some((n) => n.name === args.name) ||
        !now.tunnels.some((t) => t.name === args.name)
      ) {
        // Only when the directory is not what `include:` reads, which the config checks refuse.
        this.#unlink(path);
        throw new ControlError(
          'internal',
          `the reload did not load ${path}: does \`include:\` name ${provisioningOf(now).directory}/*.yaml? (file removed)`,
        );
      }
      this.#o.log.warn(
        {
          customer: args.name,
          asn: args.asn,
          remote: plan.circuit.remote,
          key: plan.circuit.key,
          file: path,
        },
        'provisioning: customer added',
      );
      return {
        ...plan.circuit,
        file: path,
        diff: result.diff,
        warnings: plan.warnings,
        snippet: customerSnippet(plan.circuit),
      };
    });
  }

  remove(name: string): Promise<CustomerRemoveResult> {
    return this.#o.exclusive(async (reload) => {
      const cfg = this.#o.config();
      const dir = this.directory(cfg);
      const path = join(dir, `${name}.yaml`);
      if (!existsSync(path)) {
        const configured =
          cfg.neighbors.some((n) => n.name === name) || cfg.tunnels.some((t) => t.name === name);
        throw new ControlError(
          'not-found',
          configured
            ? `'${name}' is not a provisioned customer (no ${path}): it is configured by hand; remove it from its file and reload`
            : `no provisioned customer '${name}' (no ${path})`,
        );
      }
      const text = readFileSync(path, 'utf8');
      this.#unlink(path);
      let result: ReloadResult;
      try {
        result = await reload();
      } catch (err) {
        // Put it back as it was: the running config still has the customer.
        try {
          writeFileAtomic(dir, `${name}.yaml`, text);
        } catch (err2) {
          this.#o.log.error({ err: err2, file: path }, 'provisioning: cannot restore the file');
        }
        const e = err as ControlError;
        throw new ControlError(
          e.code ?? 'internal',
          `customer ${name} not removed (file restored, nothing changed): ${e.message}`,
        );
      }
      this.#o.log.warn({ customer: name, file: path }, 'provisioning: customer removed');
      return { name, file: path, diff: result.diff };
    });
  }

  list(): CustomerListResult {
    const cfg = this.#o.config();
    const p = provisioningOf(cfg);
    const dir = this.directory(cfg);
    let files: string[] = [];
    try {
      files = readdirSync(dir)
        .filter((f) => f.endsWith('.yaml') && !f.startsWith('.'))
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    } catch {}
    const customers = files.map((f): CustomerRow => {
      const name = f.slice(0, -'.yaml'.length);
      const n = cfg.neighbors.find((x) => x.name === name);
      const t = cfg.tunnels.find((x) => x.name === name);
      const row: CustomerRow = { name, file: join(dir, f), loaded: n !== undefined || t !== undefined };
      if (n) {
        row.asn = n.remoteAs;
        row.prefixes = [...(n.prefixes ?? [])];
        row.resale = n.resale;
        const st = this.#o.state?.(name);
        if (st !== undefined) row.state = st;
      }
      if (t) {
        row.remote = t.remote;
        row.key = t.key;
        if (t.inner.local !== undefined) row.inner4 = t.inner.local;
        if (t.inner.local6 !== undefined) row.inner6 = t.inner.local6;
      }
      return row;
    });
    const used = innerSubnets(cfg.tunnels);
    const pool = (text: string, family: 4 | 6) => ({
      pool: text,
      free: `${freeSubnets(parseCidr(text)!, UNIT[family], used)} /${UNIT[family]}`,
    });
    const range = parseKeyRange(p.keyRange);
    return {
      directory: dir,
      keyRange: typeof range === 'string' ? p.keyRange : `${range.low}-${range.high}`,
      pools: {
        v4: pool(p.innerPool4, 4),
        ...(p.innerPool6 !== undefined ? { v6: pool(p.innerPool6, 6) } : {}),
      },
      customers,
    };
  }

  #unlink(path: string): void {
    try {
      unlinkSync(path);
      syncDir(dirname(path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.#o.log.error({ err, file: path }, 'provisioning: cannot remove the file');
    }
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
