import type { Command } from 'commander';
import { withExamples, type CliContext } from '../ui/context.js';
import { formatBytes, renderTable } from '../ui/table.js';

export interface StorageListOptions {
  /** s3://bucket/prefix; undefined lists the buckets. */
  readonly uri: string | undefined;
  readonly recursive: boolean;
  /** Read each object's x-amz-meta-sha256 (one HEAD per object). */
  readonly sha256: boolean;
}

export interface StorageMakeBucketOptions {
  readonly bucket: string;
}

export function registerStorageCommands(program: Command, context: CliContext): void {
  const storage = program
    .command('storage')
    .description('look at and prepare S3 storage (AWS, LocalStack, MinIO): buckets and objects');
  withExamples(storage, 'mlctl storage ls', 'mlctl storage ls s3://mlctl-models/housing/', 'mlctl storage mb mlctl-data');

  withExamples(
    storage
      .command('ls')
      .description('list buckets, or the objects under s3://bucket/prefix with size, modified time and SHA-256')
      .argument('[uri]', 's3://bucket/prefix (without it: the buckets)')
      .option('-r, --recursive', 'every object under the prefix, not only one level', false)
      .option('--no-sha256', 'skip reading each object’s SHA-256 metadata (one request per object)')
      .action(async (uri: string | undefined, flags: { recursive: boolean; sha256: boolean }, command: Command) => {
        await runList(context, command, { uri, recursive: flags.recursive, sha256: flags.sha256 });
      }),
    'mlctl storage ls',
    'mlctl storage ls s3://mlctl-data/',
    'mlctl storage ls s3://mlctl-models/housing/ --recursive --json',
  );

  withExamples(
    storage
      .command('mb')
      .description('make a bucket (in AWS_REGION); an existing bucket of yours is left as is')
      .argument('<bucket>', 'bucket name: 3-63 lowercase letters, digits, dots and hyphens')
      .action(async (bucket: string, _flags: unknown, command: Command) => {
        await runMakeBucket(context, command, { bucket: bucket.replace(/^s3:\/\//i, '').replace(/\/+$/, '') });
      }),
    'mlctl storage mb mlctl-data',
    'AWS_ENDPOINT_URL=http://localhost:4566 mlctl storage mb mlctl-models',
  );
}

async function runList(context: CliContext, command: Command, options: StorageListOptions): Promise<void> {
  const output = context.output(command);
  const [{ createS3Client }, { listBuckets, listObjects }] = await Promise.all([
    import('../core/storage/s3-client.js'),
    import('../core/storage/s3-browse.js'),
  ]);
  const client = createS3Client(context.config.aws);
  try {
    if (options.uri === undefined) {
      const buckets = await listBuckets(client, context.signal);
      const table = buckets.length === 0 ? 'no buckets (create one with: mlctl storage mb <bucket>)' : await renderTable({
        head: ['bucket', 'created'],
        rows: buckets.map((bucket) => [bucket.name, bucket.created ?? '']),
        color: output.color,
      });
      output.result({ buckets }, () => table);
      return;
    }
    const listing = await listObjects(client, options.uri, { recursive: options.recursive, sha256: options.sha256, signal: context.signal });
    const empty = listing.objects.length === 0 && listing.prefixes.length === 0;
    const table = empty
      ? `nothing under s3://${listing.bucket}/${listing.prefix}`
      : await renderTable({
          head: ['key', 'size', 'modified', 'sha256'],
          rows: [
            ...listing.prefixes.map((prefix) => [prefix, 'PRE', '', '']),
            ...listing.objects.map((object) => [object.key, formatBytes(object.size), object.modified, object.sha256 === null ? '' : `${object.sha256.slice(0, 12)}…`]),
          ],
          alignRight: [1],
          color: output.color,
        });
    output.result(listing, () => table);
  } finally {
    client.destroy();
  }
}

async function runMakeBucket(context: CliContext, command: Command, options: StorageMakeBucketOptions): Promise<void> {
  const output = context.output(command);
  const [{ createS3Client, DEFAULT_REGION }, { createBucket }] = await Promise.all([
    import('../core/storage/s3-client.js'),
    import('../core/storage/s3-browse.js'),
  ]);
  const client = createS3Client(context.config.aws);
  try {
    const result = await createBucket(client, options.bucket, context.config.aws.region ?? DEFAULT_REGION);
    output.result(result, () => (result.created ? `created bucket ${result.bucket}` : `bucket ${result.bucket} already exists`));
  } finally {
    client.destroy();
  }
}
