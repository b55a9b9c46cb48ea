import { compiledPipeline } from '../features/compiled-pipeline.js';
import type { FittedPipeline } from '../features/pipeline-spec.js';

/** One field of a model's input record, as `mlctl models show` lists it. */
export interface InputField {
  readonly field: string;
  /** JSON type of a value: number, string, boolean… */
  readonly type: string;
  /** true: every record must carry a value; false: null is accepted and imputed. */
  readonly required: boolean;
  /** What a null becomes, when the fitted pipeline says. */
  readonly imputedWith?: string | number;
  /** The values the model knows (one-hot categories, yes/no spellings). */
  readonly categories?: readonly string[];
  /** The range seen in training, when the manifest records it (`x-training-range`). */
  readonly trainingRange?: { readonly min: number; readonly max: number };
}

/**
 * The fields of a bundle's input schema (manifest.inputSchema, a JSON Schema), in schema order,
 * with the imputed values of the fitted pipeline when it is given.
 */
export function describeInputFields(inputSchema: Readonly<Record<string, unknown>>, pipeline?: FittedPipeline): InputField[] {
  const properties = (inputSchema.properties ?? {}) as Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  const required = new Set(Array.isArray(inputSchema.required) ? (inputSchema.required as unknown[]).filter((f): f is string => typeof f === 'string') : []);
  const imputed = new Map<string, string | number>();
  if (pipeline !== undefined) for (const column of compiledPipeline(pipeline).columns) if (column.impute !== undefined) imputed.set(column.column, column.impute);
  return Object.entries(properties).map(([field, property]) => {
    const types = (Array.isArray(property.type) ? property.type : [property.type]).filter((t): t is string => typeof t === 'string');
    const nullable = types.includes('null');
    const categories = Array.isArray(property.enum) ? property.enum.filter((v): v is string => typeof v === 'string') : undefined;
    const range = trainingRangeOf(property['x-training-range']);
    const value = imputed.get(field);
    return {
      field,
      type: types.filter((t) => t !== 'null').join(' | ') || 'any',
      required: required.has(field) || !nullable,
      ...(value === undefined || !nullable ? {} : { imputedWith: value }),
      ...(categories === undefined ? {} : { categories }),
      ...(range === undefined ? {} : { trainingRange: range }),
    };
  });
}

function trainingRangeOf(value: unknown): { min: number; max: number } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { min, max } = value as { min?: unknown; max?: unknown };
  return typeof min === 'number' && typeof max === 'number' && Number.isFinite(min) && Number.isFinite(max) ? { min, max } : undefined;
}
