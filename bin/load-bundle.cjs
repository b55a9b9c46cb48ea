'use strict';
// Loads one of the CLI bundles (written by scripts/bundle.mjs) with V8's code cache: <bundle>.cache
// holds the bytecode of what `mlctl --help` runs, so start-up deserialises it instead of parsing
// and compiling. V8 checks a cache against the source and its own version and flags; one it
// rejects (another Node version, say) only costs the compile it would have saved.
const { readFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

const DIST = join(__dirname, '..', 'dist');
/** The whole CLI: src/ with commander and cli-table3. */
const BUNDLE = join(DIST, 'mlctl.cjs');
/** The CLI without its command groups: enough for `mlctl`, `--help` and `--version`. */
const TOP_LEVEL_BUNDLE = join(DIST, 'mlctl-top-level.cjs');
/**
 * kysely and node-postgres in one file: required from node_modules they are ~300 files that
 * take ~0.2 s to load, which a `runs list` against PostgreSQL cannot afford.
 */
const SQL_RUNTIME = join(DIST, 'sql-runtime.cjs');

/**
 * A script compiled with cached data loses Node 20's import() callback, so the bundle imports
 * ES-module-only packages (ora) through this function (see src/core/env/import-package.ts).
 * It resolves from bin/, next to dist/: the same node_modules.
 */
const importPackage = (specifier) => import(specifier);

let sqlRuntime;
/**
 * The bundle's kysely and pg (see SQL_RUNTIME), loaded on first use with their code cache;
 * from node_modules when the file is not there. `pg` is undefined when it is not installed.
 */
function loadSqlRuntime() {
  if (sqlRuntime !== undefined) return sqlRuntime;
  try {
    sqlRuntime = loadBundle(SQL_RUNTIME).exports;
  } catch (error) {
    if (error.code !== 'ENOENT' || error.path !== SQL_RUNTIME) throw error;
    const local = createRequire(SQL_RUNTIME);
    let pg;
    try {
      pg = local('pg');
    } catch {
      pg = undefined;
    }
    sqlRuntime = { kysely: local('kysely'), pg };
  }
  return sqlRuntime;
}

/**
 * Compiles and runs a bundle as a CommonJS module; returns its exports and the compiled script
 * (the build asks it for the cache data). `cache: false` compiles without reading the cache.
 */
function loadBundle(bundle = BUNDLE, { cache = true } = {}) {
  // Bundles are ASCII (scripts/bundle.mjs makes sure), so latin1 reads them exactly and skips
  // UTF-8 decoding.
  const source = readFileSync(bundle, 'latin1');
  let cachedData;
  if (cache) {
    try {
      cachedData = readFileSync(`${bundle}.cache`);
    } catch {
      cachedData = undefined; // no cache: compile as usual
    }
  }
  // The wrapper shares the bundle's first line, so stack traces keep the bundle's line numbers.
  const wrapped = `(function (exports, require, module, __filename, __dirname, __mlctlImportPackage, __mlctlSqlRuntime) { ${source}\n})`;
  const script = new Script(wrapped, { filename: bundle, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle), importPackage, loadSqlRuntime);
  return { exports: module.exports, script };
}

module.exports = { BUNDLE, TOP_LEVEL_BUNDLE, SQL_RUNTIME, loadBundle };
