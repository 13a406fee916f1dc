import { NotFoundError } from "../errors";
import type { UserDirectory } from "../identity/user-ref";
import type { CredentialsSummary } from "./model";
import type { CredentialsStore } from "./ports";
import { resolveTarget } from "./target";
import type { CredentialsTarget } from "./target";

export interface CredentialsSummaryDeps {
  readonly store: CredentialsStore;
  readonly directory: UserDirectory;
}

/** What is stored, masked: the exchange, the api key's last 4 characters, when it changed. */
export async function getCredentialsSummary(deps: CredentialsSummaryDeps, input: CredentialsTarget): Promise<CredentialsSummary> {
  const { userId, exchange } = await resolveTarget(deps.directory, input);
  const summary = await deps.store.summary(userId, exchange);
  if (!summary) throw new NotFoundError(`no ${exchange} credentials stored for this user`);
  return summary;
}
