import * as z from "zod/mini";
import { UnprocessableError } from "../errors";
import type { FieldIssue } from "../errors";
import { exchangeSegment, symbolSegment } from "../redis/segments";
import {
  EXTRA_FIELD_NAME,
  MAX_EXTRA_FIELDS,
  MAX_EXTRA_STRING_LENGTH,
  MAX_TAKE_PROFIT_LEVELS,
  marginModes,
  positionSides,
  positionStatuses,
  reservedFields,
} from "./model";
import type { ExtraScalar, PositionFields } from "./model";
import { lazy } from "../validation/lazy";

const finite = () => z.number("must be a number").check(z.refine(Number.isFinite, "must be a finite number"));
const positive = () => finite().check(z.positive("must be greater than 0"));
const price = () => z.optional(positive());

/** The typed fields of a position document (unknown fields are checked as extras). */
const typedFieldsSchema = /* @__PURE__ */ lazy(() => z.object({
  size: positive(),
  entry_price: positive(),
  mark_price: price(),
  leverage: z.optional(positive().check(z.lte(1000, "must be at most 1000"))),
  margin_mode: z.optional(z.enum(marginModes, "must be cross or isolated")),
  unrealized_pnl: z.optional(finite()),
  liquidation_price: z.optional(finite().check(z.gte(0, "must be 0 or more"))),
  take_profit: z.optional(z.array(positive()).check(z.maxLength(MAX_TAKE_PROFIT_LEVELS, `must have at most ${MAX_TAKE_PROFIT_LEVELS} levels`))),
  stop_loss: price(),
}));

function extraProblem(name: string, value: unknown): string | null {
  if (!EXTRA_FIELD_NAME.test(name)) return "unknown field names must be snake_case (a-z, 0-9, _), at most 64 characters";
  if (typeof value === "boolean") return null;
  if (typeof value === "number") return Number.isFinite(value) ? null : "must be a finite number";
  if (typeof value === "string") return value.length <= MAX_EXTRA_STRING_LENGTH ? null : `must be at most ${MAX_EXTRA_STRING_LENGTH} characters`;
  return "unknown fields must be a string, a number or a boolean";
}

function extrasOf(input: Record<string, unknown>, path: string, issues: FieldIssue[]): Record<string, ExtraScalar> {
  const extra: Record<string, ExtraScalar> = {};
  const names = Object.keys(input).filter((name) => !reservedFields.has(name));
  if (names.length > MAX_EXTRA_FIELDS) issues.push({ field: path, message: `at most ${MAX_EXTRA_FIELDS} unknown fields (got ${names.length})` });
  for (const name of names) {
    const value = input[name];
    const problem = extraProblem(name, value);
    if (problem) issues.push({ field: `${path}.${name}`, message: problem });
    else extra[name] = value as ExtraScalar;
  }
  return extra;
}

const serverFields = ["id", "opened_at", "updated_at", "closed_at", "status", "user_id", "exchange", "symbol", "side"];

/**
 * Validates what a bot reports for one position: the typed fields, and unknown scalars within
 * bounds. Throws UnprocessableError with one issue per bad field (`body.leverage`).
 */
