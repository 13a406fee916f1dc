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

/** One legacy `user:{okx_uid}:api:keys` hash as read. */
export interface LegacyCredentialsEntry {
  readonly key: string;
  /** The hash's fields as stored (strings); null when the key is gone. */
  readonly fields: Readonly<Record<string, string>> | null;
  /** Why Redis could not read it (e.g. WRONGTYPE: not a hash). */
  readonly error?: string;
}

export interface PlaintextDeletion {
  readonly key: string;
  /** Every field that holds a secret, with the value that was copied. */
  readonly expected: Readonly<Record<string, string>>;
}

/** The old plaintext hashes in Redis (system B), read with SCAN. */
export interface LegacyCredentialsSource {
  scan(cursor: string, count: number): Promise<{ readonly cursor: string; readonly keys: readonly string[] }>;
  read(keys: readonly string[]): Promise<LegacyCredentialsEntry[]>;
  /** The okx uid a matched key names, or null when it does not follow the layout. */
  okxUidOf(key: string): string | null;
  /** For each hash, in one round trip: removes its plaintext fields if it still holds `expected` (field -> value); false when it changed or is gone. */
  deletePlaintext(entries: readonly PlaintextDeletion[]): Promise<boolean[]>;
  savedCursor(): Promise<string | null>;
  saveCursor(cursor: string): Promise<void>;
  clearCursor(): Promise<void>;
}

/** What migrate-credentials needs of Postgres beyond the store. */
export interface CredentialsMigrationStore {
  /** okx uid -> active user id, for those that have one. */
  usersByOkxUid(okxUids: readonly string[]): Promise<ReadonlyMap<string, string>>;
  findSealed(userIds: readonly string[], exchange: Exchange): Promise<SealedCredentials[]>;
  /** Inserts rows whose (user, exchange) has none yet, in one statement; returns how many it inserted. */
  insertMissing(rows: readonly SealedCredentials[]): Promise<number>;
}
