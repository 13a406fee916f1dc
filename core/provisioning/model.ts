export const systemModes = ["async_queue", "sync_direct"] as const;
/** How POST /v1/users creates a user: through the queue (202) or in the request (201). */
export type SystemMode = (typeof systemModes)[number];

/** A validated creation request; email lower-cased, ids as decimal strings. */
export interface NewUserRequest {
  readonly email: string;
  readonly telegramId: string;
  readonly okxUid: string | null;
  readonly plan: string | null;
  readonly displayName: string | null;
}

export interface AppUser extends NewUserRequest {
  readonly id: string;
  readonly isActive: boolean;
  readonly createdAt: Date;
}

/** The identifiers that name a person: unique among active users. */
export type NaturalKeys = Pick<NewUserRequest, "email" | "telegramId" | "okxUid">;

export type ProvisioningStatus = "pending" | "done" | "failed";
/** poison: no retry can succeed (conflict, invalid); exhausted: parked in the DLQ after its receives. */
export type FailureKind = "poison" | "exhausted";

export interface ProvisioningRecord {
  readonly id: string;
  readonly idempotencyKey: string;
  readonly status: ProvisioningStatus;
  readonly request: NewUserRequest;
  readonly userId: string | null;
  readonly error: string | null;
  readonly failureKind: FailureKind | null;
  readonly receiveCount: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What a user creation answered: a new user, the user these identifiers already name, or queued. */
export type CreationOutcome = "created" | "existing" | "accepted";

export interface IdempotencyRecord {
  readonly key: string;
  readonly payloadHash: string;
  readonly state: "in_progress" | "completed";
  readonly lockedUntil: Date | null;
  /** The provisioning record (queued path) this key is about. */
  readonly resourceId: string | null;
  readonly outcome: CreationOutcome | null;
  readonly responseBody: unknown;
  readonly expiresAt: Date;
}

/** The body of a provisioning message on SQS. */
export interface ProvisioningMessage {
  readonly provisioningId: string;
  readonly idempotencyKey: string;
  readonly request: NewUserRequest;
}
