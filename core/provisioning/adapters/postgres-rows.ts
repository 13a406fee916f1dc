import type { AppUser, CreationOutcome, FailureKind, IdempotencyRecord, NewUserRequest, ProvisioningRecord, ProvisioningStatus } from "../model";

export const USER_COLUMNS = "id, email, telegram_id::text AS telegram_id, okx_uid, plan, display_name, is_active, created_at";
export const KEY_COLUMNS = "key, payload_hash, state, locked_until, resource_id, outcome, response_body, expires_at";
export const PROVISIONING_COLUMNS = "id, idempotency_key, status, request, user_id, error, failure_kind, receive_count, created_at, updated_at";

type Row = Record<string, unknown>;

const date = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));
const dateOrNull = (value: unknown): Date | null => (value === null || value === undefined ? null : date(value));
const textOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));

export function toUser(row: Row): AppUser {
  return {
    id: String(row.id),
    email: String(row.email ?? ""),
    telegramId: String(row.telegram_id),
    okxUid: textOrNull(row.okx_uid),
    plan: textOrNull(row.plan),
    displayName: textOrNull(row.display_name),
    isActive: Boolean(row.is_active),
    createdAt: date(row.created_at),
  };
}

export function toKeyRecord(row: Row): IdempotencyRecord {
  return {
    key: String(row.key),
    payloadHash: String(row.payload_hash),
    state: row.state as IdempotencyRecord["state"],
    lockedUntil: dateOrNull(row.locked_until),
    resourceId: textOrNull(row.resource_id),
    outcome: (row.outcome ?? null) as CreationOutcome | null,
    responseBody: row.response_body,
    expiresAt: date(row.expires_at),
  };
}

export function toProvisioning(row: Row): ProvisioningRecord {
  return {
    id: String(row.id),
    idempotencyKey: String(row.idempotency_key),
    status: row.status as ProvisioningStatus,
    request: row.request as NewUserRequest,
    userId: textOrNull(row.user_id),
    error: textOrNull(row.error),
    failureKind: (row.failure_kind ?? null) as FailureKind | null,
    receiveCount: Number(row.receive_count),
    createdAt: date(row.created_at),
    updatedAt: date(row.updated_at),
  };
}
