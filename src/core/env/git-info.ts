import { execFile } from 'node:child_process';

/** The commit checked out in `cwd`, or null outside a git work tree (or without git). */
export function gitCommit(cwd: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('git', ['rev-parse', 'HEAD'], { cwd, timeout: 2000 }, (error, stdout) => {
      resolve(error === null ? stdout.trim() || null : null);
    });
  });
}
