import { sql, type Kysely } from 'kysely';

/**
 * Served traffic binned for drift monitoring: how many records fell in each bin of each
 * input (and of the model's output) of the bundle's reference profile, per model version
 * and time window. Only counts: no value from a request, no identifier. Rows whose count is
 * zero are not stored; `feature_bins` (the bins that input has in the profile) lets a reader
 * rebuild the whole histogram. Several serving processes add into the same row (upsert).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('drift_histograms')
    .addColumn('model_name', 'text', (c) => c.notNull())
    .addColumn('model_version', 'text', (c) => c.notNull())
    .addColumn('window_start', 'text', (c) => c.notNull())
    .addColumn('window_end', 'text', (c) => c.notNull())
    .addColumn('feature', 'text', (c) => c.notNull())
    .addColumn('bin', 'integer', (c) => c.notNull().check(sql`bin >= 0`))
    .addColumn('feature_bins', 'integer', (c) => c.notNull().check(sql`feature_bins > 0`))
    .addColumn('records', 'bigint', (c) => c.notNull().check(sql`records > 0`))
    .addPrimaryKeyConstraint('drift_histograms_pk', ['model_name', 'model_version', 'window_start', 'window_end', 'feature', 'bin'])
    .addCheckConstraint('drift_histograms_bin_in_range', sql`bin < feature_bins`)
    .addCheckConstraint('drift_histograms_window_order', sql`window_start < window_end`)
    .execute();
  // The retention deletes by age across models.
  await db.schema.createIndex('drift_histograms_window_start_idx').on('drift_histograms').column('window_start').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('drift_histograms_window_start_idx').execute();
  await db.schema.dropTable('drift_histograms').execute();
}
