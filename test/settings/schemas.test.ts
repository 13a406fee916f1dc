import { describe, expect, it } from "vitest";
import "../../core/validation/zod-locale";
import { UnprocessableError } from "../../core/errors";
import type { DefaultSettingsStatements } from "../../core/provisioning/adapters/postgres-provisioning-store";
import { defaultSettingsStatements } from "../../core/settings/adapters/postgres-settings-store";
import { knownFields } from "../../core/settings/fields";
import { decodeMeta, encodeMeta, legacyContentHash } from "../../core/settings/fast-copy";
import { settingsTypes } from "../../core/settings/model";
import type { SettingsType } from "../../core/settings/model";
import { defaultSettingsFor, fromLegacyRepresentation, parseSettingsDocument, parseSettingsValue, toLegacyRepresentation } from "../../core/settings/schemas";
import { RedisKeys } from "../../core/redis/keys";

/** The provisioning store's contract, checked by the compiler. */
const contract: DefaultSettingsStatements = defaultSettingsStatements;

/** The fields of the 422 a document gets, as `path: message` pairs. */
function rejection(type: SettingsType, input: unknown, path?: string): { field: string; message: string }[] {
  try {
    parseSettingsDocument(type, input, path);
  } catch (error) {
    expect(error).toBeInstanceOf(UnprocessableError);
    return [...(error as UnprocessableError).issues];
  }
  throw new Error("expected a rejection");
}
const fieldsOf = (type: SettingsType, input: unknown, path?: string) => rejection(type, input, path).map((issue) => issue.field);

describe("defaults", () => {
  it("are the seed's example values and pass their own schema", () => {
    expect(typeof contract).toBe("function");
    expect(defaultSettingsFor("preferences")).toEqual({ timeframe: "1m", symbol: "BTC-USDT-SWAP" });
    expect(defaultSettingsFor("params")).toMatchObject({
      btc_investment: 20,
      leverage: 10,
      direction: "long_short",
      rsi_length: 14,
      rsi_oversold: 30,
      rsi_overbought: 70,
      tp1_value: 2,
      tp2_value: 3,
      tp3_value: 4,
      sl_value: 5,
      use_break_even: true,
      pyramiding_limit: 4,
    });
    expect(defaultSettingsFor("dual_side")).toMatchObject({
      use_dual_side_entry: false,
      dual_side_entry_trigger: 3,
      dual_side_entry_ratio_type: "percent_of_position",
      dual_side_entry_ratio_value: 30,
    });
    expect(Object.keys(knownFields.params).length).toBeGreaterThanOrEqual(48);
    expect(Object.keys(knownFields.dual_side)).toHaveLength(13);
    for (const type of settingsTypes) expect(parseSettingsDocument(type, defaultSettingsFor(type))).toEqual(defaultSettingsFor(type));
  });
});

describe("preferences", () => {
  it("accepts the timeframes and instrument ids, refuses others with the field path", () => {
    for (const timeframe of ["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d"]) {
      expect(parseSettingsDocument("preferences", { timeframe })).toEqual({ timeframe });
    }
    expect(parseSettingsDocument("preferences", { symbol: "ETH-USDT" })).toEqual({ symbol: "ETH-USDT" });
    expect(fieldsOf("preferences", { timeframe: "2m", symbol: "btc-usdt-swap" })).toEqual(["body.timeframe", "body.symbol"]);
    expect(fieldsOf("preferences", { symbol: 5 })).toEqual(["body.symbol"]);
  });
});

