import type { CredentialReader, CredentialsSummary, Exchange, SealedCredentials } from "./model";

/** Where rotation resumes: the last row it saw, in (user id, exchange) order. */
export interface RowCursor {
  readonly userId: string;
  readonly exchange: string;
}

/**
 * A row re-sealed by rotation, written only if the stored row is still exactly the one it was read
 * from (same key id, same sealed api key: every seal draws a fresh nonce), so a PUT that lands
 * meanwhile is never overwritten with the older credentials.
 */
export interface ResealedRow {
  readonly row: SealedCredentials;
  readonly previous: SealedCredentials;
}

/** Sealed credentials in Postgres (`exchange_credentials`); one bounded round trip per call. */
export interface CredentialsStore {
  /** Creates or replaces the user's credentials for that exchange. */
  save(row: SealedCredentials): Promise<void>;
  summary(userId: string, exchange: Exchange): Promise<CredentialsSummary | null>;
  /** True when there was something to delete. */
  remove(userId: string, exchange: Exchange): Promise<boolean>;
  /** The sealed row, with the read recorded in the audit log in the same transaction (also when there is none). */
  readAudited(userId: string, exchange: Exchange, reader: CredentialReader, at: Date): Promise<SealedCredentials | null>;
  /** Rows sealed with any key but `keyId`, after `after`, in (user id, exchange) order. */
  listNotUnderKey(keyId: string, after: RowCursor | null, limit: number): Promise<SealedCredentials[]>;
  /** Writes the re-sealed rows in one statement; returns how many were still as read (and so written). */
  replaceSealed(rows: readonly ResealedRow[]): Promise<number>;
  /** Rows per key id. */
  countByKey(): Promise<Readonly<Record<string, number>>>;
}
