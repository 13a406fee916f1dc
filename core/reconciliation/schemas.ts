import * as z from "zod/mini";
import { reconciliationKinds } from "./model";
import { lazy } from "../validation/lazy";

const MAX_STATE_BYTES = 8_192;

const refText = /* @__PURE__ */ lazy(() => z.string().check(z.trim(), z.minLength(1, "must not be empty"), z.maxLength(64, "is too long")));

/** `{ref}` of /v1/users/{ref}/…: `me`, an app user id or an OKX UID (core/identity/user-ref.ts). */
export const userRefParamsSchema = /* @__PURE__ */ lazy(() => z.object({ ref: refText() }));

export const exchangeSchema = /* @__PURE__ */ lazy(() => z.string().check(z.regex(/^[a-z0-9]{1,32}$/, "must be an exchange name such as okx ([a-z0-9], at most 32)")));
const symbolSchema = /* @__PURE__ */ lazy(() => z.string().check(z.regex(/^[A-Z0-9_/-]{1,64}$/, "must be an instrument id such as BTC-USDT-SWAP (A-Z, 0-9, -, _, /)")));
const sideSchema = /* @__PURE__ */ lazy(() => z.enum(["long", "short"], "must be long or short"));

/** What a bot expected or found: a JSON object of at most 8 KB. */
const stateSchema = /* @__PURE__ */ lazy(() => z.record(z.string(), z.unknown()).check(
  z.refine((value) => JSON.stringify(value).length <= MAX_STATE_BYTES, `must be a JSON object of at most ${MAX_STATE_BYTES} bytes`),
));

export const reconciliationEventBodySchema = /* @__PURE__ */ lazy(() => z.strictObject({
  kind: z.enum(reconciliationKinds, "must be sync, divergence or resolved"),
  exchange: exchangeSchema(),
  symbol: z.optional(symbolSchema()),
  side: z.optional(sideSchema()),
  expected: z.optional(stateSchema()),
  actual: z.optional(stateSchema()),
}));
export type ReconciliationEventBody = z.output<ReturnType<typeof reconciliationEventBodySchema>>;

export const reconciliationEventSchema = /* @__PURE__ */ lazy(() => z.object({
  id: z.string(),
  kind: z.enum(reconciliationKinds),
  exchange: z.string(),
  symbol: z.nullable(z.string()),
  side: z.nullable(sideSchema()),
  expected: z.nullable(z.record(z.string(), z.unknown())),
  actual: z.nullable(z.record(z.string(), z.unknown())),
  createdAt: z.string(),
}));

export const reconciliationSummarySchema = /* @__PURE__ */ lazy(() => z.object({
  totalSyncs: z.number(),
  openPositions: z.number(),
  divergencesDetected: z.number().check(z.describe("divergences with no later `resolved` event of the same exchange (and symbol / side, when the resolution names them)")),
  lastSyncAt: z.nullable(z.string()),
  recentEvents: z.array(reconciliationEventSchema()).check(z.describe("the last 5 events, newest first")),
}));
