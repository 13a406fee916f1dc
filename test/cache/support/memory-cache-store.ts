import type { CacheProbe, CacheWrite, StoredEntry } from "../../../core/cache/model";
import type { CacheStore } from "../../../core/cache/ports";

interface Slot {
  /** null: a tombstone. */
  readonly entry: StoredEntry | null;
  readonly stamp: string;
  readonly tombstone?: string;
  readonly expiresAtMs: number;
}

/** CacheStore in memory with the Upstash adapter's rules, on a clock the test moves; can be made to fail. */
export class MemoryCacheStore implements CacheStore {
  readonly entries = new Map<string, Slot>();
  readonly locks = new Map<string, { token: string; expiresAtMs: number }>();
  readonly tags = new Map<string, number>();
  failing: Error | null = null;
  calls = 0;
  /** Every call, for tests that count round trips: the keys each probe read, the entries each write wrote. */
  readonly probes: string[][] = [];
  readonly lockAttempts: string[] = [];
  readonly writes: (CacheWrite & { readonly written: boolean[] })[] = [];
  readonly releases: string[] = [];

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
    this.probes.push([key]);
    const id = `${cache}:${key}`;
    const stamp = this.stampOf(tags);
    const slot = this.slot(id);
    const valid = slot?.entry && slot.stamp === stamp ? slot.entry : null;
    if (valid && valid.freshUntilMs > nowMs) return { fresh: valid, stale: null, stamp, locked: false, slot: null };
    let locked = false;
    if (lock) this.lockAttempts.push(key);
    if (lock && this.lockHolder(id) === undefined) {
      this.locks.set(id, { token: lock.token, expiresAtMs: this.nowMs() + lock.ms });
      locked = true;
    }
    return { fresh: null, stale: valid, stamp, locked, slot: slot?.tombstone ?? null };
  }

  async probeMany(cache: string, keys: readonly string[], nowMs: number): Promise<CacheProbe[]> {
    this.check();
    this.probes.push([...keys]);
    return keys.map((key) => {
      const slot = this.slot(`${cache}:${key}`);
      const valid = slot?.entry && slot.stamp === "@" ? slot.entry : null;
      const fresh = valid && valid.freshUntilMs > nowMs ? valid : null;
      return { fresh, stale: fresh ? null : valid, stamp: "@", locked: false, slot: slot?.tombstone ?? null };
    });
  }

  async write(cache: string, write: CacheWrite): Promise<boolean[]> {
    this.check();
    const unbumped = this.stampOf(write.tags) === write.stamp;
    const written = write.entries.map(({ key, expectedSlot, entry, keepMs }) => {
      const id = `${cache}:${key}`;
      const slot = this.slot(id);
      const ok = unbumped && (expectedSlot === null ? !slot?.tombstone && !this.freshOf(slot, write) : slot?.tombstone === expectedSlot);
      if (ok) this.entries.set(id, { entry, stamp: write.stamp, expiresAtMs: this.nowMs() + keepMs });
      return ok;
    });
    this.writes.push({ ...write, written });
    if (write.release && this.lockHolder(`${cache}:${write.release.key}`) === write.release.token) {
      this.releases.push(write.release.key);
      this.locks.delete(`${cache}:${write.release.key}`);
    }
    return written;
  }

  private freshOf(slot: Slot | undefined, write: CacheWrite): boolean {
    return !!slot?.entry && slot.stamp === write.stamp && slot.entry.freshUntilMs > write.nowMs;
  }

  async tombstone(cache: string, keys: readonly string[], id: string, ms: number): Promise<void> {
    this.check();
    for (const key of keys) this.entries.set(`${cache}:${key}`, { entry: null, stamp: "", tombstone: id, expiresAtMs: this.nowMs() + ms });
  }

  async release(cache: string, key: string, token: string): Promise<void> {
    this.check();
    const id = `${cache}:${key}`;
    if (this.lockHolder(id) !== token) return;
    this.releases.push(key);
    this.locks.delete(id);
  }

  async bumpTags(tags: readonly string[]): Promise<void> {
    this.check();
    for (const tag of tags) this.tags.set(tag, (this.tags.get(tag) ?? 0) + 1);
  }
}