describe("params: known keys, ranges and boundaries", () => {
  const cases: [string, unknown, boolean][] = [
    ["leverage", 1, true],
    ["leverage", 125, true],
    ["leverage", 0, false],
    ["leverage", 126, false],
    ["leverage", 10.5, false],
    ["leverage", "10", false],
    ["btc_investment", 0.0001, true],
    ["btc_investment", 0, false],
    ["btc_investment", -1, false],
    ["rsi_oversold", 0, true],
    ["rsi_oversold", -1, false],
    ["rsi_overbought", 100, true],
    ["rsi_overbought", 100.5, false],
    ["sl_value", 0, false],
    ["sl_value", 100, true],
    ["sl_value", 100.01, false],
    ["use_break_even", true, true],
    ["use_break_even", "true", false],
    ["use_break_even", 1, false],
    ["pyramiding_limit", 0, true],
    ["pyramiding_limit", -1, false],
    ["pyramiding_limit", 2.5, false],
    ["rsi_length", 1, false],
    ["rsi_length", 14, true],
  ];
  it.each(cases)("%s = %j accepted: %s", (key, value, ok) => {
    const input = key === "rsi_oversold" ? { [key]: value, rsi_overbought: ok ? 70 : 50 } : { [key]: value };
    if (ok) expect(parseSettingsDocument("params", input)[key]).toBe(value);
    else expect(fieldsOf("params", input)).toContain(`body.${key}`);
  });

  it("names the range in the message", () => {
    expect(rejection("params", { leverage: 200 })).toEqual([{ field: "body.leverage", message: "must be an integer from 1 to 125" }]);
    expect(rejection("params", { btc_investment: 0 })[0]?.message).toBe("must be a number greater than 0 and at most 1000000000");
  });

  it("normalises the legacy direction values and refuses others", () => {
    expect(parseSettingsDocument("params", { direction: "롱숏" })).toEqual({ direction: "long_short" });
    expect(parseSettingsDocument("params", { direction: "롱" })).toEqual({ direction: "long" });
    expect(parseSettingsDocument("params", { direction: "숏" })).toEqual({ direction: "short" });
    expect(parseSettingsDocument("params", { direction: "short" })).toEqual({ direction: "short" });
    expect(fieldsOf("params", { direction: "sideways" })).toEqual(["body.direction"]);
  });
});

describe("params: cross-field rules", () => {
  it("rsi_oversold < rsi_overbought", () => {
    expect(parseSettingsDocument("params", { rsi_oversold: 29.9, rsi_overbought: 30 })).toBeTruthy();
    expect(rejection("params", { rsi_oversold: 30, rsi_overbought: 30 })).toEqual([{ field: "body.rsi_overbought", message: "must be greater than rsi_oversold (30)" }]);
    expect(fieldsOf("params", { rsi_oversold: 80, rsi_overbought: 20 })).toEqual(["body.rsi_overbought"]);
  });

  it("0 < tp1_value < tp2_value < tp3_value among those present", () => {
    expect(parseSettingsDocument("params", { tp1_value: 1, tp2_value: 2, tp3_value: 3 })).toBeTruthy();
    expect(parseSettingsDocument("params", { tp1_value: 1, tp3_value: 3 })).toBeTruthy();
    expect(fieldsOf("params", { tp1_value: 2, tp2_value: 2, tp3_value: 3 })).toEqual(["body.tp2_value"]);
    expect(fieldsOf("params", { tp1_value: 1, tp2_value: 4, tp3_value: 3 })).toEqual(["body.tp3_value"]);
    expect(fieldsOf("params", { tp1_value: 5, tp3_value: 3 })).toEqual(["body.tp3_value"]);
    expect(fieldsOf("params", { tp1_value: 0 })).toEqual(["body.tp1_value"]);
  });

  it("take-profit ratios add up to at most 100", () => {
    expect(parseSettingsDocument("params", { tp1_ratio: 30, tp2_ratio: 30, tp3_ratio: 40 })).toBeTruthy();
    expect(fieldsOf("params", { tp1_ratio: 30, tp2_ratio: 30, tp3_ratio: 40.5 })).toEqual(["body.tp3_ratio"]);
  });
});

