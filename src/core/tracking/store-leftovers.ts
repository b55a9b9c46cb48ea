import type { Dirent } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { isStagingEntryName, isTemporaryName, temporaryWriterPid } from '../fs/temporary-names.js';
import type { FileRunStore } from './file-run-store.js';
import { isProcessAlive } from './process-liveness.js';
import { isRunId } from './run-id.js';
import { RUN_FILE, parseRunInfo, readJsonFile } from './run-files.js';

/** The store's folder for sync state; its `tmp/` holds what `sync pull` stages. */
export const SYNC_DIR = '.sync';
export const SYNC_STAGING_DIR = join(SYNC_DIR, 'tmp');

/**
 * A temporary file or folder left in the runs store by a write that never finished: a
 * process killed while writing a file atomically, saving a bundle, or pulling from S3.
 * Readers skip them, except inside a bundle folder, where `loadBundle` refuses any file the
 * manifest does not list.
 */
export interface Leftover {
  /** Relative to the store root, '/'-separated. */
  readonly path: string;
  readonly kind: 'file' | 'folder';
  /** What left it: 'atomic write', 'bundle save', 'sync pull', 'model download', 'index marker'. */
  readonly origin: string;
  readonly bytes: number;
  /**
   * The process writing it is still running on this host (or, for a bundle being saved,
   * its run is still RUNNING): it is not a leftover yet and is left alone.
   */
  readonly inUse: boolean;
  /** Inside a model bundle's folder, where it makes the bundle fail to load. */
  readonly inBundle: boolean;
}

/**
 * Finds every temporary file and folder under the store root, except inside the derived
 * index. Temporary folders are reported whole, not entered.
 */
export async function findLeftovers(store: FileRunStore): Promise<Leftover[]> {
  const root = store.root;
  const found: Leftover[] = [];
  const rel = (path: string): string => relative(root, path).split(sep).join('/');

  const report = async (path: string, dirent: Dirent, origin: string, inBundle: boolean, inUse: () => Promise<boolean>): Promise<void> => {
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) return; // finished (renamed away) while we looked
    found.push({
      path: rel(path),
      kind: dirent.isDirectory() ? 'folder' : 'file',
      origin,
      bytes: dirent.isDirectory() ? await folderBytes(path) : info.size,
      inUse: await inUse(),
      inBundle,
    });
  };
  const writerAlive = async (path: string, name: string): Promise<boolean> => {
    const pid = temporaryWriterPid(name);
    if (pid === undefined) return false;
    // The file was created after its writer started: a younger process with the same pid is not it.
    const info = await stat(path).catch(() => undefined);
    return info !== undefined && isProcessAlive(pid, info.mtimeMs);
  };

  const walk = async (dir: string, inBundle: boolean): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const bundle = inBundle || entries.some((entry) => entry.isFile() && entry.name === 'manifest.json');
    for (const entry of entries) {
      const path = join(dir, entry.name);
      // The derived index, and hidden folders that are not mlctl's (a .git), hold no leftovers of ours.
      if (dir === root && entry.name.startsWith('.') && entry.name !== SYNC_DIR) continue;
      if (dir === join(root, SYNC_STAGING_DIR)) {
        if (isStagingEntryName(entry.name) || isTemporaryName(entry.name)) {
          await report(path, entry, 'sync pull', false, () => writerAlive(path, entry.name));
        }
        continue;
      }
      if (isTemporaryName(entry.name)) {
        const origin = originOf(entry.name, entry.isDirectory());
        const alive =
          origin === 'bundle save' ? () => runOfPathIsLive(store, root, path) : () => writerAlive(path, entry.name);
        await report(path, entry, origin, bundle, alive);
        continue;
      }
      if (entry.isDirectory()) await walk(path, bundle);
    }
  };
  await walk(root, false);
  return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Removes the leftovers that are not in use; returns those removed. */
export async function removeLeftovers(store: FileRunStore, leftovers: readonly Leftover[]): Promise<Leftover[]> {
  const removed: Leftover[] = [];
  for (const leftover of leftovers) {
    if (leftover.inUse) continue;
    await rm(join(store.root, ...leftover.path.split('/')), { recursive: true, force: true });
    removed.push(leftover);
  }
  return removed;
}

/** One line for a leftover, for verify and gc. */
export function describeLeftover(leftover: Leftover): string {
  const what = leftover.inBundle
    ? `not listed in the bundle's manifest.json: a temporary ${leftover.kind} of an interrupted ${leftover.origin}, which makes the bundle fail to load`
    : `leftover temporary ${leftover.kind} of an interrupted ${leftover.origin}`;
  return `${what}; \`mlctl runs gc\` removes it`;
}

/** True when a file or folder name is one `findLeftovers` reports (so other checks skip it). */
export function isLeftoverName(name: string): boolean {
  return isTemporaryName(name);
}

function originOf(name: string, isDirectory: boolean): string {
  if (name.startsWith('.touch-')) return 'index marker';
  if (name.endsWith('.partial') || name.endsWith('.partial.old')) return 'model download';
  // Bundles are saved into `.<name>.<8 hex>.tmp/` (no pid); files are written atomically with one.
  if (isDirectory && temporaryWriterPid(name) === undefined) return 'bundle save';
  return 'atomic write';
}

/**
 * A bundle being saved belongs to the run whose folder holds it (`<experiment>/<run>/…`):
 * it is in use while that run is RUNNING (and its process alive, when on this host).
 */
async function runOfPathIsLive(store: FileRunStore, root: string, path: string): Promise<boolean> {
  const [experiment, run] = relative(root, path).split(sep);
  if (experiment === undefined || run === undefined || !isRunId(run)) return false;
  const runFile = join(root, experiment, run, RUN_FILE);
  try {
    return store.effectiveStatus(parseRunInfo(await readJsonFile(runFile), runFile)).status === 'RUNNING';
  } catch {
    return false;
  }
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [] as Dirent[]);
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    total += (await stat(join(entry.parentPath, entry.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}
