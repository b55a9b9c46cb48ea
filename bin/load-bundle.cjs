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
 * A script compiled with cached data loses Node 20's import() callback, so the bundle imports
 * ES-module-only packages (ora) through this function (see src/core/env/import-package.ts).
 * It resolves from bin/, next to dist/: the same node_modules.
 */
const importPackage = (specifier) => import(specifier);

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
  const wrapped = `(function (exports, require, module, __filename, __dirname, __mlctlImportPackage) { ${source}\n})`;
  const script = new Script(wrapped, { filename: bundle, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle), importPackage);
  return { exports: module.exports, script };
}

module.exports = { BUNDLE, TOP_LEVEL_BUNDLE, loadBundle };
