import type { Command } from 'commander';
import type { CliContext } from '../ui/context.js';
import { withExamples } from '../ui/context.js';
import { formatDuration, formatNumber, renderTable } from '../ui/table.js';

export interface PipelineCommandOptions {
  readonly task: string;
  readonly remote: string;
  readonly scoreOnly?: string;
}

export function registerPipelineCommands(program: Command, context: CliContext): void {
  const command = program
    .command('pipeline')
    .description('the seed’s S3 flow as one re-runnable command: dataset from S3 → train → bundle and test split to S3 → score from the S3 copies → score.json to S3')
    .argument('<task>', 'a built-in task (housing, income)')
    .option('--remote <s3://bucket/prefix>', 'where data/, models/, splits/ and scores/ live (default: s3://$MLCTL_S3_BUCKET/pipeline)')
    .option('--score-only <run-id>', 're-run only the score step for a run already uploaded');
  withExamples(
    command,
    'mlctl storage mb mlctl-demo && mlctl pipeline housing --remote s3://mlctl-demo',
    'mlctl pipeline housing --remote s3://mlctl-demo --score-only 01a22e7df68174f2dd71 --json',
  );
  command.action(async (taskName: string, flags: Record<string, unknown>, cmd: Command) => {
    const output = context.output(cmd);
    const { UsageError } = await import('../core/errors.js');
    const remoteFlag = typeof flags.remote === 'string' ? flags.remote : context.config.s3Bucket === undefined ? undefined : `s3://${context.config.s3Bucket}/pipeline`;
    if (remoteFlag === undefined) throw new UsageError('PIPELINE_NO_REMOTE', 'say where the pipeline keeps its objects: --remote s3://bucket[/prefix] (or set MLCTL_S3_BUCKET)');
    const options: PipelineCommandOptions = { task: taskName, remote: remoteFlag, ...(typeof flags.scoreOnly === 'string' ? { scoreOnly: flags.scoreOnly } : {}) };
    const [{ getTask }, { runRemotePipeline }, { openArtifactStore, isRemoteLocation }, { openTracking }, { gitCommit }] = await Promise.all([
      import('../core/tasks/task-registry.js'),
      import('../core/workflows/remote-pipeline.js'),
      import('../core/storage/open-artifact-store.js'),
      import('./shared/tracking.js'),
      import('../core/env/git-info.js'),
    ]);
    const { datasetStoreOptions } = await import('./shared/data-location.js');
    const task = getTask(options.task);
    if (!isRemoteLocation(options.remote)) {
      throw new UsageError('PIPELINE_REMOTE_INVALID', `--remote must be a remote store such as s3://bucket/prefix, got "${options.remote}"`);
    }
    const remote = await openArtifactStore(options.remote, { cwd: context.config.cwd, aws: context.config.aws });
    const result = await runRemotePipeline({
      task,
      remote,
      runStore: await openTracking(context),
      dataset: datasetStoreOptions(context),
      commandLine: ['mlctl', ...context.argv].join(' '),
      gitCommit: await gitCommit(context.config.cwd),
      mlctlVersion: context.version,
      ...(options.scoreOnly === undefined ? {} : { scoreRunId: options.scoreOnly }),
      signal: context.signal,
      onStep: (event) => {
        if (event.status === 'started') output.info(`→ ${event.step}`);
        else output.info(`  ${event.status === 'skipped' ? '·' : '✓'} ${event.step}: ${event.detail} (${formatDuration(event.ms)})`);
      },
    });
    if (output.json) {
      output.result(result, () => '');
      return;
    }
    output.print(
      [
        `${output.style('green', '✓')} pipeline ${task.name} on ${result.remote} → run ${result.runId}`,
        await renderTable({
          head: ['metric (from the S3 copies)', 'value'],
          rows: Object.entries(result.score.metrics).map(([k, v]) => [k, formatNumber(v, 4)]),
          alignRight: [1],
          color: output.color,
        }),
        ...Object.entries(result.objects).map(([k, v]) => `  ${k.padEnd(8)} ${v}`),
      ].join('\n'),
    );
  });
}
