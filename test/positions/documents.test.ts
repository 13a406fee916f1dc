import { describe, expect, it } from "vitest";
import { UnprocessableError } from "../../core/errors";
import { decodePosition, encodePosition, hashOf } from "../../core/positions/encoding";
import { planLegacyKey } from "../../core/positions/legacy-plan";
import { listOpenForBot } from "../../core/positions/list-open";
import { pageOpen } from "../../core/positions/list-positions";
import type { PositionDocument } from "../../core/positions/model";
import type { OpenPosition, OpenPositionStore } from "../../core/positions/ports";
import { parsePositionFields } from "../../core/positions/schemas";

const USER = "0b6c2a4e-3f1d-4c8e-9a7b-5d2e1f0a9c8b";
const base = { id: "11111111-2222-4333-8444-555555555555", opened_at: "2026-01-01T00:00:00.000Z", updated_at: "2026-01-02T00:00:00.000Z" };

function issuesOf(input: unknown): string[] {
  try {
    parsePositionFields(input);
  } catch (error) {
    if (error instanceof UnprocessableError) return error.issues.map((i) => i.field);
    throw error;
  }
  return [];
}

describe("position documents", () => {
  it("round-trip exactly through the hash, extras included (a string that reads as a number stays a string)", () => {
    const fields = parsePositionFields({ size: 1.5, entry_price: 2, mark_price: 3, leverage: 20, margin_mode: "isolated", unrealized_pnl: -4.25, liquidation_price: 0, take_profit: [5, 6], stop_loss: 1, s: "x", n: 7, b: false, q: "12", t: "true", j: '"quoted"' });
    const document: PositionDocument = { ...fields, ...base };
    const hash = encodePosition(document);
    expect(hash).toMatchObject({ size: "1.5", take_profit: "[5,6]", s: "x", n: "7", b: "false", q: '"12"', t: '"true"' });
    expect(decodePosition(hash)).toEqual(document);
    expect(decodePosition(hashOf(Object.entries(hash).flat()))).toEqual(document);
  });

  it("reads hashes bots wrote leniently: comma lists, bad numbers left out, no size = not a position", () => {
    expect(decodePosition({ size: "1", entry_price: "2", take_profit: "3, 4", leverage: "x" })).toMatchObject({ size: 1, entry_price: 2, take_profit: [3, 4] });
    expect(decodePosition({ size: "1", entry_price: "2", leverage: "x" })?.leverage).toBeUndefined();
    expect(decodePosition({ entry_price: "2" })).toBeNull();
    expect(decodePosition(null)).toBeNull();
  });

  it("names every bad field; bounds unknown ones", () => {
    expect(issuesOf({ size: 0, entry_price: Number.NaN })).toEqual(["body.size", "body.entry_price"]);
    expect(issuesOf({ size: 1, entry_price: 1, leverage: 1001, take_profit: Array(21).fill(1) })).toEqual(["body.leverage", "body.take_profit"]);
    expect(issuesOf({ size: 1, entry_price: 1, status: "open", note: "x".repeat(257), obj: {}, nul: null })).toEqual(["body.status", "body.note", "body.obj", "body.nul"]);
    expect(issuesOf({ size: 1, entry_price: 1, ...Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`f${i}`, i])) })).toEqual(["body"]);
    expect(issuesOf([1])).toEqual(["body"]);
  });
});

describe("legacy values", () => {
  it("take their side from the value when the key has none; buy/sell read as long/short", () => {
    const plan = planLegacyKey({ form: "position_symbol", user: USER, symbol: "btc" }, { type: "string", value: JSON.stringify({ side: "sell", size: "1", entry_price: "2", symbol: "BTC" }) });
    expect(plan).toMatchObject({ kind: "move", targets: [{ side: "short", symbol: "BTC", exchange: "okx", fields: { size: "1", entry_price: "2" } }] });
  });

  it("refuse what the standard cannot hold, with the reason", () => {
    expect(planLegacyKey({ form: "user_position", user: USER, symbol: "BTC", side: "both" }, { type: "string", value: "{}" })).toMatchObject({ kind: "invalid", reason: expect.stringMatching(/side/) });
    expect(planLegacyKey({ form: "user_position", user: USER, symbol: "BTC", side: "long" }, { type: "string", value: "not json" })).toMatchObject({ kind: "invalid", reason: "the value is not JSON" });
    expect(planLegacyKey({ form: "user_position", user: USER, symbol: "BTC", side: "long" }, { type: "string", value: '{"size":1}' })).toMatchObject({ kind: "invalid", reason: expect.stringMatching(/entry_price/) });
    expect(planLegacyKey({ form: "order_placed", exchange: "okx", user: "7", symbol: "BTC", suffix: "order_placed" }, { type: "other" })).toMatchObject({ kind: "invalid" });
    expect(planLegacyKey({ form: "grid_array", exchange: "okx", user: USER }, { type: "string", value: "[]" })).toMatchObject({ kind: "move", targets: [] });
    expect(planLegacyKey({ form: "grid_array", exchange: "okx", user: USER }, { type: "none" })).toMatchObject({ kind: "gone" });
  });

  it("keep one element per symbol and side of a GRID array; a second stays behind", () => {
    const value = JSON.stringify([{ instId: "A", posSide: "long", size: 1, entry_price: 1 }, { symbol: "A", side: "long", size: 2, entry_price: 1 }]);
    const plan = planLegacyKey({ form: "grid_array", exchange: "okx", user: USER }, { type: "string", value });
    expect(plan).toMatchObject({ kind: "move", targets: [{ symbol: "A" }], remainder: JSON.stringify([{ symbol: "A", side: "long", size: 2, entry_price: 1 }]) });
  });
});

const open = (exchange: string, symbol: string, side: "long" | "short"): OpenPosition => ({ userId: USER, exchange, symbol, side, document: { ...base, size: 1, entry_price: 2, leverage: 3, extra: {} } });

describe("open lists", () => {
  it("page by place with a cursor that refuses another status's", () => {
    const all = [open("a", "X", "long"), open("a", "X", "short"), open("b", "Y", "long")];
    const first = pageOpen(all, 2, undefined);
    expect(first.positions).toHaveLength(2);
    const second = pageOpen(all, 2, first.nextCursor ?? "");
    expect(second.positions.map((p) => p.exchange)).toEqual(["b"]);
    expect(second.nextCursor).toBeNull();
    expect(() => pageOpen(all, 2, Buffer.from("closed|x").toString("base64url"))).toThrow(/cursor/);
  });

  it("give the bot its view (strings, the exchange in the symbol when not okx)", async () => {
    const store = { listOpen: async () => [open("okx", "BTC", "long"), open("binance", "ETH", "short")] } as unknown as OpenPositionStore;
    expect(await listOpenForBot({ store }, USER)).toEqual([
      { symbol: "BTC", side: "long", size: "1", entryPrice: "2", unrealizedPnl: null, leverage: "3" },
      { symbol: "binance:ETH", side: "short", size: "1", entryPrice: "2", unrealizedPnl: null, leverage: "3" },
    ]);
  });
});
