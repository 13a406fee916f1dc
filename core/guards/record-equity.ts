import type { Principal } from "../auth/tokens";
import { cacheBumpMessage } from "../cache/outbox";
import { userTag } from "../cache/tags";
import type { Clock, IdGenerator } from "../clock";
import { errorMessage } from "../errors";
import type { HealthRecorder } from "../health-events/record-health-event";
import { resolveUserRef } from "../identity/user-ref";
import type { UserDirectory, UserRef } from "../identity/user-ref";
import type { LogPort } from "../observability/log-port";
import { deliverCommitted } from "../outbox/delivery";
import type { OutboxDeliveryDeps } from "../outbox/delivery";
import type { OutboxHandlers } from "../outbox/model";
import { drawdownOf } from "./model";
import type { Drawdown, EquitySnapshot, GuardOptions, GuardStatus } from "./model";
import type { EquityStore } from "./ports";

export interface RecordEquityDeps {
  readonly directory: UserDirectory;
  readonly store: EquityStore;
  readonly outbox: OutboxDeliveryDeps;
  readonly outboxHandlers: OutboxHandlers;
  /** Never throws: a CRITICAL event alerts the admin chat. */
  readonly health: HealthRecorder;
  readonly log: LogPort;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly options: GuardOptions;
}

export interface RecordEquityInput {
  readonly principal: Principal;
  readonly ref: UserRef;
  readonly exchange: string;
  readonly equity: number;
}

export const DAY_MS = 24 * 3600 * 1000;

/**
 * Stores one equity snapshot (with the bump of the user's cache tag, delivered before answering)
 * and evaluates the drawdown it leaves; a move into `critical` is recorded once as a CRITICAL
 * health event, which alerts the admin chat.
 */
export async function recordEquity(deps: RecordEquityDeps, input: RecordEquityInput): Promise<{ snapshot: EquitySnapshot; drawdown: Drawdown; peakEquity: number }> {
  const userId = await resolveUserRef({ directory: deps.directory }, input.principal, input.ref);
  const now = deps.clock.now();
  const snapshot: EquitySnapshot = { id: deps.ids.uuid(), userId, exchange: input.exchange, equity: input.equity, takenAt: now };
  const bump = cacheBumpMessage(deps.ids, [userTag(userId)]);
  const since = new Date(now.getTime() - deps.options.windowDays * DAY_MS);
  const { peakEquity, previousStatus } = await deps.store.record(snapshot, since, [bump]);
  await deliverCommitted(deps.outbox, [bump], deps.outboxHandlers);
  const drawdown = drawdownOf(peakEquity, snapshot.equity, deps.options.thresholds);
  await noteTransition(deps, snapshot, previousStatus, drawdown, peakEquity);
  return { snapshot, drawdown, peakEquity };
}

/** After the commit: never fails the request; a missed move is caught by the next snapshot. */
async function noteTransition(deps: RecordEquityDeps, snapshot: EquitySnapshot, previous: GuardStatus | null, drawdown: Drawdown, peakEquity: number): Promise<void> {
  if (drawdown.status === previous) return;
  try {
    const moved = await deps.store.moveStatus(snapshot.userId, snapshot.exchange, previous, drawdown.status);
    if (!moved || drawdown.status !== "critical") return;
    await deps.health({
      level: "CRITICAL",
      message: `Drawdown guard critical: user ${snapshot.userId} on ${snapshot.exchange}`,
      metadata: { userId: snapshot.userId, exchange: snapshot.exchange, drawdownPct: drawdown.drawdownPct, peakEquity, currentEquity: snapshot.equity, previousStatus: previous, criticalAbovePct: deps.options.thresholds.criticalPct },
    });
  } catch (error) {
    deps.log.warn("guard status not updated; the next snapshot retries", { exchange: snapshot.exchange, reason: errorMessage(error) });
  }
}
