import { describe, expect, it } from "vitest";
import { ValidationError } from "../../core/errors";
import { PositionKeys } from "../../core/redis/keys";
import { exchangeSegment, sideSegment, symbolSegment, unsafeSegmentProblem, userSegment } from "../../core/redis/segments";

const USER = "0b6c2a4e-3f1d-4c8e-9a7b-5d2e1f0a9c8b";
const keys = new PositionKeys("stage:");

function fieldOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError) return error.issues[0]?.field;
    throw error;
  }
  return undefined;
}

describe("position and order key builders", () => {
  it("builds the standard keys under the stage prefix", () => {
    expect(keys.position(USER, "okx", "BTC-USDT-SWAP", "long")).toBe(`stage:positions:${USER}:okx:BTC-USDT-SWAP:long`);
    expect(keys.positionIndex(USER, "okx")).toBe(`stage:positions:index:${USER}:okx`);
    expect(keys.positionExchanges(USER)).toBe(`stage:positions:exchanges:${USER}`);
    expect(keys.positionIndexMember("ETH/USDT", "short")).toBe("ETH/USDT:short");
    expect(keys.orders("okx", USER, "BTC-USDT-SWAP")).toBe(`stage:orders:okx:user:${USER}:symbol:BTC-USDT-SWAP:orders`);
    expect(keys.orders("okx", USER, "BTC-USDT-SWAP", "order_placed")).toBe(`stage:orders:okx:user:${USER}:symbol:BTC-USDT-SWAP:order_placed`);
    expect(keys.orders("binance", USER, "BTC_USDT", "order_placed_index")).toBe(`stage:orders:binance:user:${USER}:symbol:BTC_USDT:order_placed_index`);
    expect(keys.positionIndexPattern()).toBe("stage:positions:index:*");
    expect(keys.migrateKeysState()).toBe("stage:positions:migrate-keys:v1");
  });

  it("stores user ids lower-case", () => {
    expect(keys.position(USER.toUpperCase(), "okx", "BTC-USDT", "short")).toBe(`stage:positions:${USER}:okx:BTC-USDT:short`);
  });

  it("builds the legacy forms", () => {
    expect(keys.legacyPositionBySymbol("42", "BTC-USDT-SWAP")).toBe("stage:position:42:BTC-USDT-SWAP");
    expect(keys.legacyUserPosition("42", "BTC-USDT-SWAP", "long")).toBe("stage:user:42:position:BTC-USDT-SWAP:long");
    expect(keys.legacyExchangePosition("42", "okx", "BTC-USDT-SWAP", "short")).toBe("stage:position:42:okx:BTC-USDT-SWAP:short");
    expect(keys.legacyGridPositions("okx", "42")).toBe("stage:okx:positions:42");
    expect(keys.legacyOrders("okx", "42", "BTC-USDT-SWAP")).toBe("stage:okx:user:42:symbol:BTC-USDT-SWAP:order_placed");
  });

  it("reads every legacy form back, and nothing else", () => {
    expect(keys.legacyKeyOf("stage:position:42:BTC-USDT-SWAP")).toEqual({ form: "position_symbol", user: "42", symbol: "BTC-USDT-SWAP" });
    expect(keys.legacyKeyOf("stage:user:42:position:BTC:long")).toEqual({ form: "user_position", user: "42", symbol: "BTC", side: "long" });
    expect(keys.legacyKeyOf("stage:position:42:okx:BTC:short")).toEqual({ form: "position_exchange", user: "42", exchange: "okx", symbol: "BTC", side: "short" });
    expect(keys.legacyKeyOf("stage:okx:positions:42")).toEqual({ form: "grid_array", exchange: "okx", user: "42" });
    expect(keys.legacyKeyOf("stage:okx:user:42:symbol:BTC:order_placed_index")).toEqual({
      form: "order_placed",
      exchange: "okx",
      user: "42",
      symbol: "BTC",
      suffix: "order_placed_index",
    });
    for (const other of [
      keys.position(USER, "okx", "BTC", "long"),
      keys.positionIndex(USER, "okx"),
      keys.orders("okx", USER, "BTC", "order_placed"),
      "stage:user:42:preferences",
      "stage:lookup:v1:user_id:x",
      "other:position:42:BTC",
    ]) {
      expect(keys.legacyKeyOf(other)).toBeNull();
    }
  });

  it("round-trips index members and index keys", () => {
    expect(keys.parsePositionIndexMember(keys.positionIndexMember("BTC-USDT-SWAP", "long"))).toEqual({ symbol: "BTC-USDT-SWAP", side: "long" });
    expect(keys.parsePositionIndexMember("btc:long")).toBeNull();
    expect(keys.parsePositionIndexMember("BTC:both")).toBeNull();
    expect(keys.parsePositionIndexKey(keys.positionIndex(USER, "okx"))).toEqual({ user: USER, exchange: "okx" });
    expect(keys.parsePositionIndexKey("other:positions:index:u:okx")).toBeNull();
  });
});

