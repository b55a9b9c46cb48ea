import { isAbsolute, resolve } from 'node:path';
import { UsageError } from '../errors.js';

/** Where the database lives, as parsed from DATABASE_URL. */
export type DatabaseLocation =
  | { readonly dialect: 'sqlite'; readonly path: string; readonly memory: boolean }
  | { readonly dialect: 'postgres'; readonly url: string };

export type DialectName = DatabaseLocation['dialect'];

/**
 * Parses DATABASE_URL. SQLite accepts `sqlite:<path>` (relative to `cwd`), SQLAlchemy's
 * `sqlite:///relative.db` and `sqlite:////absolute.db`, and `sqlite::memory:`;
 * `postgres://` and `postgresql://` URLs go to PostgreSQL unchanged.
 */
export function parseDatabaseUrl(url: string, cwd: string): DatabaseLocation {
  const trimmed = url.trim();
  if (/^postgres(ql)?:\/\//i.test(trimmed)) return { dialect: 'postgres', url: trimmed };
  if (/^sqlite:/i.test(trimmed)) {
    let rest = trimmed.slice('sqlite:'.length);
    if (rest.startsWith('//')) {
      // SQLAlchemy spelling: an empty host, then "/" and the path.
      if (!rest.startsWith('///')) throw invalidUrl(url, 'write sqlite:///relative.db or sqlite:////absolute/path.db');
      rest = rest.slice(3);
    }
    const query = rest.indexOf('?');
    if (query >= 0) rest = rest.slice(0, query);
    if (rest === '') throw invalidUrl(url, 'the path after "sqlite:" is empty');
    if (rest === ':memory:') return { dialect: 'sqlite', path: ':memory:', memory: true };
    return { dialect: 'sqlite', path: isAbsolute(rest) ? rest : resolve(cwd, rest), memory: false };
  }
  throw invalidUrl(url, 'it must start with sqlite: or postgres://');
}

/** The URL with any password masked, for messages and --json output. */
export function redactDatabaseUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

function invalidUrl(url: string, why: string): UsageError {
  return new UsageError('DATABASE_URL_INVALID', `DATABASE_URL "${redactDatabaseUrl(url)}" is not valid: ${why}`, {
    hint: 'examples: sqlite:./data/mlctl.db, postgres://user:pass@localhost:5432/mlctl',
  });
}
