import { UnprocessableError } from "../errors";
import type { CredentialProblem, ExchangeAccount, ExchangeCredentials } from "./model";

/** The exchange refused the credentials (wrong key, secret or passphrase): the user must fix them. */
export class CredentialsRejectedError extends UnprocessableError {
  constructor(
    readonly problem: CredentialProblem,
    /** The exchange's own message, for the logs (it never contains the credentials). */
    readonly exchangeMessage: string,
  ) {
    super([{ field: "credentials", message: `the exchange rejected the API keys (${problem})` }]);
  }
}

export interface VerifyOptions {
  /** Longest the call may take (the caller's remaining budget). */
  readonly deadlineMs: number;
}

/**
 * An exchange's account API, reached with a user's own keys. `verify` proves the keys work and
 * says whose account they open; it throws CredentialsRejectedError when the exchange refuses them
 * and UnavailableError when the exchange cannot answer (down, slow, rate limited).
 */
export interface ExchangeAccounts {
  verify(credentials: ExchangeCredentials, options: VerifyOptions): Promise<ExchangeAccount>;
}
