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
  private readonly entries = new Map<string, { readonly owner: SettingsOwner; readonly until: number }>();

  constructor(
    private readonly store: Pick<SettingsStore, "owner">,
    private readonly options: OwnerMemoOptions,
    private readonly monotonicNow: () => number = () => performance.now(),
  ) {}

  /** Throws NotFoundError when there is no such active user. */
  async ownerOf(userId: string): Promise<SettingsOwner> {
    const hit = this.entries.get(userId);
    if (hit && hit.until > this.monotonicNow()) return hit.owner;
    const owner = await this.store.owner(userId);
    if (!owner) throw new NotFoundError("no active user with this id");
    this.remember(owner);
    return owner;
  }

  /** What a Postgres read or a write learnt anyway. */
  remember(owner: SettingsOwner): void {
    if (this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.delete(owner.userId);
    this.entries.set(owner.userId, { owner, until: this.monotonicNow() + this.options.ttlMs });
  }
}
