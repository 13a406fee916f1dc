import { equityBodySchema, equityRecordedSchema } from "../core/guards/schemas";
import { presentEquitySnapshot } from "../core/guards/presenters";
import { recordEquity } from "../core/guards/record-equity";
import { parseUserRef } from "../core/identity/user-ref";
import { userRefParamsSchema } from "../core/reconciliation/schemas";
import { recordEquityDeps } from "../runtime/guards";
import { httpRoute } from "../runtime/http/route";

export const handler = httpRoute(
  {
    method: "POST",
    path: "/v1/users/{ref}/equity",
    summary: "Records one equity snapshot and answers the drawdown it leaves; a move into critical alerts the admin chat once",
    auth: ["service", "admin"],
    params: userRefParamsSchema,
    body: equityBodySchema,
    responses: { 201: equityRecordedSchema },
  },
  async ({ params, body, principal }) => {
    const { snapshot, drawdown, peakEquity } = await recordEquity(recordEquityDeps(), { principal, ref: parseUserRef(params.ref), exchange: body.exchange, equity: body.equity });
    return { status: 201, body: presentEquitySnapshot(snapshot, peakEquity, drawdown.drawdownPct, drawdown.status) };
  },
);
