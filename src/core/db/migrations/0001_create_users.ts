import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from '../migration.js';

/**
 * The census records of the seed's user model, with the observed income label and the
 * numeric ranges the Adult data respects enforced by CHECK constraints.
 * Applied migrations are frozen: change the schema in a new migration (`mlctl db new`).
 */
export async function up(db: Kysely<any>, context: MigrationContext): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', context.dialect === 'postgres' ? 'serial' : 'integer', (c) =>
      context.dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('source', 'text', (c) => c.unique())
    .addColumn('age', 'integer', (c) => c.notNull().check(sql`age between 0 and 120`))
    .addColumn('workclass', 'text')
    .addColumn('fnlwgt', 'integer', (c) => c.notNull().check(sql`fnlwgt > 0`))
    .addColumn('education', 'text', (c) => c.notNull())
    .addColumn('education_num', 'integer', (c) => c.notNull().check(sql`education_num between 1 and 16`))
    .addColumn('marital_status', 'text', (c) => c.notNull())
    .addColumn('occupation', 'text')
    .addColumn('relationship', 'text', (c) => c.notNull())
    .addColumn('race', 'text', (c) => c.notNull())
    .addColumn('sex', 'text', (c) => c.notNull())
    .addColumn('capital_gain', 'integer', (c) => c.notNull().check(sql`capital_gain >= 0`))
    .addColumn('capital_loss', 'integer', (c) => c.notNull().check(sql`capital_loss >= 0`))
    .addColumn('hours_per_week', 'integer', (c) => c.notNull().check(sql`hours_per_week between 1 and 99`))
    .addColumn('native_country', 'text')
    .addColumn('income', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('users_income_idx').on('users').column('income').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('users_income_idx').execute();
  await db.schema.dropTable('users').execute();
}
