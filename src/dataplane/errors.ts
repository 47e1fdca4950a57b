/**
 * The one place where errors thrown by the native addon (which carry a stable `code`) become
 * typed GredgeErrors, and where the data plane's own argument errors are made.
 */
import { GredgeError, type GredgeErrorCode } from '../errors.js';

const KNOWN: ReadonlySet<string> = new Set<GredgeErrorCode>([
  'ERR_TUN_PERMISSION',
  'ERR_TUN_OPEN',
  'ERR_SOCKET',
  'ERR_DATAPLANE',
  'ERR_DATAPLANE_ARG',
  'ERR_DATAPLANE_CLOSED',
]);

const HINTS: Partial<Record<GredgeErrorCode, string>> = {
  ERR_TUN_PERMISSION: ' — run gredged as root or give it CAP_NET_ADMIN and CAP_NET_RAW',
  ERR_TUN_OPEN: ' — check that /dev/net/tun exists (modprobe tun) and that the TUN name is free',
};

/** Converts anything the addon threw into a GredgeError (unknown codes become ERR_DATAPLANE). */
export function fromNative(err: unknown, context: string): GredgeError {
  if (err instanceof GredgeError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = (
    typeof e?.code === 'string' && KNOWN.has(e.code) ? e.code : 'ERR_DATAPLANE'
  ) as GredgeErrorCode;
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  return new GredgeError(code, `${context}: ${msg}${HINTS[code] ?? ''}`, { cause: err });
}

export function argError(message: string): GredgeError {
  return new GredgeError('ERR_DATAPLANE_ARG', message);
}

/** Runs a native call and rethrows its failure as a typed error. */
export function call<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromNative(err, context);
  }
}
