/**
 * Promises over the native FIB writer (native/src/fib_writer.h): one rtnetlink socket on a
 * thread of its own; jobs complete in the order they were given.
 */
import { loadNative, type NativeFibWriterHandle } from '../dataplane/native.js';
import { GredgeError } from '../errors.js';

export interface WriteResult {
  /** 0 or an errno, one per record. */
  results: Int32Array;
  /** The kernel's extended-ack text for the first failure of each errno. */
  messages: Array<[number, string]>;
}

/** What the FIB needs of a writer (a fake in unit tests). */
export interface KernelWriter {
  write(records: Uint8Array): Promise<WriteResult>;
  dumpRoutes(family: 4 | 6, table: number): Promise<Uint8Array>;
  dumpRules(family: 4 | 6): Promise<Uint8Array>;
  close(): void;
}

export class NetlinkWriter implements KernelWriter {
  readonly #h: NativeFibWriterHandle;

  constructor(protocol: number) {
    const addon = loadNative();
    try {
      this.#h = new addon.NativeFibWriter(protocol);
    } catch (err) {
      throw new GredgeError('ERR_FIB_OPEN', `cannot open the FIB writer: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  write(records: Uint8Array): Promise<WriteResult> {
    return new Promise((resolve) =>
      this.#h.write(records, (results, messages) => resolve({ results, messages })),
    );
  }

  dumpRoutes(family: 4 | 6, table: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) =>
      this.#h.dumpRoutes(family, table, (records, errno) =>
        errno ? reject(dumpError(`routes of table ${table} (IPv${family})`, errno)) : resolve(records),
      ),
    );
  }

  dumpRules(family: 4 | 6): Promise<Uint8Array> {
    return new Promise((resolve, reject) =>
      this.#h.dumpRules(family, (records, errno) =>
        errno ? reject(dumpError(`IPv${family} rules`, errno)) : resolve(records),
      ),
    );
  }

  /** Finishes what is queued, then stops the thread. */
  close(): void {
    this.#h.close();
  }
}

function dumpError(what: string, errno: number): GredgeError {
  return new GredgeError('ERR_FIB_DUMP', `reading ${what} from the kernel failed: ${errnoName(errno)}`);
}

/** errno → its symbolic name, as operators search for it. */
export function errnoName(errno: number): string {
  return ERRNO[errno] ?? `errno ${errno}`;
}

const ERRNO: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  12: 'ENOMEM',
  13: 'EACCES',
  16: 'EBUSY',
  17: 'EEXIST',
  19: 'ENODEV',
  22: 'EINVAL',
  34: 'ERANGE',
  95: 'EOPNOTSUPP',
  97: 'EAFNOSUPPORT',
  101: 'ENETUNREACH',
  105: 'ENOBUFS',
  110: 'ETIMEDOUT',
  113: 'EHOSTUNREACH',
};
