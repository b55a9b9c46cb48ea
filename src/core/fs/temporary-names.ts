import { randomBytes } from 'node:crypto';

/**
 * The names mlctl gives to files and folders that exist only while something is being
 * written, in one place, so that the code that writes them and the code that finds their
 * leftovers after a crash (`runs verify`, `runs gc`, a re-run of `sync pull`) agree:
 *
 *   .<name>.<pid>.<8 hex>.tmp        a file being written atomically (fs/atomic.ts)
 *   .<name>.<8 hex>.tmp/             a model bundle being saved (bundle/model-bundle.ts)
 *   .<name>.<pid>.<8 hex>.partial/   an s3:// model being downloaded (storage/sync.ts)
 *   .touch-<pid>-<8 hex>/            a marker that bumps an experiment folder's mtime
 *   <pid>-<8 hex>.<tmp|dir|old>      an entry of a staging folder (`runs/.sync/tmp/`), where
 *                                    `sync pull` writes before moving files and bundles in
 */

const HIDDEN_TEMPORARY = /^\..+\.(?:tmp|partial|partial\.old)$/;
const TOUCH_MARKER = /^\.touch-(\d+)-[0-9a-f]+$/;
const WRITER_PID = /\.(\d+)\.[0-9a-f]{8}\.(?:tmp|partial|partial\.old)$/;
const STAGING_ENTRY = /^(\d+)-[0-9a-f]{8}\.(?:tmp|dir|old)$/;

/** What a staging entry holds: a file on its way in, a folder being assembled, a folder being replaced. */
export type StagingKind = 'tmp' | 'dir' | 'old';

/** True for the name of a temporary file or folder of an interrupted (or ongoing) write. */
export function isTemporaryName(name: string): boolean {
  return HIDDEN_TEMPORARY.test(name) || TOUCH_MARKER.test(name);
}

/** The pid of the process that writes a temporary name, when the name records it. */
export function temporaryWriterPid(name: string): number | undefined {
  const match = WRITER_PID.exec(name) ?? TOUCH_MARKER.exec(name) ?? STAGING_ENTRY.exec(name);
  return match === null ? undefined : Number(match[1]);
}

/** A fresh name for an entry of a staging folder, owned by this process. */
export function stagingEntryName(kind: StagingKind): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}.${kind}`;
}

/** True for names `stagingEntryName` makes. */
export function isStagingEntryName(name: string): boolean {
  return STAGING_ENTRY.test(name);
}
