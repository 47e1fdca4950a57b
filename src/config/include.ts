/**
 * `include:` patterns → the files they name, in a stable order. A pattern is a path relative to
 * the main file's directory (or absolute) whose last part may hold `*` (any characters but `/`)
 * and `?` (one character): `conf.d/*.yaml`. Each pattern's files are taken sorted by name (byte
 * order, not the locale's), patterns in the order written, a file named twice once. Files whose
 * name starts with `.` are left out unless the pattern itself starts with one (editors' swap
 * files). A pattern that matches nothing is fine (an empty conf.d); a directory that does not
 * exist, or a plain path to no file, is an error.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize } from 'node:path';

export interface IncludedFile {
  /** Where to read it. */
  path: string;
  /** How messages name it: relative to where the main file's name is relative to. */
  name: string;
}

export type Resolved = { files: IncludedFile[] } | { error: string };

/**
 * @param base directory the main file is in (where relative patterns start)
 * @param shownBase the same directory as messages name it (dirname of the main file's name)
 */
export function resolveInclude(pattern: string, base: string, shownBase: string): Resolved {
  if (pattern.trim() === '') return { error: 'must not be empty' };
  const dirPart = dirname(pattern);
  const filePart = basename(pattern);
  if (/[*?[\]{}]/.test(dirPart))
    return { error: `'${pattern}': wildcards are allowed in the file name only (e.g. conf.d/*.yaml)` };
  if (/[[\]{}]/.test(filePart)) return { error: `'${pattern}': only * and ? are wildcards` };
  const dir = isAbsolute(pattern) ? dirPart : join(base, dirPart);
  const shownDir = isAbsolute(pattern) ? dirPart : normalize(join(shownBase, dirPart));
  if (!/[*?]/.test(filePart)) {
    const path = join(dir, filePart);
    if (!isFile(path)) return { error: `'${pattern}': no such file` };
    return { files: [{ path, name: join(shownDir, filePart) }] };
  }
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : code;
    return { error: `'${pattern}': ${shownDir}: ${why}` };
  }
  const re = globRe(filePart);
  const files = names
    .filter((n) => re.test(n) && (!n.startsWith('.') || filePart.startsWith('.')))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .filter((n) => isFile(join(dir, n)))
    .map((n) => ({ path: join(dir, n), name: join(shownDir, n) }));
  return { files };
}

function globRe(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^$()|\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 's');
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
