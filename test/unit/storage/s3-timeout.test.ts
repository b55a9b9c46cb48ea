import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMlctlError, type MlctlError } from '../../../src/core/errors.js';
import { listObjects } from '../../../src/core/storage/s3-browse.js';
import { createS3Client } from '../../../src/core/storage/s3-client.js';
import { S3ArtifactStore } from '../../../src/core/storage/s3-artifact-store.js';

/** A real TCP server that accepts every connection, reads what is sent, and never answers. */
let server: Server;
let endpoint: string;
let connections = 0;
const sockets = new Set<Socket>();

beforeAll(async () => {
  server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('data', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

const aws = (timeoutMs: number) => ({ endpointUrl: endpoint, region: 'us-east-1', accessKeyId: 'k', secretAccessKey: 's', timeoutMs });

async function failure(promise: Promise<unknown>): Promise<MlctlError> {
  try {
    await promise;
  } catch (error) {
    if (isMlctlError(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('S3 calls against an endpoint that accepts and never answers', () => {
  it('time out, are retried as the SDK does, and fail with exit 5 naming the endpoint', async () => {
    const client = createS3Client(aws(300));
    try {
      const before = connections;
      const error = await failure(listObjects(client, 's3://bucket/prefix/'));
      expect(error.code).toBe('S3_TIMEOUT');
      expect(error.category).toBe('external');
      expect(error.message).toBe(`S3 at ${endpoint} did not answer within 0.3 s while trying to list s3://bucket/prefix/ (3 attempts)`);
      expect(error.hint).toBe('check that AWS_ENDPOINT_URL is an S3 server that is up and answering; on a slow link, raise MLCTL_S3_TIMEOUT (now 0.3 s)');
      // Three attempts, each on a connection of its own (the timed-out one is dropped).
      expect(connections - before).toBe(3);
    } finally {
      client.destroy();
    }
  });

  it('bound uploads and downloads through the artifact store too', async () => {
    const client = createS3Client(aws(200));
    try {
      const store = new S3ArtifactStore({ client, bucket: 'bucket', prefix: 'p' });
      const body = async function* (): AsyncIterable<Uint8Array> {
        yield new TextEncoder().encode('hello');
      };
      const put = await failure(store.put('a.txt', body(), { size: 5, sha256: null }));
      expect(put.code).toBe('S3_TIMEOUT');
      expect(put.message).toContain(`S3 at ${endpoint} did not answer`);
      expect(put.message).toContain('upload s3://bucket/p/a.txt');
      expect((await failure(store.get('a.txt'))).code).toBe('S3_TIMEOUT');
      expect((await failure(store.list())).code).toBe('S3_TIMEOUT');
    } finally {
      client.destroy();
    }
  });
});
