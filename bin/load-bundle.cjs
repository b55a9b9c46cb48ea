'use strict';
// Loads the CLI bundle (written by scripts/bundle.mjs) with V8's code cache: dist/mlctl.cjs.cache
// holds the bytecode of what `mlctl --help` runs, so start-up deserialises it instead of parsing
// and compiling. V8 checks a cache against the source and its own version and flags; one it
// rejects (another Node version, say) only costs the compile it would have saved.
const { readFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname, join } = require('node:path');
const { Script } = require('node:vm');

/** The whole CLI: src/ with commander and cli-table3. */
const BUNDLE = join(__dirname, '..', 'dist', 'mlctl.cjs');

/**
 * The name stack traces show for the bundle. A code cache keeps the script name it was made
 * with, so an absolute path would carry the build machine's folders into every user's traces;
 * the package-relative name is the same wherever mlctl is installed.
 */
const SCRIPT_NAME = 'mlctl/dist/mlctl.cjs';

/**
 * kysely and node-postgres in one file, with its own code cache: required from node_modules
 * they are ~300 files that take ~0.2 s to load, which a `runs list` against PostgreSQL cannot
 * afford. The bundle reads them through `__mlctlSqlRuntime` (scripts/bundle.mjs).
 */
const SQL_RUNTIME = join(__dirname, '..', 'dist', 'sql-runtime.cjs');
const SQL_RUNTIME_NAME = 'mlctl/dist/sql-runtime.cjs';

/**
 * A script compiled with cached data loses Node 20's import() callback, so the bundle imports
 * ES-module-only packages (ora) through this function (see src/core/env/import-package.ts).
 * It resolves from bin/, next to dist/: the same node_modules.
 */
const importPackage = (specifier) => import(specifier);

/**
 * Compiles and runs a CommonJS file with its code cache (`<file>.cache`); returns its exports
 * and the compiled script (the build asks it for the cache data). `cache: false` compiles
 * without reading the cache.
 */
function runCached(file, scriptName, cache) {
  const source = readFileSync(file, 'utf8');
  let cachedData;
  if (cache) {
    try {
      cachedData = readFileSync(`${file}.cache`);
    } catch {
      cachedData = undefined; // no cache: compile as usual
    }
  }
  // The wrapper shares the file's first line, so stack traces keep its line numbers.
  const wrapped = `(function (exports, require, module, __filename, __dirname, __mlctlImportPackage, __mlctlSqlRuntime) { ${source}\n})`;
  const script = new Script(wrapped, { filename: scriptName, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file), importPackage, sqlRuntime);
  return { exports: module.exports, script };
}

/** Compiles and runs the bundle (see runCached). */
function loadBundle({ cache = true } = {}) {
  return runCached(BUNDLE, SCRIPT_NAME, cache);
}

/** Compiles and runs the SQL runtime (see SQL_RUNTIME and runCached). */
function loadSqlRuntime({ cache = true } = {}) {
  return runCached(SQL_RUNTIME, SQL_RUNTIME_NAME, cache);
}

let sqlRuntimeExports;
/**
 * kysely and pg for the bundle, loaded on first use: from the SQL runtime, or from node_modules
 * when it is not there. `pg` is undefined when the optional package is not installed.
 */
function sqlRuntime() {
  if (sqlRuntimeExports !== undefined) return sqlRuntimeExports;
  try {
    sqlRuntimeExports = loadSqlRuntime().exports;
  } catch (error) {
    if (error.code !== 'ENOENT' || error.path !== SQL_RUNTIME) throw error;
    const local = createRequire(SQL_RUNTIME);
    let pg;
    try {
      pg = local('pg');
    } catch {
      pg = undefined;
    }
    sqlRuntimeExports = { kysely: local('kysely'), pg };
  }
  return sqlRuntimeExports;
}

module.exports = { BUNDLE, SCRIPT_NAME, SQL_RUNTIME, loadBundle, loadSqlRuntime };
