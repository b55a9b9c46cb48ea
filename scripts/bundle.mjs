// Writes the CLI bundles the launcher (bin/mlctl) runs, each with V8's code cache:
//   dist/mlctl.cjs            the whole CLI: src/ with commander and cli-table3;
//   dist/mlctl-top-level.cjs  the same without the command groups, for `mlctl`, `--help`,
//                             `--version`;
//   <bundle>.cache            the bytecode of what `mlctl --help` runs.
// Run by `npm run build` after tsc: tsc type-checks and writes dist/**/*.js, which tests and
// benchmarks import; the launcher runs the bundles.
//
// Why: Node 20 resolves, reads and compiles each ES module on its own. mlctl's start-up graph
// (commander's six CommonJS files through the ESM loader, the CLI edge, the command table) cost
// ~40 ms over a bare `node`; one CommonJS file with a code cache costs ~15 ms (bench/cli-startup).
//
// Bundled: everything under src/, and commander and cli-table3 (pure JavaScript, used by every
// command). Packages that are heavy or native stay outside and load from node_modules when a
// command needs them: TensorFlow.js, the AWS SDK, kysely, better-sqlite3, csv-parse, ora… A module
// src/ reaches only through import() is wrapped by esbuild and runs on first use, so the lazy
// loading of the source (test/architecture/layers.test.ts) holds in the bundles.
import { build } from 'esbuild';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { BUNDLE, TOP_LEVEL_BUNDLE, SQL_RUNTIME, loadBundle } = require('../bin/load-bundle.cjs');

const BUNDLED_PACKAGES = new Set(['commander', 'cli-table3']);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const external = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })
  .filter((name) => !BUNDLED_PACKAGES.has(name))
  .flatMap((name) => [name, `${name}/*`]);

/** import() of packages goes through the launcher: see src/core/env/import-package.ts. */
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
 * commander requires node:child_process at load, for executable subcommands, which mlctl does
 * not have; loading it brings net, dgram and the child-process internals (~3 ms). In the bundle
 * commander gets a stand-in that requires the real module on first use.
 */
const lazyChildProcessForCommander = {
  name: 'lazy-child-process-for-commander',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^node:child_process$/ }, (args) =>
      args.importer.includes(`${sep}node_modules${sep}commander${sep}`) ? { path: 'node:child_process', namespace: 'lazy' } : undefined,
    );
    pluginBuild.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, key) => require('node:child_process')[key] });",
      loader: 'js',
    }));
  },
};

/**
 * kysely and pg come from the SQL runtime bundle (dist/sql-runtime.cjs, below) that the
 * launcher loads on first use with its code cache: `import … from 'kysely'` in src/ and the
 * module that requires pg (src/core/db/dialects/pg-driver.ts) become reads of it.
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

/** For the top-level bundle: the command table's import() of each group, which never runs there. */
const withoutCommandGroups = {
  name: 'without-command-groups',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /.*/ }, (args) =>
      args.kind === 'dynamic-import' && args.importer.endsWith(join('src', 'commands', 'index.ts'))
        ? { path: args.path, namespace: 'not-in-top-level-bundle' }
        : undefined,
    );
    pluginBuild.onLoad({ filter: /.*/, namespace: 'not-in-top-level-bundle' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`the top-level bundle has no command groups (${args.path}); bin/mlctl loads dist/mlctl.cjs for commands`)});`,
      loader: 'js',
    }));
  },
};

async function bundle(outfile, plugins) {
  rmSync(`${outfile}.cache`, { force: true });
  await build({
    entryPoints: [join(ROOT, 'src', 'cli.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    tsconfig: join(ROOT, 'tsconfig.build.json'),
    external,
    // A compiled script cannot import(): what is left of import() (node: built-ins) becomes require().
    supported: { 'dynamic-import': false },
    // The bundle's own URL stands in for each module's import.meta.url. Every use in src/ resolves
    // against a folder (createRequire, package.json, the checkout around mlctl), and the bundle
    // sits in dist/ as the tsc output does.
    define: { 'import.meta.url': '__mlctlBundleUrl' },
    banner: { js: "var __mlctlBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
    plugins: [importThroughLauncher, lazyChildProcessForCommander, fromSqlRuntime, ...plugins],
    charset: 'ascii',
    legalComments: 'eof',
    logLevel: 'warning',
  });
  // charset 'ascii' escapes strings, templates, regular expressions and identifiers; the comments
  // esbuild keeps (those inside expressions) it writes as they are: escape them too, since the
  // launcher reads bundles as latin1.
  const source = readFileSync(outfile, 'utf8').replace(/[^\0-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
  const importCall = /\bimport\(/.exec(source);
  if (importCall !== null) throw new Error(`${outfile}: import() left at offset ${importCall.index}: ${source.slice(importCall.index - 80, importCall.index + 40)}`);
  writeFileSync(outfile, source);
}

/**
 * The code cache: compile the bundle, run `mlctl --help` with its output dropped, so the functions
 * start-up runs are compiled as well, then take V8's cache data. Same Node and flags as the
 * launcher, so the launcher's V8 accepts it.
 */
async function writeCodeCache(file) {
  const { exports: cli, script } = loadBundle(file, { cache: false });
  const write = process.stdout.write;
  process.stdout.write = () => true;
  try {
    const code = await cli.main(['node', 'mlctl', '--help']);
    if (code !== 0) throw new Error(`${file}: \`mlctl --help\` exited ${code}`);
  } finally {
    process.stdout.write = write;
  }
  const temp = `${file}.cache.${process.pid}.tmp`;
  writeFileSync(temp, script.createCachedData());
  renameSync(temp, `${file}.cache`);
}

