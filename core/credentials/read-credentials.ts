import type { Clock } from "../clock";
import { ForbiddenError, NotFoundError } from "../errors";
import type { UserDirectory } from "../identity/user-ref";
import type { CredentialsCipher } from "./cipher";
import type { OpenedCredentials } from "./model";
import type { CredentialsStore } from "./ports";
import { resolveTarget } from "./target";
import type { CredentialsTarget } from "./target";

export interface ReadCredentialsDeps {
  readonly store: CredentialsStore;
  readonly cipher: CredentialsCipher;
  readonly directory: UserDirectory;
  readonly clock: Clock;
}

export interface ReadCredentialsInput extends CredentialsTarget {
  readonly requestId: string | null;
}

/**
 * Decrypted credentials for the trading engine (service tokens only). The read is written to the
 * audit log (who, when, whose, found or not) in the same round trip as it is made, before anything
 * is decrypted; a value that does not authenticate fails with CredentialDecryptionError.
 */
export async function readCredentials(deps: ReadCredentialsDeps, input: ReadCredentialsInput): Promise<OpenedCredentials> {
  if (input.principal.role !== "service") throw new ForbiddenError("decrypted credentials are for service tokens only");
  const { userId, exchange } = await resolveTarget(deps.directory, input);
  const reader = { role: input.principal.role, subject: input.principal.subject, requestId: input.requestId };
  const row = await deps.store.readAudited(userId, exchange, reader, deps.clock.now());
  if (!row) throw new NotFoundError(`no ${exchange} credentials stored for this user`);
  return { ...deps.cipher.openCredentials(row), exchange, keyId: row.keyId, updatedAt: row.updatedAt };
}
