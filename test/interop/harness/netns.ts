/**
 * One network namespace per interop test file. Its loopback carries documentation addresses
 * (192.0.2.0/24, 2001:db8::/32) so that next hops are not 127/8 (GoBGP treats a loopback
 * NEXT_HOP as withdraw and gredged announces its session address with next-hop-self), and so
 * that every file gets port 179 to itself and can run in parallel with the others.
 */
import { execFileSync } from 'node:child_process';

const made = new Set<string>();
let hooked = false;

export class Netns {
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /** `hosts` are last octets: host h gets 192.0.2.h/32 and 2001:db8::h/128 on lo. */
  static create(tag: string, hosts: number[]): Netns {
    const name = `gio-${tag}-${process.pid}`;
    ip(['netns', 'add', name]);
    made.add(name);
    if (!hooked) {
      hooked = true;
      process.on('exit', () => {
        for (const n of made) ip(['netns', 'del', n], true);
      });
    }
    ip(['-n', name, 'link', 'set', 'lo', 'up']);
    for (const h of hosts) {
      ip(['-n', name, 'addr', 'add', `${v4(h)}/32`, 'dev', 'lo']);
      ip(['-n', name, 'addr', 'add', `${v6(h)}/128`, 'dev', 'lo', 'nodad']);
    }
    return new Netns(name);
  }

  /** Delete the namespace; call after every process in it has been ended. */
  destroy(): void {
    ip(['netns', 'del', this.name], true);
    made.delete(this.name);
  }
}

export const v4 = (h: number) => `192.0.2.${h}`;
export const v6 = (h: number) => `2001:db8::${h}`;

function ip(args: string[], allowFail = false): void {
  try {
    execFileSync('ip', args, { stdio: 'pipe', timeout: 10_000 });
  } catch (err) {
    if (!allowFail) throw new Error(`ip ${args.join(' ')}: ${(err as { stderr?: Buffer }).stderr ?? err}`);
  }
}