describe("segment validation refuses injection before a key is built", () => {
  const hostile = ["", ":", "a:b", "*", "a*", "?", "a?", "[", "a[b]", " ", "a b", "a\tb", "a\nb", "a\\b"];

  it.each(hostile)("refuses %j in every segment of every builder", (bad) => {
    expect(unsafeSegmentProblem(bad)).not.toBeNull();
    expect(fieldOf(() => keys.position(bad, "okx", "BTC", "long"))).toBe("user");
    expect(fieldOf(() => keys.position(USER, bad, "BTC", "long"))).toBe("exchange");
    expect(fieldOf(() => keys.position(USER, "okx", bad, "long"))).toBe("symbol");
    expect(fieldOf(() => keys.position(USER, "okx", "BTC", bad as "long"))).toBe("side");
    expect(fieldOf(() => keys.positionIndex(bad, "okx"))).toBe("user");
    expect(fieldOf(() => keys.positionIndex(USER, bad))).toBe("exchange");
    expect(fieldOf(() => keys.positionExchanges(bad))).toBe("user");
    expect(fieldOf(() => keys.positionIndexMember(bad, "long"))).toBe("symbol");
    expect(fieldOf(() => keys.orders(bad, USER, "BTC"))).toBe("exchange");
    expect(fieldOf(() => keys.orders("okx", bad, "BTC"))).toBe("user");
    expect(fieldOf(() => keys.orders("okx", USER, bad))).toBe("symbol");
    expect(fieldOf(() => keys.legacyPositionBySymbol(bad, "BTC"))).toBe("user");
    expect(fieldOf(() => keys.legacyPositionBySymbol("42", bad))).toBe("symbol");
    expect(fieldOf(() => keys.legacyUserPosition(bad, "BTC", "long"))).toBe("user");
    expect(fieldOf(() => keys.legacyUserPosition("42", "BTC", bad))).toBe("side");
    expect(fieldOf(() => keys.legacyExchangePosition("42", bad, "BTC", "long"))).toBe("exchange");
    expect(fieldOf(() => keys.legacyGridPositions("okx", bad))).toBe("user");
    expect(fieldOf(() => keys.legacyOrders("okx", "42", bad))).toBe("symbol");
  });

  it("names the broken rule", () => {
    expect(unsafeSegmentProblem("a:b")).toContain('":"');
    expect(() => exchangeSegment("OKX")).toThrow(/lower-case/);
    expect(() => exchangeSegment("o".repeat(33))).toThrow(/at most 32/);
    expect(() => symbolSegment("btc-usdt")).toThrow(/upper-case instrument id/);
    expect(() => symbolSegment("BTC.USDT")).toThrow(/upper-case instrument id/);
    expect(() => symbolSegment("B".repeat(65))).toThrow(/at most 64/);
    expect(() => sideSegment("both")).toThrow(/long or short/);
    expect(() => userSegment("42")).toThrow(/app user id/);
    expect(() => userSegment("518796558012178692")).toThrow(/app user id/);
  });

  it("accepts the documented alphabet", () => {
    expect(exchangeSegment("okx")).toBe("okx");
    expect(exchangeSegment("gate3")).toBe("gate3");
    expect(symbolSegment("BTC-USDT-SWAP")).toBe("BTC-USDT-SWAP");
    expect(symbolSegment("ETH/USDT")).toBe("ETH/USDT");
    expect(symbolSegment("SOL_USDT_251226")).toBe("SOL_USDT_251226");
    expect(sideSegment("short")).toBe("short");
    expect(userSegment(USER.toUpperCase())).toBe(USER);
  });

  it("uses the field name the caller gives", () => {
    expect(fieldOf(() => symbolSegment("a:b", "path.symbol"))).toBe("path.symbol");
  });
});
