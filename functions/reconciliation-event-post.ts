import { parseUserRef } from "../core/identity/user-ref";
import { presentReconciliationEvent } from "../core/reconciliation/presenters";
import { recordReconciliationEvent } from "../core/reconciliation/record-event";
import { reconciliationEventBodySchema, reconciliationEventSchema, userRefParamsSchema } from "../core/reconciliation/schemas";
import { httpRoute } from "../runtime/http/route";
import { recordReconciliationDeps } from "../runtime/reconciliation";

export const handler = httpRoute(
  {
    method: "POST",
    path: "/v1/users/{ref}/reconciliation-events",
    summary: "Records one reconciliation event (sync, divergence with expected vs. actual, resolved); invalidates the user's cached views",
    auth: ["service", "admin"],
    params: userRefParamsSchema,
    body: reconciliationEventBodySchema,
    responses: { 201: reconciliationEventSchema },
  },
  async ({ params, body, principal }) => {
    const event = await recordReconciliationEvent(recordReconciliationDeps(), { principal, ref: parseUserRef(params.ref), body });
    return { status: 201, body: presentReconciliationEvent(event) };
  },
);