describe("dual_side", () => {
  it("types its keys", () => {
    expect(fieldsOf("dual_side", { dual_side_entry_trigger: 0, use_dual_side_entry: "yes", dual_side_entry_ratio_type: "half" })).toEqual([
      "body.use_dual_side_entry",
      "body.dual_side_entry_trigger",
      "body.dual_side_entry_ratio_type",
    ]);
    expect(parseSettingsDocument("dual_side", { dual_side_entry_trigger: 1 })).toEqual({ dual_side_entry_trigger: 1 });
  });

  it("a percent ratio is at most 100; a fixed amount may be more", () => {
    expect(parseSettingsDocument("dual_side", { dual_side_entry_ratio_type: "percent_of_position", dual_side_entry_ratio_value: 100 })).toBeTruthy();
    expect(rejection("dual_side", { dual_side_entry_ratio_type: "percent_of_position", dual_side_entry_ratio_value: 100.5 })).toEqual([
      { field: "body.dual_side_entry_ratio_value", message: "must be at most 100 when dual_side_entry_ratio_type is percent_of_position" },
    ]);
    expect(parseSettingsDocument("dual_side", { dual_side_entry_ratio_type: "fixed_amount", dual_side_entry_ratio_value: 500 })).toBeTruthy();
    expect(fieldsOf("dual_side", { dual_side_entry_ratio_value: 0 })).toEqual(["body.dual_side_entry_ratio_value"]);
  });
});

describe("unknown keys and bounds", () => {
  it("keeps unknown scalars, drops nulls, refuses nested values", () => {
    expect(parseSettingsDocument("params", { leverage: 5, custom_flag: true, custom_text: "x", custom_number: 1.5, gone: null })).toEqual({
      leverage: 5,
      custom_flag: true,
      custom_text: "x",
      custom_number: 1.5,
    });
    expect(fieldsOf("params", { nested: { a: 1 }, list: [1] })).toEqual(["body.nested", "body.list"]);
  });

  it("key names are [a-z0-9_]{1,64}", () => {
    const long = "k".repeat(64);
    expect(parseSettingsDocument("params", { [long]: 1 })).toEqual({ [long]: 1 });
    expect(fieldsOf("params", { [`${long}x`]: 1, "Bad-Key": 1, "": 1 })).toEqual([`body.${long}x`, "body.Bad-Key", "body."]);
  });

  it("refuses the names that mean something to JavaScript objects", () => {
    expect(fieldsOf("params", JSON.parse('{"__proto__": 1, "constructor": 2}'))).toEqual(["body.__proto__", "body.constructor"]);
  });

  it("at most 200 keys", () => {
    const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`extra_${i}`, i]));
    expect(Object.keys(parseSettingsDocument("params", keys(200)))).toHaveLength(200);
    expect(rejection("params", keys(201))).toEqual([{ field: "body", message: "must have at most 200 keys" }]);
  });

  it("at most 16 KB as JSON", () => {
    const padded = (bytes: number) => {
      const doc: Record<string, string> = {};
      for (let i = 0; JSON.stringify(doc).length < bytes; i++) doc[`k${i}`] = "x".repeat(1_000);
      return doc;
    };
    expect(() => parseSettingsDocument("params", padded(15_000))).not.toThrow();
    expect(fieldsOf("params", padded(17_000))).toEqual(["body"]);
    expect(fieldsOf("params", { long: "x".repeat(1_025) })).toEqual(["body.long"]);
  });

  it("a body that is not an object is a 422 naming the path", () => {
    for (const input of [null, [], "x", 3]) expect(fieldsOf("params", input)).toEqual(["body"]);
    expect(fieldsOf("params", { leverage: 0 }, "params")).toEqual(["params.leverage"]);
  });

  it("one key through the same validation sees the rest of the document", () => {
    expect(parseSettingsValue("params", { rsi_oversold: 30, rsi_overbought: 70 }, "rsi_oversold", 40)).toEqual({ rsi_oversold: 40, rsi_overbought: 70 });
    expect(() => parseSettingsValue("params", { rsi_oversold: 30, rsi_overbought: 70 }, "rsi_oversold", 75, "params")).toThrow(/params.rsi_overbought/);
  });
});

