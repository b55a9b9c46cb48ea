// Writes what the launcher (bin/mlctl) runs: dist/mlctl.cjs, all of src/ with commander and
// cli-table3 in one CommonJS file, and dist/mlctl.cjs.cache, V8's code cache for it taken after
// running `mlctl --help`. Run by `npm run build` after tsc, which type-checks and writes
// dist/**/*.js (tests and benchmarks import those).
//
// Why a bundle with a code cache, and not tsc's output alone: measured with
// bench/startup-variants.mjs, see docs/design.md, "Start-up".
//
// Packages that are heavy or native stay outside and load from node_modules when a command needs
// them: TensorFlow.js, the AWS SDK, better-sqlite3, csv-parse, ora… A module src/ reaches only
// through import() is wrapped by esbuild and runs on first use, so the lazy loading of the
// source (test/architecture/layers.test.ts) holds in the bundle. kysely and pg go into a second
// file with its own code cache, dist/sql-runtime.cjs, which the launcher loads on first use.
import { build } from 'esbuild';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { BUNDLE, SQL_RUNTIME, loadBundle, loadSqlRuntime } = require('../bin/load-bundle.cjs');

const BUNDLED_PACKAGES = new Set(['commander', 'cli-table3']);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const external = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })
  .filter((name) => !BUNDLED_PACKAGES.has(name))
  .flatMap((name) => [name, `${name}/*`]);

/**
 * A script compiled with a code cache loses Node 20's import() callback, so import() of a
 * package is handed to the launcher: see src/core/env/import-package.ts.
 */
const importThroughLauncher = {
  name: 'import-through-launcher',
  setup(pluginBuild) {
    const module = join('src', 'core', 'env', 'import-package.ts');
    pluginBuild.onLoad({ filter: /\.ts$/ }, (args) =>
      args.path.endsWith(module) ? { contents: 'export const importPackage = (specifier) => __mlctlImportPackage(specifier);', loader: 'js' } : undefined,
    );
  },
};

/**
 * kysely and pg come from the SQL runtime (below) that the launcher loads on first use with its
 * code cache: `import … from 'kysely'` in src/ and the module that requires pg
 * (src/core/db/dialects/pg-driver.ts) become reads of it.
 */
const fromSqlRuntime = {
  name: 'from-sql-runtime',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^kysely$/ }, () => ({ path: 'kysely', namespace: 'sql-runtime' }));
    pluginBuild.onLoad({ filter: /.*/, namespace: 'sql-runtime' }, () => ({ contents: 'module.exports = __mlctlSqlRuntime().kysely;', loader: 'js' }));
    const module = join('src', 'core', 'db', 'dialects', 'pg-driver.ts');
    pluginBuild.onLoad({ filter: /\.ts$/ }, (args) =>
      args.path.endsWith(module)
        ? {
            contents:
              "export function requirePg() { const pg = __mlctlSqlRuntime().pg; if (pg === undefined) throw Object.assign(new Error(\"Cannot find module 'pg'\"), { code: 'MODULE_NOT_FOUND' }); return pg; }",
            loader: 'js',
          }
        : undefined,
    );
  },
};

