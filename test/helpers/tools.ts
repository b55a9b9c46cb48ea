import { accessSync, appendFileSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The one place that decides whether an outside tool a test drives is here. A test that needs
 * one skips when it is missing (`describe.skipIf(missingTool('chromium'))`), and the run ends
 * with one line naming what was skipped and how to install it (test/helpers/skip-summary.ts).
 * With CI=true a missing tool fails the test file instead: CI proves everything.
 */

export type ToolName = keyof typeof TOOLS;

interface ToolSpec {
  /** How the summary names it. */
  readonly label: string;
  /** The command that installs it, for the summary and the CI failure. */
  readonly install: string;
  /** Where it is, or undefined when it is missing. */
  locate(): string | undefined;
}

/** An executable on PATH (or at an absolute path). */
function onPath(...names: string[]): string | undefined {
  for (const name of names) {
    const candidates = name.includes('/') ? [name] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name));
    for (const candidate of candidates) {
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

export const TOOLS = {
  chromium: {
    label: 'chromium',
    install: 'apt-get install chromium',
    locate: () => onPath(...(process.env.CHROMIUM_PATH === undefined ? [] : [process.env.CHROMIUM_PATH]), 'chromium', 'chromium-browser'),
  },
  promtool: { label: 'promtool', install: 'apt-get install prometheus', locate: () => onPath('promtool') },
  postgres: {
    label: 'PostgreSQL',
    install: 'apt-get install postgresql, start a server and set MLCTL_TEST_POSTGRES_URL=postgres://user@host:port/db, as .ci/run does',
    locate: () => process.env.MLCTL_TEST_POSTGRES_URL,
  },
  wrk: { label: 'wrk', install: 'apt-get install wrk', locate: () => onPath('wrk') },
  script: { label: 'script (a terminal for a child process)', install: 'apt-get install util-linux', locate: () => onPath('script') },
} satisfies Record<string, ToolSpec>;

/** Where test files record the tools they miss, for the summary (set by vitest.config.ts). */
export const SKIP_LOG_VARIABLE = 'MLCTL_TEST_SKIP_LOG';

/** One line of the skip log. */
export interface SkipRecord {
  readonly tool: ToolName;
  readonly label: string;
  readonly install: string;
  /** The test file that skipped, as vitest names it. */
  readonly file: string;
}

/** Where the tool is (path, or URL for PostgreSQL); throws under CI=true when it is missing. */
export function locateTool(name: ToolName): string | undefined {
  const spec: ToolSpec = TOOLS[name];
  const where = spec.locate();
  if (where === undefined && process.env.CI === 'true') {
    throw new Error(`${spec.label} is missing: ${spec.install}. With CI=true a missing tool fails the run instead of skipping its tests.`);
  }
  return where;
}

/**
 * true when the tool is missing, so `describe.skipIf(missingTool('chromium'))` skips what needs
 * it; the miss is recorded for the end-of-run summary. Throws under CI=true (see locateTool).
 */
export function missingTool(name: ToolName): boolean {
  if (locateTool(name) !== undefined) return false;
  const log = process.env[SKIP_LOG_VARIABLE];
  const file = callerFile();
  if (log !== undefined) {
    const spec: ToolSpec = TOOLS[name];
    const record: SkipRecord = { tool: name, label: spec.label, install: spec.install, file };
    appendFileSync(log, `${JSON.stringify(record)}\n`);
  }
  return true;
}

/** The test file that called, from the stack: test files call this at collection time. */
function callerFile(): string {
  const line = new Error().stack?.split('\n').find((l) => /\.test\.ts/.test(l)) ?? '';
  return /((?:\/|[A-Za-z]:\\)[^():?]+\.test\.ts)/.exec(line)?.[1] ?? 'unknown';
}
