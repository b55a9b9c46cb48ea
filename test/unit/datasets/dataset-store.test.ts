import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DatasetSpec } from '../../../src/core/datasets/dataset-spec.js';
import {
  datasetStatus,
  ensureDataset,
  pullDataset,
  type DatasetProgressEvent,
} from '../../../src/core/datasets/dataset-store.js';
import { getDatasetSpec } from '../../../src/core/datasets/dataset-registry.js';
import { ExternalError, GateError, MlctlError, NotFoundError, UsageError } from '../../../src/core/errors.js';

const sha = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

// Big enough to arrive in several chunks, so progress and a mid-body drop are real.
const TRAIN = `${Array.from({ length: 20_000 }, (_, i) => `${i},${i % 7 === 0 ? '?' : 'a'},${i % 2}`).join('\n')}\n\n`;
const DOC = 'a tiny dataset\n';

function tinySpec(baseUrl: string): DatasetSpec {
  return {
    name: 'tiny',
    description: 'test dataset',
    files: [
      { name: 'tiny.csv', role: 'train', url: `${baseUrl}/tiny.csv`, sha256: sha(TRAIN) },
      { name: 'tiny.names', role: 'doc', url: `${baseUrl}/tiny.names`, sha256: sha(DOC) },
    ],
    dialect: { header: false, delimiter: ',', trim: true, missing: ['?'], skipLines: 0 },
    columns: [
      { name: 'x', type: 'number' },
      { name: 'c', type: 'string' },
      { name: 'y', type: 'string' },
    ],
  };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let server: Server;
let handler: Handler;
let baseUrl: string;
let requests: string[];
let work: string;
let dataDir: string;

const serveFiles =
  (files: Record<string, string>): Handler =>
  (req, res) => {
    const body = files[(req.url ?? '').slice(1)];
    if (body === undefined) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
  };

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(async () => {
  requests = [];
  handler = serveFiles({ 'tiny.csv': TRAIN, 'tiny.names': DOC });
  work = await mkdtemp(join(tmpdir(), 'mlctl-store-'));
  dataDir = join(work, 'data');
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

async function rawFiles(): Promise<string[]> {
  return readdir(join(dataDir, 'raw', 'tiny')).catch(() => []);
}

describe('pullDataset over http', () => {
  it('downloads, verifies and reports progress with the content length', async () => {
    const events: DatasetProgressEvent[] = [];
    const result = await pullDataset(tinySpec(baseUrl), { dataDir, onProgress: (e) => events.push(e) });
    expect(result.files.map((f) => [f.name, f.action, f.bytes])).toEqual([
      ['tiny.csv', 'downloaded', Buffer.byteLength(TRAIN)],
      ['tiny.names', 'downloaded', DOC.length],
    ]);
    expect(await readFile(join(dataDir, 'raw', 'tiny', 'tiny.csv'), 'utf8')).toBe(TRAIN);
    expect((await rawFiles()).sort()).toEqual(['tiny.csv', 'tiny.names']);
    const trainEvents = events.filter((e) => e.file === 'tiny.csv');
    expect(trainEvents.every((e) => e.totalBytes === Buffer.byteLength(TRAIN))).toBe(true);
    expect(trainEvents.at(-1)).toMatchObject({ done: true, bytes: Buffer.byteLength(TRAIN) });
    const bytes = trainEvents.map((e) => e.bytes);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
    expect(new Set(bytes).size).toBeGreaterThan(2);
  });

  it('skips files already present and verified, and fetches again with force', async () => {
    await pullDataset(tinySpec(baseUrl), { dataDir });
    requests = [];
    const again = await pullDataset(tinySpec(baseUrl), { dataDir });
    expect(again.files.map((f) => f.action)).toEqual(['already-present', 'already-present']);
    expect(requests).toEqual([]);
    const forced = await pullDataset(tinySpec(baseUrl), { dataDir, force: true });
    expect(forced.files.map((f) => f.action)).toEqual(['downloaded', 'downloaded']);
    expect(requests).toHaveLength(2);
  });

  it('refuses a body whose SHA-256 differs, naming the file and both hashes, and keeps nothing', async () => {
    const tampered = TRAIN.replace('1,a,1', '1,b,1');
    handler = serveFiles({ 'tiny.csv': tampered, 'tiny.names': DOC });
    const error = (await errorOf(pullDataset(tinySpec(baseUrl), { dataDir }))) as GateError;
    expect(error).toBeInstanceOf(GateError);
    expect(error.code).toBe('DATASET_CHECKSUM_MISMATCH');
    expect(error.message).toContain('tiny.csv');
    expect(error.message).toContain(sha(TRAIN));
    expect(error.message).toContain(sha(tampered));
    expect(await rawFiles()).toEqual([]);
  });

  it('turns a connection dropped mid-body into an external error and keeps nothing', async () => {
    // The connection drops once the client has taken in some of the body (not after a fixed
    // delay, which a loaded machine can outrun).
    let received!: () => void;
    const someBytes = new Promise<void>((resolve) => (received = resolve));
    handler = (req, res) => {
      res.writeHead(200, { 'content-length': Buffer.byteLength(TRAIN) });
      res.write(TRAIN.slice(0, 50_000));
      void someBytes.then(() => req.socket.destroy());
    };
    const events: DatasetProgressEvent[] = [];
    const onProgress = (e: DatasetProgressEvent): void => {
      events.push(e);
      if (e.bytes > 0) received();
    };
    const error = (await errorOf(pullDataset(tinySpec(baseUrl), { dataDir, onProgress }))) as ExternalError;
    expect(error).toBeInstanceOf(ExternalError);
    expect(error.code).toBe('DATASET_DOWNLOAD_FAILED');
    expect(error.message).toContain(`${baseUrl}/tiny.csv`);
    expect(events.some((e) => e.bytes > 0 && !e.done)).toBe(true);
    expect(await rawFiles()).toEqual([]);
  });

  it('stops on abort and removes the partial file', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': Buffer.byteLength(TRAIN) });
      res.write(TRAIN.slice(0, 50_000)); // then stall until the client gives up
    };
    const controller = new AbortController();
    const onProgress = (e: DatasetProgressEvent): void => {
      if (e.bytes > 0) controller.abort(new Error('received SIGINT'));
    };
    const error = (await errorOf(pullDataset(tinySpec(baseUrl), { dataDir, signal: controller.signal, onProgress }))) as Error;
    expect(error).not.toBeInstanceOf(MlctlError);
    expect(await rawFiles()).toEqual([]);
  });

  it('removes temporary files left by a killed pull, but not those of a live one', async () => {
    const dir = join(dataDir, 'raw', 'tiny');
    await mkdir(dir, { recursive: true });
    // pid 2^22+1 is above Linux's pid_max ceiling, so no process has it.
    const dead = '.tiny.csv.4194305.0badc0de.tmp';
    const live = `.tiny.csv.${process.pid}.0badc0de.tmp`;
    await writeFile(join(dir, dead), 'partial');
    await writeFile(join(dir, live), 'partial');
    await pullDataset(tinySpec(baseUrl), { dataDir });
    expect((await rawFiles()).sort()).toEqual([live, 'tiny.csv', 'tiny.names'].sort());
  });

  it('reports a 404 as not found and other statuses as external errors', async () => {
    handler = serveFiles({});
    expect(await errorOf(pullDataset(tinySpec(baseUrl), { dataDir }))).toBeInstanceOf(NotFoundError);
    handler = (_req, res) => res.writeHead(503).end('busy');
    const error = (await errorOf(pullDataset(tinySpec(baseUrl), { dataDir }))) as ExternalError;
    expect(error).toBeInstanceOf(ExternalError);
    expect(error.message).toContain('HTTP 503');
  });

  it('reports an unreachable host as an external error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = (await errorOf(pullDataset(tinySpec(`http://127.0.0.1:${port}`), { dataDir }))) as ExternalError;
    expect(error).toBeInstanceOf(ExternalError);
    expect(error.hint).toContain('--from');
  });
});