export function parsePositionFields(input: unknown, path = "body"): PositionFields {
  if (input === null || typeof input !== "object" || Array.isArray(input)) throw UnprocessableError.field(path, "must be a JSON object");
  const record = input as Record<string, unknown>;
  const issues: FieldIssue[] = [];
  for (const name of serverFields) {
    if (name in record) issues.push({ field: `${path}.${name}`, message: "is set by the server (or by the path) and may not be sent" });
  }
  const typed = z.safeParse(typedFieldsSchema(), record);
  if (!typed.success) {
    for (const issue of typed.error.issues) issues.push({ field: [path, ...issue.path.map(String)].join("."), message: issue.message });
  }
  const extra = extrasOf(record, path, issues);
  if (issues.length > 0 || !typed.success) throw new UnprocessableError(issues);
  return { ...withoutUndefined(typed.data), extra };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

// ---- HTTP shapes ----

const segment = (check: (value: string, field: string) => string, field: string) =>
  z.string().check(
    z.superRefine((value, ctx) => {
      try {
        check(value, field);
      } catch (error) {
        ctx.issues.push({ code: "custom", input: value, message: error instanceof Error ? error.message.replace(/^[^:]*: /, "") : "is invalid" });
      }
    }),
  );

export const exchangeParamSchema = segment(exchangeSegment, "exchange");
export const symbolParamSchema = segment(symbolSegment, "symbol");
export const sideSchema = /* @__PURE__ */ lazy(() => z.enum(positionSides, "must be long or short"));

export const userRefParamsSchema = /* @__PURE__ */ lazy(() => z.object({ ref: z.string() }));

export const positionPathSchema = /* @__PURE__ */ lazy(() => z.object({ ref: z.string(), exchange: exchangeParamSchema, symbol: symbolParamSchema, side: sideSchema() }));

export const positionIdParamsSchema = /* @__PURE__ */ lazy(() => z.object({ id: z.pipe(z.uuid("must be a UUID"), z.transform((value) => value.toLowerCase())) }));

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 200;

export const listPositionsQuerySchema = /* @__PURE__ */ lazy(() => z.object({
  exchange: z.optional(exchangeParamSchema),
  symbol: z.optional(symbolParamSchema),
  side: z.optional(sideSchema()),
  status: z._default(z.enum(positionStatuses, "must be open or closed"), "open"),
  limit: z._default(
    z.pipe(
      z.string().check(z.regex(/^[0-9]{1,4}$/, "must be a whole number")),
      z.transform(Number),
    ).check(z.gte(1, "must be at least 1"), z.lte(MAX_PAGE_LIMIT, `must be at most ${MAX_PAGE_LIMIT}`)),
    DEFAULT_PAGE_LIMIT,
  ),
  cursor: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_-]{1,512}$/, "must be the nextCursor of a previous page"))),
}));

export const MAX_BULK_USERS = 1000;

export const bulkBodySchema = /* @__PURE__ */ lazy(() => z.object({
  userIds: z
    .array(z.pipe(z.uuid("must be an app user id (UUID)"), z.transform((value) => value.toLowerCase())))
    .check(z.minLength(1, "must name at least one user"), z.maxLength(MAX_BULK_USERS, `must name at most ${MAX_BULK_USERS} users`)),
  exchange: z.optional(exchangeParamSchema),
  symbol: z.optional(symbolParamSchema),
  side: z.optional(sideSchema()),
}));

/** The body of a PUT: any JSON object (its fields are checked by parsePositionFields, as 422s). */
export const positionBodySchema = /* @__PURE__ */ lazy(() => z.record(z.string(), z.unknown()));

const extraValue = /* @__PURE__ */ lazy(() => z.union([z.string(), z.number(), z.boolean()]));

export const positionResponseSchema = /* @__PURE__ */ lazy(() => z.catchall(
  z.object({
    id: z.string(),
    user_id: z.string(),
    exchange: z.string(),
    symbol: z.string(),
    side: z.enum(positionSides),
    status: z.enum(positionStatuses),
    size: z.number(),
    entry_price: z.number(),
    mark_price: z.optional(z.number()),
    leverage: z.optional(z.number()),
    margin_mode: z.optional(z.enum(marginModes)),
    unrealized_pnl: z.optional(z.number()),
    liquidation_price: z.optional(z.number()),
    take_profit: z.optional(z.array(z.number())),
    stop_loss: z.optional(z.number()),
    opened_at: z.string(),
    updated_at: z.string(),
    closed_at: z.nullable(z.string()),
  }),
  extraValue(),
));

export const positionListResponseSchema = /* @__PURE__ */ lazy(() => z.object({ positions: z.array(positionResponseSchema()), nextCursor: z.nullable(z.string()) }));

export const bulkResponseSchema = /* @__PURE__ */ lazy(() => z.object({ users: z.record(z.string(), z.array(positionResponseSchema())) }));
