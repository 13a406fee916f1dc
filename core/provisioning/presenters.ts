import type * as z from "zod/mini";
import type { AppUser, ProvisioningRecord } from "./model";
import type { acceptedResponseSchema, provisioningResponseSchema, systemModeResponseSchema, userResponseSchema } from "./schemas";
import type { SystemModeSetting } from "./ports";

export type UserBody = z.output<ReturnType<typeof userResponseSchema>>;
export type AcceptedBody = z.output<ReturnType<typeof acceptedResponseSchema>>;

export function presentUser(user: AppUser): UserBody {
  return {
    id: user.id,
    email: user.email,
    telegramId: user.telegramId,
    okxUid: user.okxUid,
    plan: user.plan,
    displayName: user.displayName,
    isActive: user.isActive,
    createdAt: user.createdAt.toISOString(),
  };
}

export function presentAccepted(provisioningId: string): AcceptedBody {
  return { provisioningId, status: "pending" };
}

/** Where a queued creation can be followed (the Location of a 202). */
export function provisioningLocation(provisioningId: string): string {
  return `/v1/provisioning/${provisioningId}`;
}

export function presentProvisioning(record: ProvisioningRecord): z.output<ReturnType<typeof provisioningResponseSchema>> {
  return {
    id: record.id,
    status: record.status,
    ...(record.userId ? { userId: record.userId } : {}),
    ...(record.error ? { error: record.error } : {}),
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}

export function presentSystemMode(setting: SystemModeSetting): z.output<ReturnType<typeof systemModeResponseSchema>> {
  return { mode: setting.mode, version: setting.version, reason: setting.reason, updatedBy: setting.updatedBy, updatedAt: setting.updatedAt.toISOString() };
}