describe('pullDataset from a mirror', () => {
  let mirror: string;
  beforeEach(async () => {
    mirror = join(work, 'mirror');
    await mkdir(join(mirror, 'tiny'), { recursive: true });
    await writeFile(join(mirror, 'tiny', 'tiny.csv'), TRAIN);
    await writeFile(join(mirror, 'tiny', 'tiny.names'), DOC);
  });

  it('prefers the mirror over the network', async () => {
    const result = await pullDataset(tinySpec(baseUrl), { dataDir, mirror });
    expect(result.files.map((f) => [f.action, f.source])).toEqual([
      ['copied', join(mirror, 'tiny', 'tiny.csv')],
      ['copied', join(mirror, 'tiny', 'tiny.names')],
    ]);
    expect(requests).toEqual([]);
  });

  it('falls back to the canonical url for a file the mirror lacks', async () => {
    await rm(join(mirror, 'tiny', 'tiny.names'));
    const result = await pullDataset(tinySpec(baseUrl), { dataDir, mirror });
    expect(result.files.map((f) => f.action)).toEqual(['copied', 'downloaded']);
    expect(requests).toEqual(['/tiny.names']);
  });

  it('says the mirror lacked the file when the network fallback fails', async () => {
    await rm(join(mirror, 'tiny', 'tiny.names'));
    handler = (_req, res) => res.writeHead(503).end('busy');
    const error = (await errorOf(pullDataset(tinySpec(baseUrl), { dataDir, mirror }))) as ExternalError;
    expect(error).toBeInstanceOf(ExternalError);
    expect(error.message).toContain(`the mirror ${mirror} has no tiny/tiny.names`);
    expect(await rawFiles()).toEqual(['tiny.csv']);
  });

  it('refuses a corrupted mirror copy and leaves nothing behind', async () => {
    await writeFile(join(mirror, 'tiny', 'tiny.csv'), TRAIN.slice(0, -10));
    const error = (await errorOf(pullDataset(tinySpec(baseUrl), { dataDir, mirror }))) as GateError;
    expect(error.code).toBe('DATASET_CHECKSUM_MISMATCH');
    expect(error.message).toContain(join(mirror, 'tiny', 'tiny.csv'));
    expect(await rawFiles()).toEqual([]);
    expect(requests).toEqual([]);
  });

  it('copies the real income files from the shared mirror', async () => {
    const result = await pullDataset(getDatasetSpec('income'), { dataDir, mirror: process.env.MLCTL_DATA_MIRROR as string });
    expect(result.files.map((f) => f.name)).toEqual(['adult.data', 'adult.test', 'adult.names']);
    const status = await datasetStatus(getDatasetSpec('income'), { dataDir });
    expect(status.ready).toBe(true);
    expect(status.files.map((f) => f.rows)).toEqual([32_561, 16_281, null]);
  });
});