await build({
  entryPoints: [join(ROOT, 'src', 'cli.ts')],
  outfile: BUNDLE,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  tsconfig: join(ROOT, 'tsconfig.build.json'),
  external,
  // A script compiled with a code cache cannot import(): esbuild turns what is left of import()
  // (node: built-ins, the modules of src/) into require(); packages go through importPackage.
  supported: { 'dynamic-import': false },
  // CommonJS has no import.meta: the bundle's own URL stands in. It sits in dist/ as tsc's
  // dist/cli.js does, so `new URL('../package.json', import.meta.url)` means the same in both.
  define: { 'import.meta.url': '__mlctlBundleUrl' },
  banner: { js: "var __mlctlBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [importThroughLauncher, fromSqlRuntime],
  logLevel: 'warning',
});
// esbuild escapes non-ASCII characters in code but keeps the comments it leaves inside
// expressions as written. One such character makes V8 hold the whole source as a two-byte
// string, which costs the launcher ~4 ms per start (measured): escape those too.
const source = readFileSync(BUNDLE, 'utf8').replace(/[^\0-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
// An import() esbuild could not turn into require() would fail at run time: fail the build instead.
const importCall = /\bimport\(/.exec(source);
if (importCall !== null) throw new Error(`${BUNDLE}: import() left at offset ${importCall.index}: ${source.slice(importCall.index - 80, importCall.index + 40)}; import packages through src/core/env/import-package.ts`);
writeFileSync(BUNDLE, source);

// The code cache: compile the bundle, run `mlctl --help` with its output dropped, so the functions
// start-up runs are compiled as well, then take V8's cache data. Same Node and flags as the
// launcher, so the launcher's V8 accepts it.
const { exports: cli, script } = loadBundle({ cache: false });
const write = process.stdout.write;
process.stdout.write = () => true;
try {
  const code = await cli.main(['node', 'mlctl', '--help']);
  if (code !== 0) throw new Error(`${BUNDLE}: \`mlctl --help\` exited ${code}`);
} finally {
  process.stdout.write = write;
}
const temp = `${BUNDLE}.cache.${process.pid}.tmp`;
writeFileSync(temp, script.createCachedData());
renameSync(temp, `${BUNDLE}.cache`);

/** Whether an optional dependency is installed here (pg is optional: the SQL runtime goes without it). */
function installed(name) {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

// dist/sql-runtime.cjs: kysely and node-postgres in one CommonJS file. pg's optional native
// binding stays outside (pg loads it only when asked to).
const withPg = installed('pg');
await build({
  stdin: { contents: `module.exports = { kysely: require('kysely'), pg: ${withPg ? "require('pg')" : 'undefined'} };`, resolveDir: ROOT, loader: 'js' },
  outfile: SQL_RUNTIME,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['pg-native', 'pg-cloudflare'],
  // pg asks `typeof Response` to tell Cloudflare Workers from Node, and on Node 20 that loads
  // fetch's undici (~14 ms per connection-opening command); its only use in kysely and pg.
  define: { Response: 'undefined' },
  logLevel: 'warning',
});
writeFileSync(SQL_RUNTIME, readFileSync(SQL_RUNTIME, 'utf8').replace(/[^\0-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`));

// Its code cache, taken after compiling the kinds of queries the tracking store runs
// (PostgreSQL's compiler, with no database: Kysely's DummyDriver), so they are bytecode too.
const { exports: runtime, script: sqlScript } = loadSqlRuntime({ cache: false });
const { Kysely, DummyDriver, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql } = runtime.kysely;
const warm = new Kysely({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});
warm.selectFrom('t').selectAll().where('id', 'in', ['a', 'b']).orderBy('id').limit(1).compile();
warm.insertInto('t').values([{ a: 1, b: 'x' }]).onConflict((oc) => oc.columns(['a']).doUpdateSet((eb) => ({ b: eb.ref('excluded.b') }))).compile();
warm.updateTable('t').set({ a: 2 }).where('b', '=', 'x').returning('a').compile();
sql`SELECT ${1} AS n FROM t WHERE ${sql.join([sql`a = ${1}`, sql`b LIKE ${'x%'}`], sql` AND `)} ${sql.raw('LIMIT 1')}`.compile(warm);
if (runtime.pg !== undefined) await new runtime.pg.Pool({ connectionString: 'postgres://build@127.0.0.1:1/none', max: 1 }).end();
const sqlTemp = `${SQL_RUNTIME}.cache.${process.pid}.tmp`;
writeFileSync(sqlTemp, sqlScript.createCachedData());
renameSync(sqlTemp, `${SQL_RUNTIME}.cache`);
