import { createHash } from "node:crypto";
import type { NewUserRequest } from "./model";

/** The operation Idempotency-Keys of POST /v1/users are recorded under. */
export const CREATE_USER_OPERATION = "create_user";

/**
 * sha256 of the validated request with its fields in a fixed order, so the same user asked for
 * with differently ordered or formatted JSON (a number vs a string telegram id, email case) is
 * the same request.
 */
export function requestHash(request: NewUserRequest): string {
  const canonical = [request.email, request.telegramId, request.okxUid, request.plan, request.displayName];
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex");
}
