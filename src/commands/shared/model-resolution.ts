import { join } from 'node:path';
import type { CliContext } from '../../ui/context.js';
import type { ResolvedModel } from '../../core/tracking/model-reference.js';

/**
 * Resolves any model reference (DESIGN.md: run id, runs:/id, name@alias, name/3, models:/…,
 * a bundle path, s3://bucket/prefix) to a local bundle directory. S3 bundles are downloaded
 * into <dataDir>/cache/models/; the AWS SDK is imported only for them.
 */
export async function resolveModel(ref: string, context: CliContext): Promise<ResolvedModel> {
  const { resolveModelReference } = await import('../../core/tracking/model-reference.js');
  return resolveModelReference(ref, {
    runsDir: context.config.runsDir,
    cwd: context.config.cwd,
    fetchRemote: async (uri) => {
      const [{ createS3Client }, { downloadS3Prefix }, { createHash }] = await Promise.all([
        import('../../core/storage/s3-client.js'),
        import('../../core/storage/sync.js'),
        import('node:crypto'),
      ]);
      const dir = join(context.config.dataDir, 'cache', 'models', createHash('sha256').update(uri).digest('hex').slice(0, 16));
      await downloadS3Prefix(createS3Client(context.config.aws), uri, dir, { signal: context.signal });
      return dir;
    },
  });
}

/** Collects unseen-category events into one warning per column and value. */
export function createUnseenReporter(warn: (message: string) => void): {
  onUnseen: (event: { column: string; value: string; row: number }) => void;
  flush: (policyOf: (column: string) => string | undefined) => void;
} {
  const seen = new Map<string, { column: string; value: string; rows: number[] }>();
  return {
    onUnseen(event) {
      const key = `${event.column}\u0000${event.value}`;
      const entry = seen.get(key) ?? { column: event.column, value: event.value, rows: [] };
      entry.rows.push(event.row + 1);
      seen.set(key, entry);
    },
    flush(policyOf) {
      for (const { column, value, rows } of seen.values()) {
        const where = rows.length <= 5 ? `record${rows.length === 1 ? '' : 's'} ${rows.join(', ')}` : `${rows.length} records`;
        const policy = policyOf(column) ?? 'ignore';
        const effect = policy === 'most-frequent' ? 'encoded as the most frequent training category' : 'encoded as all zeros';
        warn(`${where}: ${column} "${value}" was not seen in training; ${effect} (unseen-category policy "${policy}")`);
      }
    },
  };
}