describe('ensureDataset and datasetStatus', () => {
  it('pulls what is missing and returns the files by role', async () => {
    const local = await ensureDataset(tinySpec(baseUrl), { dataDir });
    expect(local.file('train')?.path).toBe(join(dataDir, 'raw', 'tiny', 'tiny.csv'));
    expect(local.file('train')?.sha256).toBe(sha(TRAIN));
    expect(local.file('test')).toBeUndefined();
  });

  it('refuses a present file that was changed, naming it and both hashes, and leaves it as it was', async () => {
    await ensureDataset(tinySpec(baseUrl), { dataDir });
    const path = join(dataDir, 'raw', 'tiny', 'tiny.csv');
    const edited = `${TRAIN}9,z,1\n`;
    await writeFile(path, edited);
    const error = (await errorOf(ensureDataset(tinySpec(baseUrl), { dataDir }))) as GateError;
    expect(error).toBeInstanceOf(GateError);
    expect(error.code).toBe('DATASET_CHECKSUM_MISMATCH');
    expect(error.message).toContain(path);
    expect(error.message).toContain(sha(TRAIN));
    expect(error.message).toContain(sha(edited));
    expect(error.hint).toContain('--force');
    expect(await readFile(path, 'utf8')).toBe(edited);

    const status = await datasetStatus(tinySpec(baseUrl), { dataDir });
    expect(status.ready).toBe(false);
    expect(status.files[0]).toMatchObject({ present: true, verified: false, sha256: sha(edited), rows: 20_001 });
  });

  it('describes an empty data dir as nothing present', async () => {
    const status = await datasetStatus(tinySpec(baseUrl), { dataDir });
    expect(status).toMatchObject({ ready: false, rows: null });
    expect(status.files.map((f) => f.present)).toEqual([false, false]);
  });

  it('counts data rows without blank lines', async () => {
    await ensureDataset(tinySpec(baseUrl), { dataDir });
    const status = await datasetStatus(tinySpec(baseUrl), { dataDir });
    expect(status).toMatchObject({ ready: true, rows: 20_000 });
  });
});

describe('s3 sources', () => {
  it('need an opener from the storage layer', async () => {
    const spec = { ...tinySpec(baseUrl), files: [{ ...tinySpec(baseUrl).files[0]!, url: 's3://bucket/tiny.csv' }] };
    expect(await errorOf(pullDataset(spec, { dataDir }))).toBeInstanceOf(UsageError);
    const opened: string[] = [];
    const result = await pullDataset(spec, {
      dataDir,
      openRemote: async (url) => {
        opened.push(url);
        return (async function* () {
          yield Buffer.from(TRAIN);
        })();
      },
    });
    expect(opened).toEqual(['s3://bucket/tiny.csv']);
    expect(result.files[0]).toMatchObject({ action: 'downloaded', source: 's3://bucket/tiny.csv', sha256: sha(TRAIN) });
  });
});
