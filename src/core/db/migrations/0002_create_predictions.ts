import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../migration.js';

/**
 * One row per prediction served: which model answered, for which user (if any), what it
 * said and how long it took. Deleting a user keeps its predictions (user_id set null).
 */
export async function up(db: Kysely<any>, context: MigrationContext): Promise<void> {
  await db.schema
    .createTable('predictions')
    .addColumn('id', context.dialect === 'postgres' ? 'serial' : 'integer', (c) =>
      context.dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('user_id', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('model_name', 'text', (c) => c.notNull())
    .addColumn('model_version', 'text', (c) => c.notNull())
    .addColumn('input_hash', 'text', (c) => c.notNull())
    .addColumn('label', 'text', (c) => c.notNull())
    .addColumn('probability', 'real', (c) => c.check(sql`probability between 0 and 1`))
    .addColumn('latency_ms', 'real', (c) => c.notNull().check(sql`latency_ms >= 0`))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('predictions_user_id_idx').on('predictions').column('user_id').execute();
  await db.schema.createIndex('predictions_model_created_idx').on('predictions').columns(['model_name', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('predictions_model_created_idx').execute();
  await db.schema.dropIndex('predictions_user_id_idx').execute();
  await db.schema.dropTable('predictions').execute();
}
