import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers/cli.js';

/**
 * There is no container engine here, so the Dockerfile's build stage is replayed: exactly the
 * files its COPY lines copy (minus what .dockerignore drops) are staged into a temporary /app,
 * and its build runs there. `npm ci` itself takes minutes (it compiles better-sqlite3), too
 * slow for every test run, so the stage gets the checkout's node_modules (a symlink) and runs
 * what `npm ci` runs after installing: `prepare`. What the runtime stage copies from the build
 * stage must then exist, and the staged CLI must run. `npm prune` is not replayed: it would
 * prune the checkout's node_modules through the link.
 */

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

function instructionsOf(text: string): Instruction[] {
  return text
    .replace(/\\\r?\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** .dockerignore as a predicate on context-relative paths (`**`, `*`, `?`, `!` exceptions; last match wins). */
function dockerIgnore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = posix.normalize(line.slice(negate ? 1 : 0)).replace(/^\/+|\/+$/g, '');
      const source = pattern
        .split('/')
        .map((part) => (part === '**' ? '.*' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?');
      // A pattern that names a folder excludes everything under it.
      return { negate, regex: new RegExp(`^${source}(?:/.*)?$`) };
    });
  return (path) => {
    let ignored = false;
    for (const rule of rules) if (rule.regex.test(path)) ignored = !rule.negate;
    return ignored;
  };
}

/** Copies `source` (a file or folder of the context) to `target`, skipping ignored paths. */
function stage(source: string, target: string, ignored: (path: string) => boolean, copied: string[]): void {
  const rel = relative(REPO_ROOT, source).split('\\').join('/');
  if (ignored(rel)) return;
  if (statSync(source).isDirectory()) {
    mkdirSync(target, { recursive: true });
    for (const name of readdirSync(source)) stage(join(source, name), join(target, name), ignored, copied);
    return;
  }
  mkdirSync(dirname(target), { recursive: true });
  cpSync(source, target);
  copied.push(rel);
}

const dockerfile = instructionsOf(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const stageStarts = dockerfile.flatMap((instruction, i) => (instruction.keyword === 'FROM' ? [i] : []));
const buildStage = dockerfile.slice(stageStarts[0], stageStarts[1]);
const runtimeStage = dockerfile.slice(stageStarts[1]);
const work = mkdtempSync(join(tmpdir(), 'mlctl-docker-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the Dockerfile build stage, replayed', () => {
  it('copies what `npm ci` needs to build, builds, and leaves what the runtime stage copies', () => {
    const workdir = buildStage.find((i) => i.keyword === 'WORKDIR')?.args ?? '/';
    const app = join(work, workdir);
    const ignored = dockerIgnore(readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8'));
    const copied: string[] = [];
    const copies = buildStage.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const words = copy.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const destination = words.pop()!;
      for (const source of words) {
        expect(existsSync(join(REPO_ROOT, source)), `COPY ${source}: not in the build context`).toBe(true);
        const target = destination.endsWith('/') || words.length > 1 ? join(app, destination, posix.basename(source)) : join(app, destination);
        stage(join(REPO_ROOT, source), target, ignored, copied);
      }
    }
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'scripts/bundle.mjs', 'src/cli.ts', 'bin/mlctl']));
    expect(copied.some((path) => path.startsWith('test/'))).toBe(false);

    // `npm ci` installs, then runs `prepare`.
    const install = buildStage.find((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    expect(install, 'the build stage runs npm ci').toBeDefined();
    const prepare = (JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.prepare;
    expect(prepare).toBeDefined();
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(app, 'node_modules'));
    const env = { ...process.env, CI: 'true', NO_COLOR: '1', npm_config_update_notifier: 'false' };
    const built = spawnSync('npm', ['run', 'prepare'], { cwd: app, env, encoding: 'utf8' });
    expect(built.status, `npm run prepare in the staged build:\n${built.stdout}\n${built.stderr}`).toBe(0);

    for (const copy of runtimeStage.filter((i) => i.keyword === 'COPY' && i.args.includes('--from='))) {
      const [source] = copy.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      expect(existsSync(join(work, source!)), `the runtime stage copies ${source}, which the build did not leave`).toBe(true);
    }
    const help = spawnSync(process.execPath, [join(app, 'bin', 'mlctl'), '--version'], { cwd: work, env, encoding: 'utf8' });
    expect([help.status, help.stderr]).toEqual([0, '']);
    expect(help.stdout.trim()).toBe((JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  }, 300_000);

  it('reads .dockerignore as Docker does, closely enough to stage', () => {
    const ignored = dockerIgnore('**/.DS_Store\n*.log\n.env.*\n!.env.example\nnode_modules\n');
    expect(['src/a/.DS_Store', 'x.log', '.env.local', 'node_modules/a/b.js'].map(ignored)).toEqual([true, true, true, true]);
    expect(['.env.example', 'src/x.log', 'src/cli.ts'].map(ignored)).toEqual([false, false, false]);
  });
});

/** Local paths a compose file refers to: build contexts, Dockerfiles, bind mounts, env files, configs and secrets. */
function composePaths(doc: { services?: Record<string, Record<string, unknown>>; configs?: Record<string, { file?: string }>; secrets?: Record<string, { file?: string }> }): string[] {
  const paths: string[] = [];
  const local = (p: unknown): void => {
    if (typeof p === 'string' && /^(\.{1,2}\/|\/|\.$)/.test(p)) paths.push(p);
  };
  for (const service of Object.values(doc.services ?? {})) {
    const build = service.build;
    if (typeof build === 'string') local(build);
    else if (typeof build === 'object' && build !== null) {
      const { context = '.', dockerfile } = build as { context?: string; dockerfile?: string };
      local(context);
      if (dockerfile !== undefined) paths.push(posix.join(context, dockerfile));
    }
    for (const volume of (service.volumes as unknown[] | undefined) ?? []) local(typeof volume === 'string' ? volume.split(':')[0] : (volume as { source?: string }).source);
    // env_file entries are always paths, relative to the compose file.
    for (const file of ([] as unknown[]).concat(service.env_file ?? [])) {
      const path = typeof file === 'string' ? file : (file as { path?: string }).path;
      if (path !== undefined) local(/^(\.{1,2})?\//.test(path) ? path : `./${path}`);
    }
  }
  for (const entry of [...Object.values(doc.configs ?? {}), ...Object.values(doc.secrets ?? {})]) local(entry.file);
  return paths;
}

describe('docker-compose.yml', () => {
  it('refers only to paths that exist', () => {
    const doc = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as Parameters<typeof composePaths>[0];
    expect(Object.keys(doc.services ?? {})).toContain('localstack');
    const missing = composePaths(doc).filter((path) => !existsSync(join(REPO_ROOT, path)));
    expect(missing).toEqual([]);
  });

  it('deploy/compose.yaml (the team stack) refers only to paths that exist, and so does deploy/k8s/', () => {
    // Merge keys (<<: *mlctl) are expanded first: the replicas inherit their build from the anchor.
    const doc = parse(readFileSync(join(REPO_ROOT, 'deploy', 'compose.yaml'), 'utf8'), { merge: true }) as Parameters<typeof composePaths>[0];
    expect(Object.keys(doc.services ?? {})).toEqual(expect.arrayContaining(['postgres', 'minio', 'serve-1', 'serve-2', 'proxy', 'prometheus', 'grafana']));
    const paths = composePaths(doc);
    expect(paths).toEqual(expect.arrayContaining(['../Dockerfile', './nginx.conf', './prometheus.yml', '../monitoring/grafana/dashboards']));
    expect(paths.filter((path) => !existsSync(join(REPO_ROOT, 'deploy', path)))).toEqual([]);
    const kustomization = parse(readFileSync(join(REPO_ROOT, 'deploy', 'k8s', 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect(kustomization.resources.filter((file) => !existsSync(join(REPO_ROOT, 'deploy', 'k8s', file)))).toEqual([]);
  });

  it('the path check finds the paths a compose file can name', () => {
    const doc = parse(`
services:
  app:
    build: { context: ., dockerfile: Dockerfile.nope }
    volumes: ["./runs:/data/runs", "named:/x", { type: bind, source: ./monitoring }]
    env_file: .env.missing
configs:
  prometheus: { file: ./monitoring/prometheus.yml }
`) as Parameters<typeof composePaths>[0];
    const paths = composePaths(doc);
    expect(paths).toEqual(['.', 'Dockerfile.nope', './runs', './monitoring', './.env.missing', './monitoring/prometheus.yml']);
    expect(paths.filter((path) => !existsSync(join(REPO_ROOT, path)))).toEqual(['Dockerfile.nope', './.env.missing']);
  });
});
