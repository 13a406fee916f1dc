import type { OutboxHandlers } from "./model";
import { outboxBackoffMs, runHandlers, settle } from "./delivery";
import type { OutboxDeliveryDeps } from "./delivery";

export interface DrainOptions {
  /** Topic -> handler; only rows of these topics are claimed (other capabilities drain theirs). */
  readonly handlers: OutboxHandlers;
  /** Rows claimed per batch. */
  readonly limit: number;
  /** Batches to run at most (default 1); a drain stops early when nothing is due. */
  readonly batches?: number;
  /** How long claimed rows are hidden from other drains (default 30 s). */
  readonly leaseMs?: number;
  /** Groups of one key handled at once (default 8). */
  readonly concurrency?: number;
  /** Stops claiming new batches after this (a cron's remaining time). */
  readonly deadline?: () => boolean;
}

export interface DrainReport {
  readonly claimed: number;
  readonly delivered: number;
  /** Rows that failed (or waited behind a failed row of their key) and were rescheduled. */
  readonly postponed: number;
  /** Rows that failed again after this many attempts or more: worth an alarm. */
  readonly stuck: number;
}

/** Attempts after which a row that still fails is logged as stuck on each further failure. */
export const STUCK_AFTER_ATTEMPTS = 10;

/**
 * Delivers rows that their writers could not (Redis was down) or did not (the writer died after
 * committing): claims due rows, runs their handlers (one key's rows in order), deletes the
 * delivered ones and pushes the others back with exponential backoff. Rows are never dropped.
 * Run by a cron function and by a container before it trusts Redis again after an outage.
 */
export async function drainOutbox(deps: OutboxDeliveryDeps, options: DrainOptions): Promise<DrainReport> {
  const topics = Object.keys(options.handlers);
  const totals = { claimed: 0, delivered: 0, postponed: 0, stuck: 0 };
  if (topics.length === 0) return totals;
  for (let batch = 0; batch < (options.batches ?? 1); batch++) {
    if (options.deadline?.()) break;
    const rows = await deps.store.claimDue(topics, options.limit, options.leaseMs ?? 30_000);
    if (rows.length === 0) break;
    const ordered = [...rows].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    const attemptsOf = new Map(ordered.map((row) => [row.id, row.attempts]));
    const outcome = await runHandlers(ordered, options.handlers, options.concurrency ?? 8);
    const postponed = [
      ...outcome.failed.map(({ message, reason }) => ({ id: message.id, reason })),
      ...outcome.skipped.map((message) => ({ id: message.id, reason: "an earlier message of its key failed" })),
    ].map((entry) => ({ ...entry, delayMs: outboxBackoffMs(attemptsOf.get(entry.id) ?? 1) }));
    await settle(deps, outcome.delivered, postponed);
    for (const { message, reason } of outcome.failed) {
      const attempts = attemptsOf.get(message.id) ?? 0;
      if (attempts >= STUCK_AFTER_ATTEMPTS) {
        totals.stuck += 1;
        deps.log.error("outbox row keeps failing", { topic: message.topic, key: message.key, attempts, reason });
      }
    }
    totals.claimed += rows.length;
    totals.delivered += outcome.delivered.length;
    totals.postponed += postponed.length;
    if (rows.length < options.limit) break;
  }
  return totals;
}
