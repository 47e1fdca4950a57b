/**
 * tshark captures on the edge's links (in the far end's namespace), read back as one row of
 * chosen fields per frame. `waitLive` proves a capture sees frames before a test counts on an
 * absence in it.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { type LabProcess, sleep } from '../netns.js';
import type { NrLab } from './lab.js';

let seq = 0;

export class Capture {
  readonly file: string;
  readonly #proc: LabProcess;

  private constructor(file: string, proc: LabProcess) {
    this.file = file;
    this.#proc = proc;
  }

  static async start(lab: NrLab, role: string, dev: string, filter: string): Promise<Capture> {
    const file = join(lab.dir, `cap-${role}-${dev}-${seq++}.pcapng`);
    const proc = lab.spawn(role, `tshark-${role}-${dev}`, [
      'tshark',
      '-q',
      '-n',
      '-i',
      dev,
      '-f',
      filter,
      '-w',
      file,
    ]);
    for (let i = 0; i < 200 && !/Capturing on/.test(proc.stderr); i++) {
      if (!proc.running) throw new Error(`tshark on ${role}/${dev} failed: ${proc.stderr}`);
      await sleep(50);
    }
    if (!/Capturing on/.test(proc.stderr))
      throw new Error(`tshark on ${role}/${dev} did not start: ${proc.stderr}`);
    return new Capture(file, proc);
  }

  /** Runs `probe` until a frame matching `displayFilter` is in the file; false after `timeoutMs`. */
  async waitLive(probe: () => Promise<unknown>, displayFilter: string, timeoutMs = 10_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      await probe();
      if ((await this.rows(['frame.number'], displayFilter, true)).length > 0) return true;
      await sleep(100);
    }
    return false;
  }

  /** Stops tshark once the frames matching `until` (if given) are written. */
  async stop(until?: { displayFilter: string; count: number; timeoutMs?: number }): Promise<void> {
    if (until) {
      const end = Date.now() + (until.timeoutMs ?? 5000);
      while (
        Date.now() < end &&
        (await this.rows(['frame.number'], until.displayFilter, true)).length < until.count
      )
        await sleep(100);
    }
    await this.#proc.stop(3000, 'SIGINT');
  }

  /** One row per frame matching `displayFilter`: field → values. */
  rows(fields: string[], displayFilter?: string, live = false): Promise<Record<string, string[]>[]> {
    const argv = ['-n', '-r', this.file, '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a'];
    for (const f of fields) argv.push('-e', f);
    if (displayFilter) argv.push('-Y', displayFilter);
    return new Promise((resolve, reject) => {
      execFile('tshark', argv, { timeout: 60_000, maxBuffer: 64 << 20 }, (err, out, errOut) => {
        if (err && !live) return reject(new Error(`tshark -r ${this.file}: ${err.message} ${errOut}`));
        resolve(
          String(out)
            .split('\n')
            .filter((l) => l.length > 0)
            .map((line) => {
              const cols = line.split('\t');
              const row: Record<string, string[]> = {};
              fields.forEach((f, i) => {
                row[f] = cols[i] ? cols[i]!.split(',') : [];
              });
              return row;
            }),
        );
      });
    });
  }
}
