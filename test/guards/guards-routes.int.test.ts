import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisClient, redisKeys } from "../../runtime/clients/redis";
import { insertUser } from "../credentials/support";
import { token } from "../lookups/support/http";
import { call, startHarness } from "../provisioning/support/harness";
import type { Harness } from "../provisioning/support/harness";

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness();
});
afterAll(async () => harness?.close());

interface Guard {
  exchange: string;
  drawdownPct: number;
  peakEquity: number | null;
  currentEquity: number | null;
  window: { days: number; since: string };
  status: string;
  thresholds: { warningPct: number; criticalPct: number };
}

const equity = (ref: string, value: number, exchange = "okx") => call<{ drawdownPct: number; status: string; peakEquity: number }>(harness, "POST", `/v1/users/${ref}/equity`, { token: harness.service, body: { exchange, equity: value } });
const guards = (ref: string, bearer = harness.service, query = "") => call<Guard>(harness, "GET", `/v1/users/${ref}/guards${query}`, { token: bearer });

async function statusAfter(peak: number, current: number): Promise<Guard> {
  const user = await insertUser(harness.db);
  expect((await equity(user.id, peak)).status).toBe(201);
  expect((await equity(user.id, current)).status).toBe(201);
  const answer = await guards(user.id);
  expect(answer.status).toBe(200);
  return answer.body;
}

async function criticalEvents(userId: string): Promise<number> {
  const { rows } = await harness.db.query("SELECT count(*)::int AS n FROM system_health_logs WHERE level = 'CRITICAL' AND metadata->>'userId' = $1", [userId]);
  return Number(rows[0]?.n);
}

