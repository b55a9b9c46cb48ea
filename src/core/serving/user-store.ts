import type { Kysely } from 'kysely';
import type { MlctlSchema } from '../db/schema.js';
import { addUser, deleteUser, getUser, listUsers, parseUserFilters, updateUser, type User, type UserPage } from '../db/users-repository.js';

/** What the /users routes need: the operations `mlctl db users` offers, on one open database. */
export interface UserStore {
  list(options: { readonly where: readonly string[]; readonly limit?: number; readonly offset?: number }): Promise<UserPage>;
  get(id: number): Promise<User>;
  add(input: Readonly<Record<string, unknown>>): Promise<User>;
  update(id: number, input: Readonly<Record<string, unknown>>): Promise<User>;
  remove(id: number): Promise<User>;
}

/** The users repository (the code behind `mlctl db users`) as a UserStore. */
export function createDatabaseUserStore(db: Kysely<MlctlSchema>): UserStore {
  return {
    list: ({ where, limit, offset }) =>
      listUsers(db, { where: parseUserFilters(where), ...(limit === undefined ? {} : { limit }), ...(offset === undefined ? {} : { offset }) }),
    get: (id) => getUser(db, id),
    add: (input) => addUser(db, input),
    update: (id, input) => updateUser(db, id, input),
    remove: (id) => deleteUser(db, id),
  };
}
