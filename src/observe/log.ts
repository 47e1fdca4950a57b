/**
 * Structured logs (pino, JSON lines on stdout). Modules take a `Logger` and make children with
 * their own bindings (`{ neighbor: 'upstream' }`); nothing logs per prefix or per packet.
 */
import { pino } from 'pino';

export type Logger = pino.Logger;

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { name: 'gredged' }, timestamp: pino.stdTimeFunctions.isoTime },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that drops everything: for tests and benchmarks that do not read logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
