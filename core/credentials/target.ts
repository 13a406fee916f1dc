import type { Principal } from "../auth/tokens";
import { NotFoundError } from "../errors";
import { resolveUserRef } from "../identity/user-ref";
import type { UserDirectory, UserRef } from "../identity/user-ref";
import { isSupportedExchange, supportedExchanges } from "./model";
import type { Exchange } from "./model";

/** Whose credentials for which exchange a request names, before the user is resolved. */
export interface CredentialsTarget {
  readonly principal: Principal;
  readonly ref: UserRef;
  /** As given in the path; an exchange botstate does not support is 404. */
  readonly exchange: string;
}

export function exchangeOf(raw: string): Exchange {
  if (isSupportedExchange(raw)) return raw;
  throw new NotFoundError(`unknown exchange '${raw}' (supported: ${supportedExchanges.join(", ")})`);
}

/** The app user id and exchange a request may act on (403 / 404 from the user ref rules). */
export async function resolveTarget(directory: UserDirectory, target: CredentialsTarget): Promise<{ readonly userId: string; readonly exchange: Exchange }> {
  const exchange = exchangeOf(target.exchange);
  const userId = await resolveUserRef({ directory }, target.principal, target.ref);
  return { userId, exchange };
}
