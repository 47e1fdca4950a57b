/**
 * Packet captures in the lab with tshark (Debian's `tshark`): start a capture on a namespace's
 * interface, stop it, and read chosen dissector fields back, one row per frame. Nested headers
 * (outer and inner IP of GRE) come back as lists in protocol order.
 */
import { join } from 'node:path';
import type { LabProcess } from './netns.js';
import { sleep } from './netns.js';
import type { Lab, Role } from './topology.js';

let seq = 0;

export class Capture {
  readonly file: string;
  readonly #lab: Lab;
  readonly #proc: LabProcess;

  private constructor(lab: Lab, file: string, proc: LabProcess) {
    this.#lab = lab;
    this.file = file;
    this.#proc = proc;
  }

  /** Capture on `dev` in `role`'s namespace with a BPF `filter`; resolves once tshark listens. */
  static async start(lab: Lab, role: Role, dev: string, filter: string, snaplen = 256): Promise<Capture> {
    const file = join(lab.dir, `cap-${role}-${dev}-${seq++}.pcapng`);
    const proc = lab.spawn(role, `tshark-${dev}`, [
      'tshark',
      '-q',
      '-n',
      '-i',
      dev,
      '-s',
      String(snaplen),
      '-f',
      filter,
      '-w',
      file,
    ]);
    for (let i = 0; i < 200 && !/Capturing on/.test(proc.stderr); i++) {
      if (!proc.running) throw new Error(`tshark failed: ${proc.stderr}`);
      await sleep(50);
    }
    if (!/Capturing on/.test(proc.stderr)) throw new Error(`tshark did not start: ${proc.stderr}`);
    return new Capture(lab, file, proc);
  }

  /** Stop capturing (after a short delay so the last frames are written). */
  async stop(): Promise<void> {
    await sleep(300);
    await this.#proc.stop(3000);
  }

  /**
   * Proves the capture is live before a test counts on it: runs `probe` (which sends something
   * the capture should see) until a frame matching `displayFilter` has been written, or
   * `timeoutMs` passes. "Capturing on" can come a moment before the filter sees frames, and a
   * fixed sleep after it is a guess. Returns how many probes it took (0: never seen).
   */
  async waitLive(probe: () => Promise<unknown>, displayFilter?: string, timeoutMs = 10_000): Promise<number> {
    const end = Date.now() + timeoutMs;
    for (let n = 1; Date.now() < end; n++) {
      await probe();
      // dumpcap writes each frame as it comes, so the file can be read while the capture runs.
      if ((await this.fields(['frame.number'], displayFilter, [], true)).length > 0) return n;
      await sleep(100);
    }
    return 0;
  }

  /** Dissect the file: one object per frame with each field's values (comma lists split). */
  /** `prefs`: tshark preferences (`-o name:value`), e.g. `ip.check_checksum:TRUE`. */
  /** `live`: the capture is still running; a frame being written may be cut short (not an error). */
  async fields(
    names: string[],
    displayFilter?: string,
    prefs: string[] = [],
    live = false,
  ): Promise<Array<Record<string, string[]>>> {
    const argv = [
      'tshark',
      '-n',
      '-r',
      this.file,
      '-T',
      'fields',
      '-E',
      'separator=/t',
      '-E',
      'occurrence=a',
    ];
    for (const p of prefs) argv.push('-o', p);
    for (const n of names) argv.push('-e', n);
    if (displayFilter) argv.push('-Y', displayFilter);
    const r = await this.#lab.exec('cust', argv, { timeoutMs: 60_000, allowFail: live });
    return r.stdout
      .split('\n')
      .filter((l) => l.length > 0)
      .map((line) => {
        const cols = line.split('\t');
        const row: Record<string, string[]> = {};
        names.forEach((n, i) => {
          const c = cols[i] ?? '';
          row[n] = c === '' ? [] : c.split(',');
        });
        return row;
      });
  }
}
