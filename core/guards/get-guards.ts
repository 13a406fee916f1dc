import type { Principal } from "../auth/tokens";
import { CacheFill } from "../cache/model";
import type { CacheOutcome } from "../cache/model";
import type { ReadThroughCache } from "../cache/read-through-cache";
import { userTag } from "../cache/tags";
import type { Clock } from "../clock";
import { resolveUserRef } from "../identity/user-ref";
import type { UserDirectory, UserRef } from "../identity/user-ref";
import type { EquityWindow, GuardOptions } from "./model";
import type { EquityStore } from "./ports";
import { presentGuardView } from "./presenters";
import type { GuardViewWire } from "./presenters";
import { DAY_MS } from "./record-equity";

export interface GuardViewDeps {
  readonly directory: UserDirectory;
  readonly store: EquityStore;
  /** Tagged with the user: any write of theirs invalidates it at once. */
  readonly cache: ReadThroughCache<GuardViewWire>;
  readonly clock: Clock;
  readonly options: GuardOptions;
}

/**
 * The drawdown guard of one user and exchange, from the cache or one SQL query. Without a write
 * (which bumps the user's tag), the view changes only when its peak leaves the window: the entry
 * lives until then at most. `window.since` is of this answer, not of the fill.
 */
export async function getGuards(
  deps: GuardViewDeps,
  input: { readonly principal: Principal; readonly ref: UserRef; readonly exchange: string },
): Promise<{ readonly view: GuardViewWire; readonly cache: CacheOutcome }> {
  const userId = await resolveUserRef({ directory: deps.directory }, input.principal, input.ref);
  const windowMs = deps.options.windowDays * DAY_MS;
  const fill = async () => {
    const nowMs = deps.clock.now().getTime();
    const since = new Date(nowMs - windowMs);
    const window = await deps.store.window(userId, input.exchange, since);
    return new CacheFill(presentGuardView(input.exchange, window, since, deps.options), viewLifetimeMs(window, nowMs, windowMs, deps.cache.options.ttlMs));
  };
  const answer = await deps.cache.get({ key: `${userId}/${input.exchange}`, tags: [userTag(userId)], fill });
  if (!answer.value) throw new Error("guard view fill answered nothing");
  const since = new Date(deps.clock.now().getTime() - windowMs).toISOString();
  return { view: { ...answer.value, window: { ...answer.value.window, since } }, cache: answer.outcome };
}

/** The cache's TTL, or less when the peak leaves the window sooner; null (store nothing) when it already has. */
export function viewLifetimeMs(window: Pick<EquityWindow, "peakAt">, nowMs: number, windowMs: number, ttlMs: number): number | null {
  if (!window.peakAt) return ttlMs;
  const leavesInMs = window.peakAt.getTime() + windowMs - nowMs;
  return leavesInMs > 0 ? Math.min(ttlMs, leavesInMs) : null;
}
