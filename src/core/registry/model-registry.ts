/**
 * The model registry's contract: named models with numbered versions (1, 2, …) pointing at
 * runs' bundles, movable aliases (`production`, `champion`), and an append-only audit log
 * of every change. Each tracking backend has one, side by side: `file-model-registry.ts`
 * (plain JSON beside the runs under `<runs>/models/<name>/`) and `sql-model-registry.ts`
 * (tables in the tracking database).
 */
export interface ModelVersion {
  readonly version: number;
  readonly runId: string;
  readonly experiment: string;
  /** `runs:/<id>`: where the bundle lives. */
  readonly source: string;
  /** SHA-256 of the bundle's manifest.json when registered; a changed bundle is refused. */
  readonly manifestSha256: string;
  readonly description: string | null;
  readonly createdTime: string;
  readonly user: string;
}

export interface RegisteredModel {
  readonly name: string;
  readonly description: string | null;
  readonly createdTime: string;
  readonly updatedTime: string;
  /** Live versions, ascending. Deleted versions are gone but their numbers are never reused. */
  readonly versions: readonly ModelVersion[];
  /** alias → version */
  readonly aliases: Readonly<Record<string, number>>;
  /** The next version number to hand out. */
  readonly nextVersion: number;
}

export type AuditAction = 'register' | 'alias-set' | 'alias-delete' | 'version-delete';

export interface AuditEntry {
  readonly time: string;
  readonly user: string;
  readonly model: string;
  readonly action: AuditAction;
  readonly version?: number;
  readonly alias?: string;
  /** The value before the change (an alias's old version, a deleted version's run id), or null. */
  readonly old: string | number | null;
  readonly new: string | number | null;
}

export interface RegisterOptions {
  readonly runId: string;
  readonly name: string;
  readonly description?: string;
}

export type VersionSelector = { readonly version: number } | { readonly alias: string };

export interface SetAliasOptions {
  /**
   * Compare-and-set: move the alias only if it still points at this version (null: only if
   * it is unset); otherwise GateError MODEL_ALIAS_MOVED (exit 4) and nothing changes.
   */
  readonly expect?: number | null;
}

export interface ModelRegistry {
  register(options: RegisterOptions): Promise<ModelVersion>;
  list(): Promise<readonly RegisteredModel[]>;
  /** NotFoundError 'MODEL_NOT_FOUND' for an unknown name. */
  get(name: string): Promise<RegisteredModel>;
  /** NotFoundError 'MODEL_VERSION_NOT_FOUND' / 'MODEL_ALIAS_NOT_FOUND'. */
  resolve(name: string, selector: VersionSelector): Promise<ModelVersion>;
  /** Points the alias at a live version, recording the move in the audit log in the same change. */
  setAlias(name: string, alias: string, version: number, options?: SetAliasOptions): Promise<{ previous: number | null }>;
  deleteAlias(name: string, alias: string): Promise<{ previous: number }>;
  /** Refused while an alias points at the version. */
  deleteVersion(name: string, version: number): Promise<ModelVersion>;
  auditLog(name: string): Promise<readonly AuditEntry[]>;
  /** Run ids referenced by any live version: `runs gc` must not purge them. */
  referencedRunIds(): Promise<ReadonlySet<string>>;
}
