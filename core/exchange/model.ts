/** What a user gives to connect an exchange account (OKX API v5 keys). Never logged, never returned. */
export interface ExchangeCredentials {
  readonly apiKey: string;
  readonly secretKey: string;
  readonly passphrase: string;
}

/** The exchange account the credentials belong to, as the exchange reports it. */
export interface ExchangeAccount {
  /** The account's uid (an 18-digit decimal string on OKX): the `okx_uid` of a user. */
  readonly uid: string;
  /** The main account's uid (equals `uid` unless these are a sub-account's keys). */
  readonly mainUid: string | null;
  /** What the keys may do, e.g. `read_only`, `trade`, `withdraw`. */
  readonly permissions: readonly string[];
  /** The name the user gave the keys on the exchange, if any. */
  readonly label: string | null;
}

/** Why the exchange refused the credentials, in terms a user can act on. */
export const credentialProblems = ["unknown_key", "wrong_passphrase", "wrong_secret", "clock_skew", "not_permitted"] as const;
export type CredentialProblem = (typeof credentialProblems)[number];

/** The last characters of an API key: all a reply or a log line may show of it. */
export function maskApiKey(apiKey: string): string {
  return `…${apiKey.slice(-4)}`;
}
