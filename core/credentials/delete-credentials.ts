import { NotFoundError } from "../errors";
import type { UserDirectory } from "../identity/user-ref";
import type { CredentialsStore } from "./ports";
import { resolveTarget } from "./target";
import type { CredentialsTarget } from "./target";

export interface DeleteCredentialsDeps {
  readonly store: CredentialsStore;
  readonly directory: UserDirectory;
}

/** Deletes the row (sealed values included); 404 when nothing was stored. */
export async function deleteCredentials(deps: DeleteCredentialsDeps, input: CredentialsTarget): Promise<void> {
  const { userId, exchange } = await resolveTarget(deps.directory, input);
  if (!(await deps.store.remove(userId, exchange))) throw new NotFoundError(`no ${exchange} credentials stored for this user`);
}
