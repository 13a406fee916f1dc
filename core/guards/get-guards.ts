import type { Principal } from "../auth/tokens";
import type { CacheOutcome } from "../cache/model";
import type { ReadThroughCache } from "../cache/read-through-cache";
import { userTag } from "../cache/tags";
import type { Clock } from "../clock";
import { resolveUserRef } from "../identity/user-ref";
import type { UserDirectory, UserRef } from "../identity/user-ref";
import type { GuardOptions } from "./model";
import type { EquityStore } from "./ports";
import { presentGuardView } from "./presenters";
import type { GuardViewWire } from "./presenters";
import { DAY_MS } from "./record-equity";

export interface GuardViewDeps {
  readonly directory: UserDirectory;
  readonly store: EquityStore;
  /** 5 s TTL, tagged with the user: any write of theirs invalidates it at once. */
  readonly cache: ReadThroughCache<GuardViewWire>;
  readonly clock: Clock;
  readonly options: GuardOptions;
}

/** The drawdown guard of one user and exchange, from the cache or one SQL query. */
export async function getGuards(
  deps: GuardViewDeps,
  input: { readonly principal: Principal; readonly ref: UserRef; readonly exchange: string },
): Promise<{ readonly view: GuardViewWire; readonly cache: CacheOutcome }> {
  const userId = await resolveUserRef({ directory: deps.directory }, input.principal, input.ref);
  const fill = async () => {
    const since = new Date(deps.clock.now().getTime() - deps.options.windowDays * DAY_MS);
    return presentGuardView(input.exchange, await deps.store.window(userId, input.exchange, since), since, deps.options);
  };
  const answer = await deps.cache.get({ key: `${userId}/${input.exchange}`, tags: [userTag(userId)], fill });
  if (!answer.value) throw new Error("guard view fill answered nothing");
  return { view: answer.value, cache: answer.outcome };
}
