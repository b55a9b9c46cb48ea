/**
 * `import()` of an ES-module-only package at run time (ora). CommonJS packages are required
 * instead (createRequire), which skips the ESM loader's scan of their exports.
 *
 * A function of its own because of the CLI bundle (scripts/bundle.mjs): it runs as a script
 * compiled with V8's code cache, and Node 20 loses the import() callback of such a script. The
 * bundle replaces this module with one that asks the launcher to do the import, which resolves
 * the package from the same node_modules as this file would.
 */
export function importPackage<T>(specifier: string): Promise<T> {
  return import(specifier) as Promise<T>;
}
