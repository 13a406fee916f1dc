import type { Clock } from "../clock";
import type { ExchangeCredentials } from "../exchange/model";
import type { UserDirectory } from "../identity/user-ref";
import type { CredentialsCipher } from "./cipher";
import type { CredentialsStore } from "./ports";
import { resolveTarget } from "./target";
import type { CredentialsTarget } from "./target";

export interface PutCredentialsDeps {
  readonly store: CredentialsStore;
  readonly cipher: CredentialsCipher;
  readonly directory: UserDirectory;
  readonly clock: Clock;
}

export interface PutCredentialsInput extends CredentialsTarget {
  readonly credentials: ExchangeCredentials;
}

/** Seals the three values with the current key and stores them (replacing what was there). */
export async function putCredentials(deps: PutCredentialsDeps, input: PutCredentialsInput): Promise<void> {
  const { userId, exchange } = await resolveTarget(deps.directory, input);
  await deps.store.save(deps.cipher.sealCredentials(userId, exchange, input.credentials, deps.clock.now()));
}
