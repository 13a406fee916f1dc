import * as z from "zod/mini";
import { UnprocessableError } from "../errors";
import type { FieldIssue } from "../errors";
import { INSTRUMENT_ID, knownFields } from "./fields";
import type { FieldSpec } from "./fields";
import { SETTINGS_KEY_NAME, SETTINGS_MAX_DOCUMENT_BYTES, SETTINGS_MAX_KEYS } from "./model";
import type { SettingsDocument, SettingsType, SettingsValue } from "./model";
import { lazy } from "../validation/lazy";

/** Longest string kept under a key that no schema knows (the document bound still applies). */
const MAX_UNKNOWN_STRING = 1_024;

function rangeText(spec: { readonly min: number; readonly max: number; readonly minExclusive?: boolean }): string {
  return spec.minExclusive ? `greater than ${spec.min} and at most ${spec.max}` : `from ${spec.min} to ${spec.max}`;
}

function numberSchema(spec: Extract<FieldSpec, { kind: "number" }>) {
  const message = `must be a number ${rangeText(spec)}`;
  return z.number(message).check(spec.minExclusive ? z.gt(spec.min, message) : z.gte(spec.min, message), z.lte(spec.max, message));
}

function enumSchema(spec: Extract<FieldSpec, { kind: "enum" }>) {
  const legacy = spec.legacy ?? {};
  const accepted = [...spec.values, ...Object.keys(legacy)];
  const message = `must be one of ${spec.values.join(", ")}${Object.keys(legacy).length > 0 ? ` (or the legacy ${Object.keys(legacy).join(", ")})` : ""}`;
  return z.pipe(
    z.enum(accepted as [string, ...string[]], message),
    z.transform((value: string) => legacy[value] ?? value),
  );
}

/** One known key's schema, with messages that say the allowed range or values. */
export function fieldSchema(spec: FieldSpec) {
  switch (spec.kind) {
    case "number":
      return numberSchema(spec);
    case "integer": {
      const message = `must be an integer ${rangeText(spec)}`;
      return z.int(message).check(z.gte(spec.min, message), z.lte(spec.max, message));
    }
    case "boolean":
      return z.boolean("must be true or false");
    case "enum":
      return enumSchema(spec);
    case "instrument":
      return z.string("must be an instrument id like BTC-USDT-SWAP").check(z.regex(INSTRUMENT_ID, "must be an instrument id like BTC-USDT-SWAP"));
  }
}

/** Values of keys no schema knows: kept when scalar, refused when nested. */
const unknownScalar = /* @__PURE__ */ lazy(() => z.union(
  [z.string().check(z.maxLength(MAX_UNKNOWN_STRING, `must be at most ${MAX_UNKNOWN_STRING} characters`)), z.number(), z.boolean()],
  { error: "must be a string, a number or a boolean (nested values are not kept)" },
));

type Doc = Record<string, unknown>;
type RuleContext = { addIssue(issue: { code: "custom"; message: string; path: string[]; input: unknown }): void };

function requireBelow(doc: Doc, context: RuleContext, lower: string, upper: string): void {
  const low = doc[lower];
  const high = doc[upper];
  if (typeof low === "number" && typeof high === "number" && !(low < high)) {
    context.addIssue({ code: "custom", message: `must be greater than ${lower} (${low})`, path: [upper], input: high });
  }
}

function paramsRules(doc: Doc, context: RuleContext): void {
  requireBelow(doc, context, "rsi_oversold", "rsi_overbought");
  const targets = ["tp1_value", "tp2_value", "tp3_value"].filter((key) => typeof doc[key] === "number");
  for (let i = 1; i < targets.length; i++) requireBelow(doc, context, targets[i - 1] as string, targets[i] as string);
  const ratios = ["tp1_ratio", "tp2_ratio", "tp3_ratio"].map((key) => doc[key]).filter((value): value is number => typeof value === "number");
  const total = ratios.reduce((sum, value) => sum + value, 0);
  if (total > 100) context.addIssue({ code: "custom", message: `tp1_ratio + tp2_ratio + tp3_ratio must be at most 100 (is ${total})`, path: ["tp3_ratio"], input: doc.tp3_ratio });
}

