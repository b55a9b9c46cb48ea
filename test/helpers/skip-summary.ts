import { existsSync, readFileSync, rmSync } from 'node:fs';
import type { Reporter, TestModule } from 'vitest/node';
import type { SkipRecord } from './tools.js';

/**
 * A vitest reporter: after the run, one line naming the tests skipped because a tool is missing
 * and the command that installs each (the test files record what they miss, see tools.ts):
 *
 *   skipped 19 tests because tools are missing: chromium (14 tests in 2 files: apt-get install chromium), …
 *
 * Prints nothing when nothing was skipped for a missing tool.
 */
export default class SkipSummaryReporter implements Reporter {
  constructor(private readonly log: string) {}

  onInit(): void {
    rmSync(this.log, { force: true });
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    if (!existsSync(this.log)) return;
    const records = readFileSync(this.log, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as SkipRecord);
    rmSync(this.log, { force: true });
    const skippedIn = new Map<string, number>();
    for (const module of testModules) {
      skippedIn.set(module.moduleId, [...module.children.allTests()].filter((test) => test.result().state === 'skipped').length);
    }
    const byTool = new Map<string, { record: SkipRecord; files: Set<string> }>();
    for (const record of records) {
      const entry = byTool.get(record.tool) ?? { record, files: new Set<string>() };
      entry.files.add(record.file);
      byTool.set(record.tool, entry);
    }
    const files = new Set(records.map((r) => r.file));
    const total = [...files].reduce((sum, file) => sum + (skippedIn.get(file) ?? 0), 0);
    if (byTool.size === 0) return;
    const parts = [...byTool.values()].map(({ record, files: toolFiles }) => {
      const tests = [...toolFiles].reduce((sum, file) => sum + (skippedIn.get(file) ?? 0), 0);
      return `${record.label} (${tests} test${tests === 1 ? '' : 's'} in ${toolFiles.size} file${toolFiles.size === 1 ? '' : 's'}: ${record.install})`;
    });
    process.stdout.write(`\nskipped ${total} test${total === 1 ? '' : 's'} because tools are missing: ${parts.join('; ')}\n`);
  }
}
