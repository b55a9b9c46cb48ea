import { open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isProcessAlive } from './process-liveness.js';

export interface FileLockOptions {
  /** Give up after this long (ms). */
  readonly timeoutMs?: number;
  /** A lock older than this whose owner cannot be checked is taken over (ms). */
  readonly staleMs?: number;
}

/**
 * Runs `fn` holding an exclusive lock file created with O_EXCL (works across processes on
 * local file systems). A lock left by a dead process on this host, or an old one, is broken.
 * Used for read-modify-write of small JSON files shared by several writers (tags, registry).
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 60_000;
  const host = hostname();
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      try {
        await handle.writeFile(JSON.stringify({ pid: process.pid, host, time: Date.now() }));
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (await isStale(lockPath, host, staleMs)) {
        await rm(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the lock ${lockPath}; if no mlctl process is running, delete it`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 50);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}

async function isStale(lockPath: string, host: string, staleMs: number): Promise<boolean> {
  try {
    const owner = JSON.parse(await readFile(lockPath, 'utf8')) as { pid?: number; host?: string; time?: number };
    if (owner.host === host && typeof owner.pid === 'number') return !isProcessAlive(owner.pid, owner.time ?? Date.now());
    return Date.now() - (owner.time ?? 0) > staleMs;
  } catch {
    // Unreadable: being written right now, or torn by a crash. Judge by age.
    try {
      return Date.now() - (await stat(lockPath)).mtimeMs > staleMs;
    } catch {
      return false;
    }
  }
}
