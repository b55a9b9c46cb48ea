/**
 * Errors as the daemon answers them. A route throws an HttpError; the dispatcher writes it
 * in the route's protocol: mlctl's `{"error": {code, message, problems}}` everywhere but
 * /invocations, which answers as MLflow's scoring server does (`mlflowErrorBody`).
 */
import type { MlctlError } from '../errors.js';

/** A problem as a 4xx lists it; `record` counts from 1, as everywhere in mlctl. */
export interface FieldProblem {
  readonly record?: number;
  readonly field?: string;
  readonly message: string;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: readonly FieldProblem[] = [],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** At most this many problems are listed in one answer. */
export const MAX_PROBLEMS = 100;

export const INTERNAL_MESSAGE = 'internal error; the daemon log has the details';

/** mlctl's error document. */
export function errorBody(error: HttpError): string {
  return JSON.stringify({ error: { code: error.code, message: error.message, ...(error.problems.length > 0 ? { problems: error.problems } : {}) } });
}

/**
 * MLflow's scoring-server error: `{"error_code": …, "message": …}`. Every problem with the
 * input is MLflow's 400 BAD_REQUEST, its message listing the problems; other failures keep
 * their status with the matching MLflow error code.
 */
export function mlflowError(error: HttpError): { status: number; body: string } {
  const status = error.status === 422 ? 400 : error.status;
  const errorCode =
    status === 400 || status === 415
      ? 'BAD_REQUEST'
      : status === 401
        ? 'UNAUTHENTICATED'
        : status === 404
          ? 'RESOURCE_DOES_NOT_EXIST'
          : status === 413
            ? 'REQUEST_LIMIT_EXCEEDED'
            : status === 503
              ? 'TEMPORARILY_UNAVAILABLE'
              : status >= 500
                ? 'INTERNAL_ERROR'
                : 'BAD_REQUEST';
  const listed = error.problems.map((p) => `${p.record === undefined ? '' : `record ${p.record}, `}${p.field === undefined ? '' : `field "${p.field}": `}${p.message.replace(/\.$/, '')}`);
  const message = listed.length === 0 ? error.message : `${error.message}: ${listed.join('; ')}`;
  return { status, body: JSON.stringify({ error_code: errorCode, message }) };
}

/** An MlctlError from core code (a user store, a loader) as an answer. */
export function mlctlErrorToHttp(error: MlctlError): HttpError {
  const problems = error.problems.map((message) => ({ message }));
  switch (error.category) {
    case 'usage':
      return new HttpError(422, error.code, error.message, problems);
    case 'not-found':
      return new HttpError(404, error.code, error.message, problems);
    case 'gate':
      return new HttpError(409, error.code, error.message, problems);
    case 'external':
      return new HttpError(503, error.code, error.message, problems);
    default:
      return new HttpError(500, 'INTERNAL', INTERNAL_MESSAGE);
  }
}

export function describeType(value: unknown): string {
  return Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
