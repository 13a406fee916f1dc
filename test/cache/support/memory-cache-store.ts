import type { CacheProbe, StoredEntry } from "../../../core/cache/model";
import type { CacheStore } from "../../../core/cache/ports";

interface Slot {
  readonly entry: StoredEntry;
  readonly stamp: string;
  readonly expiresAtMs: number;
}

/** CacheStore in memory with the Upstash adapter's rules, on a clock the test moves; can be made to fail. */
export class MemoryCacheStore implements CacheStore {
  readonly entries = new Map<string, Slot>();
  readonly locks = new Map<string, { token: string; expiresAtMs: number }>();
  readonly tags = new Map<string, number>();
  failing: Error | null = null;
  calls = 0;

  constructor(private readonly nowMs: () => number) {}

  private check(): void {
    this.calls += 1;
    if (this.failing) throw this.failing;
  }

  private stampOf(tags: readonly string[]): string {
    return `@${tags.map((tag) => `${this.tags.get(tag) ?? 0}.`).join("")}`;
  }

  private slot(id: string): Slot | undefined {
    const slot = this.entries.get(id);
    if (slot && slot.expiresAtMs <= this.nowMs()) {
      this.entries.delete(id);
      return undefined;
    }
    return slot;
  }

  private lockHolder(id: string): string | undefined {
    const lock = this.locks.get(id);
    if (lock && lock.expiresAtMs <= this.nowMs()) this.locks.delete(id);
    return this.locks.get(id)?.token;
  }

  async probe(cache: string, key: string, tags: readonly string[], nowMs: number, lock?: { token: string; ms: number }): Promise<CacheProbe> {
    this.check();
    const id = `${cache}:${key}`;
    const stamp = this.stampOf(tags);
    const slot = this.slot(id);
    const valid = slot && slot.stamp === stamp ? slot.entry : null;
    if (valid && valid.freshUntilMs > nowMs) return { fresh: valid, stale: null, stamp, locked: false };
    let locked = false;
    if (lock && this.lockHolder(id) === undefined) {
      this.locks.set(id, { token: lock.token, expiresAtMs: this.nowMs() + lock.ms });
      locked = true;
    }
    return { fresh: null, stale: valid, stamp, locked };
  }

  async write(cache: string, key: string, tags: readonly string[], stamp: string, entry: StoredEntry, ttlMs: number, releaseToken?: string): Promise<boolean> {
    this.check();
    const id = `${cache}:${key}`;
    const written = this.stampOf(tags) === stamp;
    if (written) this.entries.set(id, { entry, stamp, expiresAtMs: this.nowMs() + ttlMs });
    if (releaseToken && this.lockHolder(id) === releaseToken) this.locks.delete(id);
    return written;
  }

  async release(cache: string, key: string, token: string): Promise<void> {
    this.check();
    const id = `${cache}:${key}`;
    if (this.lockHolder(id) === token) this.locks.delete(id);
  }

  async bumpTags(tags: readonly string[]): Promise<void> {
    this.check();
    for (const tag of tags) this.tags.set(tag, (this.tags.get(tag) ?? 0) + 1);
  }
}
