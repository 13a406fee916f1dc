import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { silentLog } from "../../core/observability/log-port";
import type { ClaimResult, UpdateClaim, UpdateMarks } from "../../core/telegram/ports";
import { FailoverUpdateLedger } from "../../core/telegram/update-ledger";
import { MemoryUpdateMarks } from "./support/memory";

const options = { leaseMs: 30_000, ttlSeconds: 3_600, fastTimeoutMs: 50 };

function ledgerWith(fast: UpdateMarks = new MemoryUpdateMarks("redis"), durable = new MemoryUpdateMarks("postgres")) {
  return { ledger: new FailoverUpdateLedger({ fast, durable, ids: { uuid: randomUUID }, log: silentLog, options }), fast, durable };
}

const claimed = (result: ClaimResult): UpdateClaim => {
  if (result.kind !== "claimed") throw new Error(`expected a claim, got ${result.kind}`);
  return result.claim;
};

/** A Redis that never answers (a partition): every call hangs. */
const hanging: UpdateMarks = { claim: () => new Promise(() => undefined), complete: () => new Promise(() => undefined), release: () => new Promise(() => undefined) };

describe("FailoverUpdateLedger", () => {
  it("claims in Redis; a second claim sees busy, and done once completed", async () => {
    const { ledger, durable } = ledgerWith();
    const claim = claimed(await ledger.claim(1));
    expect(claim.store).toBe("redis");
    expect(await ledger.claim(1)).toEqual({ kind: "busy" });
    await ledger.complete(claim);
    expect(await ledger.claim(1)).toEqual({ kind: "done" });
    expect(durable.marks.size).toBe(0);
  });

  it("a released update can be claimed again (a transient failure is retried)", async () => {
    const { ledger } = ledgerWith();
    await ledger.release(claimed(await ledger.claim(2)));
    expect((await ledger.claim(2)).kind).toBe("claimed");
  });

  it("a release by a claim that lost its lease leaves the new holder alone", async () => {
    const { ledger, fast } = ledgerWith();
    const old = claimed(await ledger.claim(3));
    (fast as MemoryUpdateMarks).marks.set(3, { state: "processing", token: "new-holder", until: Date.now() + 30_000 });
    await ledger.release(old);
    expect((fast as MemoryUpdateMarks).marks.get(3)?.token).toBe("new-holder");
  });

  it("Redis failing or hanging: Postgres claims within the Redis timeout", async () => {
    const failing = new MemoryUpdateMarks("redis");
    failing.down = true;
    for (const fast of [failing, hanging]) {
      const { ledger, durable } = ledgerWith(fast);
      const started = performance.now();
      const claim = claimed(await ledger.claim(4));
      expect(performance.now() - started).toBeLessThan(500);
      expect(claim.store).toBe("postgres");
      await ledger.complete(claim);
      expect(durable.marks.get(4)?.state).toBe("done");
    }
  });

  it("a Redis claim of an update Postgres handled (or holds) is turned down", async () => {
    const { ledger, fast, durable } = ledgerWith();
    durable.marks.set(5, { state: "done", token: null, until: Date.now() + 60_000 });
    durable.marks.set(6, { state: "processing", token: "other", until: Date.now() + 60_000 });
    expect(await ledger.claim(5)).toEqual({ kind: "done" });
    expect((fast as MemoryUpdateMarks).marks.get(5)?.state).toBe("done");
    expect(await ledger.claim(6)).toEqual({ kind: "busy" });
    expect((fast as MemoryUpdateMarks).marks.has(6)).toBe(false);
  });

  it("Postgres unreadable does not block a Redis claim; both down is an error (the webhook's 503)", async () => {
    const durable = new MemoryUpdateMarks("postgres");
    durable.down = true;
    const { ledger } = ledgerWith(new MemoryUpdateMarks("redis"), durable);
    expect((await ledger.claim(7)).kind).toBe("claimed");
    const fast = new MemoryUpdateMarks("redis");
    fast.down = true;
    await expect(ledgerWith(fast, durable).ledger.claim(8)).rejects.toThrow("store down");
  });

  it("Redis failing at completion: the mark goes to Postgres, and nothing throws (the work is done)", async () => {
    const fast = new MemoryUpdateMarks("redis");
    const { ledger, durable } = ledgerWith(fast);
    const claim = claimed(await ledger.claim(9));
    fast.down = true;
    await expect(ledger.complete(claim)).resolves.toBeUndefined();
    expect(durable.marks.get(9)?.state).toBe("done");
    durable.down = true;
    await expect(ledger.complete(claim)).resolves.toBeUndefined();
  });

  it("an expired lease can be taken over", async () => {
    const fast = new MemoryUpdateMarks("redis");
    const { ledger } = ledgerWith(fast);
    claimed(await ledger.claim(10));
    const mark = fast.marks.get(10);
    if (mark) mark.until = Date.now() - 1;
    expect((await ledger.claim(10)).kind).toBe("claimed");
  });
});
