import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MLCTL_BIN } from '../helpers/cli.js';
import { locateTool, missingTool } from '../helpers/tools.js';
import { writeIncomeBundle, type IncomeBundle } from '../unit/serving/fixture.js';
import { startDaemon } from './serve-helpers.js';

// On a terminal `mlctl serve` says in one human line where it listens; in a pipe its stderr
// stays JSON lines only. The terminal is util-linux's `script`, which gives the child a pty.
const HUMAN_LINE = /^listening on (http:\/\/127\.0\.0\.1:\d+) — docs at \/docs, metrics at \/metrics\r?$/m;
const noTerminal = missingTool('script');
let bundle: IncomeBundle;

beforeAll(async () => {
  bundle = await writeIncomeBundle({ seed: 11, runId: 'terminal-run' });
});
afterAll(() => bundle?.cleanup());

const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

describe('mlctl serve', () => {
  it.skipIf(noTerminal)('prints one human line on a terminal, besides its JSON logs', async () => {
    const command = [process.execPath, MLCTL_BIN, 'serve', '--port', '0', '--model', bundle.dir, '--no-database'].map(quote).join(' ');
    const env: NodeJS.ProcessEnv = { ...process.env, MLCTL_RUNS_DIR: join(bundle.root, 'runs'), NO_COLOR: '1' };
    delete env.CI;
    delete env.MLCTL_API_TOKEN;
    const child = spawn(locateTool('script')!, ['-qec', command, '/dev/null'], { env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let text = '';
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no human line within 60 s; the terminal showed:\n${text}`)), 60_000);
        child.stdout.on('data', (d: Buffer) => {
          text += d.toString();
          const match = HUMAN_LINE.exec(text);
          if (match !== null) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
        child.on('exit', () => reject(new Error(`serve exited; the terminal showed:\n${text}`)));
      });
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect(text.match(/listening on http/g)).toHaveLength(1);
      expect(text).toMatch(/^\{.*"event":"listening".*\}\r?$/m);
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
    }
  });

  it('keeps stderr to JSON lines in a pipe', async () => {
    const daemon = await startDaemon(['--model', bundle.dir, '--no-database'], { cwd: bundle.root, env: { MLCTL_RUNS_DIR: join(bundle.root, 'runs'), MLCTL_API_TOKEN: undefined } });
    try {
      expect(daemon.stderr().split('\n').filter((line) => line !== '' && !line.startsWith('{'))).toEqual([]);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });
});
