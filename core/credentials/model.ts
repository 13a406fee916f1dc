import type { ExchangeCredentials } from "../exchange/model";

/** Exchanges whose keys botstate holds; a `{exchange}` outside this list is 404. */
export const supportedExchanges = ["okx"] as const;
export type Exchange = (typeof supportedExchanges)[number];

export function isSupportedExchange(value: string): value is Exchange {
  return (supportedExchanges as readonly string[]).includes(value);
}

/** The three values of a credential set, each sealed separately (its own nonce, its own field in the associated data). */
export const credentialFields = ["api_key", "secret", "passphrase"] as const;
export type CredentialField = (typeof credentialFields)[number];

/** A stored credential set: every value sealed, only the last 4 characters of the key in clear. */
export interface SealedCredentials {
  readonly userId: string;
  readonly exchange: Exchange;
  readonly apiKey: Uint8Array;
  readonly secret: Uint8Array;
  readonly passphrase: Uint8Array;
  /** The key of the ring that sealed all three values. */
  readonly keyId: string;
  readonly apiKeyLast4: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What GET /v1/users/{ref}/credentials/{exchange} answers: never a secret. */
export interface CredentialsSummary {
  readonly exchange: Exchange;
  readonly apiKeyLast4: string;
  readonly updatedAt: Date;
}

/** Decrypted credentials, for the trading engine only (the internal route). */
export interface OpenedCredentials extends ExchangeCredentials {
  readonly exchange: Exchange;
  readonly keyId: string;
  readonly updatedAt: Date;
}

/** Who asked for decrypted credentials (the audit log keeps this, never the values). */
export interface CredentialReader {
  readonly role: string;
  readonly subject: string;
  readonly requestId: string | null;
}

/** The last 4 characters of an API key, the only part ever shown. */
export function apiKeyLast4(apiKey: string): string {
  return apiKey.slice(-4);
}
