import { PostgresUserDirectory } from "../core/identity/adapters/postgres-user-directory";
import type { UserDirectory } from "../core/identity/user-ref";
import { database } from "./clients/postgres";
import { once } from "./config";

/** Resolves `{ref}` path segments (`me`, user id, OKX UID) for every capability's user routes. */
export function userDirectory(): UserDirectory {
  return once(userDirectory, () => new PostgresUserDirectory(database()));
}
