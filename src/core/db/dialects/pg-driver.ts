import { createRequire } from 'node:module';

/**
 * node-postgres, as CommonJS: required rather than imported, so Node does not scan its exports
 * through the ESM loader. The CLI bundle replaces this module with one that takes it from the
 * bundled SQL runtime, which loads from one file with a code cache (scripts/bundle.mjs).
 * Throws MODULE_NOT_FOUND when the optional `pg` package is not installed.
 */
export function requirePg(): unknown {
  return createRequire(import.meta.url)('pg');
}
