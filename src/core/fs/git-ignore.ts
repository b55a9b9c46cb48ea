import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Puts a `.gitignore` of `*` into a folder of derived or machine-local files (an index,
 * sync state, staging), so a store kept in git never picks them up. Leaves one that exists.
 */
export async function ignoreFolderInGit(dir: string): Promise<void> {
  try {
    await writeFile(join(dir, '.gitignore'), '*\n', { flag: 'wx' });
  } catch {
    // Already there, or the folder is gone: either way nothing to do.
  }
}
