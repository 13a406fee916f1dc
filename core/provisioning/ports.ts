import type { OutboxMessage } from "../outbox/model";
import type { AppUser, CreationOutcome, FailureKind, IdempotencyRecord, NaturalKeys, ProvisioningMessage, ProvisioningRecord, ProvisioningStatus, SystemMode } from "./model";

/** How a transaction records an Idempotency-Key's answer: a fresh key, or one this request claimed earlier. */
export type KeyWrite =
  | { readonly kind: "insert"; readonly key: string; readonly payloadHash: string; readonly expiresAt: Date }
  | { readonly kind: "complete"; readonly key: string };

export interface KeyAnswer {
  readonly write: KeyWrite;
  readonly outcome: CreationOutcome;
  /** The wire body, replayed as is. */
  readonly body: unknown;
  readonly resourceId: string | null;
  readonly now: Date;
}

/** The provisioning record a creation settles as done, in the same transaction. */
export interface ProvisioningSettlement {
  readonly id: string;
  readonly receiveCount?: number | undefined;
}

export interface UserCreation {
  readonly user: AppUser;
  /** The lookup-cache invalidation the new mapping owes (negative entries of its identifiers), committed with it. */
  readonly invalidation: OutboxMessage;
  readonly key?: KeyAnswer | undefined;
  readonly provisioning?: ProvisioningSettlement | undefined;
}

export type CreateResult =
  | { readonly kind: "created" }
  /** The Idempotency-Key exists already (a twin committed first): nothing was written. */
  | { readonly kind: "key_taken" }
  /** An email / telegram id / okx uid is already taken: nothing was written. */
  | { readonly kind: "identifiers_taken" };

export interface QueueClaim {
  readonly key: string;
  readonly payloadHash: string;
  readonly expiresAt: Date;
  readonly lockedUntil: Date;
  readonly provisioningId: string;
  readonly request: ProvisioningMessage["request"];
}

export type QueueClaimResult =
  | { readonly kind: "claimed"; readonly matches: readonly AppUser[] }
  | { readonly kind: "key_taken" };

export interface ProvisioningCounts {
  readonly pending: number;
  readonly done: number;
  readonly failed: Readonly<Record<FailureKind, number>>;
  /** Pending records older than the threshold given. */
  readonly stalePending: number;
}

/**
 * Users, Idempotency-Keys and provisioning records (Postgres). Every method is one round trip; the
 * ones that write several tables do so in one transaction.
 */
export interface ProvisioningStore {
  /** The app user, its identifier mapping, its default settings, and the key's answer / the provisioning record. */
  create(creation: UserCreation): Promise<CreateResult>;
  /** Records an answer about an existing user: the key's answer and/or the provisioning record settled. */
  recordExisting(userId: string, key: KeyAnswer | undefined, provisioning: ProvisioningSettlement | undefined): Promise<"recorded" | "key_taken">;
  findActiveByNaturalKeys(keys: NaturalKeys): Promise<AppUser[]>;

  getKey(key: string): Promise<IdempotencyRecord | null>;
  /** The key in progress, its provisioning record pending, and the active users sharing its natural keys. */
  claimForQueue(claim: QueueClaim): Promise<QueueClaimResult>;
  /** Takes over a key whose owner's lease ran out (same body); null when another request holds or finished it. */
  takeOverKey(key: string, payloadHash: string, now: Date, lockedUntil: Date): Promise<IdempotencyRecord | null>;
  completeKey(answer: KeyAnswer): Promise<void>;
  /** Forgets a claimed key (and its unsent provisioning record) after the request was refused. */
  releaseKey(key: string, provisioningId: string | null): Promise<void>;
  /** Deletes the key if it has expired; true when it did. */
  deleteExpiredKey(key: string, now: Date): Promise<boolean>;
  purgeExpiredKeys(now: Date, limit: number): Promise<number>;

  getProvisioning(id: string): Promise<ProvisioningRecord | null>;
  failProvisioning(id: string, kind: FailureKind, error: string, receiveCount: number): Promise<void>;
  /** Exhausted records back to pending (a redrive); returns how many. */
  reopenExhausted(ids: readonly string[]): Promise<number>;
  provisioningCounts(staleBefore: Date): Promise<ProvisioningCounts>;
  listProvisioning(status: ProvisioningStatus, limit: number): Promise<ProvisioningRecord[]>;
}

/** The provisioning queue (SQS). Throws when the message may not have been accepted. */
export interface ProvisioningQueue {
  send(message: ProvisioningMessage): Promise<void>;
}

export interface SystemModeSetting {
  readonly mode: SystemMode;
  readonly version: number;
  readonly reason: string | null;
  readonly updatedBy: string | null;
  readonly updatedAt: Date;
}

export interface ModeChange {
  readonly mode: SystemMode;
  readonly reason: string;
  readonly actor: string;
  readonly now: Date;
}

/** system_config in Postgres: the truth. */
export interface SystemModeStore {
  read(): Promise<SystemModeSetting>;
  /** Sets the mode, bumping the version only when it changes. */
  change(change: ModeChange): Promise<{ readonly setting: SystemModeSetting; readonly previous: SystemModeSetting; readonly changed: boolean }>;
}

export interface ModeSnapshot {
  readonly mode: SystemMode;
  readonly version: number;
}

/** The copy every container polls (Redis). */
export interface SystemModeCopy {
  read(): Promise<ModeSnapshot | null>;
  /** Writes the snapshot unless the copy already holds a newer version. */
  write(snapshot: ModeSnapshot, ttlSeconds: number): Promise<void>;
}
