/**
 * Every error gredge raises to an operator or a caller carries a stable `code`; a CLI prints
 * the message, a test asserts the code. New codes are added here, never renamed.
 */
export type GredgeErrorCode =
  | 'ERR_CONFIG_INVALID'
  | 'ERR_CONFIG_READ'
  | 'ERR_NATIVE_LOAD'
  | 'ERR_TUN_PERMISSION'
  | 'ERR_TUN_OPEN'
  | 'ERR_SOCKET'
  | 'ERR_DATAPLANE'
  | 'ERR_DATAPLANE_ARG'
  | 'ERR_DATAPLANE_CLOSED'
  | 'ERR_LISTEN'
  | 'ERR_FIB_OPEN'
  | 'ERR_FIB_DUMP'
  | 'ERR_CONTROL_IN_USE'
  | 'ERR_CONTROL_LISTEN'
  | 'ERR_CONTROL_GROUP'
  | 'ERR_METRICS_LISTEN';

export class GredgeError extends Error {
  readonly code: GredgeErrorCode;
  constructor(code: GredgeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'GredgeError';
  }
}
