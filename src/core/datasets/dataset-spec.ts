/**
 * A dataset is data: its files, where they come from, their SHA-256 and how to read them.
 * Files are verified against `sha256` before every use.
 */
export interface DatasetSpec {
  readonly name: string;
  readonly description: string;
  readonly files: readonly DatasetFile[];
  readonly dialect: CsvDialect;
  /** Column names and types, in file order. */
  readonly columns: readonly ColumnDef[];
}

export type DatasetFileRole = 'train' | 'test' | 'doc';

export interface DatasetFile {
  readonly name: string;
  readonly role: DatasetFileRole;
  /** Canonical download URL (https://, or s3://bucket/key). */
  readonly url: string;
  readonly sha256: string;
  /** Data rows, when known (banner and header lines excluded). */
  readonly rows?: number;
  /** Per-file dialect overrides (adult.test has a banner line and "." after its labels). */
  readonly dialect?: Partial<CsvDialect>;
}

export interface CsvDialect {
  /** true: the first line names the columns; false: `columns` gives them. */
  readonly header: boolean;
  readonly delimiter: string;
  /** Trim whitespace around fields (adult: ", " separators). */
  readonly trim: boolean;
  /** Field values meaning "missing". */
  readonly missing: readonly string[];
  /** Lines at the top of the file to skip before the data (adult.test's banner). */
  readonly skipLines: number;
  /** Strip this suffix from the target column's values (adult.test writes ">50K."). */
  readonly labelSuffix?: string;
}

export type ColumnType = 'number' | 'string';

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
}

/** One parsed row: numbers for numeric columns, strings for the rest, null for missing. */
export type DataRecord = Record<string, string | number | null>;
