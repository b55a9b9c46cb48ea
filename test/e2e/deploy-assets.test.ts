import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT, createWorkspace, runCli } from '../helpers/cli.js';

/**
 * deploy/compose.yaml and deploy/k8s/ cannot run here (no container engine): these tests read
 * them and check what would break first: a path that does not exist, an mlctl command or flag
 * that does not exist, probes on the wrong routes, a Secret or ConfigMap that is not there.
 */
const DEPLOY = join(REPO_ROOT, 'deploy');

interface ComposeService {
  build?: { context: string; dockerfile?: string };
  image?: string;
  command?: string[] | string;
  entrypoint?: string[];
  volumes?: (string | { type: string; source: string })[];
  secrets?: string[];
  profiles?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }> | string[];
}
interface Compose {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file?: string; environment?: string }>;
  volumes?: Record<string, unknown>;
}

const compose = parse(readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8'), { merge: true }) as Compose;
const ws = createWorkspace('mlctl-deploy-assets-');
afterAll(() => ws.cleanup());

const helpCache = new Map<string, string | null>();
/** The --help text of an mlctl command path, or null when there is no such command. */
async function help(path: readonly string[]): Promise<string | null> {
  const key = path.join(' ');
  if (!helpCache.has(key)) {
    const r = await runCli([...path, '--help'], { cwd: ws.dir, env: ws.env });
    helpCache.set(key, r.code === 0 ? r.stdout : null);
  }
  return helpCache.get(key) ?? null;
}

/** Checks one mlctl invocation: its command path exists and each --flag is one of its options. */
async function expectValidInvocation(words: readonly string[], where: string): Promise<void> {
  const path: string[] = [];
  let i = 0;
  while (i < words.length && !words[i]!.startsWith('-')) {
    const text = await help(path);
    const commands = text?.split(/^Commands:$/m)[1] ?? '';
    if (!new RegExp(`^\\s+${words[i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'm').test(commands)) break;
    path.push(words[i]!);
    i += 1;
  }
  expect(path.length, `${where}: "mlctl ${words.join(' ')}" names no command`).toBeGreaterThan(0);
  // A command's own options, and the global ones (--json, --quiet…) of `mlctl --help`.
  const text = `${(await help(path)) ?? ''}\n${(await help([])) ?? ''}`;
  for (const flag of words.slice(i).filter((w) => w.startsWith('--'))) {
    expect(text, `${where}: mlctl ${path.join(' ')} has no ${flag}`).toContain(flag.split('=')[0]!);
  }
}

/** Every `mlctl …` (or `node /app/bin/mlctl …`) in a shell command line, as words up to a shell operator. */
function invocationsIn(script: string): string[][] {
  return [...script.matchAll(/(?:^|[\s;&|(])(?:node \/app\/bin\/)?mlctl\s+([^|;&>)]*)/g)].map((m) => (m[1] ?? '').match(/"[^"]*"|'[^']*'|\S+/g) ?? []);
}

describe('deploy/compose.yaml', () => {
  it('runs PostgreSQL, MinIO, two serve replicas behind a proxy, Prometheus and Grafana', () => {
    const images = Object.fromEntries(Object.entries(compose.services).map(([name, s]) => [name, s.image ?? '']));
    expect(images.postgres).toMatch(/^postgres:/);
    expect(images.minio).toMatch(/^minio\/minio/);
    expect(images.proxy).toMatch(/^nginx:/);
    expect(images.prometheus).toMatch(/^prom\/prometheus/);
    expect(images.grafana).toMatch(/^grafana\/grafana/);
    for (const replica of ['serve-1', 'serve-2']) {
      const service = compose.services[replica]!;
      expect(service.command).toEqual(expect.arrayContaining(['serve', '--host', '0.0.0.0']));
      expect(service.environment).toMatchObject({ MLCTL_TRACKING_URI: expect.stringMatching(/^postgresql:\/\/.*@postgres:5432\//), MLCTL_ARTIFACT_URI: expect.stringMatching(/^s3:\/\//) });
    }
    expect(readFileSync(join(DEPLOY, 'nginx.conf'), 'utf8')).toMatch(/server serve-1:8500[\s\S]*server serve-2:8500/);
    const scrape = parse(readFileSync(join(DEPLOY, 'prometheus.yml'), 'utf8')) as { scrape_configs: { static_configs: { targets: string[] }[]; authorization?: { credentials_file: string } }[] };
    expect(scrape.scrape_configs[0]!.static_configs[0]!.targets).toEqual(['serve-1:8500', 'serve-2:8500']);
    expect(compose.services.prometheus!.secrets).toContain(scrape.scrape_configs[0]!.authorization!.credentials_file.split('/').at(-1));
  });

  it('declares every named volume and secret it uses, and mounts the dashboards the Grafana provider reads', () => {
    // That every path it names exists is checked with the Dockerfile's (test/e2e/docker-build.test.ts).
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0]! : volume.source;
        if (!/^[./]/.test(source)) expect(compose.volumes, `${name}: volume ${source} is not declared`).toHaveProperty(source);
      }
      for (const secret of service.secrets ?? []) expect(compose.secrets, `${name}: secret ${secret} is not declared`).toHaveProperty(secret);
    }
    const provider = parse(readFileSync(join(REPO_ROOT, 'monitoring/grafana/provisioning/dashboards/mlctl.yml'), 'utf8')) as { providers: { options: { path: string } }[] };
    const mounts = (compose.services.grafana!.volumes ?? []).map((v) => String(v));
    expect(mounts.some((m) => m.endsWith(`:${provider.providers[0]!.options.path}:ro`))).toBe(true);
  });

  it('runs only mlctl commands and flags that exist', async () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.image !== 'mlctl:local' || service.command === undefined) continue;
      const commands = typeof service.command === 'string' ? [service.command] : service.command;
      if (service.entrypoint?.[0] === 'sh') {
        for (const line of commands) for (const words of invocationsIn(line)) await expectValidInvocation(words, name);
      } else {
        await expectValidInvocation(commands, name);
      }
    }
  }, 120_000);
});

describe('deploy/k8s/', () => {
  const K8S = join(DEPLOY, 'k8s');
  const kustomization = parse(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  const documents = kustomization.resources.flatMap((file) =>
    existsSync(join(K8S, file)) ? parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((d) => d.toJSON() as Record<string, any>) : [],
  );
  const ofKind = (kind: string) => documents.filter((d) => d.kind === kind);

  it('lists only files that exist', () => {
    expect(kustomization.resources.filter((file) => !existsSync(join(K8S, file)))).toEqual([]);
    expect(dirname(K8S)).toBe(DEPLOY);
  });

  it('holds a Deployment probed on /readyz and /livez, fed by a Secret with the API token', async () => {
    const [deployment] = ofKind('Deployment');
    const container = deployment!.spec.template.spec.containers[0];
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/livez');
    expect(deployment!.spec.replicas).toBeGreaterThanOrEqual(2);
    const secrets = new Map(ofKind('Secret').map((s) => [s.metadata.name, s]));
    const configMaps = new Map(ofKind('ConfigMap').map((c) => [c.metadata.name, c]));
    for (const source of container.envFrom) {
      if (source.secretRef !== undefined) expect(secrets.has(source.secretRef.name), `Secret ${source.secretRef.name}`).toBe(true);
      if (source.configMapRef !== undefined) expect(configMaps.has(source.configMapRef.name), `ConfigMap ${source.configMapRef.name}`).toBe(true);
    }
    const secret = secrets.get(container.envFrom.find((s: any) => s.secretRef !== undefined).secretRef.name);
    expect(Object.keys(secret!.stringData)).toEqual(expect.arrayContaining(['MLCTL_API_TOKEN', 'MLCTL_TRACKING_URI']));
    // $(MLCTL_MODEL) is expanded by Kubernetes from the ConfigMap.
    expect(Object.keys(configMaps.get('mlctl')!.data)).toEqual(expect.arrayContaining(['MLCTL_MODEL', 'MLCTL_ARTIFACT_URI']));
    await expectValidInvocation(container.args, 'Deployment');
    const [job] = ofKind('Job');
    await expectValidInvocation(job!.spec.template.spec.containers[0].args, 'Job');
    const [service] = ofKind('Service');
    expect(service!.spec.selector).toEqual(deployment!.spec.selector.matchLabels);
  }, 60_000);
});
