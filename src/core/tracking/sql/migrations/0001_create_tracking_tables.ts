import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../../../db/migration.js';

/**
 * The tracking store: experiments, runs with their params, tags, metric histories and last
 * metric values, and the model registry with its audit log. Text that queries compare and
 * sort (ids, names, keys, values) uses bytewise order on PostgreSQL (COLLATE "C"), as SQLite
 * and the file store's index do, so every backend lists runs in the same order.
 * Applied migrations are frozen: change the schema in a new migration.
 */
export async function up(db: Kysely<any>, context: MigrationContext): Promise<void> {
  const text = context.dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
  await db.schema
    .createTable('tracking_experiments')
    .addColumn('name', text, (c) => c.primaryKey())
    .addColumn('created_time', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('tracking_runs')
    .addColumn('id', text, (c) => c.primaryKey())
    .addColumn('experiment', text, (c) => c.notNull())
    .addColumn('name', text, (c) => c.notNull())
    .addColumn('status', text, (c) => c.notNull())
    .addColumn('start_ms', 'double precision', (c) => c.notNull())
    .addColumn('start_text', 'text', (c) => c.notNull())
    .addColumn('end_ms', 'double precision')
    .addColumn('end_text', 'text')
    .addColumn('duration', 'double precision')
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('host', text, (c) => c.notNull())
    .addColumn('user_name', text, (c) => c.notNull())
    .addColumn('git_commit', 'text')
    .addColumn('command_line', 'text', (c) => c.notNull())
    .addColumn('task', text)
    .addColumn('dataset', text)
    .addColumn('backend', text)
    .addColumn('note', 'text')
    .addColumn('deleted_time', 'text')
    .addColumn('artifact_uri', 'text', (c) => c.notNull())
    .addColumn('bundle_sha256', 'text')
    .execute();
  await db.schema.createIndex('tracking_runs_start').on('tracking_runs').columns(['start_ms', 'id']).execute();
  await db.schema.createIndex('tracking_runs_experiment').on('tracking_runs').columns(['experiment', 'start_ms']).execute();
  await db.schema
    .createTable('tracking_params')
    .addColumn('run_id', text, (c) => c.notNull())
    .addColumn('key', text, (c) => c.notNull())
    .addColumn('json', 'text', (c) => c.notNull())
    .addColumn('text', text, (c) => c.notNull())
    .addColumn('num', 'double precision')
    .addPrimaryKeyConstraint('tracking_params_pk', ['run_id', 'key'])
    .execute();
  await db.schema.createIndex('tracking_params_key_num').on('tracking_params').columns(['key', 'num']).execute();
  await db.schema.createIndex('tracking_params_key_text').on('tracking_params').columns(['key', 'text']).execute();
  await db.schema
    .createTable('tracking_tags')
    .addColumn('run_id', text, (c) => c.notNull())
    .addColumn('key', text, (c) => c.notNull())
    .addColumn('value', text, (c) => c.notNull())
    .addColumn('num', 'double precision')
    .addPrimaryKeyConstraint('tracking_tags_pk', ['run_id', 'key'])
    .execute();
  await db.schema.createIndex('tracking_tags_key_value').on('tracking_tags').columns(['key', 'value']).execute();
  await db.schema
    .createTable('tracking_metric_points')
    .addColumn('run_id', text, (c) => c.notNull())
    .addColumn('key', text, (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('step', 'bigint', (c) => c.notNull())
    .addColumn('value', 'double precision')
    .addColumn('special', 'text')
    .addColumn('timestamp', 'double precision', (c) => c.notNull())
    .addPrimaryKeyConstraint('tracking_metric_points_pk', ['run_id', 'key', 'seq'])
    .execute();
  await db.schema
    .createTable('tracking_latest_metrics')
    .addColumn('run_id', text, (c) => c.notNull())
    .addColumn('key', text, (c) => c.notNull())
    .addColumn('value', 'double precision')
    .addColumn('special', 'text')
    .addColumn('step', 'bigint', (c) => c.notNull())
    .addColumn('timestamp', 'double precision', (c) => c.notNull())
    .addColumn('points', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('tracking_latest_metrics_pk', ['run_id', 'key'])
    .execute();
  await db.schema.createIndex('tracking_latest_metrics_key_value').on('tracking_latest_metrics').columns(['key', 'value']).execute();
  await db.schema
    .createTable('registry_models')
    .addColumn('name', text, (c) => c.primaryKey())
    .addColumn('description', 'text')
    .addColumn('created_time', 'text', (c) => c.notNull())
    .addColumn('updated_time', 'text', (c) => c.notNull())
    .addColumn('next_version', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('registry_versions')
    .addColumn('model', text, (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('run_id', text, (c) => c.notNull())
    .addColumn('experiment', text, (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('manifest_sha256', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('created_time', 'text', (c) => c.notNull())
    .addColumn('user_name', 'text', (c) => c.notNull())
    .addColumn('deleted_time', 'text')
    .addPrimaryKeyConstraint('registry_versions_pk', ['model', 'version'])
    .execute();
  await db.schema.createIndex('registry_versions_run').on('registry_versions').column('run_id').execute();
  await db.schema
    .createTable('registry_aliases')
    .addColumn('model', text, (c) => c.notNull())
    .addColumn('alias', text, (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('registry_aliases_pk', ['model', 'alias'])
    .execute();
  await db.schema
    .createTable('registry_audit')
    .addColumn('id', context.dialect === 'postgres' ? 'bigserial' : 'integer', (c) => (context.dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('model', text, (c) => c.notNull())
    .addColumn('time', 'text', (c) => c.notNull())
    .addColumn('user_name', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('version', 'integer')
    .addColumn('alias', 'text')
    .addColumn('old_json', 'text', (c) => c.notNull())
    .addColumn('new_json', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('registry_audit_model').on('registry_audit').columns(['model', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'registry_audit',
    'registry_aliases',
    'registry_versions',
    'registry_models',
    'tracking_latest_metrics',
    'tracking_metric_points',
    'tracking_tags',
    'tracking_params',
    'tracking_runs',
    'tracking_experiments',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