/** Whether an optional dependency is installed here (pg is optional: the SQL runtime goes without it). */
function installed(name) {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * dist/sql-runtime.cjs: kysely and node-postgres in one CommonJS file, ASCII as the CLI bundles.
 * pg's optional native binding stays outside (pg loads it only when asked to).
 */
async function bundleSqlRuntime() {
  const withPg = installed('pg');
  await build({
    stdin: {
      contents: `module.exports = { kysely: require('kysely'), pg: ${withPg ? "require('pg')" : 'undefined'} };`,
      resolveDir: ROOT,
      loader: 'js',
    },
    outfile: SQL_RUNTIME,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['pg-native', 'pg-cloudflare'],
    charset: 'ascii',
    legalComments: 'eof',
    logLevel: 'warning',
  });
  const source = readFileSync(SQL_RUNTIME, 'utf8').replace(/[^\0-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
  writeFileSync(SQL_RUNTIME, source);
}

/**
 * The SQL runtime's code cache, taken after compiling the kinds of queries the tracking store
 * runs (PostgreSQL's compiler, with no database: Kysely's DummyDriver), so they are bytecode too.
 */
function writeSqlRuntimeCache() {
  rmSync(`${SQL_RUNTIME}.cache`, { force: true });
  const { exports: runtime, script } = loadBundle(SQL_RUNTIME, { cache: false });
  const { Kysely, DummyDriver, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql } = runtime.kysely;
  const db = new Kysely({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (k) => new PostgresIntrospector(k),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  db.selectFrom('t').selectAll().where('id', 'in', ['a', 'b']).orderBy('id').limit(1).compile();
  db.insertInto('t').values([{ a: 1, b: 'x' }]).onConflict((oc) => oc.columns(['a']).doUpdateSet((eb) => ({ b: eb.ref('excluded.b') }))).compile();
  db.updateTable('t').set({ a: 2 }).where('b', '=', 'x').returning('a').compile();
  sql`SELECT ${1} AS n FROM t WHERE ${sql.join([sql`a = ${1}`, sql`b LIKE ${'x%'}`], sql` AND `)} ${sql.raw('LIMIT 1')}`.compile(db);
  if (runtime.pg !== undefined) void new runtime.pg.Pool({ connectionString: 'postgres://build@127.0.0.1:1/none', max: 1 }).end();
  const temp = `${SQL_RUNTIME}.cache.${process.pid}.tmp`;
  writeFileSync(temp, script.createCachedData());
  renameSync(temp, `${SQL_RUNTIME}.cache`);
}

await Promise.all([bundle(BUNDLE, []), bundle(TOP_LEVEL_BUNDLE, [withoutCommandGroups]), bundleSqlRuntime()]);
await writeCodeCache(BUNDLE);
await writeCodeCache(TOP_LEVEL_BUNDLE);
writeSqlRuntimeCache();
