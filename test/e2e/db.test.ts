import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../src/core/db/migrations/index.js';
import { createWorkspace, MLCTL_BIN, runCli, SEED_RECORD, type CliResult } from '../helpers/cli.js';

// Spawns the built CLI (`npm test` builds dist/ first) against a SQLite file in a temp dir.
let workspace: ReturnType<typeof createWorkspace>;
let dbPath: string;

beforeEach(() => {
  workspace = createWorkspace('mlctl-e2e-db-');
  dbPath = join(workspace.dir, 'x.db');
  workspace.env.DATABASE_URL = `sqlite:${dbPath}`;
});

afterEach(() => workspace.cleanup());

function mlctl(...args: string[]): Promise<CliResult> {
  return runCli(args, { cwd: workspace.dir, env: workspace.env });
}

/** runCli, also reporting stderr as it arrives. */
function spawnCli(args: string[], onStderr: (text: string) => void): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MLCTL_BIN, ...args], { cwd: workspace.dir, env: { ...process.env, CI: 'true', NO_COLOR: '1', ...workspace.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr(stderr);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function json<T = any>(result: CliResult): T {
  return JSON.parse(result.stdout) as T;
}

/** The seed's user as `db users add` flags. */
const SEED_FLAGS = Object.entries(SEED_RECORD).flatMap(([field, value]) => [`--${field.replaceAll('_', '-')}`, String(value)]);

function query<T>(sql: string): T[] {
  const db = new Sqlite(dbPath, { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

describe('mlctl db (end to end)', () => {
  it('two processes migrating at once: one applies everything, the other waits and finds nothing left', async () => {
    // Start part-way, so both processes first read a state that the winner then changes.
    expect((await mlctl('db', 'migrate', '--to', MIGRATIONS[0]!.name)).code).toBe(0);
    // Hold the write lock, as a third migrating process would, until both CLIs are queued
    // behind it: then they contend for it at the same moment.
    const holder = new Sqlite(dbPath);
    holder.exec('begin immediate');
    const waiting = new Set<number>();
    let release!: () => void;
    const bothWaiting = new Promise<void>((resolve) => (release = resolve));
    const spawnMigrate = (n: number) =>
      spawnCli(['db', 'migrate', '--json', '--verbose'], (text) => {
        if (text.includes('waiting for the migration lock')) waiting.add(n);
        if (waiting.size === 2) release();
      });
    const runs = Promise.all([spawnMigrate(1), spawnMigrate(2)]);
    await Promise.race([bothWaiting, runs]);
    await new Promise((resolve) => setTimeout(resolve, 500)); // let both reach BEGIN IMMEDIATE
    holder.exec('commit');
    holder.close();
    const [a, b] = await runs;
    expect([a.code, b.code, a.stderr + b.stderr]).toEqual([0, 0, expect.any(String)]);
    const steps = [json(a).steps.length, json(b).steps.length].sort();
    expect(steps).toEqual([0, MIGRATIONS.length - 1]);
    expect(query<{ n: number }>("select count(*) as n from mlctl_migration_events where action = 'up'")[0]?.n).toBe(MIGRATIONS.length);

    const status = await mlctl('db', 'status', '--check', '--json');
    expect(status.code).toBe(0);
    expect(json(status).counts).toEqual({ applied: MIGRATIONS.length, pending: 0, changed: 0, unknown: 0 });

    const down = await mlctl('db', 'rollback', '--to', 'base', '--json');
    expect(down.code).toBe(0);
    expect(json(down).steps.map((s: { name: string }) => s.name)).toEqual(MIGRATIONS.map((m) => m.name).reverse());
    expect(json(down).backup.path).toContain(join(workspace.dir, 'data', 'backups'));
    expect((await mlctl('db', 'status', '--check')).code).toBe(2);
    const history = json(await mlctl('db', 'history', '--json'));
    expect(history.events.map((e: { action: string }) => e.action)).toEqual([...MIGRATIONS.map(() => 'up'), ...MIGRATIONS.map(() => 'down')]);
  });

  it('refuses to migrate over an edited migration (exit 2) unless --force', async () => {
    expect((await mlctl('db', 'migrate', '--to', '0001')).code).toBe(0);
    // As if 0001's code had changed since it was applied.
    const db = new Sqlite(dbPath);
    db.prepare("update mlctl_migrations set checksum = 'edited' where name = ?").run(MIGRATIONS[0]!.name);
    db.close();
    const status = await mlctl('db', 'status', '--json');
    expect(status.code).toBe(0);
    expect(json(status).migrations[0].state).toBe('changed');
    expect(status.stderr).toContain('edited after it was applied');

    const refused = await mlctl('db', 'migrate', '--json');
    expect(refused.code).toBe(2);
    expect(json(refused).error.code).toBe('MIGRATION_CHECKSUM_MISMATCH');
    expect(query("select name from sqlite_master where name = 'predictions'")).toEqual([]);

    const forced = await mlctl('db', 'migrate', '--force', '--json');
    expect(forced.code).toBe(0);
    expect(json(forced).checksumsAccepted).toEqual([MIGRATIONS[0]!.name]);
    expect(json(await mlctl('db', 'status', '--json')).counts.changed).toBe(0);
  });

  it('users: invalid input exits 2 and writes nothing; missing ids exit 3; add, update, list, delete', async () => {
    const noDatabase = await mlctl('db', 'users', 'list', '--json');
    expect([noDatabase.code, json(noDatabase).error.code]).toEqual([3, 'DATABASE_NOT_FOUND']);
    expect(existsSync(dbPath)).toBe(false); // no stray empty database left behind
    expect((await mlctl('db', 'migrate', '--to', MIGRATIONS[0]!.name)).code).toBe(0);
    const notMigrated = await mlctl('db', 'users', 'list', '--json');
    expect([notMigrated.code, json(notMigrated).error.code]).toEqual([2, 'DATABASE_NOT_MIGRATED']);
    expect((await mlctl('db', 'migrate')).code).toBe(0);

    const bad = await mlctl('db', 'users', 'add', ...SEED_FLAGS, '--age', '200', '--sex', 'X', '--hours-per-week', 'many', '--json');
    expect(bad.code).toBe(2);
    expect(json(bad).error.problems).toHaveLength(3);
    expect(bad.stderr).toContain('age: must be between 0 and 120');
    expect(query('select * from users')).toEqual([]);

    const added = await mlctl('db', 'users', 'add', ...SEED_FLAGS, '--json');
    expect(added.code).toBe(0);
    const user = json(added);
    expect(user).toMatchObject({ ...SEED_RECORD, income: null });

    const updated = await mlctl('db', 'users', 'update', String(user.id), '--hours-per-week', '45', '--workclass', '', '--json');
    expect(json(updated)).toMatchObject({ hours_per_week: 45, workclass: null });
    const badUpdate = await mlctl('db', 'users', 'update', String(user.id), '--capital-gain', '-1');
    expect(badUpdate.code).toBe(2);
    expect(json(await mlctl('db', 'users', 'get', String(user.id), '--json')).capital_gain).toBe(SEED_RECORD.capital_gain);

    const listed = json(await mlctl('db', 'users', 'list', '--where', 'hours_per_week>40', '--where', 'workclass=null', '--json'));
    expect(listed.users.map((u: { id: number }) => u.id)).toEqual([user.id]);

    expect((await mlctl('db', 'users', 'delete', String(user.id))).code).toBe(0);
    const missing = await mlctl('db', 'users', 'get', String(user.id), '--json');
    expect(missing.code).toBe(3);
    expect(json(missing).error.code).toBe('USER_NOT_FOUND');
    expect((await mlctl('db', 'users', 'delete', String(user.id))).code).toBe(3);
  });

  it('populates all 48,842 Adult rows, then backs up and restores', async () => {
    expect((await mlctl('db', 'migrate')).code).toBe(0);
    const populated = await mlctl('db', 'populate', '--json');
    expect(populated.code).toBe(0);
    expect(json(populated)).toMatchObject({ inserted: 48_842, skipped: 0 });
    expect(query<{ n: number }>('select count(*) as n from users')[0]?.n).toBe(48_842);

    const backup = await mlctl('db', 'backup', 'copy.db', '--json');
    expect(backup.code).toBe(0);
    expect(json(backup).path).toBe(join(workspace.dir, 'copy.db'));
    expect((await mlctl('db', 'users', 'delete', '1')).code).toBe(0);

    writeFileSync(join(workspace.dir, 'junk.db'), 'definitely not sqlite, but long enough to read a header');
    expect((await mlctl('db', 'restore', 'junk.db')).code).toBe(2);
    expect((await mlctl('db', 'users', 'get', '1')).code).toBe(3);

    const restored = await mlctl('db', 'restore', 'copy.db', '--json');
    expect(restored.code).toBe(0);
    expect(json(restored).backup.path).toMatch(/before-restore\.db$/);
    expect(query<{ n: number }>('select count(*) as n from users')[0]?.n).toBe(48_842);
  });

  it('db new scaffolds a numbered migration in the source tree given by --root', async () => {
    const root = join(workspace.dir, 'checkout');
    const migrations = join(root, 'src', 'core', 'db', 'migrations');
    mkdirSync(migrations, { recursive: true });
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'mlctl' }));
    const index = readFileSync(new URL('../../src/core/db/migrations/index.ts', import.meta.url), 'utf8');
    writeFileSync(join(migrations, 'index.ts'), index);
    for (const m of MIGRATIONS) writeFileSync(join(migrations, `${m.name}.ts`), '');

    const created = await mlctl('db', 'new', 'Add user email', '--root', root, '--json');
    expect(created.code).toBe(0);
    const number = String(MIGRATIONS.length + 1).padStart(4, '0');
    expect(json(created).name).toBe(`${number}_add_user_email`);
    expect(readFileSync(join(migrations, `${number}_add_user_email.ts`), 'utf8')).toContain('export async function down');
    const updated = readFileSync(join(migrations, 'index.ts'), 'utf8');
    expect(updated).toContain(`import * as m${number} from './${number}_add_user_email.js';`);
    expect(updated).toContain(`defineMigration('${number}_add_user_email', m${number}),`);

    expect((await mlctl('db', 'new', 'x', '--root', workspace.dir)).code).toBe(2);
  });
});
