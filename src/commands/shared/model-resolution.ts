import { join } from 'node:path';
import type { CliContext } from '../../ui/context.js';
import type { ResolvedModel } from '../../core/tracking/model-reference.js';
import { openTracking } from './tracking.js';

/**
 * Resolves any model reference (DESIGN.md: run id, runs:/id, name@alias, name/3, models:/…,
 * a bundle path, s3://bucket/prefix) to a local bundle directory, through the tracking store
 * the configuration names (a run's or a version's bundle is fetched from its artifact store
 * and verified). A bundle at a remote location is downloaded into <dataDir>/cache/models/
 * through the artifact-store seam; the AWS SDK is imported only then.
 */
export async function resolveModel(ref: string, context: CliContext): Promise<ResolvedModel> {
  const { resolveModelReference } = await import('../../core/tracking/model-reference.js');
  return resolveModelReference(ref, {
    cwd: context.config.cwd,
    tracking: () => openTracking(context),
    fetchRemote: async (uri) => {
      const [{ openArtifactStore }, { downloadFolder }, { createHash }] = await Promise.all([
        import('../../core/storage/open-artifact-store.js'),
        import('../../core/storage/sync.js'),
        import('node:crypto'),
      ]);
      const dir = join(context.config.dataDir, 'cache', 'models', createHash('sha256').update(uri).digest('hex').slice(0, 16));
      await downloadFolder(await openArtifactStore(uri, { cwd: context.config.cwd, aws: context.config.aws }), dir, { signal: context.signal });
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
