import type { Kysely, Selectable } from 'kysely';
import { NotFoundError, UsageError } from '../errors.js';
import { USER_ATTRIBUTE_COLUMNS, type MlctlSchema, type UserAttributes, type UsersTable } from './schema.js';
import { isDecimalInteger, parseNewUser, parseUserPatch, USER_FIELD_RULES, type UserInput } from './user-validation.js';

/** A stored user: the census attributes, the observed label, and bookkeeping. */
export type User = Selectable<UsersTable>;

export type UserColumn = keyof User;

const FILTER_OPERATORS = ['>=', '<=', '!=', '=', '>', '<'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

/** One `--where` condition: `age>=40`, `sex=Female`, `occupation=null`. */
export interface UserFilter {
  readonly column: UserColumn;
  readonly operator: FilterOperator;
  readonly value: string | number | null;
}

export interface ListUsersOptions {
  readonly where?: readonly UserFilter[];
  /** Default 50. */
  readonly limit?: number;
  readonly offset?: number;
}

export interface UserPage {
  readonly users: User[];
  /** Users matching the filters, ignoring limit and offset. */
  readonly total: number;
  readonly limit: number;
  readonly offset: number;
}

const FILTERABLE_COLUMNS: readonly UserColumn[] = ['id', ...USER_ATTRIBUTE_COLUMNS, 'income', 'source', 'created_at', 'updated_at'];
const NUMERIC_COLUMNS = new Set<string>(['id', ...Object.entries(USER_FIELD_RULES).flatMap(([f, r]) => (r.kind === 'integer' ? [f] : []))]);

/**
 * Parses `--where` conditions (`field=value`, also != > >= < <=; `null` matches missing
 * values), reporting every bad one at once (UsageError 'USER_FILTER_INVALID').
 */
export function parseUserFilters(conditions: readonly string[]): UserFilter[] {
  const problems: string[] = [];
  const filters: UserFilter[] = [];
  for (const condition of conditions) {
    const match = /^\s*([a-z_-]+)\s*(>=|<=|!=|=|>|<)\s*(.*?)\s*$/i.exec(condition);
    if (match === null) {
      problems.push(`"${condition}": write field=value (or != > >= < <=), e.g. age>=40`);
      continue;
    }
    const column = (match[1] as string).toLowerCase().replaceAll('-', '_') as UserColumn;
    const operator = match[2] as FilterOperator;
    const text = match[3] as string;
    if (!FILTERABLE_COLUMNS.includes(column)) {
      problems.push(`"${condition}": unknown field "${column}"; fields are ${FILTERABLE_COLUMNS.join(', ')}`);
      continue;
    }
    if (text.toLowerCase() === 'null') {
      if (operator !== '=' && operator !== '!=') problems.push(`"${condition}": null can only be compared with = or !=`);
      else filters.push({ column, operator, value: null });
      continue;
    }
    if (NUMERIC_COLUMNS.has(column)) {
      const n = Number(text);
      if (text === '' || !Number.isFinite(n)) problems.push(`"${condition}": ${column} is a number, got "${text}"`);
      else filters.push({ column, operator, value: n });
      continue;
    }
    filters.push({ column, operator, value: text });
  }
  if (problems.length > 0) {
    throw new UsageError('USER_FILTER_INVALID', `invalid --where: ${problems.length} problem${problems.length === 1 ? '' : 's'}`, { problems });
  }
  return filters;
}

/** A page of users matching every filter, by id. */
export async function listUsers(db: Kysely<MlctlSchema>, options: ListUsersOptions = {}): Promise<UserPage> {
  const limit = options.limit ?? 50;
  const offset = options.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 0) throw new UsageError('USER_LIMIT_INVALID', `--limit must be a whole number of at least 0, got ${limit}`);
  if (!Number.isInteger(offset) || offset < 0) throw new UsageError('USER_OFFSET_INVALID', `--offset must be a whole number of at least 0, got ${offset}`);
  let query = db.selectFrom('users');
  for (const filter of options.where ?? []) {
    if (filter.value === null) query = query.where(filter.column, filter.operator === '=' ? 'is' : 'is not', null);
    else query = query.where(filter.column, filter.operator === '!=' ? '<>' : filter.operator, filter.value);
  }
  const [users, count] = await Promise.all([
    query.selectAll().orderBy('id').limit(limit).offset(offset).execute(),
    query.select((eb) => eb.fn.countAll<number>().as('total')).executeTakeFirstOrThrow(),
  ]);
  return { users, total: Number(count.total), limit, offset };
}

/**
 * The user with this id; NotFoundError 'USER_NOT_FOUND' (exit 3) when there is none.
 * `mlctl predict --user <id>` calls this, then `userAttributes(user)` for the model input.
 */
export async function getUser(db: Kysely<MlctlSchema>, id: number): Promise<User> {
  const user = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  if (user === undefined) throw userNotFound(id);
  return user;
}

/** Just the census attributes of a user, in Adult's column order: a model's input record. */
export function userAttributes(user: UserAttributes): UserAttributes {
  return Object.fromEntries(USER_ATTRIBUTE_COLUMNS.map((column) => [column, user[column]])) as unknown as UserAttributes;
}

/** Validates every field (UsageError 'USER_INVALID' listing all problems) and inserts. */
export async function addUser(db: Kysely<MlctlSchema>, input: UserInput, now: Date = new Date()): Promise<User> {
  const fields = parseNewUser(input);
  const at = now.toISOString();
  return db.insertInto('users').values({ ...fields, source: null, created_at: at, updated_at: at }).returningAll().executeTakeFirstOrThrow();
}

/** Validates the given fields and updates them; 'USER_NOT_FOUND' when the id does not exist. */
export async function updateUser(db: Kysely<MlctlSchema>, id: number, input: UserInput, now: Date = new Date()): Promise<User> {
  const patch = parseUserPatch(input);
  // Write first, check after: the UPDATE takes SQLite's write lock at once (waiting on
  // busy_timeout), where a read-then-write transaction could fail on a concurrent commit.
  return db.transaction().execute(async (trx) => {
    const updated = await trx.updateTable('users').set({ ...patch, updated_at: now.toISOString() }).where('id', '=', id).returningAll().executeTakeFirst();
    if (updated === undefined) throw userNotFound(id);
    // The row as a whole must still be valid (education and education_num agree); throwing rolls back.
    parseNewUser(Object.fromEntries(Object.entries(updated).filter(([k]) => k in USER_FIELD_RULES)));
    return updated;
  });
}

/** Deletes the user and returns it; its predictions keep their rows (user_id becomes null). */
export async function deleteUser(db: Kysely<MlctlSchema>, id: number): Promise<User> {
  const deleted = await db.deleteFrom('users').where('id', '=', id).returningAll().executeTakeFirst();
  if (deleted === undefined) throw userNotFound(id);
  return deleted;
}

/** Parses a user id argument (UsageError 'USER_ID_INVALID'). */
export function parseUserId(text: string): number {
  const id = isDecimalInteger(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(id) || id < 1) throw new UsageError('USER_ID_INVALID', `user id must be a whole number of at least 1, got "${text}"`);
  return id;
}

function userNotFound(id: number): NotFoundError {
  return new NotFoundError('USER_NOT_FOUND', `no user with id ${id}`, { hint: 'run `mlctl db users list` to see the ids' });
}
