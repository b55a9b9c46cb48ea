import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileRunStore } from '../../src/core/tracking/file-run-store.js';
import { createWorkspace, MLCTL_BIN, runCli } from '../helpers/cli.js';
import { createFakeRun } from '../helpers/run-fixtures.js';

// The CLI edge under attack: damaged files, hostile text, closed pipes, wrong configuration.
const ws = createWorkspace('mlctl-edges-');
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: ws.dir, env: { ...ws.env, ...env } });
let runId: string;

beforeAll(async () => {
  const store = createFileRunStore({ root: ws.env.MLCTL_RUNS_DIR! });
  runId = (await createFakeRun(store, { metrics: { auc: [0.9] } })).id;
});
afterAll(() => ws.cleanup());

/** No raw escape or carriage return reached stderr, and no stack trace. */
function expectNoRawControls(stderr: string): void {
  expect(stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  expect(stderr).not.toMatch(/^\s+at /m);
}

/** Runs the built CLI with stdout and/or stderr a pipe that is already closed. */
function runWithClosedPipes(args: string[], closed: { stdout?: boolean; stderr?: boolean }): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MLCTL_BIN, ...args], {
      cwd: ws.dir,
      env: { ...process.env, ...ws.env, CI: 'true', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Closed before the child has started: its first write fails with EPIPE.
    if (closed.stdout === true) child.stdout.destroy();
    else child.stdout.resume();
    if (closed.stderr === true) child.stderr.destroy();
    else child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
}

describe('the CLI edge', () => {
  it('reports a garbage run.json as a damaged file (exit 4) naming it, with a hint, not as a bug', async () => {
    const runJson = join(ws.env.MLCTL_RUNS_DIR!, 'income', runId, 'run.json');
    writeFileSync(runJson, 'garbage \u001b[31mred\u001b[0m');
    const human = await cli(['runs', 'show', runId]);
    expect(human.code, human.stderr).toBe(4);
    expect(human.stdout).toBe('');
    expect(human.stderr).toContain(`error: ${runJson}: not valid JSON`);
    expect(human.stderr).toContain('hint: `mlctl runs verify` lists every damaged file');
    expect(human.stderr).not.toContain('unexpected failure');
    // The garbage is echoed by the JSON parser's message: its escape sequence is shown, not sent.
    expect(human.stderr).toContain('\\x1b[31m');
    expectNoRawControls(human.stderr);
    const json = await cli(['runs', 'show', runId, '--json']);
    expect(json.code).toBe(4);
    expect(JSON.parse(json.stdout).error.code).toBe('STORE_FILE_DAMAGED');
  });

  it('escapes control characters from user input in every message, its own errors and commander’s', async () => {
    const hostile = '\u001b]0;owned\u0007\u001b[2J\rabc';
    const badId = await cli(['runs', 'show', hostile]);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('\\x1b]0;owned\\x07\\x1b[2J\\rabc');
    expectNoRawControls(badId.stderr);
    const badOption = await cli(['runs', 'list', `--${hostile}`]);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain('\\x1b[2J');
    expectNoRawControls(badOption.stderr);
  });

  it('keeps the error’s exit code when stderr, or stdout with --json, is a closed pipe', async () => {
    const missing = '0123456789abcdef0123';
    expect(await runWithClosedPipes(['runs', 'show', missing], { stderr: true })).toBe(3);
    expect(await runWithClosedPipes(['runs', 'show', missing, '--json'], { stdout: true, stderr: true })).toBe(3);
    expect(await runWithClosedPipes(['runs', 'list', '--filter', 'nonsense'], { stderr: true })).toBe(2);
  });

  it('refuses MLCTL_RUNS_DIR=s3://… (exit 2) without creating a folder named "s3:"', async () => {
    const before = readdirSync(ws.dir);
    const r = await cli(['runs', 'list'], { MLCTL_RUNS_DIR: 's3://team-bucket/runs' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: MLCTL_RUNS_DIR must be a local folder, not a URI: "s3://team-bucket/runs"');
    expect(r.stderr).toMatch(/hint: .*MLCTL_TRACKING_URI and MLCTL_ARTIFACT_URI/);
    expect(existsSync(join(ws.dir, 's3:'))).toBe(false);
    expect(readdirSync(ws.dir)).toEqual(before);
    const json = await cli(['runs', 'list', '--json'], { MLCTL_RUNS_DIR: 's3://team-bucket/runs' });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).error.code).toBe('CONFIG_NOT_A_FOLDER');
    const timeout = await cli(['storage', 'ls'], { MLCTL_S3_TIMEOUT: 'soon' });
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toContain('MLCTL_S3_TIMEOUT must be a number of seconds');
  });
});
