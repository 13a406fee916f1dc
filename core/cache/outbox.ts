import type { IdGenerator } from "../clock";
import type { OutboxHandlers, OutboxMessage } from "../outbox/model";
import type { TagInvalidator } from "./tag-invalidator";

/** Outbox topic of tag bumps owed by a committed write. */
export const CACHE_BUMP_TOPIC = "cache.bump-tags";

/**
 * The outbox row a writer enqueues in its transaction: once committed, its tags are bumped (by the
 * writer right after the commit, or by a drain if Redis was down then).
 */
export function cacheBumpMessage(ids: IdGenerator, tags: readonly string[]): OutboxMessage {
  return { id: ids.uuid(), topic: CACHE_BUMP_TOPIC, key: [...tags].sort().join(","), payload: { tags: [...tags] } };
}

function tagsOf(message: OutboxMessage): string[] {
  const tags = message.payload.tags;
  if (!Array.isArray(tags) || !tags.every((tag): tag is string => typeof tag === "string")) throw new Error("cache bump without a tag list");
  return tags;
}

/** Delivers bumps; idempotent enough (a second bump only invalidates once more). */
export function cacheOutboxHandlers(invalidator: TagInvalidator): OutboxHandlers {
  return { [CACHE_BUMP_TOPIC]: async (message) => invalidator.bump(tagsOf(message)) };
}