describe("legacy representation", () => {
  it("params keep JSON types with direction in Korean; hashes are strings", () => {
    const params = parseSettingsDocument("params", { direction: "long_short", leverage: 10, use_break_even: true });
    expect(toLegacyRepresentation("params", params)).toEqual({ direction: "롱숏", leverage: 10, use_break_even: true });
    expect(toLegacyRepresentation("dual_side", { use_dual_side_entry: false, dual_side_entry_trigger: 3, note: "5" })).toEqual({
      use_dual_side_entry: "false",
      dual_side_entry_trigger: "3",
      note: "5",
    });
  });

  it("reads back what it wrote, raw or as the Redis client parses it", () => {
    for (const type of settingsTypes) {
      const doc = defaultSettingsFor(type);
      const legacy = toLegacyRepresentation(type, doc);
      expect(fromLegacyRepresentation(type, legacy)).toEqual(doc);
      expect(fromLegacyRepresentation(type, JSON.stringify(legacy))).toEqual(doc);
      // @upstash/redis turns "3" into 3 and "false" into false in HGETALL answers.
      const parsed = Object.fromEntries(Object.entries(legacy).map(([k, v]) => [k, typeof v === "string" ? (() => { try { return JSON.parse(v) as unknown; } catch { return v; } })() : v]));
      expect(fromLegacyRepresentation(type, parsed)).toEqual(doc);
      expect(legacyContentHash(parsed)).toBe(legacyContentHash(legacy));
    }
  });

  it("accepts the old bots' spellings and validates like the API", () => {
    expect(fromLegacyRepresentation("dual_side", { use_dual_side_entry: "True", dual_side_entry_trigger: "4" })).toEqual({ use_dual_side_entry: true, dual_side_entry_trigger: 4 });
    expect(() => fromLegacyRepresentation("params", '{"leverage": 500}', "user:1:settings")).toThrow(/user:1:settings.leverage/);
    expect(() => fromLegacyRepresentation("params", "{not json")).toThrow(UnprocessableError);
  });

  it("content hashes differ once a value changes; meta round-trips", () => {
    expect(legacyContentHash({ a: "1", b: true })).toBe(legacyContentHash({ b: "true", a: 1 }));
    expect(legacyContentHash({ a: "1" })).not.toBe(legacyContentHash({ a: "2" }));
    const meta = { version: 3, hash: "h", updatedAt: "2026-01-01T00:00:00.000Z", settings: { a: 1 } };
    expect(encodeMeta(meta).startsWith('{"v":3,')).toBe(true);
    expect(decodeMeta(encodeMeta(meta))).toEqual(meta);
    expect(decodeMeta(JSON.parse(encodeMeta({ version: 4, deleted: true, updatedAt: "x" })))).toEqual({ version: 4, deleted: true, updatedAt: "x" });
    expect(decodeMeta("garbage")).toBeNull();
  });

  it("keys are the legacy ones, by okx uid or user id", () => {
    const keys = new RedisKeys("p:");
    expect(keys.settingsFastCopy("518796558012178692", "preferences")).toBe("p:user:518796558012178692:preferences");
    expect(keys.settingsFastCopy("518796558012178692", "params")).toBe("p:user:518796558012178692:settings");
    expect(keys.settingsFastCopy("518796558012178692", "dual_side")).toBe("p:user:518796558012178692:dual_side");
    expect(keys.settingsMeta("518796558012178692")).toBe("p:user:518796558012178692:settings:meta");
    expect(keys.settingsKeyParts("p:user:518796558012178692:settings")).toEqual({ base: "518796558012178692", type: "params" });
    expect(keys.settingsKeyParts("p:user:518796558012178692:settings:meta")).toBeNull();
  });
});

describe("README", () => {
  it("lists every known key of every type with its default", async () => {
    const { readFile } = await import("node:fs/promises");
    const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
    for (const type of settingsTypes) {
      for (const [key, spec] of Object.entries(knownFields[type])) {
        expect(readme, `${type}.${key}`).toMatch(new RegExp(`\\| \`${key}\` \\| [^\\n]*\\| \`${JSON.stringify(spec.default).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\` \\|`));
      }
    }
  });
});
