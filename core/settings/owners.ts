import { BoundedMemo } from "../cache/bounded-memo";
import { NotFoundError } from "../errors";
import type { SettingsOwner } from "./model";
import type { SettingsStore } from "./ports";

export interface OwnerMemoOptions {
  readonly ttlMs: number;
  readonly maxEntries: number;
}

/**
 * The name of a user's fast copy (its OKX UID) remembered per container for a short while, so a
 * Redis-first read costs no database query for it. An OKX UID rarely changes; after a change the
 * old name is used at most `ttlMs` longer (the refresh after every write names the current one).
 */
export class OwnerMemo {
  private readonly entries: BoundedMemo<SettingsOwner>;

  constructor(
    private readonly store: Pick<SettingsStore, "owner">,
    private readonly options: OwnerMemoOptions,
    private readonly monotonicNow: () => number = () => performance.now(),
  ) {
    this.entries = new BoundedMemo(options.maxEntries);
  }

  /** Throws NotFoundError when there is no such active user. */
  async ownerOf(userId: string): Promise<SettingsOwner> {
    const hit = this.entries.get(userId, this.monotonicNow());
    if (hit) return hit;
    const owner = await this.store.owner(userId);
    if (!owner) throw new NotFoundError("no active user with this id");
    this.remember(owner);
    return owner;
  }

  /** What a Postgres read or a write learnt anyway. */
  remember(owner: SettingsOwner): void {
    this.entries.set(owner.userId, owner, this.monotonicNow() + this.options.ttlMs);
  }
}