function dualSideRules(doc: Doc, context: RuleContext): void {
  const value = doc.dual_side_entry_ratio_value;
  if (doc.dual_side_entry_ratio_type === "percent_of_position" && typeof value === "number" && value > 100) {
    context.addIssue({ code: "custom", message: "must be at most 100 when dual_side_entry_ratio_type is percent_of_position", path: ["dual_side_entry_ratio_value"], input: value });
  }
}

const crossFieldChecks: Readonly<Record<SettingsType, ((doc: Doc, context: RuleContext) => void) | null>> = {
  preferences: null,
  params: paramsRules,
  dual_side: dualSideRules,
};

function documentSchema(type: SettingsType) {
  const shape = Object.fromEntries(Object.entries(knownFields[type]).map(([key, spec]) => [key, z.optional(fieldSchema(spec))]));
  const base = z.catchall(z.object(shape), unknownScalar());
  const rules = crossFieldChecks[type];
  return rules ? base.check(z.superRefine((doc: Doc, context) => rules(doc, context as RuleContext))) : base;
}

/** One schema per settings type (built on first use, so a handler that never validates builds none). */
const schemas = new Map<SettingsType, ReturnType<typeof documentSchema>>();
export function settingsSchema(type: SettingsType) {
  let schema = schemas.get(type);
  if (!schema) {
    schema = documentSchema(type);
    schemas.set(type, schema);
  }
  return schema;
}

/** Names that mean something to JavaScript objects, never kept as settings keys. */
const RESERVED_KEYS = new Set(["__proto__", "constructor", "prototype"]);

const isPlainObject = (value: unknown): value is Doc => typeof value === "object" && value !== null && !Array.isArray(value);

/** Shape rules zod does not express per key: an object, key names, the key count. Nulls mean "absent". */
function precheck(input: unknown, path: string, issues: FieldIssue[]): Doc | null {
  if (!isPlainObject(input)) {
    issues.push({ field: path, message: "must be a JSON object of settings" });
    return null;
  }
  const kept = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null));
  for (const key of Object.keys(kept)) {
    if (!SETTINGS_KEY_NAME.test(key)) issues.push({ field: `${path}.${key}`, message: "key names must be 1-64 characters of a-z, 0-9 and _" });
    else if (RESERVED_KEYS.has(key)) issues.push({ field: `${path}.${key}`, message: "is a reserved name" });
  }
  if (Object.keys(kept).length > SETTINGS_MAX_KEYS) issues.push({ field: path, message: `must have at most ${SETTINGS_MAX_KEYS} keys` });
  return kept;
}

/**
 * Validates and normalises one settings document (the API body, a registration's defaults, a
 * synced Redis value, a chat's /set): known keys typed with their ranges, cross-field rules, legacy
 * values normalised (`롱숏` → `long_short`), unknown scalar keys kept, nulls dropped, bounds of key
 * count and size. Throws UnprocessableError with one field per bad path (`body.leverage`).
 */
export function parseSettingsDocument(type: SettingsType, input: unknown, path = "body"): SettingsDocument {
  const issues: FieldIssue[] = [];
  const candidate = precheck(input, path, issues);
  if (candidate === null || issues.length > 0) throw new UnprocessableError(issues);
  const parsed = z.safeParse(settingsSchema(type), candidate);
  if (!parsed.success) {
    throw new UnprocessableError(parsed.error.issues.map((issue) => ({ field: [path, ...issue.path.map(String)].join("."), message: issue.message })));
  }
  const document = parsed.data as SettingsDocument;
  const bytes = Buffer.byteLength(JSON.stringify(document), "utf8");
  if (bytes > SETTINGS_MAX_DOCUMENT_BYTES) throw UnprocessableError.field(path, `must be at most ${SETTINGS_MAX_DOCUMENT_BYTES} bytes as JSON (is ${bytes})`);
  return document;
}