describe("POST /v1/users/{ref}/equity and GET /v1/users/{ref}/guards", () => {
  it("answers the drawdown from the peak over 30 days, with status and thresholds", async () => {
    const body = await statusAfter(1000, 950);
    expect(body).toMatchObject({ exchange: "okx", drawdownPct: 5, peakEquity: 1000, currentEquity: 950, status: "normal", window: { days: 30 }, thresholds: { warningPct: 10, criticalPct: 15 } });
  });

  it("is warning at exactly 10 % and exactly 15 %, normal just below 10 %, critical just above 15 %", async () => {
    expect(await statusAfter(1000, 900.01)).toMatchObject({ drawdownPct: 9.999, status: "normal" });
    expect(await statusAfter(1000, 900)).toMatchObject({ drawdownPct: 10, status: "warning" });
    expect(await statusAfter(1000, 850)).toMatchObject({ drawdownPct: 15, status: "warning" });
    expect(await statusAfter(1000, 849.99)).toMatchObject({ drawdownPct: 15.001, status: "critical" });
  });

  it("leaves peaks older than the window out", async () => {
    const user = await insertUser(harness.db);
    await harness.db.query("INSERT INTO equity_snapshots (user_id, exchange, equity, taken_at) VALUES ($1, 'okx', 5000, now() - interval '31 days')", [user.id]);
    await equity(user.id, 1000);
    await equity(user.id, 880);
    expect((await guards(user.id)).body).toMatchObject({ peakEquity: 1000, currentEquity: 880, drawdownPct: 12, status: "warning" });
  });

  it("records one CRITICAL health event (alerting the admin chat) per move into critical", async () => {
    const user = await insertUser(harness.db);
    await equity(user.id, 1000);
    expect((await equity(user.id, 800)).body).toMatchObject({ status: "critical", drawdownPct: 20, peakEquity: 1000 });
    await equity(user.id, 790);
    expect(await criticalEvents(user.id)).toBe(1);
    const { rows } = await harness.db.query("SELECT text FROM admin_alerts WHERE text LIKE $1", [`%${user.id}%`]);
    expect(rows).toHaveLength(1);
    await equity(user.id, 1000);
    expect((await guards(user.id)).body.status).toBe("normal");
    await equity(user.id, 700);
    expect(await criticalEvents(user.id)).toBe(2);
  });

  it("keeps each exchange apart, and an exchange without equity is normal with nulls", async () => {
    const user = await insertUser(harness.db);
    await equity(user.id, 1000, "binance");
    await equity(user.id, 700, "binance");
    expect((await guards(user.id, harness.service, "?exchange=binance")).body).toMatchObject({ exchange: "binance", status: "critical" });
    expect((await guards(user.id)).body).toMatchObject({ exchange: "okx", drawdownPct: 0, peakEquity: null, currentEquity: null, status: "normal" });
  });

  it("caches the view, invalidated by the user's next equity report", async () => {
    const user = await insertUser(harness.db);
    await equity(user.id, 1000);
    expect((await guards(user.id)).headers.get("x-cache")).toBe("miss");
    expect((await guards(user.id)).headers.get("x-cache")).toBe("hit");
    await equity(user.id, 880);
    const after = await guards(user.id);
    expect(after.headers.get("x-cache")).toBe("miss");
    expect(after.body).toMatchObject({ currentEquity: 880, status: "warning" });
  });

  it("keeps a cached view no longer than its peak stays in the window, and answers today's window start", async () => {
    const user = await insertUser(harness.db);
    await harness.db.query("INSERT INTO equity_snapshots (user_id, exchange, equity, taken_at) VALUES ($1, 'okx', 5000, now() - interval '30 days' + interval '60 seconds')", [user.id]);
    await equity(user.id, 1000);
    const askedAtMs = Date.now();
    const first = await guards(user.id);
    expect(first.headers.get("x-cache")).toBe("miss");
    expect(first.body).toMatchObject({ peakEquity: 5000, status: "critical" });
    const stored = await redisClient().get<string>(redisKeys().cacheEntry("guards", `${user.id}/okx`));
    const freshUntilMs = Number(String(stored).split("|")[0]);
    // Fresh until the 5000 leaves the window (about 60 s), not for VIEWS_CACHE_TTL_MS (5 min).
    expect(freshUntilMs).toBeGreaterThan(askedAtMs);
    expect(freshUntilMs).toBeLessThanOrEqual(askedAtMs + 61_000);
    const cached = await guards(user.id);
    expect(cached.headers.get("x-cache")).toBe("hit");
    expect(Date.parse(cached.body.window.since)).toBeGreaterThanOrEqual(Date.parse(first.body.window.since));
    expect(Date.parse(cached.body.window.since)).toBeGreaterThanOrEqual(askedAtMs - 30 * 86_400_000);
  });

  it("lets users read their own guard only; equity is for service and admin tokens", async () => {
    const user = await insertUser(harness.db);
    const other = await insertUser(harness.db);
    const mine = await token("user", user.id);
    expect((await guards("me", mine)).status).toBe(200);
    expect((await guards(other.id, mine)).status).toBe(403);
    expect((await call(harness, "POST", "/v1/users/me/equity", { token: mine, body: { exchange: "okx", equity: 1 } })).status).toBe(403);
    expect((await call(harness, "POST", `/v1/users/${user.id}/equity`, { token: harness.admin, body: { exchange: "okx", equity: 1 } })).status).toBe(201);
  });

  it("names the bad field", async () => {
    const user = await insertUser(harness.db);
    const fieldOf = async (body: unknown) => {
      const answer = await call<{ error: { fields: { field: string }[] } }>(harness, "POST", `/v1/users/${user.id}/equity`, { token: harness.service, body });
      expect(answer.status).toBe(400);
      return answer.body.error.fields.map((issue) => issue.field);
    };
    expect(await fieldOf({ exchange: "okx", equity: -1 })).toEqual(["body.equity"]);
    expect(await fieldOf({ exchange: "okx", equity: "1000" })).toEqual(["body.equity"]);
    expect(await fieldOf({ exchange: "OKX", equity: 1 })).toEqual(["body.exchange"]);
    expect((await guards(user.id, harness.service, "?exchange=Bad!")).status).toBe(400);
  });
});

describe("equity reports racing into critical", () => {
  it("record one CRITICAL event however many cross at once", async () => {
    const user = await insertUser(harness.db);
    await equity(user.id, 1000);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, index) => equity(user.id, 800 - index)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(8).fill(201));
    expect(answers.every((answer) => answer.body.status === "critical")).toBe(true);
    expect(await criticalEvents(user.id)).toBe(1);
    expect((await guards(user.id)).body.status).toBe("critical");
  });
});
