import { join } from 'node:path';
import type { Config } from '../../config.js';
import type { Database } from '../db/database.js';
import { openArtifactStore, type ArtifactStoreSettings } from '../storage/open-artifact-store.js';
import type { TrackingStore } from './tracking-store.js';

/** Where the tracking store and its artifacts are, as the configuration says (see config.ts). */
export interface TrackingSettings {
  /** MLCTL_TRACKING_URI: the runs folder (absolute) or a database URL (postgresql://…, sqlite:…). */
  readonly trackingUri: string;
  /** MLCTL_ARTIFACT_URI: a folder (absolute) or s3://bucket/prefix (database stores only). */
  readonly artifactUri: string;
  /** Relative paths in database URLs are taken from here. */
  readonly cwd: string;
  /** Caches live under `<dataDir>/cache/` (downloaded bundles, hash caches). */
  readonly dataDir: string;
  readonly aws: Config['aws'];
  /**
   * Database connections at most (default 1: a command's queries go one after another, and
   * opening a PostgreSQL connection costs more than running them side by side saves).
   * `tracking import` asks for more.
   */
  readonly connections?: number;
}

/** One backend: which URIs it takes and how it opens. A new backend is one file and one line here. */
interface TrackingBackend {
  readonly name: string;
  matches(uri: string): boolean;
  open(settings: TrackingSettings): Promise<TrackingStore>;
}

/** postgres://, postgresql:// and sqlite: URLs (core/db/db-url.ts parses them). */
export function isDatabaseUri(uri: string): boolean {
  return /^(postgres(ql)?:\/\/|sqlite:)/i.test(uri.trim());
}

const BACKENDS: readonly TrackingBackend[] = [
  {
    name: 'database',
    matches: isDatabaseUri,
    async open(settings) {
      const [{ createSqlTrackingStore }, database] = await Promise.all([import('./sql/sql-tracking-store.js'), openTrackingDatabase(settings)]);
      const artifactSettings = artifactStoreSettings(settings);
      const artifacts = await openArtifactStore(settings.artifactUri, artifactSettings).catch(async (error: unknown) => {
        await database.close();
        throw error;
      });
      return createSqlTrackingStore({
        database,
        artifacts,
        openArtifacts: (uri) => openArtifactStore(uri, artifactSettings),
        cacheDir: join(settings.dataDir, 'cache', 'artifacts'),
      });
    },
  },
  {
    name: 'files',
    matches: () => true,
    async open(settings) {
      const { createFileTrackingStore } = await import('./file-tracking-store.js');
      return createFileTrackingStore({ root: settings.trackingUri });
    },
  },
];

/**
 * Opens the tracking store MLCTL_TRACKING_URI names: the file store for a folder, the SQL
 * store for a database URL (its tables must exist: `mlctl tracking migrate`; exit 2 otherwise),
 * with artifacts where MLCTL_ARTIFACT_URI says. Close it when done.
 */
export async function openTrackingStore(settings: TrackingSettings): Promise<TrackingStore> {
  const backend = BACKENDS.find((b) => b.matches(settings.trackingUri)) as TrackingBackend;
  return backend.open(settings);
}

/** The database behind a database tracking URI, for `mlctl tracking migrate` and the store itself. */
export async function openTrackingDatabase(settings: Pick<TrackingSettings, 'trackingUri' | 'cwd' | 'connections'>): Promise<Database> {
  const { openDatabase } = await import('../db/create-database.js');
  return openDatabase(settings.trackingUri, settings.cwd, { poolSize: settings.connections ?? 1 });
}

/** How the tracking store opens artifact stores. */
export function artifactStoreSettings(settings: Pick<TrackingSettings, 'cwd' | 'dataDir' | 'aws'>): ArtifactStoreSettings {
  return { cwd: settings.cwd, aws: settings.aws };
}
