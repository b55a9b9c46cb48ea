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
 * A script compiled with cached data loses Node 20's import() callback, so the bundle imports
 * ES-module-only packages (ora) through this function (see src/core/env/import-package.ts).
 * It resolves from bin/, next to dist/: the same node_modules.
 */
const importPackage = (specifier) => import(specifier);

/**
 * Compiles and runs the bundle as a CommonJS module; returns its exports and the compiled script
 * (the build asks it for the cache data). `cache: false` compiles without reading the cache.
 */
function loadBundle({ cache = true } = {}) {
  const source = readFileSync(BUNDLE, 'utf8');
  let cachedData;
  if (cache) {
    try {
      cachedData = readFileSync(`${BUNDLE}.cache`);
    } catch {
      cachedData = undefined; // no cache: compile as usual
    }
  }
  // The wrapper shares the bundle's first line, so stack traces keep the bundle's line numbers.
  const wrapped = `(function (exports, require, module, __filename, __dirname, __mlctlImportPackage) { ${source}\n})`;
  const script = new Script(wrapped, { filename: SCRIPT_NAME, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE), importPackage);
  return { exports: module.exports, script };
}

module.exports = { BUNDLE, SCRIPT_NAME, loadBundle };
