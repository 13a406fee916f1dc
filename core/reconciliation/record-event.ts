import type { Principal } from "../auth/tokens";
import { cacheBumpMessage } from "../cache/outbox";
import { userTag } from "../cache/tags";
import type { Clock, IdGenerator } from "../clock";
import { resolveUserRef } from "../identity/user-ref";
import type { UserDirectory, UserRef } from "../identity/user-ref";
import { deliverCommitted } from "../outbox/delivery";
import type { OutboxDeliveryDeps } from "../outbox/delivery";
import type { OutboxHandlers } from "../outbox/model";
import type { ReconciliationEvent } from "./model";
import type { ReconciliationLog } from "./ports";
import type { ReconciliationEventBody } from "./schemas";

export interface RecordReconciliationDeps {
  readonly directory: UserDirectory;
  readonly log: ReconciliationLog;
  /** Delivers the cache-tag bump right after the commit (a drain retries it if Redis refused). */
  readonly outbox: OutboxDeliveryDeps;
  readonly outboxHandlers: OutboxHandlers;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

export interface RecordReconciliationInput {
  readonly principal: Principal;
  readonly ref: UserRef;
  readonly body: ReconciliationEventBody;
}

/**
 * Stores one event and, in the same transaction, the bump of the user's cache tag; the bump is
 * delivered before answering, so the writer's next read of any view of this user is fresh.
 */
export async function recordReconciliationEvent(deps: RecordReconciliationDeps, input: RecordReconciliationInput): Promise<ReconciliationEvent> {
  const userId = await resolveUserRef({ directory: deps.directory }, input.principal, input.ref);
  const { body } = input;
  const event: ReconciliationEvent = {
    id: deps.ids.uuid(),
    userId,
    exchange: body.exchange,
    kind: body.kind,
    symbol: body.symbol ?? null,
    side: body.side ?? null,
    expected: body.expected ?? null,
    actual: body.actual ?? null,
    createdAt: deps.clock.now(),
  };
  const bump = cacheBumpMessage(deps.ids, [userTag(userId)]);
  await deps.log.record(event, [bump]);
  await deliverCommitted(deps.outbox, [bump], deps.outboxHandlers);
  return event;
}
