import { mkdir, open, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomic } from '../fs/atomic.js';
import { ignoreFolderInGit } from '../fs/git-ignore.js';
import { sha256 } from '../fs/hash.js';
import { withFileLock } from '../tracking/file-lock.js';

interface SyncStateFile {
  readonly version: 1;
  /** For people reading the file: which remote scope it describes. */
  readonly remote: string;
  readonly endpoint: string;
  /** key → SHA-256 of each object this workspace uploaded there. */
  readonly pushed: Record<string, string>;
  /** key → SHA-256 both sides last held alike (tracked for guarded scopes: the registry). */
  readonly base: Record<string, string>;
}

type Change = { op: 'pushed' | 'base'; key: string; sha256: string } | { op: 'forget'; key: string };

/**
 * What this workspace knows about one remote scope (`s3://bucket/prefix/models/` at one
 * endpoint), kept locally under `<runs>/.sync/remotes/`, never on the remote (its layout
 * stays as it was):
 *
 * - `pushed`: the objects this workspace uploaded there, with the SHA-256 uploaded. `sync
 *   push --delete` deletes only those, and only while they still hold those bytes: a fresh
 *   clone, or a teammate's objects, are never deleted without `--force`.
 * - `base`: for the registry, the content both sides last agreed on (after a pull, a push, or
 *   a comparison that found them equal). A registry file that differs from its base changed
 *   on that side since: overwriting it would lose a registration or an alias move.
 *
 * Each upload is recorded before it starts, in an append-only journal beside the state file,
 * so a push killed midway leaves no object unaccounted for; `save` folds the journal and this
 * process's changes into the state file under a lock (concurrent syncs lose nothing).
 */
export class SyncState {
  readonly pushed: Map<string, string>;
  readonly base: Map<string, string>;
  private readonly changes: Change[] = [];

  private constructor(
    private readonly file: string,
    private readonly journal: string,
    private readonly remote: string,
    private readonly endpoint: string,
    state: { pushed: Map<string, string>; base: Map<string, string> },
  ) {
    this.pushed = state.pushed;
    this.base = state.base;
  }

  /** Opens the state of `remote` (an s3:// scope URI) at `endpoint`, kept in `dir`. */
  static async open(dir: string, remote: string, endpoint: string): Promise<SyncState> {
    const id = sha256(`${endpoint} ${remote}`).slice(0, 16);
    const file = join(dir, `${id}.json`);
    const journal = join(dir, `${id}.journal`);
    return new SyncState(file, journal, remote, endpoint, await readState(file, journal));
  }

  /** Records, before it starts, that this workspace uploads `key` with this content. */
  async recordPush(key: string, sha256: string): Promise<void> {
    this.pushed.set(key, sha256);
    this.changes.push({ op: 'pushed', key, sha256 });
    // One O_APPEND write per line: a kill leaves whole lines, and at most a torn last one.
    this.journalHandle ??= mkdir(join(this.file, '..'), { recursive: true }).then(() => open(this.journal, 'a'));
    await (await this.journalHandle).write(`${JSON.stringify({ pushed: key, sha256 })}\n`);
  }

  private journalHandle: Promise<FileHandle> | undefined;

  /** Both sides now hold this content for `key`. */
  agreed(key: string, sha256: string): void {
    if (this.base.get(key) === sha256) return;
    this.base.set(key, sha256);
    this.changes.push({ op: 'base', key, sha256 });
  }

  /** `key` is gone from the remote (deleted by this workspace). */
  forget(key: string): void {
    this.pushed.delete(key);
    this.base.delete(key);
    this.changes.push({ op: 'forget', key });
  }

  /** Writes the state file: what is on disk (others' syncs, the journal) with this process's changes on top. */
  async save(): Promise<void> {
    if (this.journalHandle !== undefined) {
      await (await this.journalHandle).close();
      this.journalHandle = undefined;
    }
    if (this.changes.length === 0) return;
    await mkdir(join(this.file, '..'), { recursive: true });
    await ignoreFolderInGit(join(this.file, '..'));
    await withFileLock(`${this.file}.lock`, async () => {
      const current = await readState(this.file, this.journal);
      for (const change of this.changes) {
        if (change.op === 'forget') {
          current.pushed.delete(change.key);
          current.base.delete(change.key);
        } else current[change.op].set(change.key, change.sha256);
      }
      const state: SyncStateFile = {
        version: 1,
        remote: this.remote,
        endpoint: this.endpoint,
        pushed: Object.fromEntries([...current.pushed].sort(byKey)),
        base: Object.fromEntries([...current.base].sort(byKey)),
      };
      await writeJsonAtomic(this.file, state);
      await rm(this.journal, { force: true });
    });
    this.changes.length = 0;
  }
}

/** The state file with the journal replayed over it. Missing or unreadable parts are empty. */
async function readState(file: string, journal: string): Promise<{ pushed: Map<string, string>; base: Map<string, string> }> {
  const pushed = new Map<string, string>();
  const base = new Map<string, string>();
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<SyncStateFile>;
    if (parsed.version === 1) {
      for (const [key, value] of Object.entries(parsed.pushed ?? {})) if (typeof value === 'string') pushed.set(key, value);
      for (const [key, value] of Object.entries(parsed.base ?? {})) if (typeof value === 'string') base.set(key, value);
    }
  } catch {
    // Absent (nothing synced yet) or damaged: fewer objects count as ours, which only ever
    // makes --delete delete less.
  }
  let text = '';
  try {
    text = await readFile(journal, 'utf8');
  } catch {
    // No journal: no push was interrupted.
  }
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const entry = JSON.parse(line) as { pushed?: unknown; sha256?: unknown };
      if (typeof entry.pushed === 'string' && typeof entry.sha256 === 'string') pushed.set(entry.pushed, entry.sha256);
    } catch {
      // A line torn by a kill: its upload had not started.
    }
  }
  return { pushed, base };
}

function byKey(a: [string, string], b: [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
