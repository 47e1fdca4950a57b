/**
 * The config's refusal: every problem with its file, line, column and field, in one error. Kept
 * apart from the loader so that the daemon, which parses in a child process (isolated.ts), can rebuild
 * it without loading the schema.
 */
import { GredgeError } from '../errors.js';
import type { ConfigIssue } from './reader.js';

export class ConfigError extends GredgeError {
  readonly issues: ConfigIssue[];
  /** The file the problems were found in (an issue's own `file` wins: an included file). */
  readonly source: string;
  constructor(source: string, issues: ConfigIssue[]) {
    issues.sort((a, b) => (a.order ?? 0) - (b.order ?? 0) || a.line - b.line || a.column - b.column);
    const lines = issues.map(
      (i) => `${i.file ?? source}:${i.line}:${i.column}: ${i.path ? `${i.path}: ` : ''}${i.message}`,
    );
    super('ERR_CONFIG_INVALID', lines.join('\n'));
    this.issues = issues;
    this.source = source;
  }
}