/** One key of one type through the same validation (the Telegram bot's /set): the rules see the whole document. */
export function parseSettingsValue(type: SettingsType, current: SettingsDocument, key: string, value: unknown, path = "body"): SettingsDocument {
  return parseSettingsDocument(type, { ...current, [key]: value }, path);
}

/** The seed's example values of every known key of a type: what a new user starts with. */
export function defaultSettingsFor(type: SettingsType): SettingsDocument {
  return Object.fromEntries(Object.entries(knownFields[type]).map(([key, spec]) => [key, spec.default as SettingsValue]));
}

// ---- the legacy representation (what bots read and write in Redis) ----

/**
 * A fast copy as bots read it: `params` is one JSON string (values keep their JSON types),
 * `preferences` and `dual_side` are hashes (every value a string). Legacy values where the old
 * bots used them (`direction` as `롱숏` / `롱` / `숏`).
 */
export type LegacyDocument = Record<string, string | number | boolean>;

/** Which legacy types are Redis hashes (the rest is a JSON string). */
export const legacyHashTypes: ReadonlySet<SettingsType> = new Set(["preferences", "dual_side"]);

function legacyValueOf(spec: FieldSpec | undefined, value: string | number | boolean): string | number | boolean {
  if (spec?.kind === "enum" && spec.legacy && typeof value === "string") {
    const entry = Object.entries(spec.legacy).find(([, normalised]) => normalised === value);
    if (entry) return entry[0];
  }
  return value;
}

export function toLegacyRepresentation(type: SettingsType, doc: SettingsDocument): LegacyDocument {
  const fields = knownFields[type];
  const hash = legacyHashTypes.has(type);
  const out: LegacyDocument = {};
  for (const [key, value] of Object.entries(doc)) {
    if (value === null) continue;
    const legacy = legacyValueOf(fields[key], value);
    out[key] = hash ? String(legacy) : legacy;
  }
  return out;
}

const NUMERIC = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/** A hash field as text (the Redis client may already have turned "10" into 10). */
function coerceKnown(spec: FieldSpec, value: unknown): unknown {
  if (typeof value !== "string") return value;
  const text = value.trim();
  if ((spec.kind === "number" || spec.kind === "integer") && NUMERIC.test(text)) return Number(text);
  if (spec.kind === "boolean") {
    const lower = text.toLowerCase();
    if (lower === "true" || lower === "1") return true;
    if (lower === "false" || lower === "0") return false;
  }
  return value;
}

function coerceUnknown(value: unknown): unknown {
  if (typeof value !== "string") return value;
  if (value === "true" || value === "false") return value === "true";
  return NUMERIC.test(value) && String(Number(value)) === value ? Number(value) : value;
}

/**
 * A fast copy as read from Redis (a JSON string or its parsed object for `params`, the hash's
 * fields for the others) back to a validated, normalised document. Hash fields are strings, so
 * known keys are read by their type (`"10"` → 10, `"True"` → true) and unknown ones by their
 * look. Throws UnprocessableError naming `path.key` like parseSettingsDocument.
 */
export function fromLegacyRepresentation(type: SettingsType, raw: unknown, path = "redis"): SettingsDocument {
  let value = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      throw UnprocessableError.field(path, "is not valid JSON");
    }
  }
  if (!isPlainObject(value)) return parseSettingsDocument(type, value, path);
  const fields = knownFields[type];
  const coerced = Object.fromEntries(
    Object.entries(value).map(([key, field]) => {
      const spec = fields[key];
      return [key, spec ? coerceKnown(spec, field) : legacyHashTypes.has(type) ? coerceUnknown(field) : field];
    }),
  );
  return parseSettingsDocument(type, coerced, path);
}
