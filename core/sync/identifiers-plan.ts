import type { SyncDecision, SyncItem } from "./ports";

/**
 * The identifiers source's rules, pure. A legacy registration hash says "okx uid X belongs to
 * Telegram chat T". The sync persists that only where nobody else's identity is touched, the rules
 * of the mapping import (core/lookups/import.ts) made safe for a job that runs every minute:
 * - X and T already mapped together (active or not): unchanged;
 * - X mapped to another chat, or T mapped to another okx uid: a conflict, Postgres wins (an admin's
 *   change must not be undone by a stale hash every minute); nothing is written;
 * - T held by a deactivated user: a conflict (the sync never revives a user);
 * - T held by an active user without an okx uid: the gap is filled (X given to that user);
 * - neither known: a new user with that mapping (source `import`);
 * - keys of one page (or of this run) that disagree about X or T: conflicts, whatever their order.
 */

export interface IdentifierCandidate {
  readonly okxUid: string;
  readonly telegramId: string;
  /** Set when the other legacy hash of this okx uid names another chat: a conflict, never written. */
  readonly dispute?: string | undefined;
}

/** A user holding one of the page's identifiers: the mapping's values, else the app user's. */
export interface StoredIdentity {
  readonly userId: string;
  readonly telegramId: string;
  readonly okxUid: string | null;
  readonly isActive: boolean;
  /** False: an app user without a mapping row (never touched by the sync). */
  readonly hasMapping: boolean;
}

export interface IdentifierChange {
  /** `insert`: a new user and mapping; `fill`: an active user's missing okx uid. */
  readonly op: "insert" | "fill";
  readonly userId: string;
  readonly telegramId: string;
  readonly okxUid: string;
}

type Decision = SyncDecision<IdentifierChange>;

export function planIdentifiers(
  items: readonly SyncItem<IdentifierCandidate>[],
  stored: readonly StoredIdentity[],
  planned: Map<string, string>,
  newUserId: () => string,
): Decision[] {
  const disputed = disagreements(items);
  return items.map(({ key, item }) => {
    const dispute = item.dispute ?? disputed.get(key);
    if (dispute) return { kind: "conflict", key, reason: dispute };
    const decision = plannedBefore(key, item, planned) ?? againstStored(key, item, stored, newUserId);
    if (decision.kind === "write") {
      planned.set(`okx:${item.okxUid}`, item.telegramId);
      planned.set(`tg:${item.telegramId}`, item.okxUid);
    }
    return decision;
  });
}

/** Keys of the page that contradict each other: one okx uid, two chats; one chat, two okx uids. */
function disagreements(items: readonly SyncItem<IdentifierCandidate>[]): Map<string, string> {
  const disputed = new Map<string, string>();
  const check = (name: string, of: (item: IdentifierCandidate) => string, other: (item: IdentifierCandidate) => string) => {
    const groups = new Map<string, SyncItem<IdentifierCandidate>[]>();
    for (const entry of items) groups.set(of(entry.item), [...(groups.get(of(entry.item)) ?? []), entry]);
    for (const [value, group] of groups) {
      const others = new Set(group.map((entry) => other(entry.item)));
      if (others.size < 2) continue;
      const reason = `legacy keys disagree about ${name} ${value}: ${group.map((entry) => `${entry.key} says ${other(entry.item)}`).join(", ")}`;
      for (const entry of group) disputed.set(entry.key, reason);
    }
  };
  check("okx_uid", (item) => item.okxUid, (item) => item.telegramId);
  check("telegram_id", (item) => item.telegramId, (item) => item.okxUid);
  return disputed;
}

/** What this run already decided for these identifiers (so a dry run predicts what a real run writes). */
function plannedBefore(key: string, item: IdentifierCandidate, planned: ReadonlyMap<string, string>): Decision | null {
  const chat = planned.get(`okx:${item.okxUid}`);
  const okx = planned.get(`tg:${item.telegramId}`);
  if (chat === undefined && okx === undefined) return null;
  if (chat === item.telegramId && okx === item.okxUid) return { kind: "unchanged", key };
  return { kind: "conflict", key, reason: `another legacy key of this run maps okx_uid ${item.okxUid} or telegram_id ${item.telegramId} differently` };
}

function againstStored(key: string, item: IdentifierCandidate, stored: readonly StoredIdentity[], newUserId: () => string): Decision {
  const activeFirst = (a: StoredIdentity, b: StoredIdentity) => Number(b.isActive) - Number(a.isActive);
  const byOkx = stored.filter((s) => s.okxUid === item.okxUid).sort(activeFirst)[0];
  if (byOkx) {
    if (byOkx.telegramId === item.telegramId) return { kind: "unchanged", key };
    return conflict(key, `okx_uid ${item.okxUid} belongs to user ${byOkx.userId} with telegram_id ${byOkx.telegramId} in Postgres; Postgres wins`);
  }
  const byChat = stored.filter((s) => s.telegramId === item.telegramId).sort(activeFirst)[0];
  if (!byChat) {
    return { kind: "write", key, change: { op: "insert", userId: newUserId(), telegramId: item.telegramId, okxUid: item.okxUid } };
  }
  if (!byChat.isActive) return conflict(key, `telegram_id ${item.telegramId} belongs to deactivated user ${byChat.userId}; the sync never revives a user`);
  if (byChat.okxUid === null && byChat.hasMapping) {
    return { kind: "write", key, change: { op: "fill", userId: byChat.userId, telegramId: item.telegramId, okxUid: item.okxUid } };
  }
  const held = byChat.okxUid === null ? "without a mapping" : `with okx_uid ${byChat.okxUid}`;
  return conflict(key, `telegram_id ${item.telegramId} belongs to user ${byChat.userId} ${held} in Postgres; Postgres wins`);
}

function conflict(key: string, reason: string): Decision {
  return { kind: "conflict", key, reason };
}
