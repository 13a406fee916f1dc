import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startModeContainer } from "../../scripts/proof/containers";
import { call, startHarness } from "./support/harness";
import type { Harness } from "./support/harness";

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness({ noQueue: true, env: { PROVISIONING_QUEUE_URL: "http://127.0.0.1:9/000000000000/Unused" } });
});
afterAll(async () => harness?.close());

interface ModeBody {
  readonly mode: string;
  readonly version: number;
  readonly reason: string | null;
  readonly updatedBy: string | null;
  readonly changed?: boolean;
}

const putMode = (body: unknown, bearer = harness.admin) => call<ModeBody>(harness, "PUT", "/v1/admin/system-mode", { token: bearer, body });

describe("GET / PUT /v1/admin/system-mode", () => {
  it("starts in async_queue, switches with a version bump and a SWITCH event, and treats the same mode as a no-op", async () => {
    const initial = await call<ModeBody>(harness, "GET", "/v1/admin/system-mode", { token: harness.admin });
    expect(initial.body).toMatchObject({ mode: "async_queue", version: 1 });
    const switched = await putMode({ mode: "sync_direct", reason: "SQS maintenance window" });
    expect(switched.status).toBe(200);
    expect(switched.body).toMatchObject({ mode: "sync_direct", version: 2, reason: "SQS maintenance window", updatedBy: "ops@botstate", changed: true });
    const again = await putMode({ mode: "sync_direct", reason: "again" });
    expect(again.body).toMatchObject({ version: 2, changed: false, reason: "SQS maintenance window" });
    const { rows } = await harness.db.query("SELECT level, metadata FROM system_health_logs WHERE level = 'SWITCH'");
    expect(rows).toEqual([{ level: "SWITCH", metadata: expect.objectContaining({ from: "async_queue", to: "sync_direct", by: "ops@botstate", version: 2 }) }]);
    await putMode({ mode: "async_queue", reason: "back" });
  });

  it("validates the body and is for admins only", async () => {
    const bad = await putMode({ mode: "turbo", reason: "" });
    expect(bad.status).toBe(400);
    expect(((bad.body as unknown as { error: { fields: { field: string }[] } }).error.fields ?? []).map((f) => f.field).sort()).toEqual(["body.mode", "body.reason"]);
    expect((await putMode({ mode: "sync_direct", reason: "x" }, harness.service)).status).toBe(403);
    expect((await call(harness, "GET", "/v1/admin/system-mode", { token: harness.service })).status).toBe(403);
  });

  it("is seen by every one of several running containers within 5 s, with no database query per read", { timeout: 60_000 }, async () => {
    // Production interval (1 s), separate processes: each has its own memo, as Lambda containers do.
    const env = { ...harness.app.env, SYSTEM_MODE_CHECK_INTERVAL_MS: "1000", LOG_LEVEL: "SILENT" };
    const containers = Array.from({ length: 3 }, () => startModeContainer(env));
    try {
      const ready = await Promise.all(containers.map((container) => container.waitFor((line) => line.event === "ready", 30_000)));
      const before = Math.max(...ready.map((line) => line.version ?? 0));
      const flippedAt = Date.now();
      const flip = await putMode({ mode: "sync_direct", reason: "flip seen everywhere" });
      const target = flip.body.version;
      expect(target).toBeGreaterThan(before);
      const seen = await Promise.all(containers.map((container) => container.waitFor((line) => line.event === "seen" && line.version === target, 5_000)));
      for (const line of seen) expect((line.at ?? Number.POSITIVE_INFINITY) - flippedAt).toBeLessThan(5_000);
    } finally {
      const finals = await Promise.all(containers.map((container) => container.stop()));
      // Each container read the mode every 10 ms throughout; Postgres at most for its first fill.
      for (const final of finals) {
        expect(final.reads).toBeGreaterThan(20);
        expect(final.dbQueries).toBeLessThanOrEqual(1);
      }
      await putMode({ mode: "async_queue", reason: "back" });
    }
  });
});
