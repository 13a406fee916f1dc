import * as z from "zod/mini";
import { exchangeSchema } from "../reconciliation/schemas";
import { guardStatuses } from "./model";
import { lazy } from "../validation/lazy";

export const equityBodySchema = /* @__PURE__ */ lazy(() => z.strictObject({
  exchange: exchangeSchema(),
  equity: z.number("must be a number").check(z.gte(0, "must be 0 or more"), z.lte(1e24, "is too large")),
}));

export const guardsQuerySchema = /* @__PURE__ */ lazy(() => z.object({
  exchange: z._default(exchangeSchema(), "okx"),
}));

const statusSchema = /* @__PURE__ */ lazy(() => z.enum(guardStatuses));

export const equityRecordedSchema = /* @__PURE__ */ lazy(() => z.object({
  id: z.string(),
  exchange: z.string(),
  equity: z.number(),
  takenAt: z.string(),
  peakEquity: z.number(),
  drawdownPct: z.number(),
  status: statusSchema(),
}));

export const guardViewSchema = /* @__PURE__ */ lazy(() => z.object({
  exchange: z.string(),
  drawdownPct: z.number().check(z.describe("a percentage: 15 means 15 %")),
  peakEquity: z.nullable(z.number()),
  currentEquity: z.nullable(z.number()),
  currentAt: z.nullable(z.string()),
  window: z.object({ days: z.number(), since: z.string() }),
  status: statusSchema().check(z.describe("normal below warningPct, warning from warningPct up to and including criticalPct, critical above")),
  thresholds: z.object({ warningPct: z.number(), criticalPct: z.number() }),
}));
