/** /users and /users/<id>: `mlctl db users` over HTTP, when a migrated database is configured. */
import { describeType, HttpError, isPlainObject } from '../http-error.js';
import { readJsonBody } from '../request-body.js';
import { json, type Exchange, type ServeResponse } from '../serve-context.js';
import type { UserStore } from '../user-store.js';

function users(c: Exchange): UserStore {
  if (c.app.users === undefined) {
    throw new HttpError(404, 'USERS_UNAVAILABLE', `the users routes need a migrated database: ${c.app.databaseUnavailable ?? 'none is configured'}`);
  }
  return c.app.users;
}

function userId(c: Exchange): number {
  const text = c.path.slice('/users/'.length);
  const id = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(id) || id < 1) throw new HttpError(422, 'USER_ID_INVALID', `user id must be a whole number of at least 1, got "${text}"`);
  return id;
}

function userBody(c: Exchange): Record<string, unknown> {
  const body = readJsonBody(c.request.contentType, c.request.body);
  if (!isPlainObject(body)) throw new HttpError(422, 'BODY_NOT_OBJECT', `send the user as one JSON object, got ${describeType(body)}`);
  return body;
}

function queryNumber(params: URLSearchParams, name: string): number | undefined {
  const text = params.get(name);
  if (text === null) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 0) throw new HttpError(422, 'QUERY_INVALID', `${name} must be a whole number of at least 0, got "${text}"`, [{ field: name, message: 'expected a whole number ≥ 0' }]);
  return n;
}

/** GET /users?where=…&limit=…&offset=… */
export async function listUsersRoute(c: Exchange): Promise<ServeResponse> {
  const store = users(c);
  const params = new URL(c.request.url, 'http://localhost').searchParams;
  const limit = queryNumber(params, 'limit');
  const offset = queryNumber(params, 'offset');
  return json(200, await store.list({ where: params.getAll('where'), ...(limit === undefined ? {} : { limit }), ...(offset === undefined ? {} : { offset }) }));
}

/** POST /users */
export async function addUserRoute(c: Exchange): Promise<ServeResponse> {
  const store = users(c);
  return json(201, await store.add(userBody(c)));
}

/** GET /users/<id> */
export async function getUserRoute(c: Exchange): Promise<ServeResponse> {
  return json(200, await users(c).get(userId(c)));
}

/** PATCH or PUT /users/<id> */
export async function updateUserRoute(c: Exchange): Promise<ServeResponse> {
  const store = users(c);
  const id = userId(c);
  return json(200, await store.update(id, userBody(c)));
}

/** DELETE /users/<id> */
export async function deleteUserRoute(c: Exchange): Promise<ServeResponse> {
  return json(200, await users(c).remove(userId(c)));
}
