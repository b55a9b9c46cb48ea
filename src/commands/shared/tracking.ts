import type { TrackingStore } from '../../core/tracking/tracking-store.js';
import type { TrackingSettings } from '../../core/tracking/open-tracking-store.js';
import type { CliContext } from '../../ui/context.js';

const opened = new WeakMap<CliContext, Promise<TrackingStore>>();

/** Where MLCTL_TRACKING_URI and MLCTL_ARTIFACT_URI put the tracking store, from the configuration. */
export function trackingSettings(context: CliContext): TrackingSettings {
  const { config } = context;
  return { trackingUri: config.trackingUri, artifactUri: config.artifactUri, cwd: config.cwd, dataDir: config.dataDir, aws: config.aws };
}

/**
 * The tracking store of this command: the file store or the SQL store, as the configuration
 * says, opened on first use and closed when the command finishes. Every command that reads
 * or writes runs or the registry goes through here, and nothing else knows which it is.
 * `connections`: database connections at most (default 1), for a command that works in parallel.
 */
export function openTracking(context: CliContext, options: { readonly connections?: number } = {}): Promise<TrackingStore> {
  let store = opened.get(context);
  if (store === undefined) {
    store = import('../../core/tracking/open-tracking-store.js').then(({ openTrackingStore }) => openTrackingStore({ ...trackingSettings(context), ...options }));
    opened.set(context, store);
    const settled = store;
    context.onFinish(async () => {
      await (await settled.catch(() => undefined))?.close();
    });
  }
  return store;
}
