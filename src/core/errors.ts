/**
 * Errors are values with a stable code and a category. Only `src/cli.ts` maps the
 * category to an exit code (DESIGN.md: 2 usage/input, 3 not found, 4 quality gate,
 * 5 external service, 1 anything else).
 */
export type ErrorCategory = 'usage' | 'not-found' | 'gate' | 'external' | 'internal';

export interface MlctlErrorOptions {
  /** What the user can do about it, printed after the message. */
  hint?: string;
  /** Every problem found, when validation collected several. */
  problems?: readonly string[];
  /** Structured facts for scripts, added to the JSON error document (e.g. the run a failed gate belongs to). */
  details?: Readonly<Record<string, unknown>>;
  cause?: unknown;
}

export class MlctlError extends Error {
  readonly code: string;
  readonly category: ErrorCategory;
  readonly hint: string | undefined;
  readonly problems: readonly string[];
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(category: ErrorCategory, code: string, message: string, options: MlctlErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MlctlError';
    this.category = category;
    this.code = code;
    this.hint = options.hint;
    this.problems = options.problems ?? [];
    this.details = options.details;
  }
}

/** Invalid usage or invalid input: the message names the field, line or flag. */
export class UsageError extends MlctlError {
  constructor(code: string, message: string, options?: MlctlErrorOptions) {
    super('usage', code, message, options);
  }
}

/** Something named (run, model, dataset, user) does not exist. */
export class NotFoundError extends MlctlError {
  constructor(code: string, message: string, options?: MlctlErrorOptions) {
    super('not-found', code, message, options);
  }
}

/** A quality gate or an integrity check failed. */
export class GateError extends MlctlError {
  constructor(code: string, message: string, options?: MlctlErrorOptions) {
    super('gate', code, message, options);
  }
}

/** An external service (S3, network, database) failed. */
export class ExternalError extends MlctlError {
  constructor(code: string, message: string, options?: MlctlErrorOptions) {
    super('external', code, message, options);
  }
}

export function isMlctlError(error: unknown): error is MlctlError {
  return error instanceof MlctlError;
}

export const EXIT_CODES: Readonly<Record<ErrorCategory, number>> = Object.freeze({
  internal: 1,
  usage: 2,
  'not-found': 3,
  gate: 4,
  external: 5,
});
