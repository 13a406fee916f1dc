import type { CreationOutcome } from "../core/provisioning/model";
import { provisioningLocation } from "../core/provisioning/presenters";
import { acceptedResponseSchema, createUserBodySchema, createUserHeadersSchema, userResponseSchema } from "../core/provisioning/schemas";
import { submitUserCreation } from "../core/provisioning/submit-user";
import { httpRoute } from "../runtime/http/route";
import { submitUserDeps } from "../runtime/provisioning-queue";

const STATUS: Readonly<Record<CreationOutcome, number>> = { created: 201, existing: 200, accepted: 202 };

export const handler = httpRoute(
  {
    method: "POST",
    path: "/v1/users",
    summary:
      "Create a paying user exactly once (header Idempotency-Key, 1-255 visible characters): 201 created (sync_direct), " +
      "202 queued with Location (async_queue), 200 when these identifiers already name that user; replays answer the same with Idempotent-Replayed: true",
    auth: ["service", "admin"],
    requestHeaders: createUserHeadersSchema,
    body: createUserBodySchema,
    responses: { 200: userResponseSchema, 201: userResponseSchema, 202: acceptedResponseSchema },
  },
  async ({ body, headers }) => {
    // Checked against createUserHeadersSchema before this runs.
    const idempotencyKey = headers["idempotency-key"] ?? "";
    const result = await submitUserCreation(submitUserDeps(), { idempotencyKey, request: body });
    const answer: Record<string, string> = {};
    if (result.outcome === "accepted") answer.location = provisioningLocation((result.body as { provisioningId: string }).provisioningId);
    if (result.replayed) answer["idempotent-replayed"] = "true";
    return { status: STATUS[result.outcome], body: result.body, headers: answer };
  },
);
