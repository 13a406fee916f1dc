import { isUuid } from "../identity/uuid";
import { okxUidProblem, telegramIdMisreadProblem, telegramIdProblem } from "./identifier";
import type { Identifier } from "./identifier";
import type { LegacyAnswer, Mapping } from "./model";

/**
 * The checks a legacy answer passes before it is served or learned. The legacy service is a third
 * party: an answer about another identifier than the one asked, an invalid value, or one that
 * would revive a deactivated user or take an identifier from an active one could send a
 * notification to the wrong person, so it is a conflict: not served, not cached, counted, logged.
 */

/** Why the answer cannot be about `asked` or cannot be stored, or null. Reads the answer as received. */
export function legacyAnswerProblem(answer: LegacyAnswer, asked: Identifier): string | null {
  if (asked.kind === "telegram_id" && answer.telegramId !== asked.value) return "the answer names another telegram id than the one asked";
  if (asked.kind === "okx_uid" && answer.okxUid !== null && answer.okxUid !== asked.value) return "the answer names another okx uid than the one asked";
  if (asked.kind === "user_id" && answer.userId !== null && isUuid(answer.userId) && answer.userId.toLowerCase() !== asked.value) {
    return "the answer names another user id than the one asked";
  }
  const telegram = telegramIdProblem(answer.telegramId) ?? telegramIdMisreadProblem(answer.telegramId);
  if (telegram) return `the answer's telegram id is invalid: ${telegram}`;
  const okx = answer.okxUid === null ? null : okxUidProblem(answer.okxUid);
  if (okx) return `the answer's okx uid is invalid: ${okx}`;
  return null;
}

/** The answer with what the question itself says filled in (the asked okx uid / user id) and a canonical user id. */
export function completeLegacyAnswer(answer: LegacyAnswer, asked: Identifier): LegacyAnswer {
  return {
    telegramId: answer.telegramId,
    okxUid: answer.okxUid ?? (asked.kind === "okx_uid" ? asked.value : null),
    userId: answer.userId && isUuid(answer.userId) ? answer.userId.toLowerCase() : asked.kind === "user_id" ? asked.value : null,
  };
}

/**
 * Checks a (completed) answer against the stored mappings that share one of its identifiers. The
 * legacy service may fill a gap of a stored mapping (a missing okx uid), never change, re-activate
 * or take over one. Returns the mapping it belongs to (or null: a new one), or why it conflicts.
 */
export function storedMappingFor(answer: LegacyAnswer, related: readonly Mapping[]): { readonly mapping: Mapping | null } | { readonly conflict: string } {
  const byTelegram = related.filter((m) => m.telegramId === answer.telegramId);
  const activeByTelegram = byTelegram.find((m) => m.isActive);
  if (!activeByTelegram && byTelegram.length > 0) return { conflict: "the answer's telegram id belongs to a deactivated user" };
  const byUser = answer.userId ? related.find((m) => m.userId === answer.userId) : undefined;
  if (byUser && !byUser.isActive) return { conflict: "the answer's user id is deactivated" };
  if (byUser && byUser.telegramId !== answer.telegramId) return { conflict: "the answer's user id is mapped to another telegram id" };
  const owner = byUser ?? activeByTelegram ?? null;
  if (activeByTelegram && owner && activeByTelegram.userId !== owner.userId) return { conflict: "the answer's telegram id belongs to another user" };
  if (owner && owner.okxUid !== null && answer.okxUid !== null && owner.okxUid !== answer.okxUid) {
    return { conflict: "the answer's telegram id belongs to an active user with another okx uid" };
  }
  if (answer.okxUid !== null) {
    const okxOwners = related.filter((m) => m.okxUid === answer.okxUid && m.userId !== owner?.userId);
    if (okxOwners.some((m) => m.isActive)) return { conflict: "the answer's okx uid belongs to another active user" };
    if (okxOwners.length > 0 && !owner) return { conflict: "the answer's okx uid belongs to a deactivated user" };
  }
  return { mapping: owner };
}
