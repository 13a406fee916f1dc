import { describe, expect, it } from "vitest";
import { UnavailableError } from "../../core/errors";
import { silentLog } from "../../core/observability/log-port";
import { SystemModeReader, switchSystemMode } from "../../core/provisioning/system-mode";
import type { ModeChange, ModeSnapshot, SystemModeCopy, SystemModeSetting, SystemModeStore } from "../../core/provisioning/ports";
import type { HealthEventInput } from "../../core/health-events/model";

class MemoryStore implements SystemModeStore {
  reads = 0;
  down = false;
  setting: SystemModeSetting = { mode: "async_queue", version: 1, reason: null, updatedBy: null, updatedAt: new Date(0) };
  async read(): Promise<SystemModeSetting> {
    this.reads += 1;
    if (this.down) throw new UnavailableError("postgres down");
    return this.setting;
  }
  async change(change: ModeChange) {
    const previous = this.setting;
    if (previous.mode === change.mode) return { setting: previous, previous, changed: false };
    this.setting = { mode: change.mode, version: previous.version + 1, reason: change.reason, updatedBy: change.actor, updatedAt: change.now };
    return { setting: this.setting, previous, changed: true };
  }
}

class MemoryCopy implements SystemModeCopy {
  reads = 0;
  down = false;
  value: ModeSnapshot | null = null;
  async read(): Promise<ModeSnapshot | null> {
    this.reads += 1;
    if (this.down) throw new Error("redis down");
    return this.value;
  }
  async write(snapshot: ModeSnapshot): Promise<void> {
    if (this.down) throw new Error("redis down");
    if (!this.value || this.value.version <= snapshot.version) this.value = snapshot;
  }
}

function setup() {
  const store = new MemoryStore();
  const copy = new MemoryCopy();
  let now = 0;
  const reader = new SystemModeReader({ store, copy, log: silentLog, monotonicNow: () => now, options: { checkIntervalMs: 1_000, copyTtlSeconds: 60 } });
  return { store, copy, reader, advance: (ms: number) => (now += ms) };
}

describe("SystemModeReader", () => {
  it("fills the Redis copy from Postgres once, then reads no database at all and Redis at most once a second", async () => {
    const { store, copy, reader, advance } = setup();
    expect(await reader.current()).toBe("async_queue");
    expect(store.reads).toBe(1);
    expect(copy.value).toEqual({ mode: "async_queue", version: 1 });
    for (let request = 0; request < 1_000; request += 1) {
      await reader.current();
      advance(5);
    }
    expect(store.reads).toBe(1);
    // 5 s of requests: one copy read per elapsed second, not per request.
    expect(copy.reads).toBeLessThanOrEqual(6);
  });

  it("sees a flip made elsewhere after at most one interval", async () => {
    const { copy, reader, advance } = setup();
    await reader.current();
    copy.value = { mode: "sync_direct", version: 2 };
    advance(999);
    expect(await reader.current()).toBe("async_queue");
    advance(1);
    expect(await reader.current()).toBe("sync_direct");
  });

  it("shares one check among concurrent requests", async () => {
    const { copy, reader } = setup();
    copy.value = { mode: "sync_direct", version: 3 };
    const modes = await Promise.all(Array.from({ length: 50 }, () => reader.current()));
    expect(new Set(modes)).toEqual(new Set(["sync_direct"]));
    expect(copy.reads).toBe(1);
  });

  it("asks Postgres when Redis fails, keeps the last known mode when both fail, and fails only when it never knew one", async () => {
    const { store, copy, reader, advance } = setup();
    copy.down = true;
    store.setting = { ...store.setting, mode: "sync_direct", version: 4 };
    expect(await reader.current()).toBe("sync_direct");
    store.down = true;
    advance(1_000);
    expect(await reader.current()).toBe("sync_direct");

    const fresh = setup();
    fresh.copy.down = true;
    fresh.store.down = true;
    await expect(fresh.reader.current()).rejects.toBeInstanceOf(UnavailableError);
  });

  it("never goes back to an older version than one it has seen", async () => {
    const { copy, reader, advance } = setup();
    reader.adopt({ mode: "sync_direct", version: 7 });
    copy.value = { mode: "async_queue", version: 6 };
    advance(1_000);
    expect(await reader.current()).toBe("sync_direct");
  });
});

describe("switchSystemMode", () => {
  it("bumps the version, updates the copy and this container at once, and records one SWITCH event; a no-op records nothing", async () => {
    const { store, copy, reader } = setup();
    const events: HealthEventInput[] = [];
    const deps = {
      store,
      copy,
      reader,
      health: async (input: HealthEventInput) => (events.push(input), null),
      clock: { now: () => new Date(1_000) },
      log: silentLog,
      copyTtlSeconds: 60,
    };
    await reader.current();
    const result = await switchSystemMode(deps, { mode: "sync_direct", reason: "queue maintenance", actor: "ops" });
    expect(result).toMatchObject({ changed: true, setting: { mode: "sync_direct", version: 2 } });
    expect(copy.value).toEqual({ mode: "sync_direct", version: 2 });
    expect(await reader.current()).toBe("sync_direct");
    expect(events).toEqual([expect.objectContaining({ level: "SWITCH", metadata: expect.objectContaining({ by: "ops", reason: "queue maintenance", version: 2 }) })]);

    const again = await switchSystemMode(deps, { mode: "sync_direct", reason: "again", actor: "ops" });
    expect(again.changed).toBe(false);
    expect(events).toHaveLength(1);
  });

  it("does not fail a committed switch when Redis is down", async () => {
    const { store, copy, reader } = setup();
    copy.down = true;
    const deps = { store, copy, reader, health: async () => null, clock: { now: () => new Date() }, log: silentLog, copyTtlSeconds: 60 };
    const result = await switchSystemMode(deps, { mode: "sync_direct", reason: "r", actor: "ops" });
    expect(result.changed).toBe(true);
    expect(store.setting.version).toBe(2);
  });
});
