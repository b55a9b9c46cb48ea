import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The few members of s3rver (CommonJS, untyped) this helper uses. */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

/** A real S3 server (s3rver) on 127.0.0.1 and an ephemeral port, storing into a temp dir. */
export interface TestS3Server {
  /** http://127.0.0.1:<port>, for AWS_ENDPOINT_URL or `config.aws.endpointUrl`. */
  readonly endpoint: string;
  readonly port: number;
  /** Where s3rver keeps buckets and objects. */
  readonly directory: string;
  /** The `Config['aws']` a test passes to `createS3Client`. */
  readonly aws: Readonly<{ endpointUrl: string; region: string; accessKeyId: string; secretAccessKey: string }>;
  /** Environment variables for a spawned `bin/mlctl` (merge over process.env). */
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

export interface StartS3ServerOptions {
  /** Buckets created before the server accepts requests. */
  readonly buckets?: readonly string[];
}

/**
 * Starts s3rver for a test file (call in `beforeAll`, stop in `afterAll`). s3rver accepts
 * only the access key "S3RVER" (`aws` and `env` carry it), so a wrong key exercises the
 * refused-credentials path. Keep listings under 1,000 keys per prefix: s3rver encrypts
 * continuation tokens with DES, which Node's OpenSSL 3 lacks without --openssl-legacy-provider.
 */
export async function startS3Server(options: StartS3ServerOptions = {}): Promise<TestS3Server> {
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;
  const directory = await mkdtemp(join(tmpdir(), 'mlctl-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const aws = { endpointUrl: endpoint, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  return {
    endpoint,
    port: address.port,
    directory,
    aws,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: aws.region,
      AWS_ACCESS_KEY_ID: aws.accessKeyId,
      AWS_SECRET_ACCESS_KEY: aws.secretAccessKey,
    },
    async stop() {
      // The SDK keeps sockets alive; close them or close() waits for their idle timeout.
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
